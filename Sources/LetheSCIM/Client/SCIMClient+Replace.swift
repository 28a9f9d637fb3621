import LetheCore

extension SCIMClient {
    /// Why this target's changes are made with PUT (`connection.update: put`, or the PATCH
    /// answer that showed it has none); nil while PATCH is used.
    public var replacesWithPut: String? {
        update == .put ? "connection.update is put: replaced with PUT" : knowledge.patchUnsupported
    }

    /// The policy's `connection.update`.
    public var updateMethod: UpdateMethod { update }

    /// Runs `patch`, or its PUT equivalent `put` when the target has no PATCH: by policy, by what
    /// this run already learnt, or (with `auto`) by the 501 or 405 the PATCH answers now, which
    /// is then remembered for the rest of the run.
    func updating<T>(patch: () async throws(SCIMClientError) -> T, put: () async throws(SCIMClientError) -> T) async throws(SCIMClientError) -> T {
        if replacesWithPut != nil { return try await put() }
        do {
            return try await patch()
        } catch where update == .auto && error.kind == .http && (error.status == 501 || error.status == 405) {
            knowledge.patchUnsupported = "PATCH unsupported (\(error.status ?? 0)): replaced with PUT"
            return try await put()
        }
    }

    /// Carries out `operations` without PATCH: reads the user, changes exactly those paths, and
    /// replaces the user whole with `PUT` (without the read-only `id`, `meta` and `groups`).
    public func replaceUser(_ id: String, _ operations: [PatchOperation]) async throws(SCIMClientError) {
        let operation = "PUT /Users/\(id)"
        try await replace("/Users/\(Self.pathComponent(id))", operation: operation, read: { () async throws(SCIMClientError) in
            try await getWhole(id)
        }) { json throws(SCIMClientError) in
            switch Result(catching: { () throws(ResourceEdit.Unsupported) in try ResourceEdit.apply(operations, to: json) }) {
            case .success(let edited): return edited
            case .failure(let unsupported):
                throw SCIMClientError(kind: .configuration, target: target, operation: operation,
                                      detail: "the change of \(unsupported.path) cannot be made with PUT")
            }
        }
    }

    /// The user with every attribute it holds, for a PUT that must send back what it does not
    /// change: the default answer, plus the attributes the server's schemas say it returns only
    /// when asked for (a PUT without them would clear them, RFC 7644 §3.5.1). The version is the
    /// default answer's, so a change between the two reads fails the PUT's `If-Match`.
    func getWhole(_ id: String) async throws(SCIMClientError) -> SCIMResource? {
        guard var user = try await getUser(id) else { return nil }
        let onRequest = try await returnedAttributes().onRequest
        guard !onRequest.isEmpty, let requested = try await getUser(id, attributes: onRequest),
              case .object(var members) = user.json, case .object(let more) = requested.json else { return user }
        for (key, value) in more {
            if case .object(var inner)? = members[key], case .object(let extra) = value {
                // An extension's container: add what only the second read showed.
                for (name, member) in extra where inner[name] == nil { inner[name] = member }
                members[key] = .object(inner)
            } else if members[key] == nil {
                members[key] = value
            }
        }
        user.json = .object(members)
        return user
    }

    /// Removes a member without PATCH: reads the group with its members, drops the user from
    /// the list and replaces the group with `PUT`. The version read is sent in `If-Match`, so a
    /// concurrent change to the group is never overwritten blindly: on 412 the group is read
    /// again and the removal made once more on what it holds now.
    func replaceMembers(removing userId: String, fromGroup groupId: String) async throws(SCIMClientError) {
        let operation = "PUT /Groups/\(groupId)"
        try await replace("/Groups/\(Self.pathComponent(groupId))", operation: operation, read: { () async throws(SCIMClientError) in
            let response = try await send(.get, "/Groups/\(Self.pathComponent(groupId))", operation: "GET /Groups/\(groupId)")
            if response.status == 404 { return nil }
            guard response.status == 200 else { throw failure(response, "GET /Groups/\(groupId)") }
            return try parseResource(response, "GET /Groups/\(groupId)")
        }) { json throws(SCIMClientError) in
            guard case .object(var members) = json, case .array(let listed)? = members["members"] else { return nil }
            let kept = listed.filter { $0["value"]?.stringValue != userId }
            guard kept.count != listed.count else { return nil }
            members["members"] = .array(kept)
            return .object(members)
        }
    }

    /// Read, edit, PUT with the version read; on 412, once more on a fresh read. An edit that
    /// gives nil has nothing to change; a resource that is gone has nothing left to change.
    private func replace(_ path: String, operation: String, read: () async throws(SCIMClientError) -> SCIMResource?,
                         edit: (JSONValue) throws(SCIMClientError) -> JSONValue?) async throws(SCIMClientError) {
        for attempt in 0..<2 {
            guard let current = try await read(), let edited = try edit(current.json) else { return }
            let body = ResourceEdit.body(edited).encoded()
            let response = try await send(.put, path, body: body, ifMatch: current.etag, operation: operation)
            switch response.status {
            case 200, 204: return
            case 412 where attempt == 0: continue
            case 404: return
            default: throw failure(response, operation)
            }
        }
    }
}
