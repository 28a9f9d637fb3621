import Foundation
import LetheCore
import LetheHTTP
import LetheSCIM
import LetheTesting
import Testing

@Suite("Errors, retries and auth")
struct ErrorHandlingTests {
    @Test("SCIM error bodies decode with status as a string or a number")
    func errorBodies() {
        let s = SCIMErrorBody(Data(ClientFixtures.error("\"409\"", "conflict", scimType: "uniqueness").utf8))
        #expect(s?.status == 409 && s?.scimType == "uniqueness" && s?.detail == "conflict")
        let n = SCIMErrorBody(Data(ClientFixtures.error("400", "bad").utf8))
        #expect(n?.status == 400)
        #expect(SCIMErrorBody(Data("<html><body>502 Bad Gateway</body></html>".utf8)) == nil)
        #expect(SCIMErrorBody(Data()) == nil)
    }

    @Test("transient and permanent failures are told apart", arguments: [
        (429, true), (500, true), (502, true), (503, true), (504, true),
        (400, false), (401, false), (403, false), (404, false), (409, false), (412, false), (405, false),
    ])
    func classification(status: Int, transient: Bool) async throws {
        // A PATCH, so 404 is "the user vanished" and 412 is "after the one re-read and retry".
        let responses: [Result<HTTPResponse, TransportError>] = status == 412
            ? [.success(HTTPResponse(status: 412)), .success(.scim(200, ClientFixtures.user("u1"))), .success(HTTPResponse(status: 412))]
            : [.success(.scim(status, ClientFixtures.error("\"\(status)\"", "x")))]
        let client = try ClientFixtures.client(RecordingTransport(responses: responses))
        do {
            if status == 405 {
                // To a PATCH, 405 means "no PATCH here" and switches to PUT (NoPatchTests).
                _ = try await client.deleteUser("u1")
            } else {
                try await client.patchUser("u1", [.remove("locale")], etag: "W/\"1\"")
            }
            Issue.record("no error")
        } catch {
            #expect(error.status == status)
            #expect(error.isTransient == transient)
        }
    }

    @Test("timeouts, refused and reset connections are transient; HTML and empty bodies survive")
    func transportAndOddBodies() async throws {
        for failure in [TransportError.timeout, .connectionRefused, .connectionReset] {
            let client = try ClientFixtures.client(RecordingTransport(responses: [.failure(failure), .failure(failure)]))
            await #expect(throws: SCIMClientError.self) { try await client.deleteUser("u1") }
            do {
                _ = try await client.deleteUser("u1")
                Issue.record("no error for \(failure)")
            } catch {
                #expect(error.isTransient)
            }
        }
        let html = RecordingTransport(responses: [.success(HTTPResponse(status: 502, headers: ["Content-Type": "text/html"], body: Data("<html>Bad Gateway</html>".utf8)))])
        do { _ = try await ClientFixtures.client(html).getUser("u1"); Issue.record("a 502 was accepted") } catch let error as SCIMClientError {
            #expect(error.isTransient && error.description.contains("[text/html, 24 bytes]") && error.description.contains("not a SCIM error document"))
            #expect(error.serverMessage == nil, "an HTML page is not kept as the server's message")
        }
        let garbage = RecordingTransport(responses: [.success(HTTPResponse(status: 200, body: Data("not json".utf8)))])
        do { _ = try await ClientFixtures.client(garbage).getUser("u1"); Issue.record("accepted") } catch let error as SCIMClientError {
            #expect(error.kind == .protocolViolation && !error.isTransient)
        }
    }

    @Test("Retry-After is read as seconds or as an HTTP date")
    func retryAfter() async throws {
        let now = Date(timeIntervalSince1970: 1_796_083_200)  // Tue, 01 Dec 2026 00:00:00 GMT
        #expect(RetryAfter.seconds("120", now: now) == 120)
        #expect(RetryAfter.seconds("Tue, 01 Dec 2026 00:00:30 GMT", now: now) == 30)
        #expect(RetryAfter.seconds("Mon, 30 Nov 2026 00:00:00 GMT", now: now) == 0)
        #expect(RetryAfter.seconds("soon", now: now) == nil)
        let transport = RecordingTransport(responses: [.success(.scim(429, ClientFixtures.error("429", "slow down"), headers: ["Retry-After": "7"]))])
        do { _ = try await ClientFixtures.client(transport).getUser("u1"); Issue.record("a 429 was accepted") } catch let error as SCIMClientError {
            #expect(error.retryAfter == 7 && error.isTransient)
        }
    }

