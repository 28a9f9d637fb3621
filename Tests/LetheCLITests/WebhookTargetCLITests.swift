import Foundation
import LetheApp
import LetheCore
import LetheHTTP
import LetheTesting
import Testing

extension ServeCLITests {
    static let hooksPolicy = """
        target: hooks
        description: A support desk reached by its own API
        kind: webhook
        webhook:
          url: http://127.0.0.1:PORT/job
          secret_env: LETHE_HOOKS_SECRET
          within: 3s
          retry: { base: 1s, max: 1s, max_attempts: 2 }
        identity: { match: [emails.value] }
        shares:
          - purpose: support
            basis: contract
            attributes: [emails.value, name.familyName]
        erasure: { action: delete }
        """

    @Test("kind: webhook under lethe serve: a synchronous answer, a 500 then success, a 202 and a callback (a bad signature, another action's, and a replay refused and recorded without their bodies), a 202 and silence until the deadline; jobs signed; 'confirmed by the system'",
          .timeLimit(.minutes(3)))
    func webhookTargets() async throws {
        let targets = try await SandboxTargets.start()
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-hooks-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let sharedSecret = "hooks-secret-0123456789abcdef0123"
        let jobs = scratch.appendingPathComponent("jobs.jsonl")
        // The system: a small HTTP server (Tests/Peers/webhook_target.py) that prints its port.
        let receiver = Process()
        // Debian's python3 itself, not a shim that might outlive `terminate()` in a child of its own.
        receiver.executableURL = URL(fileURLWithPath: FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") ? "/usr/bin/python3" : "/usr/bin/env")
        receiver.arguments = (receiver.executableURL?.path == "/usr/bin/env" ? ["python3"] : []) + [Repository.path("Tests/Peers/webhook_target.py").path]
        receiver.environment = ["WEBHOOK_SECRET": sharedSecret, "JOBS_FILE": jobs.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin"]
        let out = Pipe()
        receiver.standardOutput = out
        receiver.standardError = FileHandle.nullDevice
        try receiver.run()
        defer {
            // SIGKILL: a child of the test runner may inherit a mask that blocks SIGTERM.
            kill(receiver.processIdentifier, SIGKILL)
            receiver.waitUntilExit()
        }
        let port = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Int(port) != nil, "the receiver printed no port: \(port)")

        let policies = try policiesWithSettings("grace: 0s\n", in: scratch)
        try Data(Self.hooksPolicy.replacingOccurrences(of: "PORT", with: port).utf8).write(to: policies.appendingPathComponent("hooks.yaml"))
        var environment = targets.environment(stateDir: URL(fileURLWithPath: "/unused")).filter { $0.key != "LETHE_STATE_DIR" }
        environment["LETHE_POLICIES"] = policies.path
        environment["LETHE_HOOKS_SECRET"] = sharedSecret
        try await serving(environment) { served, _ in
            var ids: [String: String] = [:]
            for kind in ["sync", "flaky", "async", "silent"] {
                let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"],
                                                  body: Self.erasure("\(kind)1@example.com", ref: "HOOK-\(kind)"))
                #expect(filed.status == 201)
                ids[kind] = filed.json?["id"]?.stringValue
            }
            func hooks(_ kind: String) async throws -> JSONValue? {
                let view = try await served.call(.get, "/api/v1/requests/\(ids[kind] ?? "")", token: served.tokens["officer"])
                return view.json?["actions"]?.arrayValue?.first { $0["target"]?.stringValue == "hooks" }
            }
            func waitFor(_ kind: String, _ what: String, _ condition: (JSONValue?) -> Bool) async throws -> JSONValue? {
                for _ in 0..<300 {
                    let action = try await hooks(kind)
                    if condition(action) { return action }
                    try await Task.sleep(for: .milliseconds(100))
                }
                Issue.record("\(kind): \(what) did not happen: \(String(describing: try await hooks(kind)))")
                return nil
            }
            // Answered at once, and after a 500 (retried as for SCIM): the system's word.
            for kind in ["sync", "flaky"] {
                let done = try await waitFor(kind, "success") { $0?["state"]?.stringValue == "succeeded" }
                #expect(done?["evidence"]?.stringValue == "system" && (done?["verified"] == nil || done?["verified"] == .null)
                        && done?["verification"]?.stringValue == "confirmed by the system (hooks): checked: row count 0 after delete", "\(String(describing: done))")
            }
            #expect(try await hooks("flaky")?["attempts"]?.intValue == 2)

            // 202, then callbacks.
            let waiting = try await waitFor("async", "the hand-over") { $0?["state"]?.stringValue == "awaiting_confirmation" }
            #expect(waiting != nil)
            let jobLines = try String(contentsOf: jobs, encoding: .utf8).split(separator: "\n").compactMap { JSONValue.parse(Data($0.utf8)) }
            #expect(jobLines.allSatisfy { $0["signed"]?.boolValue == true }, "every job is signed with the secret")
            let asyncJob = try #require(jobLines.first { $0["job"]?["subject"]?["emails.value"]?.stringValue == "async1@example.com" }?["job"])
            #expect(asyncJob["operation"]?.stringValue == "delete" && asyncJob["request"]?.stringValue == ids["async"])
            let action = try #require(asyncJob["action"]?.intValue)
            func callback(_ body: String, action: Int, secret: String? = nil) async throws -> Int {
                let key = secret ?? sharedSecret
                let timestamp = Int(Date().timeIntervalSince1970)
                let data = Data(body.utf8)
                let headers = [HTTPHeader("Content-Type", "application/json"), HTTPHeader("Lethe-Webhook-Timestamp", String(timestamp)),
                               HTTPHeader("Lethe-Webhook-Signature", WebhookSignature.sign(data, timestamp: timestamp, secret: Data(key.utf8)))]
                return try await served.http.send(HTTPRequest(method: .post, url: served.base + "/api/v1/callbacks/\(action)", headers: headers, body: data)).status
            }
            let good = #"{"action":\#(action),"outcome":"erased","checked":"ticket closed after delete"}"#
            #expect(try await callback(good, action: action, secret: "not-the-secret-0123456789") == 401, "a bad signature")
            #expect(try await callback(#"{"action":\#(action + 1000),"outcome":"erased"}"#, action: action) == 409, "a body naming another action")
            #expect(try await callback(good, action: action) == 200)
            #expect(try await callback(good, action: action) == 409, "a replay")
            let confirmed = try await hooks("async")
            #expect(confirmed?["state"]?.stringValue == "succeeded" && confirmed?["evidence"]?.stringValue == "system")
            let events = try StateDirectory(path: served.scratch.appendingPathComponent("state").path).openDatabase().auditEvents(request: ids["async"])
            let refused = events.filter { $0.event == AuditEventKind.callbackRefused.rawValue }
            #expect(refused.count == 3, "\(refused.map(\.details))")
            #expect(refused.allSatisfy { !$0.details.contains("ticket closed") && !$0.details.contains("outcome") }, "no body kept")

            // 202 and silence: after the deadline the job is sent again, then the action fails.
            let failed = try await waitFor("silent", "the deadline") { $0?["state"]?.stringValue == "failed" }
            #expect(failed?["last_error"]?.stringValue?.contains("no answer from hooks within 3s") == true, "\(String(describing: failed))")
        }
    }
}
