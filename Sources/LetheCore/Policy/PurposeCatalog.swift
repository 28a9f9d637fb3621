/// The purposes data may be shared for, with a sentence each for people.
///
/// A policy can only name a purpose from this list, so a typo (`marketting`) is an error
/// rather than a share nobody can ever revoke. The list comes from `purposes.yaml` in the
/// policy directory, or is the built-in one below.
public struct PurposeCatalog: Sendable, Hashable {
    /// Purpose name → description, in file order.
    public private(set) var entries: [(name: String, description: String)]

    public init(_ entries: [(name: String, description: String)]) { self.entries = entries }

    public var names: [String] { entries.map(\.name) }

    public func contains(_ name: String) -> Bool { entries.contains { $0.name == name } }

    public func description(of name: String) -> String? { entries.first { $0.name == name }?.description }

    /// Used when the policy directory has no `purposes.yaml`.
    public static let builtIn = PurposeCatalog([
        ("account", "Customer account, orders and service delivery"),
        ("invoicing", "Invoices and accounting records"),
        ("newsletter", "Newsletter e-mails"),
        ("marketing", "Marketing campaigns and segmentation"),
        ("loyalty", "Loyalty programme"),
        ("analytics", "Product analytics"),
        ("support", "Customer support"),
        ("security", "Fraud prevention and security"),
    ])

    public static func == (lhs: PurposeCatalog, rhs: PurposeCatalog) -> Bool {
        lhs.entries.map(\.name) == rhs.entries.map(\.name) && lhs.entries.map(\.description) == rhs.entries.map(\.description)
    }

    public func hash(into hasher: inout Hasher) {
        for entry in entries {
            hasher.combine(entry.name)
            hasher.combine(entry.description)
        }
    }
}
