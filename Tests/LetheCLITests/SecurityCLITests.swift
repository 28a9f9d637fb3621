import Foundation
import LetheCore
import LetheSCIM
import LetheServer
import LetheTesting
import Testing

/// curl as an attacker (or a browser) would use it: raw paths (`--path-as-is`), cookies, any
/// header; the answer's status, headers (lower-cased names) and body.
struct Curl {
    static let runner = CommandRunner(executable: URL(fileURLWithPath: "/usr/bin/curl"))

    struct Answer {
        var status: Int
        var headers: [String: [String]]
        var body: String

        func header(_ name: String) -> String? { headers[name.lowercased()]?.first }
        /// The session cookie's value a `Set-Cookie` gave, under either of its names.
        var sessionCookie: (name: String, value: String, attributes: String)? {
            for line in headers["set-cookie"] ?? [] {
                for name in ["__Host-lethe_session", "lethe_session"] where line.hasPrefix(name + "=") {
                    let value = line.dropFirst(name.count + 1).prefix { $0 != ";" }
                    return (name, String(value), line)
                }
            }
            return nil
        }
    }

    static func call(_ method: String, _ url: String, headers: [String: String] = [:], body: String? = nil,
                     extra: [String] = []) async throws -> Answer {
        var arguments = ["-s", "-i", "--path-as-is", "--max-time", "20", "-X", method]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { arguments += ["-H", "\(name): \(value)"] }
        if let body { arguments += ["--data-binary", body] }
        let result = try await runner.run(arguments + extra + [url])
        return parse(result.stdout)
    }

    static func parse(_ text: String) -> Answer {
        guard let split = text.range(of: "\r\n\r\n") else { return Answer(status: 0, headers: [:], body: text) }
        let lines = text[..<split.lowerBound].components(separatedBy: "\r\n")
        let status = lines.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        var headers: [String: [String]] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased(), default: []].append(line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        return Answer(status: status, headers: headers, body: String(text[split.upperBound...]))
    }
}

/// A browser signed in to the dashboard: its cookie and the CSRF secret its pages carry.
struct BrowserSession {
    var base: String
    var cookie: String
    var csrf: String

    static func signIn(_ base: String, token: String) async throws -> BrowserSession {
        let signedIn = try await Curl.call("POST", base + "/signin", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                           body: "token=\(token)")
        let cookie = try #require(signedIn.sessionCookie, "signing in sets a session cookie: \(signedIn.status)")
        // Every page's sign-out form carries the session's CSRF secret.
        let page = try await Curl.call("GET", base + "/", headers: ["Cookie": "\(cookie.name)=\(cookie.value)"])
        let range = try #require(page.body.range(of: #"name=csrf value="[0-9a-f]+""#, options: .regularExpression), "the page carries the CSRF secret")
        let csrf = String(page.body[range].dropFirst("name=csrf value=\"".count).dropLast())
        return BrowserSession(base: base, cookie: "\(cookie.name)=\(cookie.value)", csrf: csrf)
    }

    func call(_ method: String, _ path: String, headers: [String: String] = [:], body: String? = nil) async throws -> Curl.Answer {
        try await Curl.call(method, base + path, headers: headers.merging(["Cookie": cookie]) { a, _ in a }, body: body)
    }

    /// A dashboard form post, with the CSRF field.
    func form(_ path: String, _ fields: [String: String]) async throws -> Curl.Answer {
        let body = (fields.merging(["csrf": csrf]) { a, _ in a }).sorted { $0.key < $1.key }
            .map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        return try await call("POST", path, headers: ["Content-Type": "application/x-www-form-urlencoded"], body: body)
    }
}

/// What a security review and an attacker tried against `lethe serve` (issue #30), through
/// the binary, over real HTTP.
@Suite("lethe serve under attack: four eyes, CSRF, sign-in, limits, headers", .serialized)
struct SecurityCLITests {
    let serve = ServeCLITests()

