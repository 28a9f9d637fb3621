import Foundation
import LetheApp
import LetheCore
import LetheSandbox
import LetheStorage
import LetheStore
import LetheTesting
import Synchronization
import Testing

/// A target's error text names people Lethe never saw (issue #30, point 11): through the binary,
/// against the hostile server.
@Suite("A target's own words stay out of everything kept", .serialized)
struct ServerTextCLITests {
    static let name = "Jane Roe", street = "12 Elm Street"

    @Test("an error naming the subject's name and street is shown while the request is open, and is in no audit event, attempt, report, certificate or file once it ends")
    func serverWordsNeverKept() async throws {
        // crm retries after 50 ms, so the test sees the transient failure and then the permanent one.
        try await scene(edit: { $1.replacingOccurrences(of: "retry: { base: 1s, max: 5m, max_attempts: 8 }",
                                                        with: "retry: { base: 50ms, max: 100ms, max_attempts: 8 }") }) { lethe, hostile, sandbox, scratch in
            let state = scratch.appendingPathComponent("state")
            // First a busy answer (retried), then a refusal (final), both in the server's words.
            let permanent = Mutex(false)
            hostile.add { request, _ in
                guard request.target == "crm", request.method == "PATCH" else { return nil }
                let refuse = permanent.withLock { $0 }
                let detail = "lookup failed for \(Self.name), \(Self.street) (account on hold)"
                return HostileSCIM.json(refuse ? 400 : 503, .object([
                    "schemas": .array([.string("urn:ietf:params:scim:api:messages:2.0:Error")]), "status": .string(refuse ? "400" : "503"),
                    "scimType": .string(refuse ? "invalidValue" : "Jane Roe at 12 Elm Street"), "detail": .string(detail)]))
            }
            let email = try #require((0..<4).map(SandboxCustomers.email).first { email in
                sandbox.users(in: "crm").contains { $0["userName"]?.stringValue == email }
            })
            let filed = try await lethe.run(["erase", "--email", email, "--ref", "TEXT-1"])
            #expect(filed.status == 0, "\(filed.stderr)")
            let id = filed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

            _ = try await lethe.run(["run", "--until-idle", "--timeout", "1s"])
            let open = try await lethe.run(["status", id])
            #expect(open.stdout.contains("the system said") && open.stdout.contains(Self.name), "shown while the request is open:\n\(open.stdout)")
            #expect(open.stdout.contains("503") && open.stdout.contains("bytes]"), "with the answer's structure:\n\(open.stdout)")

            permanent.withLock { $0 = true }
            _ = try await lethe.run(["run", "--until-idle", "--timeout", "10s"])
            let ended = try await lethe.run(["status", id])
            #expect(ended.stdout.contains("failed") && ended.stdout.contains("400 (invalidValue)"), "\(ended.stdout)")
            #expect(!ended.stdout.contains(Self.name) && !ended.stdout.contains(Self.street), "purged with the identifiers:\n\(ended.stdout)")

