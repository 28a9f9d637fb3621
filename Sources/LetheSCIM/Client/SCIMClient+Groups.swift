import LetheCore

extension SCIMClient {
    /// The group with this id, or nil on 404.
    public func getGroup(_ id: String) async throws(SCIMClientError) -> SCIMResource? {
        let operation = "GET /Groups/\(id)"
        // Members asked for explicitly: some servers leave them out of default answers.
        let response = try await send(.get, "/Groups/\(Self.pathComponent(id))?attributes=members,displayName", operation: operation)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw failure(response, operation) }
        return try parseResource(response, operation)
    }

    /// What the server shows of a user's group memberships.
    public struct Memberships: Sendable, Hashable {
        /// The groups that hold the user.
        public var groups: [SCIMResource]
        /// Groups named in the policy whose membership no answer settles: the server neither
        /// shows their members nor filters groups by member.
        public var unknown: [String]
        /// What the answer rests on, for the statement that the user is in no group.
        public var basis: String
    }

    /// The groups that list the user as a member: those the server finds with
    /// `members.value eq "ID"`, plus those named in the policy (servers differ in what they
    /// filter on, and some keep deleted users as members). A group counts when its member list
    /// holds the id, or when the member filter found it and the server shows no member list.
    /// A named group whose members are never shown, on a server that cannot filter by member,
    /// is `unknown`: neither in nor out.
    ///
    /// When the user as read lists its `groups` (RFC 7643 §4.1.2, as many servers do), that
    /// list is the answer and no group is queried: pass the user as `listing`. Once the member
    /// filter has found a group whose member list shows the user, the target is known to
    /// evaluate it, and the named groups are no longer asked for separately (one query, not 1 + names).
    public func groupsContaining(_ userId: String, named names: [String], listing user: SCIMResource? = nil) async throws(SCIMClientError) -> Memberships {
        if let listed = user?.json["groups"]?.arrayValue {
            var groups: [SCIMResource] = []
            for entry in listed {
                // A listed group is a membership: one Lethe cannot name is an error, never skipped.
                guard let id = entry["value"]?.stringValue ?? SCIMResource.integerText(entry["value"]) else {
                    throw SCIMClientError(kind: .protocolViolation, target: target, operation: "GET /Users/\(userId)", status: 200,
                                          detail: "the user's groups list an entry without a group id")
                }
                guard !groups.contains(where: { $0.id == id }) else { continue }
                var fields: [String: JSONValue] = ["id": .string(id)]
                if let display = entry["display"] { fields["displayName"] = display }
                if fields["displayName"] == nil && !names.isEmpty {
                    // Without a display name, a named group is told apart by asking for it.
                    if let group = try await getGroup(id) { groups.append(group) }
                    continue
                }
                do {
                    groups.append(try SCIMResource(json: .object(fields)))
                } catch {
                    throw SCIMClientError(kind: .protocolViolation, target: target, operation: "GET /Users/\(userId)", status: 200,
                                          detail: "the user's groups list \(error.description)")
                }
            }
            return Memberships(groups: groups, unknown: [], basis: "GET /Users/\(userId) lists its groups")
        }
        var found = Memberships(groups: [], unknown: [], basis: "")
        // Once the filter is proven, its answer is the membership: the groups come without their
        // member lists (one large group would otherwise be sent whole with every erasure).
        let proven = knowledge.memberFilterProven
        let byMember = try await listGroups(filter: SCIMFilter.equals("members.value", userId), tolerateUnsupported: true,
                                            withoutMembers: proven)
        for listed in byMember ?? [] where !found.groups.contains(where: { $0.id == listed.id }) {
            if proven, listed.json["members"] == nil {
                found.groups.append(listed)
                continue
            }
            guard let group = try await withMembers(listed) else { continue }
            // Found by the member filter: in, unless its member list says otherwise.
            if group.json["members"] == nil || group.memberIds.contains(userId) { found.groups.append(group) }
            // The filter found a group whose own member list holds the user: this server
            // evaluates it (one that ignores it answers with every group, still a superset).
            if group.json["members"] != nil, group.memberIds.contains(userId) { knowledge.memberFilterProven = true }
        }
        // Once this target's member filter has been seen to work (above), a named group that
        // holds the user is one it finds: asking for the named groups too would only repeat it.
        if byMember != nil, knowledge.memberFilterProven {
            found.basis = "GET /Groups?filter=members.value eq <user>, a filter this target was seen to evaluate"
            return found
        }
        found.basis = switch (byMember == nil, names.isEmpty) {
        case (false, true): "GET /Groups?filter=members.value eq <user>"
        case (false, false): "GET /Groups?filter=members.value eq <user> and the member lists of \(names.joined(separator: ", "))"
        case (true, false): "the member lists of \(names.joined(separator: ", ")); the server cannot filter groups by member"
        case (true, true): "the server cannot filter groups by member and the policy names no group"
        }
        for name in names {
            let named = try await listGroups(filter: SCIMFilter.equals("displayName", name), tolerateUnsupported: false) ?? []
            // displayName is caseExact: false; ASCII case only, never Unicode folding.
            for listed in named where (listed.json["displayName"]?.stringValue).map({ ASCIICase.equal($0, name) }) ?? false {
                guard !found.groups.contains(where: { $0.id == listed.id }), let group = try await withMembers(listed) else { continue }
                if group.json["members"] != nil {
                    if group.memberIds.contains(userId) { found.groups.append(group) }
                } else if byMember == nil, !found.unknown.contains(name) {
                    // No member list and no member filter: nothing says whether the user is in it.
                    found.unknown.append(name)
                }
            }
        }
        return found
    }

    /// The group with its member list: a list answer that leaves `members` out says nothing
    /// about membership, so the group itself is asked. Nil when it is gone.
    private func withMembers(_ listed: SCIMResource) async throws(SCIMClientError) -> SCIMResource? {
        listed.json["members"] == nil ? try await getGroup(listed.id) : listed
    }

    /// Lists groups matching a filter, following pagination. With `tolerateUnsupported`, a 400
    /// or 501 (the server cannot filter on that attribute) gives nil instead of an error. With
    /// `withoutMembers`, the groups are asked for without their member lists
    /// (`excludedAttributes=members`, RFC 7644 §3.4.2.5); a server may send them anyway.
    func listGroups(filter: String, tolerateUnsupported: Bool, withoutMembers: Bool = false) async throws(SCIMClientError) -> [SCIMResource]? {
        let operation = "GET /Groups?filter=\(filter)"
        var all: [SCIMResource] = []
        var startIndex = 1
        let excluded = withoutMembers ? "&excludedAttributes=members" : ""
        for _ in 0..<50 {
            let response = try await send(
                .get, "/Groups?filter=\(SCIMFilter.percentEncoded(filter))\(excluded)&startIndex=\(startIndex)&count=\(pageSize)",
                operation: operation)
            if tolerateUnsupported, response.status == 400 || response.status == 501 { return nil }
            guard response.status == 200 else { throw failure(response, operation) }
            let page = try parseList(response, operation)
            all += page.resources
            if page.resources.isEmpty || startIndex - 1 + page.resources.count >= page.totalResults { break }
            startIndex += page.resources.count
        }
        return all
    }

    /// Removes the user from a group with `remove` path `members[value eq "ID"]`. A group that
    /// no longer exists holds no membership, so 404 counts as done.
    ///
    /// Without PATCH, the group's member list is replaced instead (`replaceMembers`).
    ///
    /// No `If-Match` is sent: removing one member does not depend on the rest of the group, and
    /// many erasures leave a large group at once, so a version check would only make them collide.
    public func removeMember(_ userId: String, fromGroup groupId: String) async throws(SCIMClientError) {
        let operation = "PATCH /Groups/\(groupId)"
        do {
            try await updating(patch: { () async throws(SCIMClientError) in
                // The answer is not read; without the member list it stays small (RFC 7644 §3.5.2:
                // a PATCH answer follows the attribute parameters of §3.9).
                try await patch(
                    "/Groups/\(Self.pathComponent(groupId))?excludedAttributes=members",
                    [.remove("members[value eq \(SCIMFilter.quoted(userId))]")], etag: nil, operation: operation
                ) { () async throws(SCIMClientError) -> String? in nil }
            }, put: { () async throws(SCIMClientError) in
                try await replaceMembers(removing: userId, fromGroup: groupId)
            })
        } catch where error.status == 404 {
            return
        }
    }
}
