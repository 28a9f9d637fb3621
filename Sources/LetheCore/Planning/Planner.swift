/// Turns a request and the policies into one planned action per target.
///
/// Pure: the same request and policies always give the same plan. The rules are the
/// README's "Planning rules"; each one is named where it is applied.
public struct Planner: Sendable {
    public let policies: PolicySet

    public init(policies: PolicySet) { self.policies = policies }

    /// The request cannot be planned at all.
    public enum Problem: Error, Sendable, Hashable, CustomStringConvertible {
        case noIdentifier
        case noPurpose
        case unknownPurpose(String, known: [String])

        public var description: String {
            switch self {
            case .noIdentifier:
                "the request names no identifier of the subject (an e-mail address, an external id or a user name)"
            case .noPurpose:
                "a revocation needs at least one purpose"
            case .unknownPurpose(let name, let known):
                "unknown purpose '\(name)'"
                    + (Suggest.closest(to: name, in: known).map { "; did you mean '\($0)'?" } ?? "")
                    + " (known purposes: \(known.joined(separator: ", ")))"
            }
        }
    }

    /// One action per target, in target order.
    public func plan(_ request: PlanningRequest) throws(Problem) -> [PlannedAction] {
        guard !request.subject.isEmpty else { throw .noIdentifier }
        if case .revocation(let purposes) = request.kind {
            guard !purposes.isEmpty else { throw .noPurpose }
            for purpose in purposes where !policies.purposes.contains(purpose) {
                throw .unknownPurpose(purpose, known: policies.purposes.names)
            }
        }
        return policies.policies.map { plan(request, in: $0) }
    }

    func plan(_ request: PlanningRequest, in policy: TargetPolicy) -> PlannedAction {
        switch request.kind {
        case .erasure:
            return withMatch(erasure(policy, received: request.received, today: request.today, why: nil), request: request, policy: policy)
        case .revocation(let purposes):
            return withMatch(revocation(of: Set(purposes), in: policy, received: request.received, today: request.today), request: request, policy: policy)
        }
    }

    /// Rule: a subject without an identifier the target matches on cannot be found there safely.
    private func withMatch(_ action: PlannedAction, request: PlanningRequest, policy: TargetPolicy) -> PlannedAction {
        guard action.needsWork else { return action }
        guard let (attribute, _) = policy.lookup(for: request.subject) else {
            var review = action
            review.operation = .needsReview
            review.reason = "\(policy.target) finds subjects by \(policy.match.map(\.rawValue).joined(separator: ", ")) and the request has none of them; "
                + "retry with one of them (planned: \(action.operation.rawValue))"
            return review
        }
        var matched = action
        matched.match = attribute
        return matched
    }

    // MARK: erasure

    /// Rule: erasure applies the target's erasure action; shares under a legal obligation with a
    /// retention that has not ended survive it (a follow-up erases them the day after it ends),
    /// and a delete then becomes an anonymization of everything else. A retention that ended
    /// before the request is planned keeps nothing: its data goes with the rest, and the plan
    /// still says what the obligation was (`ended`).
    private func erasure(_ policy: TargetPolicy, received: CalendarDate, today: CalendarDate, why: String?) -> PlannedAction {
        let legalShares = policy.shares.filter { $0.basis == .legalObligation && $0.retention != nil }
        let retainedShares = legalShares.filter { $0.retention!.end(from: received) >= today }
        let endedShares = legalShares.filter { $0.retention!.end(from: received) < today }
        let retained = retainedShares.map { share in
            RetainedData(purpose: share.purpose, basis: share.basis, attributes: share.attributes, groups: share.groups,
                         until: share.retention!.end(from: received))
        }
        let ended = endedShares.map { share in
            RetainedData(purpose: share.purpose, basis: share.basis, attributes: share.attributes, groups: share.groups,
                         until: share.retention!.end(from: received), ended: true)
        }
        let keptPaths = retainedShares.flatMap(\.attributes)
        let keptGroups = Set(retainedShares.flatMap(\.groups))
        let groups = policy.allGroups.filter { !keptGroups.contains($0) }
        let prefix = why.map { $0 + "; " } ?? ""
        let keptText = retained.map { "\($0.attributes.map(\.description).joined(separator: ", ")) kept under \($0.basis.rawValue) (\($0.purpose)) until \($0.until)" }
            .joined(separator: "; ")

        let endedText = ended.map { "\($0.attributes.map(\.description).joined(separator: ", ")) was kept under \($0.basis.rawValue) (\($0.purpose)) until \($0.until), which has passed" }
            .joined(separator: "; ")
        let endedNote = ended.isEmpty ? "" : "; " + endedText + ": erased with the rest"
        switch policy.erasure.action {
        case .delete where retained.isEmpty:
            return PlannedAction(target: policy.target, operation: .delete, groups: groups, retained: ended,
                                 reason: prefix + "erasure: \(policy.target) deletes the account" + (groups.isEmpty ? "" : " after removing it from its groups") + endedNote)
        case .delete:
            return PlannedAction(
                target: policy.target, operation: .anonymize,
                attributes: anonymization(policy, keeping: keptPaths), groups: groups, retained: retained + ended,
                reason: prefix + "erasure: deleting would destroy data the law requires to keep (\(keptText)); everything else is anonymized instead (GDPR Art. 17(3)(b))")
        case .anonymize:
            return PlannedAction(
                target: policy.target, operation: .anonymize,
                attributes: anonymization(policy, keeping: keptPaths), groups: groups, retained: retained + ended,
                reason: prefix + "erasure: \(policy.target) anonymizes the account" + (retained.isEmpty ? "" : "; \(keptText) (GDPR Art. 17(3)(b))") + endedNote)
        case .deactivate:
            return PlannedAction(
                target: policy.target, operation: .deactivate,
                attributes: anonymization(policy, keeping: keptPaths), groups: groups, retained: retained + ended,
                reason: prefix + "erasure: \(policy.target) anonymizes the account and deactivates it (active=false)"
                    + (retained.isEmpty ? "" : "; \(keptText) (GDPR Art. 17(3)(b))"))
        }
    }

