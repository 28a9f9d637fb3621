import Synchronization

/// What Lethe learns about one target while talking to it, kept for the rest of the run and
/// shared by every copy of the target's client: facts a server shows once and that would cost a
/// call per action to ask again.
public final class TargetKnowledge: Sendable {
    private struct State {
        /// What the server's schemas declare about returning attributes (`SCIMClient.returnedAttributes`).
        var returned: ReturnedAttributes?
        /// Set when a PATCH answered 501 or 405: why the rest of the run uses PUT.
        var patchUnsupported: String?
        /// Set once the `members.value eq` filter found a group whose own member list shows the
        /// user: the server evaluates that filter, so its answer covers the named groups too.
        var memberFilterProven = false
    }

    private let state = Mutex(State())

    public init() {}

    var patchUnsupported: String? {
        get { state.withLock { $0.patchUnsupported } }
        set { state.withLock { $0.patchUnsupported = newValue } }
    }

    var memberFilterProven: Bool {
        get { state.withLock { $0.memberFilterProven } }
        set { state.withLock { $0.memberFilterProven = newValue } }
    }

    var returned: ReturnedAttributes? {
        get { state.withLock { $0.returned } }
        set { state.withLock { $0.returned = newValue } }
    }
}
