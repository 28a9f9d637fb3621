import LetheCore

/// What a read-back showed.
public enum Verification: Sendable, Hashable, CustomStringConvertible {
    /// The change is visible, and how Lethe saw it.
    case verified(String)
    /// The server said yes but the change is not there: what was seen instead (no personal data).
    case notVerified(String)
    /// Nothing a read can show settles it either way (an attribute the server never returns, a
    /// membership the server neither lists nor filters on): why, for the person who must check.
    case unverifiable(String)

    public var isVerified: Bool {
        if case .verified = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .verified(let how): "verified: \(how)"
        case .notVerified(let seen): "not verified: \(seen)"
        case .unverifiable(let why): "unverifiable: \(why)"
        }
    }
}

extension SCIMClient {
    /// After a DELETE, the user must be gone: GET answers 404.
    public func verifyDeleted(_ id: String) async throws(SCIMClientError) -> Verification {
        guard let user = try await getUser(id) else { return .verified("GET /Users/\(id) answers 404") }
        if user.active == false {
            return .notVerified("GET /Users/\(id) still answers 200 with active=false: the server only deactivated it (soft delete)")
        }
        return .notVerified("GET /Users/\(id) still answers 200: the user was not deleted")
    }

    /// After a PATCH, every attribute must hold its expected value (removed ones absent). The
    /// read asks for the planned attributes by name (`?attributes=`), so one the server leaves out
    /// of default answers is shown when it still holds a value.
    ///
    /// An attribute that held no value in any read before the write (`heldBefore`), shows none
    /// now, and that the server's schemas declare `returned: never` is unverifiable: no answer
    /// can show it, so its absence proves nothing.
    /// `method` names the write the server accepted (PATCH or PUT) in what a failure says.
    public func verifyAttributes(_ id: String, _ expectations: [AttributeExpectation],
                                 heldBefore: Set<AttributePath> = [], method: String = "PATCH") async throws(SCIMClientError) -> Verification {
        try await verifyAttributes(id, expectations, heldBefore: heldBefore, left: [], method: method).attributes
    }

    /// `verifyAttributes` and, in the same read, `verifyLeft` for each of `groupIds`: on a server
    /// that lists groups on users, the planned attributes and `groups` are asked for together, so
    /// a change that also leaves groups is read back once, not once for the attributes and once
    /// per group. A group the answer does not settle (no `groups` shown) is read as `verifyLeft` does.
    public func verifyAttributes(_ id: String, _ expectations: [AttributeExpectation], heldBefore: Set<AttributePath>,
                                 left groupIds: [String], method: String = "PATCH") async throws(SCIMClientError) -> (attributes: Verification, groups: [Verification]) {
        let asked = expectations.map(\.path) + (groupIds.isEmpty ? [] : [AttributePath(name: "groups")])
        guard let user = try await getUser(id, attributes: asked) else {
            let gone = Verification.notVerified("GET /Users/\(id) answers 404: the user disappeared instead of being changed")
            return (gone, groupIds.map { _ in gone })
        }
        var groups: [Verification] = []
        for groupId in groupIds { groups.append(try await left(user, of: id, group: groupId)) }
        let invisible = expectations.map(\.path).filter { !heldBefore.contains($0) && user.values(at: $0).isEmpty }
        let hidden = invisible.isEmpty ? [] : try await neverReturned()
        let blind = invisible.filter { Self.isHidden($0, in: hidden) }
        let result = Self.check(user, expectations.filter { !blind.contains($0.path) }, method: method)
        guard result.isVerified, !blind.isEmpty else { return (result, groups) }
        return (.unverifiable(blind.map { "\($0) is unverifiable" }.joined(separator: "; ")
            + ": the server's schema declares \(blind.count == 1 ? "it" : "them") never returned, so no read can show what "
            + "\(blind.count == 1 ? "it holds" : "they hold") now; check the account in the target"), groups)
    }

