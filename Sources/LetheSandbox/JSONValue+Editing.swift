import LetheCore

extension JSONValue {
    /// The member's own key and value, found case-insensitively (SCIM attribute names are).
    func member(_ key: String) -> (key: String, value: JSONValue)? {
        guard case .object(let members) = self else { return nil }
        if let exact = members[key] { return (key, exact) }
        // ASCII names (all of SCIM's) are compared without building lowercased copies.
        if key.utf8.allSatisfy({ $0 < 0x80 }) {
            return members.first { $0.key.utf8.allSatisfy { $0 < 0x80 } ? ASCIICase.equal($0.key, key) : $0.key.lowercased() == key.lowercased() }
                .map { ($0.key, $0.value) }
        }
        let lower = key.lowercased()
        return members.first { $0.key.lowercased() == lower }.map { ($0.key, $0.value) }
    }

    /// Sets a member, replacing one whose key differs only in case.
    mutating func setMember(_ key: String, _ value: JSONValue) {
        guard case .object(var members) = self else { return }
        if let existing = member(key)?.key, existing != key { members[existing] = nil }
        members[member(key)?.key ?? key] = value
        self = .object(members)
    }

    /// Removes a member, found case-insensitively.
    mutating func removeMember(_ key: String) {
        guard case .object(var members) = self, let existing = member(key)?.key else { return }
        members[existing] = nil
        self = .object(members)
    }
}
