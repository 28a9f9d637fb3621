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
            let result = try runtime.audit().verify()
            return Response.json(.object([
                "intact": .bool(result.intact),
                "events": .number(Double(result.chain.events)),
                "last_seq": result.chain.lastSeq.map { .number(Double($0)) } ?? .null,
                "head_hash": .string(result.chain.headHash),
                "problem": result.problem.map(JSONValue.string) ?? .null,
                "checkpoints": .number(Double(result.checkpoints)),
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
