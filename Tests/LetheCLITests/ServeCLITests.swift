import Foundation
import LetheApp
import LetheCore
import LetheSandbox
import LetheHTTP
import LetheSCIM
import LetheStorage
import LetheStore
import LetheTesting
import LetheServer
import Synchronization
import Testing
import Yams

/// A webhook receiver for the tests: records every delivery; the first delivery of each event
/// answers only after `firstDelayMs`, so a test can kill the server while it waits.
final class WebhookReceiver: SCIMRequestHandler {
    struct Delivery: Sendable {
        var id: String
        var signature: String
        var timestamp: String
        var body: Data
    }

    let firstDelayMs: Int
    private let state = Mutex<[Delivery]>([])

    init(firstDelayMs: Int) { self.firstDelayMs = firstDelayMs }

    var deliveries: [Delivery] { state.withLock { $0 } }

    func handle(method: String, uri: String, headers: [(String, String)], body: Data, host: String) -> Sandbox.Outcome {
        func header(_ name: String) -> String { headers.first { $0.0.lowercased() == name.lowercased() }?.1 ?? "" }
        let delivery = Delivery(id: header("Lethe-Webhook-Id"), signature: header("Lethe-Webhook-Signature"),
                                timestamp: header("Lethe-Webhook-Timestamp"), body: body)
        let seenBefore = state.withLock { list in
            defer { list.append(delivery) }
            return list.contains { $0.id == delivery.id }
        }
        return .respond(SandboxResponse(status: 204), delayMs: seenBefore ? 0 : firstDelayMs)
    }
}

/// `lethe serve` as a team runs it: the built binary, real HTTP, tokens made with
/// `lethe token create`, the engine inside working against the sandbox targets.
@Suite("lethe serve: the HTTP API with roles, the engine inside", .serialized)
struct ServeCLITests {
    /// A running `lethe serve` and what a test needs to talk to it.
    struct Served {
        let base: String
        let lethe: CommandRunner
        let scratch: URL
        let http: AsyncHTTPClientTransport
        var tokens: [String: String] = [:]

        func call(_ method: HTTPVerb, _ path: String, token: String? = nil, body: String? = nil,
                  contentType: String = "application/json") async throws -> (status: Int, json: JSONValue?, headers: [String: String]) {
            var headers: [HTTPHeader] = []
            if let token { headers.append(HTTPHeader("Authorization", "Bearer \(token)")) }
            if body != nil { headers.append(HTTPHeader("Content-Type", contentType)) }
            let response = try await http.send(HTTPRequest(method: method, url: base + path, headers: headers, body: body.map { Data($0.utf8) }))
            return (response.status, JSONValue.parse(response.body), response.headers)
        }
    }

