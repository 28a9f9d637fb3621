import Foundation
import Synchronization
import LetheCore
import LetheDrivers
import LetheStorage

/// Carries out one planned action in one target: find the subject, act, read back.
///
/// Safe to run twice: the subject's id is recorded before the first write, writes are
/// idempotent, and attributes already erased are not written again.
public struct ActionExecutor: Sendable {
    let client: SCIMClient
    let pseudonymizer: Pseudonymizer
    /// Random text for the `random` strategy.
    let randomToken: @Sendable () -> String
    /// Records the subject's id before the first write, and what is written before each write.
    let journal: ActionJournal

    public init(client: SCIMClient, pseudonymizer: Pseudonymizer,
                randomToken: @escaping @Sendable () -> String = ActionExecutor.randomToken, journal: ActionJournal) {
        self.client = client
        self.pseudonymizer = pseudonymizer
        self.randomToken = randomToken
        self.journal = journal
    }

    /// Sixteen random hexadecimal characters, for the `random` strategy.
    @Sendable public static func randomToken() -> String {
        UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16).description
    }

    /// The text written by `redact`.
    public static let redacted = ErasurePatch.redacted

    public func execute(_ claimed: ClaimedAction, policy: TargetPolicy) async -> ExecutionResult {
        // Whatever a server says is kept without the subject's identifiers, the account's values,
        // or anything shaped like an e-mail address or a phone number: the audit log is permanent.
        let seen = AccountValues()
        let identifiers = [claimed.identifiers?.email, claimed.identifiers?.externalId, claimed.identifiers?.userName].compactMap { $0 }
        func clean(_ text: String) -> String {
            Scrubber(values: identifiers + seen.values).scrub(text)
        }
        return Self.scrubbed(await attempt(claimed, policy: policy, seen: seen, clean: clean), clean)
    }

    /// The subject's id found by this attempt and not yet recorded. It is recorded before the
    /// first write to the target: alone (`flush`), or with what Lethe writes (`take`).
    final class UnrecordedId: Sendable {
        private let id = Mutex<String?>(nil)
        private let record: @Sendable (String) async throws -> Void

        init(record: @escaping @Sendable (String) async throws -> Void) {
            self.record = record
        }

        func found(_ value: String) { id.withLock { $0 = value } }

        /// Hands the id over to a caller that records it; nil when there is none to record.
        func take() -> String? { id.withLock { value in defer { value = nil }; return value } }

        /// Records the id now, if it is not recorded yet.
        func flush() async throws {
            if let value = take() { try await record(value) }
        }
    }

    /// Every text of a result through `clean`.
    static func scrubbed(_ result: ExecutionResult, _ clean: (String) -> String) -> ExecutionResult {
        var out = result
        switch result.result {
        case .succeeded(let outcome, let verification): out.result = .succeeded(outcome, verification: clean(verification))
        case .notVerified(let why): out.result = .notVerified(clean(why))
        case .needsReview(let why): out.result = .needsReview(clean(why))
        case .transientFailure(let why, let retryAfter): out.result = .transientFailure(clean(why), retryAfter: retryAfter)
        case .permanentFailure(let why): out.result = .permanentFailure(clean(why))
        case .interrupted(let why): out.result = .interrupted(clean(why))
        case .handedOver, .confirmed: break
        }
        out.serverMessage = result.serverMessage.map(clean)
        return out
    }

    private func attempt(_ claimed: ClaimedAction, policy: TargetPolicy, seen: AccountValues, clean: (String) -> String) async -> ExecutionResult {
        do {
            let unrecorded = UnrecordedId { [journal] id in try await journal.recordAccountRef(claimed.action.id, id) }
            return try await run(claimed, policy: policy, seen: seen, unrecorded: unrecorded)
        } catch let error as SCIMClientError {
            if error.isInterruption || Task.isCancelled {
                return ExecutionResult(result: .interrupted("interrupted: Lethe stopped before \(policy.target) answered (shutdown or the run's deadline); taken up again next run"))
            }
            if error.isTransient {
                return ExecutionResult(result: .transientFailure(clean(error.description), retryAfter: error.retryAfter), statusCode: error.status,
                                       serverMessage: error.serverMessage.map(clean))
            }
            return ExecutionResult(result: .permanentFailure(clean(error.description)), statusCode: error.status,
                                   serverMessage: error.serverMessage.map(clean))
        } catch {
            if error is CancellationError || Task.isCancelled {
                return ExecutionResult(result: .interrupted("interrupted: Lethe stopped before \(policy.target) answered (shutdown or the run's deadline); taken up again next run"))
            }
            return ExecutionResult(result: .transientFailure(clean("\(policy.target): \(error)"), retryAfter: nil))
        }
    }

    private func run(_ claimed: ClaimedAction, policy: TargetPolicy, seen: AccountValues, unrecorded: UnrecordedId) async throws -> ExecutionResult {
        if claimed.action.follows != nil { return try await endRetention(claimed, seen: seen) }
        let plan = claimed.action.plan
        guard let subject = claimed.identifiers else {
            return ExecutionResult(result: .permanentFailure("the request's identifiers were purged; lethe retry with the identifiers to try again"))
        }
        guard let attribute = plan.match, let value = Self.value(of: attribute, in: subject, policy: policy) else {
            return ExecutionResult(result: .needsReview("no identifier \(policy.target) can match on"))
        }

        // Find the subject: by the id an earlier attempt recorded, else by the identifier. An id
        // is not an identity: the account read by it must still carry the identifier it was found
        // by, or hold exactly what Lethe wrote to it.
        var user: SCIMResource?
        if let known = claimed.action.accountRef {
            user = try await client.getUser(known)
            if user == nil, plan.operation == .delete {
                // An earlier attempt deleted it; finish the groups and confirm.
                return try await finishDelete(id: known, plan: plan, attribute: attribute, value: value)
            }
            if let found = user, !found.matches(attribute, value), !Self.holdsWhatLetheWrote(found, claimed.action.written) {
                return ExecutionResult(result: .needsReview(
                    "the account recorded as the subject's (\(known)) no longer carries the identifier it was found by, nor what Lethe wrote to it; "
                        + "Lethe wrote nothing, a person must check it"))
            }
        }
        if user == nil {
            switch try await resolve(attribute, value) {
            case .absent:
                return ExecutionResult(result: .succeeded(.absent, verification: "GET /Users?filter=\(attribute.rawValue) eq <subject> found no account"))
            case .ambiguous(let ids):
                return ExecutionResult(result: .needsReview(
                    "\(ids.count) accounts match by \(attribute.rawValue) (\(ids.joined(separator: ", "))); Lethe wrote nothing, a person must decide"))
            case .untrusted(let why):
                return ExecutionResult(result: .needsReview(why))
            case .found(let found):
                if attribute == .email, found.emailMatch(value) == .secondary {
                    return ExecutionResult(result: .needsReview(
                        "the address is a secondary e-mail of an account whose primary address differs (\(found.id)); Lethe wrote nothing, a person must decide"))
                }
                unrecorded.found(stored(found.id))
                user = found
            }
        }
        guard let user else { return ExecutionResult(result: .permanentFailure("unreachable")) }
        seen.add(user)

        switch plan.operation {
        case .delete:
            try await unrecorded.flush()
            if user.json["groups"]?.arrayValue != nil {
                // The server lists groups on users: leave them and check that on the user while it
                // still exists (a small read), then delete; nothing is left to check on the groups.
                var settled = "no group listed the user before the delete"
                switch try await leaveGroups(user.id, plan.groups, all: true, listing: user) {
                case .verified(let how)?: settled = how
                case let failed?: return Self.unsettled(failed)
                case nil: break
                }
                _ = try await client.deleteUser(user.id)
                return try await finishDelete(id: user.id, plan: plan, attribute: attribute, value: value, groupsSettled: true, settled: settled)
            }
            let memberships = try await client.groupsContaining(user.id, named: plan.groups, listing: user)
            for group in memberships.groups {
                try await client.removeMember(user.id, fromGroup: group.id)
            }
            _ = try await client.deleteUser(user.id)
            // Groups are checked again after the delete only when the user was in some (a
            // server may keep a deleted user listed) or when nothing settled it before.
            let settled = memberships.groups.isEmpty && memberships.unknown.isEmpty
            return try await finishDelete(id: user.id, plan: plan, attribute: attribute, value: value, groupsSettled: settled,
                                          settled: "no group listed the user before the delete (\(memberships.basis))")
        case .anonymize, .deactivate, .removeAttributes, .leaveGroups:
            let seen: [String]
            switch try await change(user, plan, claimed, unrecorded: unrecorded) {
            case .done(let how): seen = how
            case .stopped(let result): return result
            }
            let outcome: ActionOutcome = switch plan.operation {
            case .anonymize: .anonymized
            case .deactivate: .anonymizedAndDeactivated
            case .removeAttributes: .attributesRemoved
            default: .groupsLeft
            }
            return ExecutionResult(result: .succeeded(outcome, verification: seen.isEmpty ? "nothing left to change" : seen.joined(separator: "; ")))
        case .none, .needsReview:
            return ExecutionResult(result: .permanentFailure("operation \(plan.operation.rawValue) is not executable"))
        }
    }

    /// A follow-up that ends a legal retention, years after the request: the subject's
    /// identifiers are purged, so the account is the one whose SCIM id the request's own action
    /// recorded. Removes exactly what was kept, then reads it back.
    private func endRetention(_ claimed: ClaimedAction, seen: AccountValues) async throws -> ExecutionResult {
        let plan = claimed.action.plan
        guard let id = claimed.action.accountRef else {
            if claimed.action.accountRefPseudonym != nil {
                return ExecutionResult(result: .needsReview(
                    "the account's id in the target is itself personal data (an e-mail address), so Lethe kept only its pseudonym, "
                        + "and the subject's identifiers are purged: a person must find the account"))
            }
            return ExecutionResult(result: .needsReview("no SCIM id was recorded for this account, and the subject's identifiers are purged: a person must find it"))
        }
        guard let user = try await client.getUser(id) else {
            return ExecutionResult(result: .succeeded(.absent, verification: "GET /Users/{id} answers 404: the account no longer exists, nothing it kept remains"))
        }
        seen.add(user)
        // Years later, the id may belong to somebody else: act only on the account that still
        // holds what Lethe wrote to it when the request was carried out.
        guard Self.holdsWhatLetheWrote(user, claimed.action.written) else {
            return ExecutionResult(result: .needsReview(
                "the account \(id) no longer holds what Lethe wrote to it when the request was carried out; it may be somebody else's now. Lethe wrote nothing"))
        }
        let seen: [String]
        switch try await change(user, plan, claimed) {
        case .done(let how): seen = how
        case .stopped(let result): return result
        }
        return ExecutionResult(result: .succeeded(.attributesRemoved, verification: seen.isEmpty ? "nothing left to erase" : seen.joined(separator: "; ")))
    }

    /// After a delete, two reads: the user answers 404 *and* the lookup that found it no longer
    /// finds it (a server that answers 404 to everything cannot make a delete verified); and no
    /// group still lists it.
    private func finishDelete(id: String, plan: PlannedAction, attribute: MatchAttribute, value: String,
                              groupsSettled: Bool = false, settled: String = "no group listed the user before the delete") async throws -> ExecutionResult {
        let groups: Verification? = groupsSettled ? .verified(settled) : try await leaveGroups(id, plan.groups, all: true)
        if let groups, !groups.isVerified { return Self.unsettled(groups) }
        let deleted = try await client.verifyDeleted(id)
        switch deleted {
        case .verified(let how):
            switch try await resolve(attribute, value) {
            case .absent:
                break
            case .found(let other):
                return ExecutionResult(result: .notVerified(
                    "\(how), but GET /Users?filter=\(attribute.rawValue) eq <subject> still finds \(other.id == id ? "the same account" : "account \(other.id)")"))
            case .ambiguous(let ids):
                return ExecutionResult(result: .notVerified("\(how), but the lookup still finds \(ids.count) accounts"))
            case .untrusted(let why):
                return ExecutionResult(result: .notVerified("\(how), but the lookup could not confirm it: \(why)"))
            }
            var text = how + "; GET /Users?filter=\(attribute.rawValue) eq <subject> finds no account"
            if case .verified(let g) = groups { text += "; " + g }
            return ExecutionResult(result: .succeeded(.deleted, verification: text))
        case .notVerified, .unverifiable:
            return Self.unsettled(deleted)
        }
    }

    /// What changing an account (not deleting it) came to.
    private enum Change {
        /// Every write and group removal was read back: how each was seen.
        case done([String])
        /// A read-back did not prove it: the action's result.
        case stopped(ExecutionResult)
    }

    /// The attribute write and then the group removals of a plan that keeps the account, each
    /// read back. On a server that lists groups on users, the groups are left before the
    /// attributes are read back, and one read shows both.
    private func change(_ user: SCIMResource, _ plan: PlannedAction, _ claimed: ClaimedAction, unrecorded: UnrecordedId? = nil) async throws -> Change {
        let readBack = try await write(plan, to: user, claimed: claimed, unrecorded: unrecorded)
        // Recorded with the write above when there was one; else now, before any group
        // removal and before the result (a retention follow-up acts on this id years later).
        try await unrecorded?.flush()
        if let readBack, user.json["groups"]?.arrayValue != nil, !plan.groups.isEmpty {
            return try await leaveThenReadBack(user, plan, readBack)
        }
        var seen: [String] = []
        if let readBack {
            var verification = try await client.verifyAttributes(user.id, readBack.expectations, heldBefore: readBack.heldBefore, method: readBack.method)
            if case .notVerified = verification, let replaced = try await replaceIgnoredPatch(user, readBack) { verification = replaced }
            switch readBack.wrote ? noted(verification) : verification {
            case .verified(let how): seen.append(how)
            case let failed: return .stopped(Self.unsettled(failed))
            }
        }
        switch try await leaveGroups(user.id, plan.groups, all: false, listing: user) {
        case .verified(let how)?: seen.append(how)
        case let failed?: return .stopped(Self.unsettled(failed))
        case nil: break
        }
        return .done(seen)
    }

    /// On a server that lists groups on users: leaves the plan's groups the user is listed in,
    /// then reads the user once, asking for the written attributes and `groups` together. The
    /// attributes must show as written and no group left may still be listed, as when each is
    /// read back on its own.
    private func leaveThenReadBack(_ user: SCIMResource, _ plan: PlannedAction, _ readBack: ReadBack) async throws -> Change {
        let memberships = try await client.groupsContaining(user.id, named: plan.groups, listing: user)
        let leaving = memberships.groups.filter { group in plan.groups.contains { ASCIICase.equal($0, group.json["displayName"]?.stringValue ?? "") } }
        for group in leaving {
            try await client.removeMember(user.id, fromGroup: group.id)
        }
        var (attributes, groups) = try await client.verifyAttributes(user.id, readBack.expectations, heldBefore: readBack.heldBefore,
                                                                    left: leaving.map(\.id), method: readBack.method)
        if case .notVerified = attributes, let replaced = try await replaceIgnoredPatch(user, readBack) { attributes = replaced }
        var seen: [String] = []
        switch readBack.wrote ? noted(attributes) : attributes {
        case .verified(let how): seen.append(how)
        case let failed: return .stopped(Self.unsettled(failed))
        }
        var left: [String] = []
        for verification in groups {
            switch verification {
            case .verified(let how): left.append(how)
            case let failed: return .stopped(Self.unsettled(failed))
            }
        }
        if leaving.isEmpty {
            seen.append("no group of \(plan.groups.joined(separator: ", ")) lists the user (\(memberships.basis))")
        } else if case .verified(let how) = noted(.verified(left.joined(separator: "; "))) {
            seen.append(how)
        }
        return .done(seen)
    }

    /// What a write leaves to read back: what the account must show, and which of those
    /// attributes held a value before (`SCIMClient.verifyAttributes`).
    private struct ReadBack {
        var expectations: [AttributeExpectation]
        var heldBefore: Set<AttributePath>
        /// A PATCH (or its PUT) was sent, not only planned.
        var wrote: Bool
        /// What was sent, and how (PATCH, or PUT when the target takes no PATCH).
        var operations: [PatchOperation] = []
        var method = "PATCH"
    }

    /// Under `connection.update: auto`, a PATCH the server answered 2xx but did not apply is
    /// tried once more as a PUT of the whole account before the action fails; the read-back
    /// then says which method made it. nil when that does not apply (PUT already used, another
    /// update setting, nothing written).
    private func replaceIgnoredPatch(_ user: SCIMResource, _ readBack: ReadBack) async throws -> Verification? {
        guard readBack.wrote, readBack.method == "PATCH", client.updateMethod == .auto, !readBack.operations.isEmpty else { return nil }
        try await client.replaceUser(user.id, readBack.operations)
        let again = try await client.verifyAttributes(user.id, readBack.expectations, heldBefore: readBack.heldBefore, method: "PUT")
        guard case .verified(let how) = again else { return again }
        return .verified("the server answered the PATCH 2xx without applying it; made with PUT: " + how)
    }

    /// Sends the PATCH for `plan` to `user` and returns what to read back; nil when the plan changes no attribute.
    ///
    /// An attribute absent from the default answer is asked for by name before the patch is
    /// built (a server may leave `returned: request` attributes out), so a value it still holds
    /// is not mistaken for none. One the server's schema declares never returned is written
    /// blind (it may hold a value nobody can see), and its read-back is unverifiable.
    private func write(_ plan: PlannedAction, to user: SCIMResource, claimed: ClaimedAction, unrecorded: UnrecordedId?) async throws -> ReadBack? {
        let planned = plan.attributes.map(\.path)
        let missing = planned.filter { user.values(at: $0).isEmpty }
        let requested = missing.isEmpty ? nil : try await client.getUser(user.id, attributes: missing)
        let unseen = missing.filter { requested?.values(at: $0).isEmpty ?? true }
        let hidden = unseen.isEmpty ? [] : try await client.neverReturned()
        let blind = Set(unseen.filter { SCIMClient.isHidden($0, in: hidden) })
        let current: (AttributePath) -> [JSONValue] = { path in
            let values = user.values(at: path)
            if !values.isEmpty { return values }
            if let shown = requested?.values(at: path), !shown.isEmpty { return shown }
            return blind.contains(path) ? [.string("(a value the server never returns)")] : []
        }
        let (operations, expectations) = patch(for: plan, current: current, pseudonym: claimed.pseudonym, written: claimed.action.written)
        if !operations.isEmpty {
            try await journal.recordWritten(claimed.action.id, Self.written(operations), unrecorded?.take())
            try await client.patchUser(user.id, operations, etag: user.etag)
        }
        guard !expectations.isEmpty else { return nil }
        let heldBefore = Set(planned.filter { !current($0).isEmpty && !blind.contains($0) })
        return ReadBack(expectations: expectations, heldBefore: heldBefore, wrote: !operations.isEmpty, operations: operations,
                        method: client.replacesWithPut == nil ? "PATCH" : "PUT")
    }

    /// A verified change made with PUT says so ("PATCH unsupported (501): replaced with PUT").
    private func noted(_ verification: Verification) -> Verification {
        guard case .verified(let how) = verification, let note = client.replacesWithPut else { return verification }
        return .verified(note + "; " + how)
    }

    /// The result for a read-back that did not prove the change: not verified when it showed
    /// the change missing, needs review when nothing could show it either way.
    static func unsettled(_ verification: Verification) -> ExecutionResult {
        switch verification {
        case .verified(let how): preconditionFailure("a verified read-back is not unsettled: \(how)")
        case .notVerified(let why): ExecutionResult(result: .notVerified(why))
        case .unverifiable(let why): ExecutionResult(result: .needsReview("the write was sent but cannot be verified: \(why)"))
        }
    }

    /// The id as it may be stored: an id that is itself personal data (shaped like an e-mail
    /// address or a phone number) is kept only as its pseudonym. A rerun then finds the account
    /// by the subject's identifier again instead of by id.
    func stored(_ id: String) -> String {
        Scrubber.looksPersonal(id) ? StoredAction.pseudonymousIdPrefix + pseudonymizer.token("scim-id:" + id) : id
    }

    /// Replace values of a PATCH, by path: what Lethe writes and later recognises as its own.
    static func written(_ operations: [PatchOperation]) -> [String: JSONValue] {
        var values: [String: JSONValue] = [:]
        for operation in operations where operation.op == .replace {
            if let value = operation.value { values[operation.path] = value }
        }
        return values
    }

    /// True when the account holds every value Lethe wrote to it (and Lethe wrote something
    /// distinctive: a random or pseudonymous value, not only `[redacted]` or `active=false`).
    static func holdsWhatLetheWrote(_ user: SCIMResource, _ written: [String: JSONValue]) -> Bool {
        let distinctive = written.filter { $0.value.stringValue.map { $0 != ErasurePatch.redacted } ?? false }
        guard !distinctive.isEmpty else { return false }
        return distinctive.allSatisfy { path, value in
            guard case .success(let resolved) = AttributeCatalog.standard.resolve(path) else { return false }
            return user.values(at: resolved.path) == [value]
        }
    }

    /// Removes the user from the plan's groups (or from every group listing it, after a delete)
    /// and checks each group afterwards. Nil when there was nothing to leave; unverifiable when
    /// the server shows no way to tell whether the user is in a named group.
    private func leaveGroups(_ userId: String, _ names: [String], all: Bool, listing user: SCIMResource? = nil) async throws -> Verification? {
        if !all && names.isEmpty { return nil }
        let memberships = try await client.groupsContaining(userId, named: names, listing: user)
        let groups = memberships.groups
            .filter { group in all || names.contains { ASCIICase.equal($0, group.json["displayName"]?.stringValue ?? "") } }
        var seen: [String] = []
        // A server that lists groups on users answers the check on the user: a small read.
        let listsGroups = user?.json["groups"]?.arrayValue != nil
        for group in groups {
            try await client.removeMember(userId, fromGroup: group.id)
            let verification = listsGroups ? try await client.verifyLeft(userId, group: group.id)
                : try await client.verifyNotMember(userId, ofGroup: group.id)
            switch verification {
            case .verified(let how): seen.append(how)
            case let unsettled: return unsettled
            }
        }
        if !memberships.unknown.isEmpty {
            return .unverifiable("membership of group \(memberships.unknown.joined(separator: ", ")) cannot be established: "
                + "the server shows no member list for it and cannot filter groups by member")
        }
        guard groups.isEmpty else { return noted(.verified(seen.joined(separator: "; "))) }
        if all { return .verified("no group lists the user (\(memberships.basis))") }
        return names.isEmpty ? nil : .verified("no group of \(names.joined(separator: ", ")) lists the user (\(memberships.basis))")
    }

    enum Found {
        case absent
        case found(SCIMResource)
        case ambiguous([String])
        case untrusted(String)
    }

    private func resolve(_ attribute: MatchAttribute, _ value: String) async throws -> Found {
        do {
            switch try await client.resolve(attribute, value) {
            case .absent: return .absent
            case .found(let user): return .found(user)
            case .ambiguous(let ids): return .ambiguous(ids)
            }
        } catch where error.kind == .protocolViolation {
            return .untrusted(error.description)
        }
    }

    /// The PATCH operations for the plan and what the read-back must show (`ErasurePatch`).
    func patch(for plan: PlannedAction, current: (AttributePath) -> [JSONValue], pseudonym: String,
               written: [String: JSONValue] = [:]) -> ([PatchOperation], [AttributeExpectation]) {
        let patch = ErasurePatch.build(for: plan, current: current,
                                       pseudonym: { path in pseudonymizer.token("\(path):\(pseudonym)") }, randomToken: randomToken,
                                       written: written)
        let operations = patch.changes.map { change -> PatchOperation in
            switch change {
            case .replace(let path, let value): .replace(path, with: value)
            case .remove(let path): .remove(path)
            }
        }
        return (operations, patch.expectations)
    }

    /// The identifier value for the match attribute (the e-mail for userName when the policy says userName is the e-mail).
    static func value(of attribute: MatchAttribute, in subject: SubjectIdentifiers, policy: TargetPolicy) -> String? {
        if let value = subject.value(for: attribute) { return value }
        if attribute == .userName, policy.userNameIsEmail { return subject.value(for: .email) }
        return nil
    }
}

/// The personal values of the accounts an attempt read, so nothing the server says about them
/// is stored (see `Scrubber`).
final class AccountValues: Sendable {
    private let collected = Mutex<[String]>([])

    var values: [String] { collected.withLock { $0 } }

    /// Remembers every text value of the account that could identify a person.
    func add(_ user: SCIMResource) {
        var found: [String] = []
        func strings(_ value: JSONValue?) {
            switch value {
            case .string(let text)?: found.append(text)
            case .array(let items)?: items.forEach { strings($0) }
            case .object(let members)?: members.values.forEach { strings($0) }
            default: break
            }
        }
        for key in ["userName", "displayName", "nickName", "name", "emails", "phoneNumbers", "addresses", "externalId", "ims", "photos"] {
            strings(user.json[key])
        }
        // Keep the values, not the vocabulary (`work`, `home`, country codes).
        let values = found.filter { $0.count >= 3 && !["work", "home", "other", "mobile", "true", "false"].contains($0.lowercased()) }
        collected.withLock { $0.append(contentsOf: values) }
    }
}