            let reports = scratch.appendingPathComponent("out")
            let exported = try await lethe.run(["report", "export", "--from", "2020-01-01", "--to", "2030-12-31", "--out", reports.path])
            #expect(exported.status == 0, "\(exported.stderr)")
            let certificate = try await lethe.run(["report", "certificate", id, "--out", reports.path])
            #expect(certificate.status == 0, "\(certificate.stderr)")
            let json = try await lethe.run(["status", id, "--json"])
            let database = try StateDirectory(path: state.path).openDatabase()
            var kept = [json.stdout] + (try database.auditEvents().map(\.details))
            for action in try database.actions(of: id) {
                kept.append(action.lastError ?? "")
                kept += try database.attempts(of: action.id).compactMap(\.error)
            }
            for file in try FileManager.default.contentsOfDirectory(atPath: reports.path) {
                kept.append(String(decoding: try Data(contentsOf: reports.appendingPathComponent(file)), as: UTF8.self))
            }
            let text = kept.joined(separator: "\n")
            #expect(text.contains("invalidValue") && text.contains("answered 400"), "the structure of the failure is kept")
            for word in [Self.name, "Jane", "Roe", Self.street, "Elm", "on hold"] {
                #expect(!text.contains(word), "'\(word)' was kept")
            }
            #expect(try database.serverMessages(of: id).isEmpty)
        }
    }

    /// A state directory, the reference policies (each file's text through `edit`) and a hostile
    /// sandbox for `lethe` to run against; `body` gets the scratch directory too.
    func scene(edit: (_ file: String, _ text: String) -> String = { $1 }, _ body: (CommandRunner, HostileSCIM, Sandbox, URL) async throws -> Void) async throws {
        let targets = ["shop", "app", "newsletter", "crm"]
        let sandbox = Sandbox(Sandbox.Configuration(targets: targets, token: "tok", seedCustomers: 4, randomSeed: 3))
        let hostile = HostileSCIM(sandbox)
        let server = try await SandboxServer.start(handler: hostile, sandbox: sandbox)
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-keeps-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let policies = scratch.appendingPathComponent("policies")
        try FileManager.default.createDirectory(at: policies, withIntermediateDirectories: true)
        for file in try FileManager.default.contentsOfDirectory(atPath: Repository.path("policies").path) where file.hasSuffix(".yaml") {
            var text = try String(contentsOf: Repository.path("policies").appendingPathComponent(file), encoding: .utf8)
            text = edit(file, text)
            try text.write(to: policies.appendingPathComponent(file), atomically: true, encoding: .utf8)
        }
        var env = ["LETHE_STATE_DIR": scratch.appendingPathComponent("state").path, "LETHE_POLICIES": policies.path]
        for target in targets {
            env["LETHE_\(target.uppercased())_URL"] = server.baseURL(target)
            env["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        let lethe = CommandRunner(environment: env, workingDirectory: Repository.root)
        #expect(try await lethe.run(["init"]).status == 0)
        try await body(lethe, hostile, sandbox, scratch)
        await server.stop()
    }

    @Test("a server that answers PATCH 204 and changes nothing, then keeps e-mails whatever PUT says: lethe says which method made it, names PUT when it fails, and `emails: random` erases")
    func serversThatKeepWhatTheyWereToldToDrop() async throws {
        for emails in ["remove", "random"] {
            // crm's e-mails erased by `emails` (the reference policy removes them).
            try await scene(edit: { file, text in
                file == "crm.yaml" ? text.replacingOccurrences(of: "    emails: remove", with: "    emails: \(emails)") : text
            }) { lethe, hostile, sandbox, _ in
                let crmUser = try #require(sandbox.users(in: "crm").first { $0["emails"]?.arrayValue?.isEmpty == false })
                let email = try #require(crmUser["emails"]?.arrayValue?.first?["value"]?.stringValue)
                let original = try #require(crmUser["emails"])
                hostile.add { request, sandbox in
                    guard request.target == "crm", request.path.hasPrefix("/Users/") else { return nil }
                    if request.method == "PATCH" { return .respond(SandboxResponse(status: 204), delayMs: 0) }  // accepted, ignored
                    guard request.method == "PUT", case .object(var body)? = JSONValue.parse(request.body) else { return nil }
                    // A PUT that drops the e-mails keeps them (django-scim2's default adapter does);
                    // a replacement value is taken.
                    if body["emails"] == nil { body["emails"] = original }
                    return sandbox.handle(method: "PUT", uri: "/crm/v2" + request.path, headers: [("Content-Type", "application/scim+json"), ("Authorization", "Bearer tok")],
                                          body: CanonicalJSON.encode(.object(body)), host: "127.0.0.1")
                }
                let filed = try await lethe.run(["erase", "--email", email, "--ref", "KEEP-\(emails)"])
                let id = filed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
                _ = try await lethe.run(["run", "--until-idle", "--timeout", "20s"])
                let status = try await lethe.run(["status", id, "--json"])
                let crm = try #require(JSONValue.parse(Data(status.stdout.utf8))?["actions"]?.arrayValue?.first { $0["target"]?.stringValue == "crm" })
                let held = sandbox.users(in: "crm").first { $0["id"] == crmUser["id"] }?["emails"]?.arrayValue?.compactMap { $0["value"]?.stringValue } ?? []
                if emails == "remove" {
                    #expect(crm["state"]?.stringValue == "failed", "\(status.stdout)")
                    let error = crm["last_error"]?.stringValue ?? ""
                    #expect(error.contains("the server accepted the PUT") && error.contains("consider `emails: random`"), "\(error)")
                    #expect(held == [email], "the server kept it, and Lethe does not call that erased")
                } else {
                    #expect(crm["state"]?.stringValue == "succeeded" && crm["verified"]?.boolValue == true, "\(status.stdout)")
                    #expect(crm["verification"]?.stringValue?.contains("answered the PATCH 2xx without applying it; made with PUT") == true, "\(status.stdout)")
                    #expect(held.count == 1 && held[0].hasSuffix("@erased.invalid") && !held.contains(email), "\(held)")
                }
            }
        }
    }
}
