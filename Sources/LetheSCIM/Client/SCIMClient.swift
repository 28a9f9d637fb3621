import Foundation
import LetheCore
import LetheHTTP

/// A SCIM 2.0 client for one target (RFC 7644): find a subject, read, delete, patch, leave
/// groups, and read back to verify. Every call is idempotent, so the engine may repeat it.
public struct SCIMClient: Sendable {
    public let target: String
    /// Base URL without a trailing slash.
    public let baseURL: String
    let transport: any HTTPTransport
    let authorizer: Authorizer
    let timeout: TimeSpan
    let now: @Sendable () -> Date
    /// Results per page when listing.
    let pageSize: Int
    /// What this run has learnt about the target (shared by copies of the client).
    public let knowledge = TargetKnowledge()
    /// `connection.update`: PATCH, PUT, or PATCH until the target shows it has none.
    let update: UpdateMethod

    /// Builds a client from a target policy, reading its secrets from `environment`.
    public init(policy: TargetPolicy, environment: [String: String], transport: any HTTPTransport,
                now: @escaping @Sendable () -> Date = { Date() }, pageSize: Int = 50) throws(SCIMClientError) {
        if let problem = PolicyParser.baseURLProblem(policy.scim.baseURL) {
            throw SCIMClientError(kind: .configuration, target: policy.target, operation: "connect", detail: problem.message)
        }
        do {
            authorizer = try Authorizer(auth: policy.scim.auth, environment: environment, transport: transport,
                                        timeout: policy.engine.timeout, now: now)
        } catch {
            throw SCIMClientError(kind: .configuration, target: policy.target, operation: "authenticate", detail: error.description)
        }
        target = policy.target
        baseURL = policy.scim.baseURL.hasSuffix("/") ? String(policy.scim.baseURL.dropLast()) : policy.scim.baseURL
        self.transport = transport
        timeout = policy.engine.timeout
        self.now = now
        self.pageSize = pageSize
        update = policy.scim.update
    }

    // MARK: requests

    /// Sends a request to `path` under the base URL with SCIM headers and auth; on a 401 with
    /// OAuth2, fetches a new token and tries once more. Returns any HTTP answer.
    func send(_ method: HTTPVerb, _ path: String, body: Data? = nil, ifMatch: String? = nil,
              operation: String, scrub: [String] = []) async throws(SCIMClientError) -> HTTPResponse {
        var response = try await sendOnce(method, path, body: body, ifMatch: ifMatch, operation: operation, refresh: false)
        if response.status == 401, authorizer.canRefresh {
            response = try await sendOnce(method, path, body: body, ifMatch: ifMatch, operation: operation, refresh: true)
        }
        return response
    }

    private func sendOnce(_ method: HTTPVerb, _ path: String, body: Data?, ifMatch: String?, operation: String,
                          refresh: Bool) async throws(SCIMClientError) -> HTTPResponse {
        var headers = [HTTPHeader("Accept", "application/scim+json")]
        if body != nil { headers.append(HTTPHeader("Content-Type", "application/scim+json")) }
        if let ifMatch { headers.append(HTTPHeader("If-Match", ifMatch)) }
        do {
            if let auth = try await authorizer.header(refresh: refresh) { headers.append(HTTPHeader("Authorization", auth)) }
        } catch {
            switch error {
            case .unreachable(let transport, let detail):
                throw SCIMClientError(kind: .transport(transport), target: target, operation: operation, detail: detail)
            case .busy(let status, let retryAfter, let detail):
                throw SCIMClientError(kind: .http, target: target, operation: operation, status: status, detail: detail, retryAfter: retryAfter)
            case .refused(let detail):
                throw SCIMClientError(kind: .configuration, target: target, operation: operation, detail: detail)
            }
        }
        let request = HTTPRequest(method: method, url: baseURL + path, headers: headers, body: body, timeout: timeout)
        do {
            return try await transport.send(request)
        } catch {
            throw SCIMClientError(kind: .transport(error), target: target, operation: operation)
        }
    }

    /// The error for a non-success answer, with the server's words scrubbed of `scrub`.
    ///
    /// The server's words go to `serverMessage` only; `detail` is Lethe's own sentence.
    func failure(_ response: HTTPResponse, _ operation: String, scrub: [String] = []) -> SCIMClientError {
        let body = SCIMErrorBody(response.body)
        var message = body?.detail
        var detail: String?
        if body == nil, !response.body.isEmpty {
            let text = String(decoding: response.body.prefix(200), as: UTF8.self)
            if text.contains("<") {
                detail = "not a SCIM error document (an HTML page?)"
            } else {
                message = text
            }
        }
        return SCIMClientError(
            kind: .http, target: target, operation: operation, status: response.status, scimType: body?.scimType,
            detail: detail, retryAfter: RetryAfter.seconds(response.header("retry-after"), now: now()),
            serverMessage: message.map { Self.scrub(String($0.prefix(500)), removing: scrub) },
            contentType: response.body.isEmpty ? nil : response.header("content-type") ?? "no content type",
            bodyLength: response.body.count)
    }

