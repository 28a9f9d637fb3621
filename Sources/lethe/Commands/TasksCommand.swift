import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheStorage

/// `lethe tasks`
struct TasksCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tasks",
        abstract: "List manual targets' tasks waiting for a person, oldest first, with what to do.",
        discussion: """
            A target of `kind: manual` is carried out by a person: `lethe run` hands its action \
            over, and this list shows each open task with the policy's instructions, the planned \
            operation and attributes, and the subject's identifiers, which the person needs to \
            find the subject. They are shown only while the request is open, and only here (and \
            on the dashboard's Tasks page to those who may confirm). When done:

              lethe confirm REQUEST --target TARGET --outcome erased --by NAME [--note TEXT]

            Examples:
              lethe tasks
              lethe tasks --overdue
              lethe tasks --json
            """
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Only tasks past their due time (the policy's manual.within after the hand-over).")
    var overdue = false

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: true)
        let tasks = try context.runtime.reading().tasks(now: context.now, overdueOnly: overdue)
        if json {
            try Output.json(tasks)
            return
        }
        guard !tasks.isEmpty else {
            Output.line(overdue ? "no overdue tasks" : "no tasks wait for a person")
            return
        }
        for task in tasks {
            let instructions = context.policies[task.target]?.manual?.instructions ?? "(no policy names this target now)"
            var lines = ["\(task.request)  \(task.target)  due \(task.due)" + (task.overdue ? "  OVERDUE" : "") + (task.ref.map { "  ref \($0)" } ?? "")]
            lines.append("  do:        \(instructions)")
            lines.append("  operation: \(task.operation)" + (task.attributes.isEmpty ? "" : " (\(task.attributes.joined(separator: ", ")))")
                + (task.groups.isEmpty ? "" : "; groups \(task.groups.joined(separator: ", "))"))
            lines.append("  subject:   " + task.identifiers.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
            lines.append("  then:      lethe confirm \(task.request) --target \(task.target) --outcome erased|anonymized|not_found|cannot_comply --by NAME")
            Output.line(lines.joined(separator: "\n"))
        }
    }
}