    /// Compares a read-back resource with expectations; the mismatch names attributes, never values.
    public static func check(_ user: SCIMResource, _ expectations: [AttributeExpectation], method: String = "PATCH") -> Verification {
        var wrong: [String] = []
        var kept: [String] = []
        for expectation in expectations {
            let values = user.values(at: expectation.path)
            switch expectation.expected {
            case .absent where !values.isEmpty:
                wrong.append("\(expectation.path) still holds a value")
                if AttributeCatalog.standard.takesPlaceholder(expectation.path) { kept.append(expectation.path.name) }
            case .equals(let value) where values.isEmpty || values.contains(where: { $0 != value }):
                wrong.append(values.isEmpty ? "\(expectation.path) is missing" : "\(expectation.path) holds another value than was written")
            case .onlyItem(let value):
                let items = values.flatMap { $0.arrayValue ?? [$0] }
                if items.count != 1 || items[0]["value"]?.stringValue != value {
                    wrong.append(items.isEmpty ? "\(expectation.path) is missing"
                                 : "\(expectation.path) holds \(items.count == 1 ? "another value" : "\(items.count) values") instead of the one placeholder written")
                }
            default:
                continue
            }
        }
        if wrong.isEmpty {
            return .verified("GET /Users/\(user.id) shows \(expectations.count) attribute\(expectations.count == 1 ? "" : "s") as written")
        }
        var text = "GET /Users/\(user.id): " + wrong.joined(separator: "; ") + " (the server accepted the \(method) but did not apply it)"
        if !kept.isEmpty {
            // Some servers (django-scim2's default adapter) keep a multi-valued attribute's last
            // value whatever PATCH or PUT says; they do take a replacement.
            text += "; the server kept \(kept.joined(separator: ", ")): consider " + kept.map { "`\($0): random`" }.joined(separator: ", ")
                + " (one placeholder value at erased.invalid replaces \(kept.count == 1 ? "it" : "them"))"
        }
        return .notVerified(text)
    }

    /// After a group removal, the group must no longer list the user. On a target whose member
    /// filter has been seen to work, the filter answers (a small read, where the group's own
    /// member list may hold every customer); otherwise the group is read. A group that shows no
    /// member list is checked with the member filter instead; when the server offers neither,
    /// the removal is unverifiable.
    public func verifyNotMember(_ userId: String, ofGroup groupId: String) async throws(SCIMClientError) -> Verification {
        if knowledge.memberFilterProven,
           let byMember = try await listGroups(filter: SCIMFilter.equals("members.value", userId), tolerateUnsupported: true, withoutMembers: true) {
            if let still = byMember.first(where: { $0.id == groupId }) {
                // A server that sent the member list anyway is taken at its word for this group.
                if still.json["members"] == nil || still.memberIds.contains(userId) {
                    return .notVerified("GET /Groups?filter=members.value eq <user> still finds group \(groupId)")
                }
                return .verified("GET /Groups?filter=members.value eq <user> still finds group \(groupId), but the member list it sent no longer holds the user")
            }
            return .verified("GET /Groups?filter=members.value eq <user> (a filter this target was seen to evaluate) no longer finds group \(groupId)")
        }
        guard let group = try await getGroup(groupId) else { return .verified("group \(groupId) no longer exists") }
        if group.json["members"] != nil {
            if group.memberIds.contains(userId) {
                return .notVerified("GET /Groups/\(groupId) still lists the user as a member")
            }
            return .verified("GET /Groups/\(groupId) no longer lists the user")
        }
        guard let byMember = try await listGroups(filter: SCIMFilter.equals("members.value", userId), tolerateUnsupported: true) else {
            return .unverifiable("GET /Groups/\(groupId) shows no member list and the server cannot filter groups by member: "
                + "whether the user left the group cannot be established")
        }
        if byMember.contains(where: { $0.id == groupId }) {
            return .notVerified("GET /Groups?filter=members.value eq <user> still finds group \(groupId)")
        }
        return .verified("GET /Groups?filter=members.value eq <user> no longer finds group \(groupId)")
    }

    /// After a group removal, on a server that lists groups on users: the user's own `groups`
    /// no longer names the group. A small read instead of the group's whole member list; when
    /// the answer shows no `groups` at all (an empty list may be left out), the group is read.
    public func verifyLeft(_ userId: String, group groupId: String) async throws(SCIMClientError) -> Verification {
        guard let user = try await getUser(userId, attributes: [AttributePath(name: "groups")]) else {
            return try await verifyNotMember(userId, ofGroup: groupId)
        }
        return try await left(user, of: userId, group: groupId)
    }

    /// Whether the user `userId`, as read, no longer lists a group; when it shows no `groups`, the
    /// group is read.
    private func left(_ user: SCIMResource, of userId: String, group groupId: String) async throws(SCIMClientError) -> Verification {
        guard let listed = user.json["groups"]?.arrayValue else {
            return try await verifyNotMember(userId, ofGroup: groupId)
        }
        if listed.contains(where: { ($0["value"]?.stringValue ?? SCIMResource.integerText($0["value"])) == groupId }) {
            return .notVerified("GET /Users/\(userId) still lists group \(groupId)")
        }
        return .verified("GET /Users/\(userId) no longer lists group \(groupId)")
    }
}