    /// Replaces each sensitive value (in every form `Scrubber` knows) with `<subject>`. Shapes
    /// (anything like an e-mail or a phone number) are left to whoever stores the text, which
    /// knows the account's values too (the engine's executor).
    public static func scrub(_ text: String, removing values: [String]) -> String {
        Scrubber(values: values).scrub(text, shapes: false)
    }

    func parseResource(_ response: HTTPResponse, _ operation: String) throws(SCIMClientError) -> SCIMResource {
        let json: JSONValue
        do {
            json = try JSONValue.parsing(response.body)
        } catch {
            throw SCIMClientError(kind: .protocolViolation, target: target, operation: operation, status: response.status,
                                  detail: response.body.isEmpty ? "the \(response.status) answer has no JSON body"
                                      : "the \(response.status) answer is not valid JSON (\(error))")
        }
        do {
            return try SCIMResource(json: json, etag: response.header("etag"))
        } catch {
            throw SCIMClientError(kind: .protocolViolation, target: target, operation: operation, status: response.status,
                                  detail: error.description)
        }
    }

    static func pathComponent(_ id: String) -> String { SCIMFilter.percentEncoded(id) }

    // MARK: find

    /// The outcome of looking a subject up.
    public enum Resolution: Sendable, Hashable {
        /// No account: nothing to do here.
        case absent
        /// Exactly one account, which really carries the identifier.
        case found(SCIMResource)
        /// More than one account matches: a person must decide; nothing may be written.
        case ambiguous(ids: [String])
    }

    /// Finds the users whose `attribute` equals `value` with an escaped filter, following
    /// pagination over the whole result set. Refuses to trust a server whose results do not
    /// carry the value (a server that ignores filters would otherwise hand over somebody else),
    /// and a list answer that is not well formed: only a well-formed `totalResults: 0` is
    /// "no account" (RFC 7644 §3.4.2).
    public func resolve(_ attribute: MatchAttribute, _ value: String) async throws(SCIMClientError) -> Resolution {
        let filter = SCIMFilter.equals(attribute.rawValue, value)
        let operation = "GET /Users?filter=\(attribute.rawValue) eq <subject>"
        func untrusted(_ detail: String) -> SCIMClientError {
            SCIMClientError(kind: .protocolViolation, target: target, operation: operation, status: 200, detail: detail)
        }
        var found: [SCIMResource] = []
        var delivered = 0
        var announced: Int?
        var startIndex = 1
        for _ in 0..<50 {
            let response = try await send(
                .get, "/Users?filter=\(SCIMFilter.percentEncoded(filter))&startIndex=\(startIndex)&count=\(pageSize)",
                operation: operation)
            guard response.status == 200 else { throw failure(response, operation, scrub: [value]) }
            let page = try parseList(response, operation)
            if let announced, announced != page.totalResults {
                throw untrusted("totalResults changed from \(announced) to \(page.totalResults) between pages")
            }
            announced = page.totalResults
            if page.resources.isEmpty && delivered < page.totalResults {
                throw untrusted("the server announced \(page.totalResults) results but page \(startIndex) came back empty")
            }
            for resource in page.resources {
                guard resource.matches(attribute, value) else {
                    throw untrusted("the server returned user \(resource.id), whose \(attribute.rawValue) does not equal the filter value; "
                        + "it may ignore filters, so Lethe will not act on its answers")
                }
                if !found.contains(where: { $0.id == resource.id }) { found.append(resource) }
            }
            delivered += page.resources.count
            if delivered > page.totalResults {
                throw untrusted("the server delivered \(delivered) results but announced \(page.totalResults)")
            }
            if delivered >= page.totalResults { break }
            startIndex += page.resources.count
        }
        if let announced, delivered < announced {
            throw untrusted("the server announced \(announced) results but delivered \(delivered)")
        }
        if found.count > 1 { return .ambiguous(ids: found.map(\.id)) }
        return found.first.map { .found($0) } ?? .absent
    }

    struct ListPage {
        var totalResults: Int
        var resources: [SCIMResource]
    }

