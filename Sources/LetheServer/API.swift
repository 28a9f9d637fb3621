import Foundation
import Hummingbird
import LetheApp
import LetheCore
import LetheReports
import LetheStorage
import NIOCore

/// The routes of `/api/v1` and the health endpoints, one file per resource (`API+Requests`,
/// `API+Reports`, `API+Targets`, `API+Sweeps`, `API+Admin`). Hand-written; the OpenAPI document
/// in `docs/openapi.yaml` (served at `/api/v1/openapi.yaml`) describes exactly these, and the
/// tests hold the two together. What answers 405 is derived from what is registered here.
struct API: Sendable {
    let server: LetheServer

    var database: any Store { server.storage.database }
    var runtime: Runtime { server.runtime }

    func register(on router: Router<APIContext>) {
        router.get("/healthz") { _, _ in Response.json(.object(["status": .string("ok")])) }
        router.get("/readyz") { _, _ in try ready() }
        router.get("/metrics") { _, _ in
            let text = try server.metrics.exposition(database: database, now: runtime.configuration.clock.now())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        let api = router.group("/api/v1")
        api.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        registerRequests(on: api)
        registerReports(on: api)
        registerTargets(on: api)
        registerSweeps(on: api)
        registerAdmin(on: api)
        // A webhook target's answer after a 202: no token, the signature is the credential.
        api.post("callbacks/{action}") { request, context in try await callback(request, context: context) }
    }

    var today: CalendarDate { CalendarDate(secondsSince1970: runtime.configuration.clock.now().timeIntervalSince1970) }

    /// Ready when the database answers and the policies loaded (the server does not start
    /// without valid policies, so the database is what can fail).
    func ready() throws -> Response {
        do {
            _ = try database.meta("schema")
            return Response.json(.object(["status": .string("ready"), "targets": .number(Double(runtime.policies.policies.count))]))
        } catch {
            throw Problem(.serviceUnavailable, "Not ready", detail: "the database does not answer")
        }
    }
}
