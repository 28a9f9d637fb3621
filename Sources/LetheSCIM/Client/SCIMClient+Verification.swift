import LetheCore

/// What a read-back showed.
public enum Verification: Sendable, Hashable, CustomStringConvertible {
    /// The change is visible, and how Lethe saw it.
    case verified(String)
    /// The server said yes but the change is not there: what was seen instead (no personal data).
    case notVerified(String)

    public var isVerified: Bool {
        if case .verified = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .verified(let how): "verified: \(how)"
        case .notVerified(let seen): "not verified: \(seen)"
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

    /// After a PATCH, every attribute must hold its expected value (removed ones absent).
    public func verifyAttributes(_ id: String, _ expectations: [AttributeExpectation]) async throws(SCIMClientError) -> Verification {
        guard let user = try await getUser(id) else {
            return .notVerified("GET /Users/\(id) answers 404: the user disappeared instead of being changed")
        }
        return Self.check(user, expectations)
    }

    /// Compares a read-back resource with expectations; the mismatch names attributes, never values.
    public static func check(_ user: SCIMResource, _ expectations: [AttributeExpectation]) -> Verification {
        var wrong: [String] = []
        for expectation in expectations {
            let values = user.values(at: expectation.path)
            switch expectation.expected {
            case .absent where !values.isEmpty:
                wrong.append("\(expectation.path) still holds a value")
            case .equals(let value) where values.isEmpty || values.contains(where: { $0 != value }):
                wrong.append(values.isEmpty ? "\(expectation.path) is missing" : "\(expectation.path) holds another value than was written")
            default:
                continue
            }
        }
        if wrong.isEmpty {
            return .verified("GET /Users/\(user.id) shows \(expectations.count) attribute\(expectations.count == 1 ? "" : "s") as written")
        }
        return .notVerified("GET /Users/\(user.id): " + wrong.joined(separator: "; ") + " (the server accepted the PATCH but did not apply it)")
    }

    /// After a group removal, the group must no longer list the user.
    public func verifyNotMember(_ userId: String, ofGroup groupId: String) async throws(SCIMClientError) -> Verification {
        guard let group = try await getGroup(groupId) else { return .verified("group \(groupId) no longer exists") }
        if group.memberIds.contains(userId) {
            return .notVerified("GET /Groups/\(groupId) still lists the user as a member")
        }
        return .verified("GET /Groups/\(groupId) no longer lists the user")
    }
}
