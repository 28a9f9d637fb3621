import Foundation
import LetheCore

/// Realistic customers, the same people in every target: customer `i` has the same e-mail,
/// name and externalId everywhere the target's policy says it is shared.
public enum SandboxCustomers {
    static let given = ["Ana", "Bruno", "Carla", "Diogo", "Eva", "Filipe", "Greta", "Hugo", "Ines", "Joao", "Katja", "Luis", "Marta", "Nuno", "Olga", "Pedro"]
    static let family = ["Silva", "Moreau", "Schmidt", "Rossi", "Novak", "Jansen", "Costa", "Berg", "Lopes", "Weber", "Dubois", "Kowalski"]

    /// The e-mail of customer `i`.
    public static func email(_ i: Int) -> String {
        "\(given[i % given.count].lowercased()).\(family[(i / given.count + i) % family.count].lowercased())\(i)@example.com"
    }

    public static func externalId(_ i: Int) -> String { "C-\(10_000 + i)" }

    /// Customers with `i % 7 == 6` have no account in app and newsletter: subjects absent from some targets.
    public static func isPresent(_ i: Int, in target: String) -> Bool {
        !(i % 7 == 6 && (target == "app" || target == "newsletter"))
    }

    /// Newsletter subscribers: every second customer.
    public static func subscribes(_ i: Int) -> Bool { i % 2 == 0 }

    /// In the Promotions group: two customers in three.
    public static func promoted(_ i: Int) -> Bool { i % 3 != 0 }
}

extension TargetStore {
    mutating func seed(_ count: Int) {
        let base = "http://127.0.0.1/\(name)/v2"
        var newsletter: [JSONValue] = []
        var promotions: [JSONValue] = []
        for i in 0..<count where SandboxCustomers.isPresent(i, in: name) {
            let email = SandboxCustomers.email(i)
            let givenName = SandboxCustomers.given[i % SandboxCustomers.given.count]
            let familyName = SandboxCustomers.family[(i / SandboxCustomers.given.count + i) % SandboxCustomers.family.count]
            var user: [String: JSONValue] = [
                "schemas": .array([.string(SCIMSchemas.coreUser)]),
                "userName": .string(email),
                "emails": .array([.object(["value": .string(email), "type": .string("work"), "primary": .bool(true)])]),
                "name": .object(["givenName": .string(givenName), "familyName": .string(familyName)]),
                "active": .bool(true),
            ]
            switch name {
            case "shop":
                user["addresses"] = .array([.object(["streetAddress": .string("Rua das Flores \(i + 1)"), "locality": .string("Lisboa"),
                                                     "postalCode": .string("1200-\(100 + i)"), "country": .string("PT"), "type": .string("home")])])
            case "app":
                user["externalId"] = .string(SandboxCustomers.externalId(i))
                user["locale"] = .string("pt-PT")
            case "newsletter":
                user["name"] = .object(["givenName": .string(givenName)])
                user["preferredLanguage"] = .string("pt")
            case "crm":
                user["locale"] = .string("pt-PT")
                user["schemas"] = .array([.string(SCIMSchemas.coreUser), .string(SCIMSchemas.gdprUser)])
                user[SCIMSchemas.gdprUser] = .object(["marketingSegment": .string(["gold", "silver", "bronze"][i % 3])])
            default:
                break
            }
            let id = newId()
            user["id"] = .string(id)
            user["meta"] = meta(.user, id: id, version: 1, created: now(), base: base)
            store(.object(user), .user, id: id)
            let member = JSONValue.object(["value": .string(id), "type": .string("User"), "$ref": .string("\(base)/Users/\(id)")])
            if SandboxCustomers.subscribes(i) { newsletter.append(member) }
            if SandboxCustomers.promoted(i) { promotions.append(member) }
        }
        for (group, members, owner) in [("Newsletter", newsletter, "newsletter"), ("Promotions", promotions, "crm")] where name == owner {
            let id = newId()
            store(.object([
                "schemas": .array([.string(SCIMSchemas.coreGroup)]), "id": .string(id), "displayName": .string(group),
                "members": .array(members), "meta": meta(.group, id: id, version: 1, created: now(), base: base),
            ]), .group, id: id)
        }
    }
}
