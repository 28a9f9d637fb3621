/// What ends a legal retention: for an action that keeps data under a legal obligation until a
/// date, the follow-up that erases exactly that data the day after (GDPR Art. 17(3)(b) ends
/// with the obligation). Pure: the planned action in, one follow-up per end date out.
public enum RetentionFollowUp {
    /// A follow-up erasure, due on `due`.
    public struct Scheduled: Sendable, Hashable {
        public var due: CalendarDate
        public var plan: PlannedAction
    }

    /// The follow-ups of `action`: nothing for data whose retention had already ended when it
    /// was planned (it went with the rest).
    public static func followUps(of action: PlannedAction) -> [Scheduled] {
        let kept = action.retained.filter { $0.ended != true }
        let byDue = Dictionary(grouping: kept, by: \.erasureDue)
        return byDue.keys.sorted().map { due in
            let entries = byDue[due] ?? []
            let attributes = entries.flatMap(\.attributes).uniqued().map { path in
                AttributeChange(path: path, strategy: isRequired(path) ? .random : .remove)
            }
            let groups = entries.flatMap(\.groups).uniqued()
            let why = entries.map { "\($0.attributes.map(\.description).joined(separator: ", ")) kept under \($0.basis.rawValue) (\($0.purpose)) until \($0.until)" }
                .joined(separator: "; ")
            let plan = PlannedAction(
                target: action.target, operation: attributes.isEmpty ? .leaveGroups : .removeAttributes, match: nil,
                attributes: attributes, groups: groups,
                reason: "retention ended: \(why); erased on \(due), found by the SCIM id recorded when the request was carried out")
            return Scheduled(due: due, plan: plan)
        }
    }

    private static func isRequired(_ path: AttributePath) -> Bool {
        (try? AttributeCatalog.standard.resolve(path.description).get().shape.required) ?? false
    }
}