    /// Every shared or listed attribute outside the kept ones, with the policy's strategy
    /// or the default (`remove`; `random` for a required attribute such as userName).
    private func anonymization(_ policy: TargetPolicy, keeping kept: [AttributePath]) -> [AttributeChange] {
        let shared = policy.shares.flatMap(\.attributes)
        let listed = policy.erasure.anonymize.keys.sorted()
        return (shared + listed).uniqued()
            .filter { path in !kept.contains { overlaps(path, $0) } }
            .map { AttributeChange(path: $0, strategy: strategy(for: $0, in: policy)) }
    }

    private func strategy(for path: AttributePath, in policy: TargetPolicy) -> AnonymizeStrategy {
        if let chosen = policy.erasure.anonymize[path] { return chosen }
        if case .success(let resolved) = AttributeCatalog.standard.resolve(path.description), resolved.shape.required {
            return .random
        }
        return .remove
    }

    /// True when changing `a` would touch `b` (the same attribute, or one contains the other).
    private func overlaps(_ a: AttributePath, _ b: AttributePath) -> Bool {
        a == b || a.parent == b || b.parent == a
    }

    // MARK: revocation

    /// Rule: a withdrawal removes exactly what is shared under those purposes with basis consent;
    /// if that is everything the target holds, the target's erasure applies instead.
    private func revocation(of purposes: Set<String>, in policy: TargetPolicy, received: CalendarDate, today: CalendarDate) -> PlannedAction {
        let names = purposes.sorted().joined(separator: ", ")
        let revoked = policy.shares.filter { purposes.contains($0.purpose) && $0.basis == .consent }
        let remaining = policy.shares.filter { !(purposes.contains($0.purpose) && $0.basis == .consent) }
        guard !revoked.isEmpty else {
            let other = policy.shares.filter { purposes.contains($0.purpose) }
            let reason = other.isEmpty
                ? "\(policy.target) holds nothing for \(names)"
                : "\(policy.target) holds \(names) data under \(other.map(\.basis.rawValue).uniqued().joined(separator: ", ")), not consent: withdrawing consent does not reach it"
            return PlannedAction(target: policy.target, operation: .none, reason: reason)
        }
        guard !remaining.isEmpty else {
            return erasure(policy, received: received, today: today,
                           why: "everything \(policy.target) holds rests on consent for \(revoked.map(\.purpose).uniqued().joined(separator: ", ")), now withdrawn, so its erasure applies")
        }
        let stillShared = remaining.flatMap(\.attributes)
        let stillGroups = Set(remaining.flatMap(\.groups))
        let attributes = revoked.flatMap(\.attributes).uniqued()
            .filter { path in !stillShared.contains { $0 == path || $0 == path.parent } }
            .map { path in
                AttributeChange(path: path, strategy: strategy(for: path, in: policy) == .random ? .random : .remove)
            }
        let groups = revoked.flatMap(\.groups).uniqued().filter { !stillGroups.contains($0) }
        if attributes.isEmpty && groups.isEmpty {
            return PlannedAction(target: policy.target, operation: .none,
                                 reason: "everything \(policy.target) holds for \(names) is also held under another purpose or basis, which stays")
        }
        var what: [String] = []
        if !attributes.isEmpty { what.append("removes \(attributes.map(\.path.description).joined(separator: ", "))") }
        if !groups.isEmpty { what.append("leaves \(groups.joined(separator: ", "))") }
        return PlannedAction(
            target: policy.target, operation: attributes.isEmpty ? .leaveGroups : .removeAttributes,
            attributes: attributes, groups: groups,
            reason: "consent for \(names) withdrawn: \(policy.target) " + what.joined(separator: " and ") + "; data under other purposes stays")
    }
}
