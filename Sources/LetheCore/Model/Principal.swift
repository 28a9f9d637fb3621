import Foundation

/// Who did something: a name for people to read, and the identities the four-eyes check compares.
///
/// An API token (and a dashboard session made with one) is identified by the token's id; its
/// name is display text a filing may dress up ("consent sweep by alice"). A command-line user is
/// known only by the name they give with `--by` or `--requested-by`. Every principal also carries
/// its normalised name, so a CLI "alice" and a token named "alice" are the same person to the
/// check: comparing more identities only ever refuses more, never less.
public struct Principal: Sendable, Hashable {
    /// What logs, audit events and pages show.
    public var name: String
    /// What the four-eyes check compares: `token:ID` and `name:normalised`.
    public var identities: Set<String>

    public init(name: String, identities: Set<String>) {
        self.name = name
        self.identities = identities
    }

    /// An API token or a dashboard session made with it.
    public static func token(id: String, name: String) -> Principal {
        Principal(name: name, identities: ["token:" + id, identity(name: name)])
    }

    /// Someone on the command line, known by the name they give.
    public static func person(_ name: String) -> Principal {
        Principal(name: name, identities: [identity(name: name)])
    }

    /// The same principal under another display text (a sweep files as "consent sweep by alice").
    public func shown(as text: String) -> Principal {
        Principal(name: text, identities: identities)
    }

    /// A name as an identity: without surrounding blanks, without regard to case.
    public static func identity(name: String) -> String {
        "name:" + name.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// Whether this principal is one of the people behind `identities` (a filing's).
    public func isAmong(_ identities: Set<String>) -> Bool {
        !self.identities.isDisjoint(with: identities)
    }
}
