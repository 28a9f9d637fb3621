import Foundation
import Hummingbird
import LetheApp
import LetheCore
import LetheReports
import LetheStorage
import NIOCore

/// `/api/v1/targets`: what each target receives, and a check of one (it calls the target).
extension API {
    func registerTargets(on api: RouterGroup<APIContext>) {
        api.get("targets") { _, context in
            _ = try context.require(.officer, .auditor)
            return Response.json(.object(["targets": .array(try runtime.policies.policies.map(targetJSON))]))
        }
        api.post("targets/{name}/check") { _, context in
            // Calls the target: officers and admins only (auditors change and trigger nothing).
            _ = try context.require(.officer)
            let name = try context.parameters.require("name")
            guard let policy = runtime.policies.policies.first(where: { $0.target == name }) else {
                throw Problem.notFound("no target named '\(name)'; the targets are \(runtime.policies.targetNames.joined(separator: ", "))")
            }
            let check = await TargetCheck.run(policy, clients: try runtime.clients)
            server.checks.set(check, at: runtime.configuration.clock.now())
            return try Response.encoded(check)
        }
    }

    func targetJSON(_ policy: TargetPolicy) throws -> JSONValue {
        let last = server.checks.get(policy.target)
        return .object([
            "last_check": try last.map { entry in
                guard case .object(var fields) = try JSONBody.value(entry.check) else { return .null }
                fields["at"] = .string(Timestamp.iso8601(entry.at))
                return .object(fields)
            } ?? .null,
            "name": .string(policy.target),
            "description": .string(policy.description),
            "shares": .array(policy.shares.map { share in
                .object(["purpose": .string(share.purpose), "basis": .string(share.basis.rawValue),
                         "attributes": .array(share.attributes.map { .string($0.description) }),
                         "groups": .array(share.groups.map(JSONValue.string))])
            }),
        ])
    }
}