    /// A list response, strictly: `totalResults` must be there; `Resources` must be an array,
    /// and may be left out only when `totalResults` is 0.
    func parseList(_ response: HTTPResponse, _ operation: String) throws(SCIMClientError) -> ListPage {
        func invalid(_ detail: String) -> SCIMClientError {
            SCIMClientError(kind: .protocolViolation, target: target, operation: operation, status: response.status, detail: detail)
        }
        let json: JSONValue
        do {
            json = try JSONValue.parsing(response.body)
        } catch {
            throw invalid("the list answer is not valid JSON (\(error))")
        }
        guard case .object = json else { throw invalid("the list answer is not a JSON object") }
        guard let total = json["totalResults"]?.intValue, total >= 0 else {
            throw invalid("the list answer has no totalResults (a count is required, RFC 7644 §3.4.2)")
        }
        var items: [JSONValue] = []
        switch json["Resources"] {
        case .array(let array)?: items = array
        case nil where total == 0: items = []
        case nil: throw invalid("the list answer has no Resources although totalResults is \(total)")
        case .some: throw invalid("the list answer's Resources is not an array")
        }
        if total == 0 && !items.isEmpty { throw invalid("totalResults is 0 but Resources lists \(items.count)") }
        var resources: [SCIMResource] = []
        for item in items {
            do {
                resources.append(try SCIMResource(json: item))
            } catch {
                throw invalid("a listed \(error.description)")
            }
        }
        return ListPage(totalResults: total, resources: resources)
    }

    // MARK: read, delete, patch

    /// The user with this id, or nil when the server says 404. With `attributes`, only those
    /// are asked for (`?attributes=`, RFC 7644 §3.9), so one the server leaves out of default
    /// answers (`returned: request`) shows when it holds a value.
    public func getUser(_ id: String, attributes: [AttributePath] = []) async throws(SCIMClientError) -> SCIMResource? {
        let names = attributes.map(\.description).joined(separator: ",")
        let operation = "GET /Users/\(id)" + (attributes.isEmpty ? "" : "?attributes=\(names)")
        let query = attributes.isEmpty ? "" : "?attributes=" + SCIMFilter.percentEncoded(names)
        let response = try await send(.get, "/Users/\(Self.pathComponent(id))" + query, operation: operation)
        if response.status == 404 { return nil }
        guard response.status == 200 else { throw failure(response, operation) }
        return try parseResource(response, operation)
    }

    /// What a DELETE found.
    public enum DeleteResult: Sendable, Hashable {
        case deleted
        /// 404: somebody (perhaps an earlier attempt) already deleted it.
        case alreadyGone
    }

    /// Deletes a user. 204/200 is done, 404 means already gone (idempotent).
    public func deleteUser(_ id: String) async throws(SCIMClientError) -> DeleteResult {
        let operation = "DELETE /Users/\(id)"
        let response = try await send(.delete, "/Users/\(Self.pathComponent(id))", operation: operation)
        switch response.status {
        case 200, 202, 204: return .deleted
        case 404: return .alreadyGone
        default: throw failure(response, operation)
        }
    }

    /// Applies PATCH operations to a user, with `If-Match` when an ETag is known. On 412 the
    /// user is read again and the PATCH is sent once more with the new version. Without PATCH
    /// (by policy, or a 501 or 405 with `connection.update: auto`) the change is made with PUT.
    public func patchUser(_ id: String, _ operations: [PatchOperation], etag: String?) async throws(SCIMClientError) {
        try await updating(patch: { () async throws(SCIMClientError) in
            try await patch("/Users/\(Self.pathComponent(id))", operations, etag: etag, operation: "PATCH /Users/\(id)") {
                () async throws(SCIMClientError) -> String? in try await getUser(id)?.etag
            }
        }, put: { () async throws(SCIMClientError) in
            try await replaceUser(id, operations)
        })
    }

    /// Sends a PATCH. Any 2xx is accepted and its body is not read: some servers answer 200
    /// with an empty or unreadable body, others with the whole resource (a group with all its
    /// members), and only the read-back decides whether the change took effect.
    func patch(_ path: String, _ operations: [PatchOperation], etag: String?, operation: String,
               reread: () async throws(SCIMClientError) -> String?) async throws(SCIMClientError) {
        let body = PatchRequest(operations).encoded()
        var response = try await send(.patch, path, body: body, ifMatch: etag, operation: operation)
        if response.status == 412 {
            let fresh = try await reread()
            response = try await send(.patch, path, body: body, ifMatch: fresh, operation: operation)
        }
        guard response.status == 200 || response.status == 204 else { throw failure(response, operation) }
    }
}