    /// Targets that refuse connections: actions keep retrying and requests stay open.
    static var unreachable: [String: String] {
        var environment: [String: String] = [:]
        for target in SandboxTargets.names {
            environment["LETHE_\(target.uppercased())_URL"] = "http://127.0.0.1:1/scim/v2"
            environment["LETHE_\(target.uppercased())_TOKEN"] = "tok"
        }
        return environment
    }

    /// Serves with `approval: all` and a second officer ("bo desk").
    func servingWithApproval(_ body: (ServeCLITests.Served, String) async throws -> Void) async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-four-eyes-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var environment = Self.unreachable
        environment["LETHE_POLICIES"] = try policiesWithSettings("approval: all\ngrace: 0s\n", in: scratch).path
        try await serve.serving(environment) { served, _ in
            let created = try await served.lethe.run(["token", "create", "--name", "bo desk", "--role", "officer"])
            try #require(created.status == 0, "\(created.stderr)")
            try await body(served, created.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    func state(_ served: ServeCLITests.Served, _ id: String) async throws -> String? {
        try await served.call(.get, "/api/v1/requests/\(id)", token: served.tokens["admin"]).json?["state"]?.stringValue
    }

    @Test("the filer of a sweep, a request and a retry cannot approve it, at the API, the dashboard and the CLI; someone else can")
    func fourEyesComparePrincipals() async throws {
        try await servingWithApproval { served, bo in
            let officer = try #require(served.tokens["officer"])
            // A sweep uploaded by the officer files "consent sweep by officer desk".
            let swept = try await served.call(.post, "/api/v1/sweeps", token: officer,
                                              body: "subject_email,purpose,status,changed_at,expires_at\nswept@example.com,marketing,revoked,2026-11-01,\n",
                                              contentType: "text/csv")
            #expect(swept.status == 200)
            let sweepId = try #require(swept.json?["request_ids"]?.arrayValue?.first?.stringValue)
            #expect(try await state(served, sweepId) == "awaiting_approval")
            let filed = try await served.call(.post, "/api/v1/requests", token: officer, body: ServeCLITests.erasure("filed@example.com", ref: "FE-1"))
            let filedId = try #require(filed.json?["id"]?.stringValue)

            let browser = try await BrowserSession.signIn(served.base, token: officer)
            for id in [sweepId, filedId] {
                let api = try await served.call(.post, "/api/v1/requests/\(id)/approve", token: officer, body: "{}")
                #expect(api.status == 403, "API: the filer's own token cannot approve \(id)")
                let page = try await browser.form("/requests/\(id)/approve", ["note": "looks fine"])
                #expect(page.status == 403 && page.body.contains("Four eyes"), "dashboard: \(page.status)")
                let cli = try await served.lethe.run(["approve", id, "--by", "Officer Desk"])
                #expect(cli.status == 65 && cli.stderr.contains("filed"), "CLI: the filer's name cannot approve \(id): \(cli.stderr)")
                #expect(try await state(served, id) == "awaiting_approval", "nothing was approved")
            }
            // The detail page does not offer the filer an approve button.
            let detail = try await browser.call("GET", "/requests/\(sweepId)")
            #expect(detail.body.contains("You filed this request") && !detail.body.contains(">Approve</button>"))

            // A retry while it awaits approval shares the filing: bo files with an external id
            // only (e-mail targets need review), the officer retries with the e-mail.
            let byBo = try await served.call(.post, "/api/v1/requests", token: bo,
                                             body: #"{"kind":"erasure","subject":{"external_id":"ext-77"},"ref":"FE-2"}"#)
            let boId = try #require(byBo.json?["id"]?.stringValue)
            let retried = try await served.call(.post, "/api/v1/requests/\(boId)/retry", token: officer,
                                                body: #"{"subject":{"external_id":"ext-77","email":"ext77@example.com"}}"#)
            #expect(retried.status == 200, "\(String(describing: retried.json))")
            #expect(try await served.call(.post, "/api/v1/requests/\(boId)/approve", token: officer, body: "{}").status == 403,
                    "the officer who retried it cannot approve it")
            #expect(try await served.call(.post, "/api/v1/requests/\(boId)/approve", token: bo, body: "{}").status == 403)
            #expect(try await served.call(.post, "/api/v1/requests/\(boId)/approve", token: served.tokens["admin"], body: "{}").status == 200)
            // The same through the CLI: whoever retries with `--by` may not approve.
            let byAdmin = try await served.call(.post, "/api/v1/requests", token: served.tokens["admin"],
                                                body: #"{"kind":"erasure","subject":{"external_id":"ext-78"},"ref":"FE-3"}"#)
            let adminId = try #require(byAdmin.json?["id"]?.stringValue)
            let cliRetry = try await served.lethe.run(["retry", adminId, "--external-id", "ext-78", "--email", "ext78@example.com", "--by", "Cy Chen"])
            #expect(cliRetry.status == 0, "\(cliRetry.stderr)")
            let cyApproves = try await served.lethe.run(["approve", adminId, "--by", "cy chen"])
            #expect(cyApproves.status == 65, "the CLI retrier cannot approve: \(cyApproves.stderr)")
            #expect(try await served.call(.post, "/api/v1/requests/\(adminId)/approve", token: bo, body: "{}").status == 200)

            // Someone else approves the officer's sweep and filing.
            #expect(try await served.call(.post, "/api/v1/requests/\(sweepId)/approve", token: bo, body: #"{"note":"checked"}"#).status == 200)
            let approved = try await served.lethe.run(["approve", filedId, "--by", "Bo Berg"])
            #expect(approved.status == 0, "\(approved.stderr)")
        }
    }

    @Test("one validator at every door: an approval note with an escape and a CR is refused by the dashboard, the API and the CLI, and nothing is stored")
    func sameValidationEverywhere() async throws {
        try await servingWithApproval { served, bo in
            let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"],
                                              body: ServeCLITests.erasure("note@example.com", ref: "NOTE-1"))
            let id = try #require(filed.json?["id"]?.stringValue)
            let hostile = String(repeating: "x", count: 100) + "\u{1b}[31mRED\r\n" + "\u{202e}desrever"
            let browser = try await BrowserSession.signIn(served.base, token: bo)
            let page = try await browser.form("/requests/\(id)/approve", ["note": hostile])
            #expect(page.body.contains("control character") && page.body.contains("nothing was changed"), "dashboard: \(page.status)")
            let api = try await served.call(.post, "/api/v1/requests/\(id)/approve", token: bo,
                                            body: String(decoding: CanonicalJSON.bytes(.object(["note": .string(hostile)])), as: UTF8.self))
            #expect(api.status == 400 && api.json?["pointer"]?.stringValue == "#/note")
            let long = try await served.call(.post, "/api/v1/requests/\(id)/approve", token: bo,
                                             body: #"{"note":"\#(String(repeating: "a", count: 3000))"}"#)
            #expect(long.status == 400, "3 KB of note is refused")
            let cli = try await served.lethe.run(["approve", id, "--by", "Bo Berg", "--note", hostile])
            #expect(cli.status == 64 && cli.stderr.contains("control character"))
            let cancel = try await served.lethe.run(["cancel", id, "--reason", "bad\u{1b}[2J"])
            #expect(cancel.status == 64, "lethe cancel checks its reason too")
            #expect(try await state(served, id) == "awaiting_approval")
            let status = try await served.lethe.run(["status", id])
            #expect(!status.stdout.contains("\u{1b}") && !status.stdout.contains("\r"))
            let events = try await served.call(.get, "/api/v1/audit/verify", token: served.tokens["auditor"])
            #expect(events.json?["intact"]?.boolValue == true)
        }
    }

    @Test("a session cookie cannot skip CSRF or the bearer check with //, /./, %2F or a trailing slash")
    func csrfHoldsForEveryPath() async throws {
        try await serve.serving(Self.unreachable) { served, _ in
            let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"],
                                              body: ServeCLITests.erasure("csrf@example.com", ref: "CSRF-1"))
            let id = try #require(filed.json?["id"]?.stringValue)
            let browser = try await BrowserSession.signIn(served.base, token: served.tokens["officer"]!)
            let body = #"{"reason":"forged"}"#
            for path in ["//api/v1/requests/\(id)/cancel", "/./api/v1/requests/\(id)/cancel", "/api%2Fv1/requests/\(id)/cancel",
                         "/api/v1/requests/\(id)/cancel/", "/api/v1//requests/\(id)/cancel", "/x/../api/v1/requests/\(id)/cancel",
                         "/requests/\(id)/cancel"] {
                for type in ["application/json", "text/plain", "application/x-www-form-urlencoded"] {
                    let answer = try await browser.call("POST", path, headers: ["Content-Type": type], body: body)
                    #expect(answer.status == 403 || answer.status == 404, "\(path) as \(type) without the CSRF secret: \(answer.status)")
                }
                let noAuth = try await Curl.call("POST", served.base + path, headers: ["Content-Type": "application/json"], body: body)
                #expect([401, 303, 404].contains(noAuth.status), "\(path) without any credential: \(noAuth.status)")
            }
            #expect(try await state(served, id) != "cancelled", "no forged path cancelled it")
            let bare = try await Curl.call("GET", served.base + "//api/v1/requests")
            #expect(bare.status == 401, "a doubled slash is still the API: it needs a token")
            // With the secret, the same session may (the dashboard's scripts do this).
            let real = try await browser.call("POST", "/api/v1/requests/\(id)/cancel/",
                                              headers: ["Content-Type": "application/json", "X-CSRF-Token": browser.csrf], body: body)
            #expect(real.status == 200)
            #expect(try await state(served, id) == "cancelled")
        }
    }

    @Test("sign-in: a cross-site form is refused, failures are limited per address and logged without the token, signing in again ends the old session")
    func signIn() async throws {
        try await serve.serving(Self.unreachable) { served, _ in
            let officer = try #require(served.tokens["officer"])
            let form = ["Content-Type": "application/x-www-form-urlencoded"]
            for hostile in [["Origin": "https://evil.example"], ["Sec-Fetch-Site": "cross-site"], ["Origin": "null"],
                            ["Origin": "null", "Sec-Fetch-Site": "cross-site"], ["Origin": "http://127.0.0.1.evil.example"], ["Sec-Fetch-Site": "same-site"]] {
                let answer = try await Curl.call("POST", served.base + "/signin", headers: form.merging(hostile) { a, _ in a }, body: "token=\(officer)")
                #expect(answer.status == 403 && answer.sessionCookie == nil, "\(hostile): \(answer.status)")
            }
            let host = served.base.replacingOccurrences(of: "http://", with: "")
            let sameSite = try await Curl.call("POST", served.base + "/signin",
                                               headers: form.merging(["Origin": "http://\(host)", "Sec-Fetch-Site": "same-origin"]) { a, _ in a },
                                               body: "token=\(officer)")
            #expect(sameSite.status == 303 && sameSite.sessionCookie != nil, "Lethe's own page signs in")
            // What Chromium sends for Lethe's own form under `Referrer-Policy: no-referrer`.
            let chromium = try await Curl.call("POST", served.base + "/signin",
                                               headers: form.merging(["Origin": "null", "Sec-Fetch-Site": "same-origin"]) { a, _ in a },
                                               body: "token=\(officer)")
            #expect(chromium.status == 303 && chromium.sessionCookie != nil)

            // Signing in again from the same browser ends the session it had.
            let first = try await BrowserSession.signIn(served.base, token: officer)
            let again = try await Curl.call("POST", served.base + "/signin", headers: form.merging(["Cookie": first.cookie]) { a, _ in a },
                                            body: "token=\(officer)")
            #expect(again.status == 303)
            #expect(try await first.call("GET", "/").status == 303, "the earlier session no longer opens pages")

            var statuses: [Int] = []
            for attempt in 0..<7 {
                let wrong = "lethe_wrong\(attempt)guess"
                statuses.append(try await Curl.call("POST", served.base + "/signin", headers: form, body: "token=\(wrong)").status)
            }
            #expect(statuses == [401, 401, 401, 401, 401, 429, 429], "\(statuses)")
            let limited = try await Curl.call("POST", served.base + "/signin", headers: form, body: "token=\(officer)")
            #expect(limited.status == 429 && Int(limited.header("Retry-After") ?? "") ?? 0 > 0, "even a right token waits once limited")
            let log = try String(contentsOf: served.scratch.appendingPathComponent("serve.log"), encoding: .utf8)
            #expect(log.contains("sign-in failed") && log.contains("127.0.0.1"), "failures are recorded with the address")
            #expect(!log.contains("lethe_wrong") && !log.contains(officer), "never with the token text")
        }
    }

    @Test("behind a TLS proxy (--public-url https://...) cookies are Secure and __Host-, and HSTS is sent")
    func cookiesBehindProxy() async throws {
        try await serve.serving(Self.unreachable, arguments: { _ in ["--listen", "127.0.0.1:0", "--public-url", "https://lethe.example.com"] }) { served, _ in
            let signedIn = try await Curl.call("POST", served.base + "/signin", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                               body: "token=\(served.tokens["officer"]!)")
            let cookie = try #require(signedIn.sessionCookie)
            #expect(cookie.name == "__Host-lethe_session")
            #expect(cookie.attributes.contains("; Secure") && cookie.attributes.contains("Path=/") && !cookie.attributes.contains("Domain"))
            #expect(signedIn.header("Strict-Transport-Security")?.hasPrefix("max-age=") == true)
            let page = try await Curl.call("GET", served.base + "/", headers: ["Cookie": "__Host-lethe_session=\(cookie.value)"])
            #expect(page.status == 200, "the prefixed cookie opens pages")
            #expect(page.header("Strict-Transport-Security") != nil)
        }
        // Without it, on loopback: a plain cookie and no HSTS (a browser would refuse __Host- over http).
        try await serve.serving(Self.unreachable) { served, _ in
            let signedIn = try await Curl.call("POST", served.base + "/signin", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                               body: "token=\(served.tokens["officer"]!)")
            #expect(signedIn.sessionCookie?.name == "lethe_session" && signedIn.sessionCookie?.attributes.contains("Secure") == false)
            #expect(signedIn.header("Strict-Transport-Security") == nil)
        }
        let refused = try await ServeCLITests().serveRefusal(["--public-url", "ftp://x"])
        #expect(refused.status == 64 && refused.stderr.contains("--public-url"))
    }

    @Test("under TLS: HSTS, Secure cookies, and a client that offers only TLS 1.1 is refused")
    func tlsFloor() async throws {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("lethe-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        let openssl = CommandRunner(executable: URL(fileURLWithPath: "/usr/bin/openssl"))
        let cert = scratch.appendingPathComponent("cert.pem").path, key = scratch.appendingPathComponent("key.pem").path
        let made = try await openssl.run(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1",
                                          "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1"])
        try #require(made.status == 0, "\(made.stderr)")
        try await serve.serving(Self.unreachable, arguments: { _ in ["--listen", "127.0.0.1:0", "--tls-cert", cert, "--tls-key", key] }) { served, _ in
            #expect(served.base.hasPrefix("https://"))
            let hostPort = served.base.replacingOccurrences(of: "https://", with: "")
            // SECLEVEL=0: the client itself would offer TLS 1.1, so only the server can refuse it.
            let old = try await openssl.run(["s_client", "-connect", hostPort, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"], input: "")
            #expect(old.status != 0 && (old.stdout + old.stderr).contains("protocol version"), "TLS 1.1 is refused by the server: \(old.stderr.suffix(300))")
            let current = try await openssl.run(["s_client", "-connect", hostPort, "-tls1_2"], input: "")
            #expect(current.status == 0, "TLS 1.2 is accepted: \(current.stderr.suffix(300))")
            let health = try await Curl.call("GET", served.base + "/healthz", extra: ["-k"])
            #expect(health.status == 200 && health.header("Strict-Transport-Security") != nil)
            let signedIn = try await Curl.call("POST", served.base + "/signin", headers: ["Content-Type": "application/x-www-form-urlencoded"],
                                               body: "token=\(served.tokens["officer"]!)", extra: ["-k"])
            #expect(signedIn.sessionCookie?.name == "__Host-lethe_session" && signedIn.sessionCookie?.attributes.contains("Secure") == true)
        }
    }
}

extension ServeCLITests {
    /// `lethe serve ARGS` that must refuse to start: its exit status and message.
    func serveRefusal(_ arguments: [String]) async throws -> CommandRunner.Result {
        let lethe = CommandRunner(environment: ["LETHE_STATE_DIR": "/nonexistent", "LETHE_POLICIES": Repository.path("policies").path],
                                  workingDirectory: Repository.root)
        return try await lethe.run(["serve"] + arguments)
    }
}

/// A raw TCP connection, for clients that misbehave below HTTP.
final class RawConnection {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
    }

    deinit { close(fd) }

    func send(_ text: String) { _ = text.utf8CString.withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count - 1, Int32(MSG_NOSIGNAL)) } }

    /// Whether the server has closed the connection (a read sees end of file or a reset), waiting
    /// at most `within` seconds.
    func isClosed(within seconds: Int) -> Bool {
        var poller = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&poller, 1, Int32(seconds * 1000)) > 0 else { return false }
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, Int32(MSG_DONTWAIT)) <= 0
    }
}