    @Test("a 412 re-reads the resource and retries once with the new ETag")
    func preconditionRetry() async throws {
        let transport = RecordingTransport(responses: [
            .success(.scim(412, ClientFixtures.error("412", "stale"))),
            .success(.scim(200, ClientFixtures.user("u1", version: 5), headers: ["ETag": "W/\"5\""])),
            .success(HTTPResponse(status: 204)),
        ])
        try await ClientFixtures.client(transport).patchUser("u1", [.remove("locale")], etag: "W/\"4\"")
        let requests = transport.requests
        #expect(requests.map(\.method) == [.patch, .get, .patch])
        #expect(requests[0].header("If-Match") == "W/\"4\"")
        #expect(requests[2].header("If-Match") == "W/\"5\"")
    }

    @Test("server details are scrubbed of the searched value")
    func scrubbing() async throws {
        let transport = RecordingTransport(responses: [.success(.scim(400, ClientFixtures.error("400", "bad filter emails.value eq \\\"ana@example.com\\\"", scimType: "invalidFilter")))])
        do { _ = try await ClientFixtures.client(transport).resolve(.email, "ana@example.com"); Issue.record("no error") } catch let error as SCIMClientError {
            #expect(!error.description.contains("ana@example.com"))
            #expect(error.description.contains("<subject>"))
            #expect(error.description.contains("invalidFilter"))
        }
    }

    @Test("basic auth, and a missing secret is a configuration error that names the variable, not a value")
    func basicAndMissing() async throws {
        let transport = RecordingTransport(responses: [.success(.list([]))])
        let client = try ClientFixtures.client(transport, auth: .basic(usernameEnv: "U", passwordEnv: "P"), environment: ["U": "lethe", "P": "pw"])
        _ = try await client.resolve(.email, "a@x.org")
        #expect(transport.requests.first?.header("Authorization") == "Basic bGV0aGU6cHc=")
        do {
            _ = try ClientFixtures.client(transport, environment: [:])
            Issue.record("built without a token")
        } catch let error as SCIMClientError {
            #expect(error.kind == .configuration && error.description.contains("CRM_TOKEN is not set"))
        }
    }

    @Test("plain http to a non-loopback host is refused before any request")
    func httpsRequired() throws {
        let transport = RecordingTransport(responses: [])
        #expect(throws: SCIMClientError.self) {
            try SCIMClient(policy: ClientFixtures.policy(baseURL: "http://crm.example.com/v2"), environment: ["CRM_TOKEN": "t"], transport: transport)
        }
        #expect(transport.requests.isEmpty)
    }

    @Test("OAuth2 client credentials: the token is cached until expiry, and refreshed once on 401")
    func oauth() async throws {
        let tokens = TokenCounter()
        let transport = RecordingTransport { request throws(TransportError) in
            if request.url == "https://auth.example.com/token" {
                let n = tokens.next()
                return HTTPResponse(status: 200, body: Data(#"{"access_token":"tok-\#(n)","expires_in":3600,"token_type":"Bearer"}"#.utf8))
            }
            // The first token stops working after two uses.
            if request.header("Authorization") == "Bearer tok-1", tokens.uses() > 2 { return .scim(401, ClientFixtures.error("401", "expired")) }
            return .list([])
        }
        let auth = AuthSettings.oauth2ClientCredentials(tokenURL: "https://auth.example.com/token", clientIdEnv: "ID", clientSecretEnv: "SECRET", scope: "scim")
        let client = try ClientFixtures.client(transport, auth: auth, environment: ["ID": "lethe", "SECRET": "sh"])
        for _ in 0..<3 { _ = try await client.resolve(.email, "a@x.org") }
        let tokenRequests = transport.requests.filter { $0.url.hasSuffix("/token") }
        #expect(tokenRequests.count == 2, "one token, then one refresh after the 401")
        #expect(tokenRequests.first?.bodyText == "grant_type=client_credentials&scope=scim")
        #expect(tokenRequests.first?.header("Authorization") == "Basic bGV0aGU6c2g=")
        #expect(transport.requests.last?.header("Authorization") == "Bearer tok-2")
    }
}

/// Counts token grants and token uses across concurrent calls.
final class TokenCounter: Sendable {
    private let state = Mutex<(grants: Int, uses: Int)>((0, 0))
    func next() -> Int { state.withLock { $0.grants += 1; return $0.grants } }
    func uses() -> Int { state.withLock { $0.uses += 1; return $0.uses } }
}

import Synchronization