    /// Initialises a state directory, makes one token per role and a revoked one, starts
    /// `lethe serve --listen 127.0.0.1:0` and runs `body` while it listens.
    func serving<T>(_ environment: [String: String] = [:], arguments: (URL) -> [String] = { _ in ["--listen", "127.0.0.1:0"] },
                    setUp: (URL) async throws -> Void = { _ in }, _ body: (Served, Process) async throws -> T) async throws -> T {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var env = ["LETHE_STATE_DIR": scratch.appendingPathComponent("state").path, "LETHE_POLICIES": Repository.path("policies").path]
        env.merge(environment) { _, new in new }
        let lethe = CommandRunner(environment: env, workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        var tokens: [String: String] = [:]
        for role in ["officer", "auditor", "admin", "revoked"] {
            let created = try await lethe.run(["token", "create", "--name", "\(role) desk", "--role", role == "revoked" ? "officer" : role])
            #expect(created.status == 0, "\(created.stderr)")
            tokens[role] = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(tokens[role]?.hasPrefix("lethe_") == true && !created.stdout.contains(" "), "the token alone on standard output")
        }
        #expect(try await lethe.run(["token", "revoke", "revoked desk"]).status == 0)
        try await setUp(scratch)
        let log = scratch.appendingPathComponent("serve.log")
        let http = AsyncHTTPClientTransport()
        do {
            let result = try await lethe.withStarted(["serve"] + arguments(scratch), errorLog: log) { process in
                let url = try await Self.address(of: process, log: log)
                return try await body(Served(base: url, lethe: lethe, scratch: scratch, http: http, tokens: tokens), process)
            }
            await http.shutdown()
            return result
        } catch {
            await http.shutdown()
            throw error
        }
    }

    /// The address a started `lethe serve` says it listens on (waited for, at most 30 s).
    static func address(of process: Process, log: URL) async throws -> String {
        var base: String?
        let deadline = Date().addingTimeInterval(30)
        while base == nil, Date() < deadline, process.isRunning {
            let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
            if let range = text.range(of: #"listening on (https?://[0-9.:]+)"#, options: .regularExpression) {
                base = String(text[range].dropFirst("listening on ".count))
            }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        return try #require(base, "lethe serve printed no address: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
    }

    static func erasure(_ email: String, ref: String) -> String {
        #"{"kind":"erasure","subject":{"email":"\#(email)"},"ref":"\#(ref)"}"#
    }

    @Test("every operation × {no token, officer, auditor, admin, revoked} answers the status its role allows, and the matrix covers the OpenAPI document")
    func roleMatrix() async throws {
        // Targets that refuse connections: every action keeps retrying, so each request stays
        // open to be cancelled whatever the engine gets to first.
        var unreachable: [String: String] = [:]
        for target in SandboxTargets.names {
            unreachable["LETHE_\(target.uppercased())_URL"] = "http://127.0.0.1:1/scim/v2"
            unreachable["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        try await serving(unreachable) { served, _ in
            // One request per role to cancel, filed by the officer.
            var ids: [String: String] = [:]
            for role in ["none", "officer", "auditor", "admin", "revoked"] {
                let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"],
                                                  body: Self.erasure("\(role)@example.com", ref: "M-\(role)"))
                #expect(filed.status == 201)
                ids[role] = filed.json?["id"]?.stringValue
            }
            struct Operation {
                var method: HTTPVerb
                var path: String
                var body: ((String) -> String)?
                var contentType = "application/json"
                var expected: [String: Int]  // by role
                /// A request id no request has (the role is checked before the request is looked up).
                var unknownId = false
            }
            let readAll = ["none": 401, "officer": 200, "auditor": 200, "admin": 200, "revoked": 401]
            let open = ["none": 200, "officer": 200, "auditor": 200, "admin": 200, "revoked": 200]
            let operations = [
                Operation(method: .get, path: "/healthz", expected: open),
                Operation(method: .get, path: "/readyz", expected: open),
                Operation(method: .get, path: "/metrics", expected: open),
                Operation(method: .get, path: "/api/v1/openapi.yaml", expected: open),
                Operation(method: .post, path: "/api/v1/requests", body: { Self.erasure("new-\($0)@example.com", ref: "N-\($0)") },
                          expected: ["none": 401, "officer": 201, "auditor": 403, "admin": 201, "revoked": 401]),
                Operation(method: .get, path: "/api/v1/requests", expected: readAll),
                Operation(method: .get, path: "/api/v1/requests/{id}", expected: readAll),
                // Allowed, but nothing has failed yet (the actions are retrying): 409, not 401 or 403.
                Operation(method: .post, path: "/api/v1/requests/{id}/retry", body: { _ in "{}" },
                          expected: ["none": 401, "officer": 409, "auditor": 403, "admin": 409, "revoked": 401]),
                Operation(method: .post, path: "/api/v1/requests/{id}/extend", body: { _ in #"{"months":1,"reason":"complex request"}"# },
                          expected: ["none": 401, "officer": 200, "auditor": 403, "admin": 200, "revoked": 401]),
                // Allowed, but no approval was required (lethe.yaml has none here): 409.
                Operation(method: .post, path: "/api/v1/requests/{id}/approve", body: { _ in #"{"note":"checked"}"# },
                          expected: ["none": 401, "officer": 409, "auditor": 403, "admin": 409, "revoked": 401]),
                Operation(method: .post, path: "/api/v1/requests/{id}/reject", body: { _ in #"{"reason":"identity not verified"}"# },
                          expected: ["none": 401, "officer": 404, "auditor": 403, "admin": 404, "revoked": 401], unknownId: true),
                // No token needed (the signature is the credential); no such action here: 404.
                Operation(method: .post, path: "/api/v1/callbacks/{action}", body: { _ in #"{"action":999999,"outcome":"erased"}"# },
                          expected: ["none": 404, "officer": 404, "auditor": 404, "admin": 404, "revoked": 404]),
                // Allowed, but these policies have no manual target: 404.
                Operation(method: .post, path: "/api/v1/requests/{id}/targets/{target}/confirm", body: { _ in #"{"outcome":"erased"}"# },
                          expected: ["none": 401, "officer": 404, "auditor": 403, "admin": 404, "revoked": 401]),
                Operation(method: .post, path: "/api/v1/plan", body: { Self.erasure("plan-\($0)@example.com", ref: "X-\($0)") },
                          expected: ["none": 401, "officer": 200, "auditor": 403, "admin": 200, "revoked": 401]),
                Operation(method: .post, path: "/api/v1/sweeps",
                          body: { "subject_email,purpose,status,changed_at,expires_at\nsweep-\($0)@example.com,marketing,revoked,2026-11-01,\n" },
                          contentType: "text/csv", expected: ["none": 401, "officer": 200, "auditor": 403, "admin": 200, "revoked": 401]),
                Operation(method: .get, path: "/api/v1/targets", expected: readAll),
                // A check makes calls to the target: auditors change and trigger nothing.
                Operation(method: .post, path: "/api/v1/targets/{name}/check",
                          expected: ["none": 401, "officer": 200, "auditor": 403, "admin": 200, "revoked": 401]),
                Operation(method: .post, path: "/api/v1/requests/{id}/cancel", body: { _ in #"{"reason":"filed in error"}"# },
                          expected: ["none": 401, "officer": 200, "auditor": 403, "admin": 200, "revoked": 401]),
                Operation(method: .post, path: "/api/v1/reports", body: { _ in #"{"from":"2026-01-01","to":"2026-11-30"}"# },
                          expected: ["none": 401, "officer": 403, "auditor": 201, "admin": 201, "revoked": 401]),
                Operation(method: .get, path: "/api/v1/reports", expected: ["none": 401, "officer": 403, "auditor": 200, "admin": 200, "revoked": 401]),
                Operation(method: .get, path: "/api/v1/reports/{file}", expected: ["none": 401, "officer": 403, "auditor": 200, "admin": 200, "revoked": 401]),
                Operation(method: .get, path: "/api/v1/requests/{id}/certificate",
                          expected: ["none": 401, "officer": 200, "auditor": 200, "admin": 200, "revoked": 401]),
                Operation(method: .get, path: "/api/v1/keys", expected: ["none": 401, "officer": 403, "auditor": 200, "admin": 200, "revoked": 401]),
                Operation(method: .get, path: "/api/v1/audit/verify", expected: ["none": 401, "officer": 403, "auditor": 200, "admin": 200, "revoked": 401]),
                Operation(method: .get, path: "/api/v1/tokens", expected: ["none": 401, "officer": 403, "auditor": 403, "admin": 200, "revoked": 401]),
            ]
            for operation in operations {
                for (role, expected) in operation.expected.sorted(by: { $0.key < $1.key }) {
                    let path = operation.path.replacingOccurrences(of: "{id}", with: operation.unknownId ? "req-000000000000" : ids[role] ?? "?")
                        .replacingOccurrences(of: "{file}", with: "lethe-report-2026-01-01-2026-11-30.json")
                        .replacingOccurrences(of: "{name}", with: "shop").replacingOccurrences(of: "{target}", with: "shop")
                        .replacingOccurrences(of: "{action}", with: "999999")
                    let answer = try await served.call(operation.method, path, token: served.tokens[role], body: operation.body?(role),
                                                       contentType: operation.contentType)
                    #expect(answer.status == expected, "\(operation.method.rawValue) \(operation.path) as \(role): \(answer.status)")
                    if answer.status >= 400 {
                        #expect(answer.headers["content-type"] == "application/problem+json")
                        #expect(answer.json?["status"]?.intValue == answer.status)
                    }
                    if answer.status == 401 { #expect(answer.headers["www-authenticate"]?.hasPrefix("Bearer") == true) }
                }
            }
            // The document lists exactly these operations, and is the one in the repository.
            let document = try String(contentsOf: Repository.path("docs/openapi.yaml"), encoding: .utf8)
            let served_ = try await served.http.send(HTTPRequest(method: .get, url: served.base + "/api/v1/openapi.yaml"))
            #expect(String(decoding: served_.body, as: UTF8.self).trimmingCharacters(in: .newlines) == document.trimmingCharacters(in: .newlines))
            let parsed = try #require(try Yams.load(yaml: document) as? [String: Any])
            let paths = try #require(parsed["paths"] as? [String: [String: Any]])
            let documented = Set(paths.flatMap { path, methods in methods.keys.map { "\($0.uppercased()) \(path)" } })
            #expect(documented == Set(operations.map { "\($0.method.rawValue) \($0.path)" }))
        }
    }

    @Test("filed through the API, the engine inside completes and verifies it; a separate run exits 75; the CLI still reads; SIGTERM exits 0 within 3 s")
    func endToEnd() async throws {
        let targets = try await SandboxTargets.start()
        let scratchEnv = targets.environment(stateDir: URL(fileURLWithPath: "/unused"))
            .filter { $0.key != "LETHE_STATE_DIR" && $0.key != "LETHE_POLICIES" }
        try await serving(scratchEnv) { served, process in
            let email = SandboxCustomers.email(0)
            let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"], body: Self.erasure(email, ref: "E2E-1"))
            #expect(filed.status == 201)
            #expect(filed.headers["location"] == "/api/v1/requests/\(filed.json?["id"]?.stringValue ?? "")")
            let id = try #require(filed.json?["id"]?.stringValue)
            #expect(filed.json?["requested_by"]?.stringValue == "officer desk")
            // The same reference again: 200 with the same request.
            let again = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"], body: Self.erasure(email, ref: "E2E-1"))
            #expect(again.status == 200 && again.json?["id"]?.stringValue == id)

            var state = ""
            let deadline = Date().addingTimeInterval(60)
            var view: JSONValue?
            while Date() < deadline {
                view = try await served.call(.get, "/api/v1/requests/\(id)", token: served.tokens["auditor"]).json
                state = view?["state"]?.stringValue ?? ""
                if ["completed", "failed", "needs_review"].contains(state) { break }
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            #expect(state == "completed", "\(view.map(CanonicalJSON.string) ?? "")")
            for action in view?["actions"]?.arrayValue ?? [] where action["operation"]?.stringValue != "none" {
                #expect(action["verified"]?.boolValue == true, "\(action["target"]?.stringValue ?? "") verified")
            }
            for target in SandboxTargets.names {
                #expect(!targets.sandbox.users(in: target).contains { CanonicalJSON.string($0).contains(email) }, "\(email) is gone from \(target)")
            }

            // The server holds the run lock; the other commands read the same state directory.
            let run = try await served.lethe.run(["run", "--until-idle"])
            #expect(run.status == 75, "\(run.stderr)")
            let status = try await served.lethe.run(["status", "E2E-1", "--json"])
            #expect(status.status == 0 && status.stdout.contains(id))
            // The audit log names the token as who filed it, and holds no identifier.
            let database = try StateDirectory(path: served.scratch.appendingPathComponent("state").path).openDatabase()
            let filedEvent = try #require(try database.auditEvents(request: id).first { $0.event == "request_filed" })
            #expect(filedEvent.details.contains(#""by":"officer desk""#))
            #expect(try database.auditEvents().allSatisfy { !$0.details.contains(email) })

            // A target check through the API, then shown with the target.
            let check = try await served.call(.post, "/api/v1/targets/shop/check", token: served.tokens["officer"])
            #expect(check.status == 200 && check.json?["usable"]?.boolValue == true, "\(check.json.map(CanonicalJSON.string) ?? "")")
            let listed = try await served.call(.get, "/api/v1/targets", token: served.tokens["auditor"])
            let shop = listed.json?["targets"]?.arrayValue?.first { $0["name"]?.stringValue == "shop" }
            #expect(shop?["last_check"]?["usable"]?.boolValue == true && shop?["last_check"]?["at"]?.stringValue != nil)
            #expect(listed.json?["targets"]?.arrayValue?.first { $0["name"]?.stringValue == "crm" }?["last_check"] == .null)
            #expect(try await served.call(.post, "/api/v1/targets/nope/check", token: served.tokens["officer"]).status == 404)

            // /metrics: the store's counts and the calls the engine made, with no identifier.
            let metrics = try await served.http.send(HTTPRequest(method: .get, url: served.base + "/metrics"))
            let text = String(decoding: metrics.body, as: UTF8.self)
            #expect(metrics.status == 200 && metrics.header("content-type")?.hasPrefix("text/plain") == true)
            #expect(text.contains(#"lethe_requests{state="completed",kind="erasure"} 1"#), "\(text.prefix(1500))")
            #expect(text.contains(#"lethe_scim_calls_total{target="shop",method="GET",status="200"}"#))
            #expect(text.contains(#"lethe_scim_call_duration_seconds_bucket{target="shop",method="GET",le=""#))
            #expect(text.contains("lethe_overdue_requests 0"))
            #expect(text.contains(#"lethe_actions{target="shop",state="pending"} 0"#), "a state that emptied reads 0")
            #expect(text.contains("lethe_oldest_open_request_age_seconds 0"))
            #expect(!text.contains(email))

            // A report exported through the API verifies with openssl and the key the API gives.
            let auditor = served.tokens["auditor"]
            let day = String(filed.json?["received"]?.stringValue ?? "")
            let exported = try await served.call(.post, "/api/v1/reports", token: auditor, body: #"{"from":"\#(day)","to":"\#(day)"}"#)
            #expect(exported.status == 201, "\(exported.json.map(CanonicalJSON.string) ?? "")")
            let files = (exported.json?["files"]?.arrayValue ?? []).compactMap(\.stringValue)
            let json = try #require(files.first { $0.hasSuffix(".json") })
            let keys = try await served.call(.get, "/api/v1/keys", token: auditor)
            let pem = try #require(keys.json?["current"]?["pem"]?.stringValue)
            let out = served.scratch.appendingPathComponent("download")
            try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
            try Data(pem.utf8).write(to: out.appendingPathComponent("lethe.pub.pem"))
            for name in [json, json + ".sig"] {
                let file = try await served.http.send(HTTPRequest(method: .get, url: served.base + "/api/v1/reports/" + name,
                                                                  headers: [HTTPHeader("Authorization", "Bearer \(auditor ?? "")")]))
                #expect(file.status == 200)
                try file.body.write(to: out.appendingPathComponent(name))
            }
            let report = try #require(JSONValue.parse(try Data(contentsOf: out.appendingPathComponent(json))))
            #expect(report["requests"]?.arrayValue?.first?["filed_by"]?.stringValue == "officer desk", "the report names who filed it")
            let openssl = try await CommandRunner(executable: URL(fileURLWithPath: "/usr/bin/env"), workingDirectory: out).run(
                ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "lethe.pub.pem", "-rawin", "-in", json, "-sigfile", json + ".sig"])
            #expect(openssl.status == 0 && openssl.stdout.contains("Signature Verified Successfully"), "\(openssl.stdout)\(openssl.stderr)")
            // The certificate: its body is the signed record, the header its signature.
            let certificate = try await served.http.send(HTTPRequest(method: .get, url: served.base + "/api/v1/requests/\(id)/certificate",
                                                                     headers: [HTTPHeader("Authorization", "Bearer \(auditor ?? "")")]))
            #expect(certificate.status == 200)
            let signature = try #require(certificate.header("Lethe-Signature").flatMap { Data(base64Encoded: $0) })
            try certificate.body.write(to: out.appendingPathComponent("certificate.json"))
            try signature.write(to: out.appendingPathComponent("certificate.json.sig"))
            let checked = try await CommandRunner(executable: URL(fileURLWithPath: "/usr/bin/env"), workingDirectory: out).run(
                ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "lethe.pub.pem", "-rawin", "-in", "certificate.json", "-sigfile", "certificate.json.sig"])
            #expect(checked.status == 0, "\(checked.stdout)\(checked.stderr)")
            // Only files an export wrote are served: no path, no traversal.
            for name in ["..%2Flethe.db", "lethe.db", "lethe-report-x.json%00.txt"] {
                #expect(try await served.call(.get, "/api/v1/reports/\(name)", token: auditor).status == 404, "\(name)")
            }

            let signalled = Date()
            process.terminate()
            while process.isRunning && Date().timeIntervalSince(signalled) < 10 { try await Task.sleep(nanoseconds: 20_000_000) }
            #expect(Date().timeIntervalSince(signalled) <= 3.0)
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        }
        await targets.stop()
    }

    @Test("bad input gets a problem naming the field and stores nothing: unknown field, wrong type, bad e-mail, unknown purpose, not JSON, 1 MB, wrong content type")
    func badInput() async throws {
        try await serving { served, _ in
            let officer = served.tokens["officer"]
            let cases: [(body: String, contentType: String, status: Int, pointer: String?)] = [
                (#"{"kind":"erasure","subject":{"email":"a@example.com"},"extra":1}"#, "application/json", 400, "#/extra"),
                (#"{"kind":"erasure","subject":{"email":"a@example.com","phone":"1"}}"#, "application/json", 400, "#/subject/phone"),
                (#"{"kind":"erasure","subject":{"email":42}}"#, "application/json", 400, "#/subject/email"),
                (#"{"kind":"forget","subject":{"email":"a@example.com"}}"#, "application/json", 400, "#/kind"),
                (#"{"kind":"erasure","subject":{}}"#, "application/json", 400, "#/subject"),
                (#"{"kind":"erasure","subject":{"email":"not-an-address"}}"#, "application/json", 422, "#/subject/email"),
                (#"{"kind":"revocation","subject":{"email":"a@example.com"},"purposes":["marketing","markting"]}"#, "application/json", 422, "#/purposes/1"),
                (#"{"kind":"revocation","subject":{"email":"a@example.com"}}"#, "application/json", 400, "#/purposes"),
                (#"{"kind":"erasure","subject":{"email":"a@example.com"},"received":"2026-13-01"}"#, "application/json", 400, "#/received"),
                (#"{"kind":"erasure","subject":{"email":"a@example.com"},"received":"2099-01-01"}"#, "application/json", 422, "#/received"),
                (#"{"kind":"erasure","kind":"revocation","subject":{"email":"a@example.com"}}"#, "application/json", 400, nil),
                (#"{"kind":"erasure","#, "application/json", 400, nil),
                (#"{"kind":"erasure","subject":{"email":"a@example.com"}}"#, "text/plain", 415, nil),
                (#"{"note":""# + String(repeating: "x", count: 1_100_000) + #""}"#, "application/json", 413, nil),
            ]
            for item in cases {
                let answer = try await served.call(.post, "/api/v1/requests", token: officer, body: item.body, contentType: item.contentType)
                #expect(answer.status == item.status, "\(item.body.prefix(80)): \(answer.status) \(answer.json.map(CanonicalJSON.string) ?? "")")
                #expect(answer.json?["pointer"]?.stringValue == item.pointer, "\(item.body.prefix(80))")
                #expect(answer.headers["content-type"] == "application/problem+json")
                // The answer never repeats the subject's address.
                #expect(!(answer.json.map(CanonicalJSON.string) ?? "").contains("a@example.com"))
            }
            let listed = try await served.call(.get, "/api/v1/requests", token: officer)
            #expect(listed.json?["requests"]?.arrayValue?.isEmpty == true, "nothing was stored")
            #expect(listed.json?["next_cursor"] == .null)
            let badQuery = try await served.call(.get, "/api/v1/requests?state=done", token: officer)
            #expect(badQuery.status == 400)
        }
    }

    @Test("a consent ledger posted to /api/v1/sweeps files withdrawals once; a bad row refuses it with its line number")
    func sweeps() async throws {
        try await serving { served, _ in
            let officer = served.tokens["officer"]
            let ledger = "subject_email,purpose,status,changed_at,expires_at\nana@example.com,marketing,granted,2026-10-01,\n"
                + "ana@example.com,marketing,revoked,2026-11-01,\nbo@example.com,newsletter,revoked,2026-11-02,\n"
            let dry = try await served.call(.post, "/api/v1/sweeps?dry_run=true", token: officer, body: ledger, contentType: "text/csv")
            #expect(dry.status == 200 && dry.json?["dry_run"]?.boolValue == true && dry.json?["revocations_filed"]?.intValue == 2)
            #expect(try await served.call(.get, "/api/v1/requests", token: officer).json?["requests"]?.arrayValue?.isEmpty == true)
            let filed = try await served.call(.post, "/api/v1/sweeps", token: officer, body: ledger, contentType: "text/csv")
            #expect(filed.status == 200 && filed.json?["revocations_filed"]?.intValue == 2, "\(filed.json.map(CanonicalJSON.string) ?? "")")
            #expect(filed.json?["request_ids"]?.arrayValue?.count == 2)
            let swept = try await served.call(.get, "/api/v1/requests/\(filed.json?["request_ids"]?.arrayValue?.first?.stringValue ?? "")", token: officer)
            #expect(swept.json?["requested_by"]?.stringValue == "consent sweep by officer desk")
            let again = try await served.call(.post, "/api/v1/sweeps", token: officer, body: ledger, contentType: "text/csv")
            #expect(again.json?["revocations_filed"]?.intValue == 0 && again.json?["already_filed"]?.intValue == 2)
            #expect(!(filed.json.map(CanonicalJSON.string) ?? "").contains("ana@example.com"))

            let badLedger = "subject_email,purpose,status,changed_at,expires_at\ncy@example.com,marketing,revoked,2026-11-01,\nnot-an-email,marketing,maybe,yesterday,\n"
            let bad = try await served.call(.post, "/api/v1/sweeps", token: officer, body: badLedger, contentType: "text/csv")
            #expect(bad.status == 422)
            #expect(bad.json?["errors"]?.arrayValue?.first?["line"]?.intValue == 3, "\(bad.json.map(CanonicalJSON.string) ?? "")")
            #expect(try await served.call(.get, "/api/v1/requests", token: officer).json?["requests"]?.arrayValue?.count == 2, "nothing more was filed")
            let wrongType = try await served.call(.post, "/api/v1/sweeps", token: officer, body: ledger, contentType: "application/json")
            #expect(wrongType.status == 415)
        }
    }

    @Test("four eyes through the API and the dashboard's forms: the filer cannot approve (403), another officer can; a rejection ends it with its reason")
    func approvalThroughTheAPI() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-serve-approval-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var env = ["LETHE_POLICIES": try policiesWithSettings("approval: erasures\n", in: scratch).path]
        for target in SandboxTargets.names {
            env["LETHE_\(target.uppercased())_URL"] = "http://127.0.0.1:1/scim/v2"
            env["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        try await serving(env) { served, _ in
            let officer = served.tokens["officer"], admin = served.tokens["admin"]
            let filed = try await served.call(.post, "/api/v1/requests", token: officer, body: Self.erasure("ana@example.com", ref: "FE-1"))
            #expect(filed.status == 201 && filed.json?["state"]?.stringValue == "awaiting_approval", "\(filed.json.map(CanonicalJSON.string) ?? "")")
            let id = try #require(filed.json?["id"]?.stringValue)
            let waiting = try await served.call(.get, "/api/v1/requests?state=awaiting_approval", token: served.tokens["auditor"])
            #expect(waiting.json?["requests"]?.arrayValue?.map { $0["id"]?.stringValue } == [id])

            let own = try await served.call(.post, "/api/v1/requests/\(id)/approve", token: officer, body: "{}")
            #expect(own.status == 403 && own.json?["detail"]?.stringValue?.contains("four eyes") == true, "\(own.json.map(CanonicalJSON.string) ?? "")")
            #expect(try await served.call(.get, "/api/v1/requests/\(id)", token: officer).json?["state"]?.stringValue == "awaiting_approval")
            let other = try await served.call(.post, "/api/v1/requests/\(id)/approve", token: admin, body: #"{"note":"identity checked"}"#)
            #expect(other.status == 200, "\(other.json.map(CanonicalJSON.string) ?? "")")
            #expect(other.json?["approval"]?["by"]?.stringValue == "admin desk" && other.json?["approval"]?["note"]?.stringValue == "identity checked")
            #expect(other.json?["state"]?.stringValue != "awaiting_approval")
            let twice = try await served.call(.post, "/api/v1/requests/\(id)/approve", token: admin, body: "{}")
            #expect(twice.status == 409)

            let second = try await served.call(.post, "/api/v1/requests", token: officer, body: Self.erasure("bea@example.com", ref: "FE-2"))
            let secondId = try #require(second.json?["id"]?.stringValue)
            let empty = try await served.call(.post, "/api/v1/requests/\(secondId)/reject", token: officer, body: "{}")
            #expect(empty.status == 400 && empty.json?["errors"]?.arrayValue?.first?["pointer"]?.stringValue == "#/reason")
            let rejected = try await served.call(.post, "/api/v1/requests/\(secondId)/reject", token: officer, body: #"{"reason":"manifestly unfounded"}"#)
            #expect(rejected.status == 200 && rejected.json?["state"]?.stringValue == "rejected")
            #expect(rejected.json?["approval"]?["reason"]?.stringValue == "manifestly unfounded")
            let database = try StateDirectory(path: served.scratch.appendingPathComponent("state").path).openDatabase()
            let decision = try #require(try database.auditEvents(request: secondId).first { $0.event == "rejection_recorded" })
            #expect(decision.details.contains(#""by":"officer desk""#))

            // The same through the dashboard's forms: the filer's approval is refused, another officer's is taken.
            func signIn(_ token: String?) async throws -> (cookie: String, csrf: String) {
                let answer = try await served.http.send(HTTPRequest(method: .post, url: served.base + "/signin",
                                                                    headers: [HTTPHeader("Content-Type", "application/x-www-form-urlencoded")],
                                                                    body: Data("token=\(token ?? "")".utf8)))
                let cookie = try #require(answer.headers["set-cookie"]?.split(separator: ";").first.map(String.init))
                let page = try await served.http.send(HTTPRequest(method: .get, url: served.base + "/", headers: [HTTPHeader("Cookie", cookie)]))
                let html = String(decoding: page.body, as: UTF8.self)
                let range = try #require(html.range(of: #"name=csrf value="[0-9a-f]+""#, options: .regularExpression))
                return (cookie, String(html[range].dropFirst(#"name=csrf value=""#.count).dropLast()))
            }
            func post(_ path: String, _ session: (cookie: String, csrf: String), _ form: String) async throws -> (status: Int, location: String?, body: String) {
                let answer = try await served.http.send(HTTPRequest(method: .post, url: served.base + path, headers: [
                    HTTPHeader("Cookie", session.cookie), HTTPHeader("Content-Type", "application/x-www-form-urlencoded"),
                ], body: Data("csrf=\(session.csrf)&\(form)".utf8)))
                return (answer.status, answer.headers["location"], String(decoding: answer.body, as: UTF8.self))
            }
            let filer = try await signIn(officer), approver = try await signIn(admin)
            let viaForm = try await post("/new", filer, "step=file&confirm=yes&kind=erasure&email=cy%40example.com&ref=FE-3")
            #expect(viaForm.status == 303, "\(viaForm.body.prefix(500))")
            let detailPath = try #require(viaForm.location?.split(separator: "?").first.map(String.init))
            let thirdId = String(detailPath.split(separator: "/").last ?? "")
            #expect(try database.request(thirdId)?.state == .awaitingApproval)
            func page(_ path: String, _ session: (cookie: String, csrf: String)) async throws -> String {
                let answer = try await served.http.send(HTTPRequest(method: .get, url: served.base + path, headers: [HTTPHeader("Cookie", session.cookie)]))
                return String(decoding: answer.body, as: UTF8.self)
            }
            let filerView = try await page(detailPath, filer), approverView = try await page(detailPath, approver)
            #expect(filerView.contains("You filed this request") && !filerView.contains("/approve\""), "the filer is offered no Approve button")
            #expect(approverView.contains("action=\"\(detailPath)/approve\""), "another officer is")
            let ownForm = try await post(detailPath + "/approve", filer, "note=mine")
            #expect(ownForm.status == 403 && ownForm.body.contains("four eyes") && ownForm.body.contains("<h1>Four eyes</h1>"), "\(ownForm.body.prefix(800))")
            let otherForm = try await post(detailPath + "/approve", approver, "note=checked")
            #expect(otherForm.status == 303 && otherForm.location?.contains("done=Approved") == true, "\(otherForm.status) \(otherForm.body.prefix(500))")
            #expect(try database.request(thirdId)?.approval?.by == "admin desk")
        }
    }

    @Test("pages of requests follow the cursor in filing order, with filters")
    func pagination() async throws {
        try await serving { served, _ in
            let officer = served.tokens["officer"]
            for i in 0..<5 {
                #expect(try await served.call(.post, "/api/v1/requests", token: officer, body: Self.erasure("p\(i)@example.com", ref: "P-\(i)")).status == 201)
            }
            var refs: [String] = []
            var cursor: String?
            repeat {
                let page = try await served.call(.get, "/api/v1/requests?limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""), token: officer)
                #expect(page.status == 200)
                refs += (page.json?["requests"]?.arrayValue ?? []).compactMap { $0["ref"]?.stringValue }
                cursor = page.json?["next_cursor"]?.stringValue
            } while cursor != nil
            #expect(refs == (0..<5).map { "P-\($0)" })
            let byRef = try await served.call(.get, "/api/v1/requests?ref=P-3", token: officer)
            #expect(byRef.json?["requests"]?.arrayValue?.compactMap { $0["ref"]?.stringValue } == ["P-3"])
            let none = try await served.call(.get, "/api/v1/requests?kind=revocation", token: officer)
            #expect(none.json?["requests"]?.arrayValue?.isEmpty == true)
            // Every erasure has an action in shop; none has retained data still to erase yet.
            let inShop = try await served.call(.get, "/api/v1/requests?target=shop&limit=10", token: officer)
            #expect(inShop.json?["requests"]?.arrayValue?.count == 5)
            #expect(try await served.call(.get, "/api/v1/requests?target=nowhere", token: officer).status == 400)
            let scheduled = try await served.call(.get, "/api/v1/requests?scheduled=true", token: officer)
            #expect(scheduled.status == 200)
        }
    }

    /// schemathesis (from `scripts/peers install`): every operation of the document, generated
    /// valid and invalid input, stateful sequences; no 5xx, every answer as documented.
    static var schemathesis: String? {
        let env = ProcessInfo.processInfo.environment
        return env["LETHE_TEST_SCHEMATHESIS"] ?? (SCIM2ServerPeer.isCI ? Repository.path(".venv-api/bin/schemathesis").path : nil)
    }

    @Test("schemathesis against a live server: no 5xx, every response, status, content type and header as the OpenAPI document says",
          .enabled(if: schemathesis != nil))
    func conformsToDocument() async throws {
        let tool = try #require(Self.schemathesis)
        #expect(FileManager.default.isExecutableFile(atPath: tool), "\(tool) is missing: run scripts/peers install")
        var unreachable: [String: String] = [:]
        for target in SandboxTargets.names {
            unreachable["LETHE_\(target.uppercased())_URL"] = "http://127.0.0.1:1/scim/v2"
            unreachable["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        try await serving(unreachable) { served, _ in
            // Business rules a schema cannot state (a received date in the future, control
            // characters, a reference taken) answer 4xx to schema-valid input: that check is left out.
            let result = try await CommandRunner(executable: URL(fileURLWithPath: tool), environment: ProcessInfo.processInfo.environment,
                                                 workingDirectory: served.scratch).run([
                "run", served.base + "/api/v1/openapi.yaml", "--url", served.base,
                "-H", "Authorization: Bearer \(served.tokens["admin"] ?? "")",
                "--checks", "all", "--exclude-checks", "positive_data_acceptance",
                "--max-examples", "30", "--generation-deterministic", "--no-color",
            ])
            #expect(result.status == 0, "schemathesis found problems:\n\(result.stdout.suffix(6000))\(result.stderr.suffix(2000))")
            #expect(result.stdout.contains("API Operations"), "schemathesis ran: \(result.stdout.suffix(2000))")
        }
    }

    @Test("with --tls-cert and --tls-key it serves HTTPS (checked by curl against the certificate), also off loopback without --insecure-http")
    func https() async throws {
        let setUp: (URL) async throws -> Void = { scratch in
            let made = try await CommandRunner(executable: URL(fileURLWithPath: "/usr/bin/env"), workingDirectory: scratch).run([
                "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
                "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem"])
            #expect(made.status == 0, "\(made.stderr)")
        }
        let arguments: (URL) -> [String] = { scratch in
            ["--listen", "0.0.0.0:0", "--tls-cert", scratch.appendingPathComponent("cert.pem").path, "--tls-key", scratch.appendingPathComponent("key.pem").path]
        }
        try await serving(arguments: arguments, setUp: setUp) { served, _ in
            #expect(served.base.hasPrefix("https://"))
            let port = served.base.split(separator: ":").last.map(String.init) ?? ""
            #expect(served.base.hasPrefix("https://0.0.0.0:"))
            let curl = CommandRunner(executable: URL(fileURLWithPath: "/usr/bin/env"), workingDirectory: served.scratch)
            let ok = try await curl.run(["curl", "-sS", "--cacert", "cert.pem", "-H", "Authorization: Bearer \(served.tokens["auditor"] ?? "")",
                                         "https://127.0.0.1:\(port)/api/v1/targets"])
            #expect(ok.status == 0 && ok.stdout.contains(#""targets""#), "\(ok.stderr)")
            let plain = try await curl.run(["curl", "-sS", "--max-time", "5", "http://127.0.0.1:\(port)/healthz"])
            #expect(plain.status != 0 || !plain.stdout.contains("ok"), "plain HTTP is not answered on the HTTPS port")
            // Lethe's own client (the one that calls targets) refuses a certificate this machine
            // does not trust, and says so in words, not in BoringSSL's codes and source paths.
            do {
                let answer = try await served.http.send(HTTPRequest(method: .get, url: "https://127.0.0.1:\(port)/healthz"))
                Issue.record("a self-signed certificate was accepted: \(answer.status)")
            } catch {
                let said = String(describing: error)
                #expect(said.hasPrefix("TLS: the certificate 127.0.0.1 presented is not trusted on this machine"), "\(said)")
                #expect(!said.contains(".cc:"), "\(said)")
            }
        }
        // A key that is not one is refused before anything starts, naming the file.
        let lethe = CommandRunner(environment: ["LETHE_STATE_DIR": "/nonexistent"], workingDirectory: Repository.root)
        let half = try await lethe.run(["serve", "--tls-cert", "cert.pem"])
        #expect(half.status == 64 && half.stderr.contains("--tls-key"))
    }

    @Test("webhooks: each completion reaches the receiver signed, at least once, also when the server is killed mid-delivery and restarted")
    func webhooks() async throws {
        let targets = try await SandboxTargets.start()
        let receiver = WebhookReceiver(firstDelayMs: 4000)
        let hookServer = try await SandboxServer.start(handler: receiver, sandbox: Sandbox(Sandbox.Configuration(targets: ["hook"])))
        let hook = hookServer.baseURL("hook") + "/events"
        let secret = "webhook-test-secret-of-32-bytes-at-least"
        var env = targets.environment(stateDir: URL(fileURLWithPath: "/unused")).filter { $0.key != "LETHE_STATE_DIR" && $0.key != "LETHE_POLICIES" }
        env["LETHE_WEBHOOK_SECRET"] = secret
        let arguments: (URL) -> [String] = { _ in ["--listen", "127.0.0.1:0", "--webhook", hook] }
        try await serving(env, arguments: arguments) { served, process in
            var ids: [String] = []
            for customer in [0, 1] {
                let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"],
                                                  body: Self.erasure(SandboxCustomers.email(customer), ref: "HOOK-\(customer)"))
                #expect(filed.status == 201)
                ids.append(filed.json?["id"]?.stringValue ?? "")
            }
            // The first delivery is in flight (the receiver holds its answer): kill -9 the server.
            let deadline = Date().addingTimeInterval(30)
            while receiver.deliveries.isEmpty && Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
            #expect(!receiver.deliveries.isEmpty, "a delivery started")
            await CommandRunner.stop(process, signal: SIGKILL)
            // Restarted on the same state directory, it resends what was not acknowledged, then the rest.
            try await served.lethe.withStarted(["serve", "--listen", "127.0.0.1:0", "--webhook", hook]) { _ in
                let until = Date().addingTimeInterval(30)
                while Date() < until {
                    let completed = Set(receiver.deliveries.compactMap { JSONValue.parse($0.body) }
                        .filter { $0["type"]?.stringValue == "request.completed" }.compactMap { $0["request"]?["id"]?.stringValue })
                    if completed == Set(ids) { break }
                    try await Task.sleep(nanoseconds: 100_000_000)
                }
            }
            let deliveries = receiver.deliveries
            let events = Dictionary(grouping: deliveries, by: \.id)
            let completed = events.values.compactMap { JSONValue.parse($0[0].body) }.filter { $0["type"]?.stringValue == "request.completed" }
            #expect(Set(completed.compactMap { $0["request"]?["id"]?.stringValue }) == Set(ids), "each completion once per event id")
            #expect(deliveries.contains { d in deliveries.filter { $0.id == d.id }.count >= 2 }, "the one in flight at the kill came again")
            for delivery in deliveries {
                #expect(delivery.signature == WebhookDispatcher.signature(delivery.body, timestamp: Int(delivery.timestamp) ?? -1, secret: Data(secret.utf8)),
                        "signed with its timestamp: \(delivery.id)")
                #expect(abs((Double(delivery.timestamp) ?? 0) - Date().timeIntervalSince1970) < WebhookDispatcher.timestampTolerance)
                for customer in [0, 1] { #expect(!String(decoding: delivery.body, as: UTF8.self).contains(SandboxCustomers.email(customer))) }
            }
        }
        await hookServer.stop()
        await targets.stop()
    }

    @Test("SIGTERM while actions are in flight: exits 0 within 3 s, every claimed action recorded, the next run finishes them")
    func sigtermWhileBusy() async throws {
        let targets = try await SandboxTargets.start(faults: "app:latency=1500ms")
        let env = targets.environment(stateDir: URL(fileURLWithPath: "/unused")).filter { $0.key != "LETHE_STATE_DIR" && $0.key != "LETHE_POLICIES" }
        try await serving(env) { served, process in
            var ids: [String] = []
            for customer in 0..<2 where SandboxCustomers.isPresent(customer, in: "app") {
                let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"],
                                                  body: Self.erasure(SandboxCustomers.email(customer), ref: "TERM-\(customer)"))
                ids.append(filed.json?["id"]?.stringValue ?? "")
            }
            #expect(!ids.isEmpty)
            let database = try StateDirectory(path: served.scratch.appendingPathComponent("state").path).openDatabase()
            let deadline = Date().addingTimeInterval(15)
            while Date() < deadline {
                let running = try ids.flatMap { try database.actions(of: $0) }.filter { $0.target == "app" && $0.state == .running }
                if running.count == ids.count { break }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            let signalled = Date()
            process.terminate()
            while process.isRunning && Date().timeIntervalSince(signalled) < 10 { try await Task.sleep(nanoseconds: 20_000_000) }
            #expect(Date().timeIntervalSince(signalled) <= 3.0)
            #expect(process.terminationReason == .exit && process.terminationStatus == 0)
            for id in ids {
                #expect(try database.actions(of: id).allSatisfy { $0.state != .running }, "every claimed action recorded")
            }
            let next = try await served.lethe.run(["run", "--until-idle", "--timeout", "2m"], extraEnvironment: env)
            #expect(next.status == 0, "\(next.stdout)\(next.stderr)")
            for id in ids { #expect(try database.request(id)?.state == .completed) }
            #expect(try await served.lethe.run(["audit", "verify"]).status == 0)
        }
        await targets.stop()
    }

    @Test("webhooks: a request past its due date is announced once as request.overdue")
    func overdueWebhook() async throws {
        let receiver = WebhookReceiver(firstDelayMs: 0)
        let hookServer = try await SandboxServer.start(handler: receiver, sandbox: Sandbox(Sandbox.Configuration(targets: ["hook"])))
        let hook = hookServer.baseURL("hook") + "/events"
        var env = ["LETHE_WEBHOOK_SECRET": "s3cret-s3cret-s3cret-s3cret-s3cret"]
        for target in SandboxTargets.names {  // unreachable: the request stays open, and is overdue
            env["LETHE_\(target.uppercased())_URL"] = "http://127.0.0.1:1/scim/v2"
            env["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        try await serving(env, arguments: { _ in ["--listen", "127.0.0.1:0", "--webhook", hook] }) { served, _ in
            let late = #"{"kind":"erasure","subject":{"email":"late@example.com"},"ref":"LATE-1","received":"2026-09-01"}"#
            let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"], body: late)
            #expect(filed.status == 201 && filed.json?["overdue"]?.boolValue == true)
            let id = try #require(filed.json?["id"]?.stringValue)
            let deadline = Date().addingTimeInterval(20)
            while !receiver.deliveries.contains(where: { $0.id == "overdue-\(id)" }) && Date() < deadline {
                try await Task.sleep(nanoseconds: 100_000_000)
            }
            try await Task.sleep(nanoseconds: 1_000_000_000)  // a second round would announce it again if it were not recorded
            let overdue = receiver.deliveries.filter { $0.id == "overdue-\(id)" }
            #expect(overdue.count == 1)
            let event = try #require(overdue.first.flatMap { JSONValue.parse($0.body) })
            #expect(event["type"]?.stringValue == "request.overdue" && event["request"]?["ref"]?.stringValue == "LATE-1")
            let delivery = try #require(overdue.first)
            #expect(delivery.signature == WebhookDispatcher.signature(delivery.body, timestamp: Int(delivery.timestamp) ?? -1,
                                                                      secret: Data("s3cret-s3cret-s3cret-s3cret-s3cret".utf8)))
            #expect(delivery.signature != WebhookDispatcher.signature(delivery.body, timestamp: (Int(delivery.timestamp) ?? 0) + 1,
                                                                      secret: Data("s3cret-s3cret-s3cret-s3cret-s3cret".utf8)),
                    "another time, another signature: a replay cannot move the timestamp")
            let text = String(decoding: delivery.body, as: UTF8.self)
            #expect(!text.contains("late@example.com"))
        }
        await hookServer.stop()
    }

    @Test("--webhook needs LETHE_WEBHOOK_SECRET and an http(s) URL")
    func webhookNeedsSecret() async throws {
        let lethe = CommandRunner(environment: ["LETHE_STATE_DIR": "/nonexistent"], workingDirectory: Repository.root)
        let noSecret = try await lethe.run(["serve", "--webhook", "http://127.0.0.1:9/hook"])
        #expect(noSecret.status == 64 && noSecret.stderr.contains("LETHE_WEBHOOK_SECRET"))
        let badURL = try await lethe.run(["serve", "--webhook", "ftp://x"], extraEnvironment: ["LETHE_WEBHOOK_SECRET": String(repeating: "k", count: 32)])
        #expect(badURL.status == 64 && badURL.stderr.contains("not an http or https URL"))
        let short = try await lethe.run(["serve", "--webhook", "http://127.0.0.1:9/hook"], extraEnvironment: ["LETHE_WEBHOOK_SECRET": String(repeating: "k", count: 31)])
        #expect(short.status == 64 && short.stderr.contains("at least 32"), "a 31-byte secret is refused: \(short.stderr)")
        // Logs name a webhook by scheme and host: receivers put secrets in paths and queries.
        #expect(WebhookDispatcher.redacted("https://hooks.example.com:8443/services/T0/B1/s3cr3t?token=abc") == "https://hooks.example.com:8443/…")
    }

    @Test("listening where other machines can reach it needs --insecure-http; a bad address is refused")
    func refusesPlainHTTPOffLoopback() async throws {
        let lethe = CommandRunner(environment: ["LETHE_STATE_DIR": "/nonexistent"], workingDirectory: Repository.root)
        let refused = try await lethe.run(["serve", "--listen", "0.0.0.0:0"])
        #expect(refused.status == 64)
        #expect(refused.stderr.contains("--insecure-http"))
        let bad = try await lethe.run(["serve", "--listen", "localhost"])
        #expect(bad.status == 64)
        #expect(bad.stderr.contains("HOST:PORT"))
    }
}
