import Foundation
import LetheCore

/// Creates customers in the four example targets the way the example policies describe them,
/// over raw HTTP, and reads back what is left of them.
public struct Seeder: Sendable {
    public let tenants: [String: SCIMTenant]

    public init(tenants: [String: SCIMTenant]) { self.tenants = tenants }

    /// One seeded person and their ids in each target.
    public struct Customer: Sendable, Hashable {
        public var email: String
        public var externalId: String
        public var givenName: String
        public var familyName: String
        /// Target → SCIM id.
        public var ids: [String: String]
    }

    /// Group ids per target (`Newsletter` in newsletter, `Promotions` in crm).
    public struct Seeded: Sendable {
        public var customers: [Customer]
        public var newsletterGroup: String
        public var promotionsGroup: String
    }

    static let givenNames = ["Ana", "Bruno", "Carla", "Diogo", "Eva", "Filipe", "Greta", "Hugo", "Ines", "Joao", "Katja", "Luis"]
    static let familyNames = ["Silva", "Moreau", "Schmidt", "Rossi", "Novak", "Jansen", "Costa", "Berg", "Lopes", "Weber"]

    /// Seeds `count` customers present in every target, all in the Newsletter and Promotions groups.
    /// The e-mail of seeded customer `i`.
    public static func email(_ i: Int, prefix: String = "c") -> String {
        let given = givenNames[i % givenNames.count]
        let family = familyNames[(i / givenNames.count + i) % familyNames.count]
        return "\(given.lowercased()).\(family.lowercased()).\(prefix)\(i)@example.com"
    }

    public func seed(_ count: Int, prefix: String = "c") async throws -> Seeded {
        var customers: [Customer] = []
        for i in 0..<count {
            let given = Self.givenNames[i % Self.givenNames.count]
            let family = Self.familyNames[(i / Self.givenNames.count + i) % Self.familyNames.count]
            let email = Self.email(i, prefix: prefix)
            let externalId = "\(prefix.uppercased())-\(1000 + i)"
            var ids: [String: String] = [:]
            ids["shop"] = try await tenants["shop"]!.createUser(
                userName: email, email: email, givenName: given, familyName: family, address: "Rua \(i) 1000-001 Lisboa")
            ids["app"] = try await tenants["app"]!.createUser(
                userName: email, email: email, externalId: externalId, givenName: given, familyName: family, locale: "pt-PT")
            ids["newsletter"] = try await tenants["newsletter"]!.createUser(
                userName: email, email: email, givenName: given, familyName: "-", preferredLanguage: "pt")
            ids["crm"] = try await tenants["crm"]!.createUser(
                userName: email, email: email, givenName: given, familyName: family, locale: "pt-PT", marketingSegment: "segment-\(i % 3)")
            customers.append(Customer(email: email, externalId: externalId, givenName: given, familyName: family, ids: ids))
        }
        let newsletter = try await tenants["newsletter"]!.createGroup("Newsletter", members: customers.map { $0.ids["newsletter"]! })
        let promotions = try await tenants["crm"]!.createGroup("Promotions", members: customers.map { $0.ids["crm"]! })
        return Seeded(customers: customers, newsletterGroup: newsletter, promotionsGroup: promotions)
    }

    /// The environment that points the example policies at the tenants.
    public func environment(token: String) -> [String: String] {
        var env: [String: String] = [:]
        for (target, tenant) in tenants {
            env["LETHE_\(target.uppercased())_URL"] = tenant.baseURL
            env["LETHE_\(target.uppercased())_TOKEN"] = token
        }
        return env
    }
}
