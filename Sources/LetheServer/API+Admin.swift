import Foundation
import Hummingbird
import LetheApp
import LetheCore
import LetheReports
import LetheStorage
import NIOCore

/// `/api/v1/audit/verify` and `/api/v1/tokens`: the audit chain's state and the API tokens.
extension API {
    func registerAdmin(on api: RouterGroup<APIContext>) {
        api.get("audit/verify") { _, context in
            _ = try context.require(.auditor)
            let chain = try database.verifyAuditChain()
            return Response.json(.object([
                "intact": .bool(chain.problem == nil),
                "events": .number(Double(chain.events)),
                "last_seq": chain.lastSeq.map { .number(Double($0)) } ?? .null,
                "head_hash": .string(chain.headHash),
                "problem": chain.problem.map(JSONValue.string) ?? .null,
            ]))
        }
        api.get("tokens") { _, context in
            _ = try context.require(.admin)
            return Response.json(.object(["tokens": .array(try runtime.tokens().list().map { token in
                .object(["id": .string(token.id), "name": .string(token.name), "role": .string(token.role.rawValue),
                         "created": .string(Timestamp.iso8601(token.createdAt)),
                         "revoked": token.revokedAt.map { .string(Timestamp.iso8601($0)) } ?? .null])
            })]))
        }
    }
}
