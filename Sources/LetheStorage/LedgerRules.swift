import Foundation
import LetheCore

// The rules of filing and deciding that every store applies the same way, kept here so that
// the stores hold only their SQL.

extension NewRequest {
    /// Each planned action's first state: nothing to do, a person must look, held for approval, or pending.
    public var initialActionStates: [ActionState] {
        plan.map { action -> ActionState in
            switch action.operation {
            case .none: .succeeded
            case .needsReview: .needsReview
            default: needsApproval ? .held : .pending
            }
        }
    }

    /// The request's state as filed (before its actions settle it).
    public var initialState: RequestState {
        RequestState.derive(actions: initialActionStates, anyAttempt: false, cancelled: false) == .awaitingApproval ? .awaitingApproval : .received
    }

    /// Whether filing settles the request at once (nothing for Lethe to do, or only things a person must do).
    public var settlesAtFiling: Bool {
        RequestState.derive(actions: initialActionStates, anyAttempt: false, cancelled: false) != initialState
    }
}

extension StoredRequest {
    /// Why `actor` may not approve this request now, or its filer's name when they may.
    public func approvalFiler(by actor: Principal) throws -> String {
        switch approval?.state {
        case nil:
            throw StoreError.invalid("request \(id) does not wait for approval (none was required when it was filed)")
        case .approved?:
            throw StoreError.invalid("request \(id) was already approved by \(approval?.by ?? "someone")")
        case .rejected?:
            throw StoreError.invalid("request \(id) was rejected; a rejected request cannot be approved")
        case .awaiting?:
            break
        }
        guard state != .cancelled else { throw StoreError.invalid("request \(id) was cancelled; there is nothing to approve") }
        guard let filer = requestedBy else {
            throw StoreError.invalid("request \(id) does not say who filed it, so four eyes cannot be checked; file it again with a name")
        }
        guard !isFiled(by: actor) else { throw StoreError.selfApproval(requestId: id, filer: filer) }
        return filer
    }

    /// The request's extension and due day after extending it by `months` (1 or 2, at most 2 in
    /// all: GDPR Art. 12(3)), or why it cannot be extended.
    public func extended(by months: Int) throws -> (total: Int, due: CalendarDate) {
        guard (1...2).contains(months) else { throw StoreError.invalidExtension(months: months) }
        guard extendedMonths + months <= 2 else {
            throw StoreError.invalid("request \(id) is already extended by \(extendedMonths) month(s); GDPR Art. 12(3) allows 2 in all")
        }
        guard !state.isTerminal else { throw StoreError.invalid("request \(id) is \(state.rawValue); only open requests can be extended") }
        let total = extendedMonths + months
        return (total, received.adding(months: 1 + total))
    }

    /// Refuses a rejection of a request that has ended (the attempts are checked by the store).
    public func checkRejectable() throws {
        switch state {
        case .rejected: throw StoreError.invalid("request \(id) was already rejected")
        case .cancelled, .completed, .failed:
            throw StoreError.invalid("request \(id) is already \(state.rawValue); only a request nothing was done for can be rejected")
        case .awaitingApproval, .received, .inProgress, .needsReview: break
        }
    }

    /// Refuses a rejection of a request some system already acted on.
    public func checkNothingAttempted(_ attempts: Int) throws {
        guard attempts == 0 else {
            throw StoreError.invalid("request \(id) has already been worked on (\(attempts) attempt\(attempts == 1 ? "" : "s")); "
                + "a rejection would misstate what happened, so cancel it instead (`lethe cancel`)")
        }
    }
}

extension APIToken {
    /// A new token's id and secret, for a name that is 1 to 100 bytes without a control character.
    public static func new(named name: String) throws -> (id: String, secret: String) {
        guard !name.isEmpty, name.utf8.count <= 100 else { throw StoreError.invalid("a token name is 1 to 100 bytes") }
        guard !name.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw StoreError.invalid("a token name cannot hold a control character")
        }
        var random = SystemRandomNumberGenerator()
        return ("tok_" + Hex.encode((0..<6).map { _ in UInt8.random(in: 0...255, using: &random) }),
                "lethe_" + Hex.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }))
    }
}

extension StoredRequest {
    /// Refuses a confirmation of this request's task by its filer when the request needed
    /// approval: the four eyes that held its filing also hold what is done for it.
    public func checkConfirmer(_ actor: Principal) throws {
        guard approval != nil, isFiled(by: actor) else { return }
        throw StoreError.invalid("\(actor.name) filed request \(id), which needed a second person's approval; "
            + "its tasks are confirmed by someone else too (four eyes)")
    }
}

extension StoredAction {
    /// Refuses a confirmation of an action that does not wait for one, saying what it is instead.
    public func checkConfirmable() throws {
        switch state {
        case .awaitingConfirmation:
            return
        case .succeeded where confirmedBy != nil, .failed where confirmedBy != nil:
            throw StoreError.invalid("the \(target) task of request \(requestId) was already confirmed by \(confirmedBy ?? "someone") "
                + "(\(state.rawValue)); a confirmation is recorded once")
        case .cancelled:
            throw StoreError.invalid("the \(target) task of request \(requestId) was cancelled with its request; there is nothing to confirm")
        case .held, .pending, .scheduled, .running, .retrying:
            throw StoreError.invalid("the \(target) action of request \(requestId) has not been handed to a person yet (\(state.rawValue)); "
                + "`lethe run` hands it over")
        case .succeeded, .failed, .needsReview:
            throw StoreError.invalid("the \(target) action of request \(requestId) is \(state.rawValue) and waits for no confirmation")
        }
    }

    /// The task's audit details: who said what, and how it is known.
    /// `outcome` is the action's (what reports cite and `report verify` compares); `said` the person's words for it.
    public static func confirmationDetails(_ said: TaskOutcome, _ transition: ActionStateMachine.Transition, by actor: Principal,
                                           note: String?, evidence: Evidence = .person) -> [String: JSONValue] {
        var details: [String: JSONValue] = ["task_outcome": .string(said.rawValue), "evidence": .string(evidence.rawValue),
                                            "confirmed_by": .string(actor.name)]
        if let outcome = transition.outcome { details["outcome"] = .string(outcome.rawValue) }
        if let note { details["note"] = .string(note) }
        return details
    }
}