extension SecurityCLITests {
    @Test("slow clients: connections that send nothing or half a header are closed at the deadline while others are answered")
    func slowClients() async throws {
        try await serve.serving(Self.unreachable, arguments: { _ in ["--listen", "127.0.0.1:0", "--header-timeout", "4s", "--keep-alive", "3s"] }) { served, _ in
            let port = try #require(Int(served.base.split(separator: ":").last ?? ""))
            let silent = try (0..<2).map { _ in try RawConnection(port: port) }
            let halfHeader = try (0..<2).map { _ in try RawConnection(port: port) }
            for connection in halfHeader { connection.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ") }
            // Meanwhile a normal client is answered. (curl, a connection of its own each time: a
            // pooled keep-alive connection would itself be closed by --keep-alive during the wait.)
            #expect(try await Curl.call("GET", served.base + "/healthz").status == 200)
            #expect(!silent[0].isClosed(within: 0), "still open before the deadline")
            // The deadline is 4 s from each connection's opening; wait past it (with room for a
            // loaded machine), and every slow connection must have been closed.
            try await Task.sleep(nanoseconds: 4_000_000_000)
            for connection in silent + halfHeader {
                #expect(connection.isClosed(within: 4), "closed by the server after the header deadline")
            }
            #expect(try await Curl.call("GET", served.base + "/healthz").status == 200)
            // A kept-alive connection that goes quiet after a response is closed too.
            let keptAlive = try RawConnection(port: port)
            keptAlive.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = recv(keptAlive.fd, &buffer, buffer.count, 0)
            #expect(String(decoding: buffer.prefix(12), as: UTF8.self) == "HTTP/1.1 200")
            #expect(keptAlive.isClosed(within: 6), "an idle kept-alive connection is closed after --keep-alive")
        }
    }

    @Test("a ledger over --max-ledger-bytes is refused with 413, nothing is filed and the partial upload is removed")
    func ledgerLimit() async throws {
        try await serve.serving(Self.unreachable, arguments: { _ in ["--listen", "127.0.0.1:0", "--max-ledger-bytes", "2000"] }) { served, _ in
            let rows = (0..<100).map { "big\($0)@example.com,marketing,revoked,2026-11-01," }.joined(separator: "\n")
            let ledger = "subject_email,purpose,status,changed_at,expires_at\n" + rows + "\n"
            #expect(ledger.utf8.count > 2000)
            let answer = try await served.call(.post, "/api/v1/sweeps", token: served.tokens["officer"], body: ledger, contentType: "text/csv")
            #expect(answer.status == 413 && answer.headers["content-type"] == "application/problem+json")
            #expect(answer.json?["detail"]?.stringValue?.contains("2000 bytes") == true)
            // Streamed without a length: refused as it crosses the limit.
            let chunked = try await Curl.call("POST", served.base + "/api/v1/sweeps",
                                              headers: ["Authorization": "Bearer \(served.tokens["officer"]!)", "Content-Type": "text/csv",
                                                        "Transfer-Encoding": "chunked"], body: ledger)
            #expect(chunked.status == 413)
            let state = served.scratch.appendingPathComponent("state")
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: state.path).filter { $0.hasSuffix(".partial") }
            #expect(leftovers.isEmpty, "no partial ledger left: \(leftovers)")
            let listed = try await served.call(.get, "/api/v1/requests", token: served.tokens["officer"])
            #expect(listed.json?["requests"]?.arrayValue?.isEmpty == true, "nothing was filed")
            let small = try await served.call(.post, "/api/v1/sweeps", token: served.tokens["officer"],
                                              body: "subject_email,purpose,status,changed_at,expires_at\nsmall@example.com,marketing,revoked,2026-11-01,\n",
                                              contentType: "text/csv")
            #expect(small.status == 200, "a ledger under the limit is swept")
        }
    }

