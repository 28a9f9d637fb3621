import ArgumentParser
import LetheApp

/// `lethe init`
struct InitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the state directory: database, pseudonym key and report signing key.",
        discussion: """
            Idempotent: running it again changes nothing that exists. It refuses a non-empty \
            directory that is not Lethe's (exit 73). Keys are written with mode 0600; back \
            them up with the database: without the pseudonym key, pseudonyms cannot be \
            matched to new requests, and without the signing key, new reports get a new key id.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let state = global.state
        do {
            let created = try state.initialize()
            Output.line(created ? "initialized Lethe state in \(state.path)" : "\(state.path) is already initialized; nothing changed")
        } catch {
            throw ExitStatus.report(error)
        }
    }
}