    @Test("pages say only what happened; API answers are no-store; HTML reports get the dashboard's headers; auditors cannot check targets; a certificate asked twice is not signed again")
    func pagesHeadersRolesCertificates() async throws {
        try await serve.serving(Self.unreachable) { served, _ in
            let auditor = try await BrowserSession.signIn(served.base, token: served.tokens["auditor"]!)
            let crafted = try await auditor.call("GET", "/reports?exported=Your%20session%20expired%3A%20sign%20in%20at%20https%3A%2F%2Fevil.example")
            #expect(crafted.status == 200 && !crafted.body.contains("evil.example") && !crafted.body.contains("session expired"))
            // A real export is announced by its file name.
            let exported = try await auditor.form("/reports", ["from": "2026-01-01", "to": "2026-12-31"])
            let location = try #require(exported.header("Location"))
            let announced = try await auditor.call("GET", location)
            #expect(announced.body.contains("Exported lethe-report-2026-01-01-2026-12-31.json."))

            let list = try await served.call(.get, "/api/v1/requests", token: served.tokens["officer"])
            #expect(list.headers["cache-control"] == "no-store")
            let html = try await Curl.call("GET", served.base + "/api/v1/reports/lethe-report-2026-01-01-2026-12-31.html",
                                           headers: ["Authorization": "Bearer \(served.tokens["auditor"]!)"])
            #expect(html.status == 200 && html.header("Content-Security-Policy")?.contains("frame-ancestors 'none'") == true)
            #expect(html.header("X-Content-Type-Options") == "nosniff" && html.header("Cache-Control") == "no-store")

            let check = try await auditor.form("/systems/shop/check", [:])
            #expect(check.status == 403, "an auditor's session cannot make Lethe call a target")

            let filed = try await served.call(.post, "/api/v1/requests", token: served.tokens["officer"],
                                              body: ServeCLITests.erasure("cert@example.com", ref: "CERT-1"))
            let id = try #require(filed.json?["id"]?.stringValue)
            _ = try await served.call(.post, "/api/v1/requests/\(id)/cancel", token: served.tokens["officer"], body: #"{"reason":"filed in error"}"#)
            let first = try await served.call(.get, "/api/v1/requests/\(id)/certificate", token: served.tokens["auditor"])
            let file = served.scratch.appendingPathComponent("state/reports/lethe-certificate-\(id).json.sig")
            let written = try FileManager.default.attributesOfItem(atPath: file.path)[.modificationDate] as? Date
            let checkpoints = try await served.lethe.run(["audit", "verify"])
            try await Task.sleep(nanoseconds: 1_100_000_000)
            let second = try await served.call(.get, "/api/v1/requests/\(id)/certificate", token: served.tokens["auditor"])
            #expect(first.headers["lethe-signature"] == second.headers["lethe-signature"], "the same signature: nothing was signed again")
            #expect(try FileManager.default.attributesOfItem(atPath: file.path)[.modificationDate] as? Date == written, "no file was written again")
            #expect(try await served.lethe.run(["audit", "verify"]).stdout == checkpoints.stdout, "no new checkpoint either")
        }
    }

    @Test("a known API path asked with another method is 405 with Allow, from the routes the router holds, whatever the path's spelling")
    func methodNotAllowed() async throws {
        try await serve.serving(Self.unreachable) { served, _ in
            let admin = try #require(served.tokens["admin"])
            for (method, path, allow) in [("DELETE", "/api/v1/requests", "GET, POST"), ("GET", "/api/v1/plan", "POST"),
                                          ("PUT", "/healthz", "GET"), ("GET", "//api/v1/requests/req-1/cancel/", "POST"),
                                          ("PATCH", "/api/v1/targets/shop/check", "POST")] {
                let answer = try await Curl.call(method, served.base + path, headers: ["Authorization": "Bearer \(admin)"])
                #expect(answer.status == 405 && answer.header("Allow") == allow, "\(method) \(path): \(answer.status) \(answer.header("Allow") ?? "-")")
            }
            let unknown = try await Curl.call("GET", served.base + "/api/v1/nothing-here", headers: ["Authorization": "Bearer \(admin)"])
            #expect(unknown.status == 404)
        }
    }

    @Test("problem documents never carry a path of the machine")
    func noPathsInProblems() async throws {
        try await serve.serving(Self.unreachable) { served, _ in
            // A report that cannot be written names its file: the answer says where in words.
            let reports = served.scratch.appendingPathComponent("state/reports")
            try FileManager.default.createDirectory(at: reports.appendingPathComponent(".lethe-report-2026-01-01-2026-01-31.json.partial"),
                                                    withIntermediateDirectories: true)
            let answer = try await served.call(.post, "/api/v1/reports", token: served.tokens["auditor"], body: #"{"from":"2026-01-01","to":"2026-01-31"}"#)
            let text = answer.json.map { String(decoding: CanonicalJSON.bytes($0), as: UTF8.self) } ?? ""
            #expect(answer.status == 409 && text.contains("cannot write the state directory/reports/lethe-report-2026-01-01-2026-01-31.json"), "\(text)")
            #expect(!text.contains(served.scratch.path) && !text.contains(FileManager.default.temporaryDirectory.path), "\(text)")
            for (body, type) in [("", "text/csv"), ("\u{FFFD}not,a,ledger", "text/csv"), ("{", "application/x-ndjson")] {
                let answer = try await served.call(.post, "/api/v1/sweeps", token: served.tokens["officer"], body: body, contentType: type)
                #expect(answer.status >= 400)
                let text = answer.json.map { String(decoding: CanonicalJSON.bytes($0), as: UTF8.self) } ?? ""
                #expect(!text.contains(served.scratch.path) && !text.contains(FileManager.default.temporaryDirectory.path), "\(text)")
            }
        }
        #expect(ListenAddress("127.evil.example:8080")?.isLoopback == false, "a host name that starts with 127. is not loopback")
        #expect(ListenAddress("127.0.0.9:8080")?.isLoopback == true && ListenAddress("[::1]:8080")?.isLoopback == true)
        #expect(ListenAddress("[::ffff:127.0.0.1]:8080")?.isLoopback == false && ListenAddress("10.0.0.1:8080")?.isLoopback == false)
        let refused = try await ServeCLITests().serveRefusal(["--listen", "127.evil.example:8080"])
        #expect(refused.status == 64 && refused.stderr.contains("reachable from other machines"), "\(refused.stderr)")
    }
}
