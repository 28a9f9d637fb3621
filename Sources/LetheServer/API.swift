import Foundation
import Hummingbird
import LetheApp
import LetheCore
import LetheReports
import LetheStorage
import NIOCore

/// The routes of `/api/v1` and the health endpoints. Hand-written; the OpenAPI document in
/// `docs/openapi.yaml` (served at `/api/v1/openapi.yaml`) describes exactly these, and the
/// tests hold the two together.
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
        router.get("/api/v1/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        router.post("/api/v1/requests") { request, context in try await file(request, context: context) }
        router.get("/api/v1/requests") { request, context in try list(request, context: context) }
        router.get("/api/v1/requests/{id}") { _, context in
            _ = try context.require(.officer, .auditor)
            let request = try find(context.parameters.require("id"))
            return try Response.encoded(RequestView(request, actions: try database.actions(of: request.id), today: today))
        }
        router.post("/api/v1/requests/{id}/cancel") { request, context in try await cancel(request, context: context) }
        router.post("/api/v1/requests/{id}/retry") { request, context in try await retry(request, context: context) }
        router.post("/api/v1/requests/{id}/extend") { request, context in try await extend(request, context: context) }
        router.post("/api/v1/requests/{id}/approve") { request, context in try await approve(request, context: context) }
        router.post("/api/v1/requests/{id}/reject") { request, context in try await reject(request, context: context) }
        router.post("/api/v1/plan") { request, context in try await plan(request, context: context) }
        router.post("/api/v1/sweeps") { request, context in try await sweep(request, context: context) }
        router.post("/api/v1/reports") { request, context in try await exportReport(request, context: context) }
        router.get("/api/v1/reports") { _, context in
            _ = try context.require(.auditor)
            return Response.json(.object(["files": .array(try reportFiles().map(JSONValue.string))]))
        }
        router.get("/api/v1/reports/{file}") { _, context in try await reportFile(context.parameters.require("file"), context: context) }
        router.get("/api/v1/requests/{id}/certificate") { _, context in try await certificate(context.parameters.require("id"), context: context) }
        router.get("/api/v1/keys") { _, context in
            _ = try context.require(.auditor)
            let state = try stateDirectory()
            let current = try state.signer().publicKey
            let archived = ((try? FileManager.default.contentsOfDirectory(atPath: state.publicKeysDirectory)) ?? [])
                .filter { $0.hasSuffix(".pem") }.map { String($0.dropLast(4)) }.filter { $0 != current.keyId }.sorted()
            return Response.json(.object([
                "current": .object(["key_id": .string(current.keyId), "pem": .string(current.pem)]),
                "earlier": .array(try archived.compactMap { id in
                    try state.publicKey(id: id).map { .object(["key_id": .string($0.keyId), "pem": .string($0.pem)]) }
                }),
            ]))
        }
        router.get("/api/v1/targets") { _, context in
            _ = try context.require(.officer, .auditor)
            return Response.json(.object(["targets": .array(try runtime.policies.policies.map(targetJSON))]))
        }
        router.post("/api/v1/targets/{name}/check") { _, context in
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
        router.get("/api/v1/audit/verify") { _, context in
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
        router.get("/api/v1/tokens") { _, context in
            _ = try context.require(.admin)
            return Response.json(.object(["tokens": .array(try database.tokens().map { token in
                .object(["id": .string(token.id), "name": .string(token.name), "role": .string(token.role.rawValue),
                         "created": .string(Timestamp.iso8601(token.createdAt)),
                         "revoked": token.revokedAt.map { .string(Timestamp.iso8601($0)) } ?? .null])
            })]))
        }
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

    func find(_ idOrRef: String) throws -> StoredRequest {
        guard let request = try database.request(idOrRef) else { throw Problem.notFound("no request with id or reference '\(idOrRef)'") }
        return request
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

    // MARK: Filing

    static let requestFields: Set<String> = ["kind", "subject", "purposes", "ref", "received", "note"]
    static let subjectFields = ["email", "external_id", "user_name"]

    /// `POST /api/v1/requests`: 201 filed, 200 the same reference filed before for the same
    /// subject, 409 the reference belongs to another subject.
    func file(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let body = try await JSONBody.object(request, context: context)
        let (submission, purposes) = try Self.submission(body, filer: token.actor, today: today)
        let result: FilingResult
        do {
            result = try await runtime.intake().fileGrouped(submission, now: runtime.configuration.clock.now())
        } catch let refusal as Intake.Refusal {
            throw Self.problem(refusal, purposes: purposes)
        } catch StoreError.refConflict(let ref, let existing) {
            throw Problem(.conflict, "Reference in use", detail: "reference '\(ref)' is already used by request \(existing) for another subject or kind",
                          pointer: "#/ref")
        }
        let stored = result.request
        let view = RequestView(stored, actions: try database.actions(of: stored.id), today: today)
        if case .filed = result {
            var response = try Response.encoded(view, status: .created)
            response.headers[.location] = "/api/v1/requests/\(stored.id)"
            return response
        }
        return try Response.encoded(view)
    }

    /// A filing (or a plan) read from a request body, field by field, with the purposes as
    /// given (to point at a bad one).
    static func submission(_ body: [String: JSONValue], filer: Principal, today: CalendarDate) throws -> (Intake.Submission, [String]) {
        for key in body.keys.sorted() where !requestFields.contains(key) {
            throw Problem.badRequest("unknown field '\(key)'; a request has \(requestFields.sorted().joined(separator: ", "))", pointer: "#/\(key)")
        }
        let kindName = try JSONBody.string(body, "kind", required: true)!
        let purposes = try JSONBody.strings(body, "purposes")
        let kind: RequestKind
        switch kindName {
        case "erasure":
            guard purposes.isEmpty else { throw Problem.badRequest("an erasure takes no purposes; file a revocation to withdraw consent", pointer: "#/purposes") }
            kind = .erasure
        case "revocation":
            guard !purposes.isEmpty else { throw Problem.badRequest("a revocation names at least one purpose", pointer: "#/purposes") }
            kind = .revocation(purposes: purposes.uniqued())
        default:
            throw Problem.badRequest("kind is 'erasure' or 'revocation', not '\(kindName)'", pointer: "#/kind")
        }
        let subject = try JSONBody.subject(body, required: true)!
        var received = today
        if let text = try JSONBody.string(body, "received") {
            guard let date = CalendarDate(iso: text) else { throw Problem.badRequest("received is a date, YYYY-MM-DD", pointer: "#/received") }
            received = date
        }
        return (Intake.Submission(kind: kind, subject: subject, ref: try JSONBody.string(body, "ref"), filer: filer,
                                  note: try JSONBody.string(body, "note"), received: received), purposes)
    }

    /// An intake refusal as a problem naming the field.
    static func problem(_ refusal: Intake.Refusal, purposes: [String]) -> Problem {
        let pointer: String? = switch refusal {
        case .invalidEmail: "#/subject/email"
        case .receivedInFuture, .receivedBeforeGDPR: "#/received"
        case .invalidReference: "#/ref"
        case .controlCharacter(let field), .tooLong(let field, _): field == "requested_by" ? nil : "#/\(field)"
        case .unplannable(.unknownPurpose(let name, _)): purposes.firstIndex(of: name).map { "#/purposes/\($0)" } ?? "#/purposes"
        case .unplannable(.noPurpose): "#/purposes"
        case .unplannable(.noIdentifier): "#/subject"
        case .notTheSubject, .conflictingIdentifier: "#/subject"
        case .filerRequired: nil
        }
        return Problem.unprocessable("\(refusal); nothing was stored", pointer: pointer)
    }

    // MARK: Listing

    /// `GET /api/v1/requests?state=&kind=&overdue=true&ref=&received_from=&received_to=&limit=&cursor=`
    func list(_ request: Request, context: APIContext) throws -> Response {
        _ = try context.require(.officer, .auditor)
        let query = request.uri.queryParameters
        let known: Set<String> = ["state", "kind", "target", "overdue", "scheduled", "ref", "received_from", "received_to", "limit", "cursor"]
        for key in query.map({ String($0.key) }).sorted() where !known.contains(key) {
            throw Problem.badRequest("unknown query parameter '\(key)'; known: \(known.sorted().joined(separator: ", "))")
        }
        var filter = RequestFilter()
        if let state = query["state"].map(String.init) {
            guard let value = RequestState(rawValue: state) else {
                throw Problem.badRequest("state is one of \(RequestState.allCases.map(\.rawValue).joined(separator: ", ")), not '\(state)'")
            }
            filter.state = value
        }
        if let kind = query["kind"].map(String.init) {
            guard ["erasure", "revocation"].contains(kind) else { throw Problem.badRequest("kind is 'erasure' or 'revocation', not '\(kind)'") }
            filter.kind = kind
        }
        if let overdue = query["overdue"].map(String.init) {
            guard let flag = Bool(overdue) else { throw Problem.badRequest("overdue is true or false, not '\(overdue)'") }
            if flag { filter.overdueOn = today }
        }
        filter.ref = query["ref"].map(String.init)
        if let target = query["target"].map(String.init) {
            guard runtime.policies.targetNames.contains(target) else {
                throw Problem.badRequest("no target named '\(target)'; the targets are \(runtime.policies.targetNames.joined(separator: ", "))")
            }
            filter.target = target
        }
        if let scheduled = query["scheduled"].map(String.init) {
            guard let flag = Bool(scheduled) else { throw Problem.badRequest("scheduled is true or false, not '\(scheduled)'") }
            filter.scheduled = flag
        }
        for (name, keyPath) in [("received_from", \RequestFilter.receivedFrom), ("received_to", \RequestFilter.receivedTo)] {
            guard let text = query[Substring(name)].map(String.init) else { continue }
            guard let date = CalendarDate(iso: text) else { throw Problem.badRequest("\(name) is a date, YYYY-MM-DD, not '\(text)'") }
            filter[keyPath: keyPath] = date
        }
        var limit = 100
        if let text = query["limit"].map(String.init) {
            guard let value = Int(text), (1...1000).contains(value) else { throw Problem.badRequest("limit is 1 to 1000, not '\(text)'") }
            limit = value
        }
        if let cursor = query["cursor"].map(String.init) {
            guard let after = RequestCursor(cursor) else { throw Problem.badRequest("cursor '\(cursor)' is not one this server gave") }
            filter.after = after
        }
        let page = try database.requests(filter, limit: limit)
        let actions = try database.actions(of: page.requests.map(\.id))
        return try Response.encoded(RequestPage(requests: page.requests.map { RequestView($0, actions: actions[$0.id] ?? [], today: today) },
                                                nextCursor: page.next?.description))
    }

    struct RequestPage: Encodable {
        var requests: [RequestView]
        var nextCursor: String?

        enum CodingKeys: String, CodingKey {
            case requests
            case nextCursor = "next_cursor"
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(requests, forKey: .requests)
            try container.encode(nextCursor, forKey: .nextCursor)  // null on the last page, not absent
        }
    }

    // MARK: Changes

    /// `POST /api/v1/requests/{id}/cancel` with `{"reason": "..."}`.
    func cancel(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let stored = try find(context.parameters.require("id"))
        let body = try await JSONBody.object(request, context: context)
        for key in body.keys.sorted() where key != "reason" {
            throw Problem.badRequest("unknown field '\(key)'; a cancellation has reason", pointer: "#/\(key)")
        }
        let reason = try JSONBody.string(body, "reason", required: true)
        let cancelled: StoredRequest
        do {
            cancelled = try runtime.decisions().cancel(stored.id, by: token.actor, reason: reason, now: runtime.configuration.clock.now())
        } catch StoreError.invalid(let why) {
            throw Problem(.conflict, "Cannot cancel", detail: why)
        }
        return try Response.encoded(RequestView(cancelled, actions: try database.actions(of: cancelled.id), today: today))
    }
}

extension API {
    /// `POST /api/v1/requests/{id}/retry` with `{"target"?: "crm", "subject"?: {...}}`: failed and
    /// needs_review actions back to pending; identifiers again when they were purged.
    func retry(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let stored = try find(context.parameters.require("id"))
        let body = try await JSONBody.object(request, context: context)
        for key in body.keys.sorted() where key != "target" && key != "subject" {
            throw Problem.badRequest("unknown field '\(key)'; a retry has target and subject", pointer: "#/\(key)")
        }
        let target = try JSONBody.string(body, "target")
        if let target, !runtime.policies.targetNames.contains(target) {
            throw Problem.unprocessable("no target named '\(target)'; the targets are \(runtime.policies.targetNames.joined(separator: ", "))", pointer: "#/target")
        }
        let subject = try JSONBody.subject(body, required: false)
        do {
            let targets = try runtime.intake().retry(stored, target: target, identifiers: subject, by: token.actor, now: runtime.configuration.clock.now())
            let view = RequestView(try find(stored.id), actions: try database.actions(of: stored.id), today: today)
            return Response.json(.object(["retried": .array(targets.map(JSONValue.string)), "request": try JSONBody.value(view)]))
        } catch let refusal as Intake.Refusal {
            throw Self.problem(refusal, purposes: [])
        } catch let error as StoreError {
            throw Problem(.conflict, "Cannot retry", detail: "\(error)")
        }
    }

    /// `POST /api/v1/requests/{id}/extend` with `{"months": 1|2, "reason": "..."}` (GDPR Art. 12(3)).
    func extend(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let stored = try find(context.parameters.require("id"))
        let body = try await JSONBody.object(request, context: context)
        for key in body.keys.sorted() where key != "months" && key != "reason" {
            throw Problem.badRequest("unknown field '\(key)'; an extension has months and reason", pointer: "#/\(key)")
        }
        guard case .number(let number)? = body["months"], number == 1 || number == 2 else {
            throw Problem.badRequest("months is 1 or 2", pointer: "#/months")
        }
        let reason = try JSONBody.string(body, "reason", required: true)
        do {
            let extended = try runtime.decisions().extend(stored.id, months: Int(number), by: token.actor, reason: reason,
                                                          now: runtime.configuration.clock.now())
            return try Response.encoded(RequestView(extended, actions: try database.actions(of: extended.id), today: today))
        } catch let error as StoreError {
            throw Problem(.conflict, "Cannot extend", detail: "\(error)")
        }
    }

    /// `POST /api/v1/requests/{id}/approve` with `{"note"?: "..."}`: the token's name is the
    /// approver, and must differ from whoever filed the request (four eyes: 403 otherwise).
    func approve(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let stored = try find(context.parameters.require("id"))
        let body = try await JSONBody.object(request, context: context)
        for key in body.keys.sorted() where key != "note" {
            throw Problem.badRequest("unknown field '\(key)'; an approval has note", pointer: "#/\(key)")
        }
        let note = try JSONBody.string(body, "note")
        do {
            let approved = try runtime.decisions().approve(stored.id, by: token.actor, note: note, now: runtime.configuration.clock.now())
            return try Response.encoded(RequestView(approved, actions: try database.actions(of: approved.id), today: today))
        } catch let error as StoreError {
            if case .selfApproval = error { throw Problem(.forbidden, "Four eyes", detail: "\(error)") }
            throw Problem(.conflict, "Cannot approve", detail: "\(error)")
        }
    }

    /// `POST /api/v1/requests/{id}/reject` with `{"reason": "..."}`: ends a request nothing was
    /// done for as `rejected` (GDPR Art. 12(5)); its identifiers are purged.
    func reject(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let stored = try find(context.parameters.require("id"))
        let body = try await JSONBody.object(request, context: context)
        for key in body.keys.sorted() where key != "reason" {
            throw Problem.badRequest("unknown field '\(key)'; a rejection has reason", pointer: "#/\(key)")
        }
        let reason = try JSONBody.string(body, "reason", required: true)
        do {
            let rejected = try runtime.decisions().reject(stored.id, by: token.actor, reason: reason, now: runtime.configuration.clock.now())
            return try Response.encoded(RequestView(rejected, actions: try database.actions(of: rejected.id), today: today))
        } catch let error as StoreError {
            throw Problem(.conflict, "Cannot reject", detail: "\(error)")
        }
    }

    /// `POST /api/v1/plan`: what filing this body would do in each target; files nothing.
    func plan(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let body = try await JSONBody.object(request, context: context)
        let (submission, purposes) = try Self.submission(body, filer: token.actor, today: today)
        let intake = try runtime.intake()
        do {
            _ = try intake.prepare(submission, today: today)
        } catch {
            throw Self.problem(error, purposes: purposes)
        }
        let actions = try Planner(policies: runtime.policies).plan(PlanningRequest(kind: submission.kind, subject: submission.subject,
                                                                                     received: submission.received, today: today))
        return Response.json(.object(["actions": .array(try actions.map { try JSONBody.value(PlanJSON($0)) })]))
    }
}

extension API {
    func stateDirectory() throws -> StateDirectory {
        guard let state = server.storage.state else { throw Problem(.serviceUnavailable, "No state directory", detail: "this server keeps no reports") }
        return state
    }

    /// Where reports exported through the API are kept: `STATE/reports`.
    func reportsDirectory() throws -> String { try stateDirectory().file("reports") }

    /// A file name a report export writes; nothing else is served (no path, no traversal).
    static func isReportFile(_ name: String) -> Bool {
        name.range(of: #"^lethe-(report|certificate)-[A-Za-z0-9-]+(-requests-[0-9]{4}\.html|\.json|\.json\.sig|\.csv|\.html)$"#,
                   options: .regularExpression) != nil
    }

    func reportFiles() throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: try reportsDirectory())) ?? []).filter(Self.isReportFile).sorted()
    }

    /// `POST /api/v1/reports` with `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`: exports a signed
    /// period report into the state directory's `reports/`.
    func exportReport(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.require(.auditor)
        let body = try await JSONBody.object(request, context: context)
        for key in body.keys.sorted() where key != "from" && key != "to" {
            throw Problem.badRequest("unknown field '\(key)'; a report has from and to", pointer: "#/\(key)")
        }
        func date(_ name: String) throws -> CalendarDate {
            guard let text = try JSONBody.string(body, name, required: true), let date = CalendarDate(iso: text) else {
                throw Problem.badRequest("\(name) is a date, YYYY-MM-DD", pointer: "#/\(name)")
            }
            return date
        }
        let from = try date("from"), to = try date("to")
        guard from <= to else { throw Problem.unprocessable("the period starts \(from), after it ends \(to)", pointer: "#/to") }
        let written: WrittenReport
        do {
            written = try runtime.reports().exportPeriod(from: from, to: to, into: try reportsDirectory(), now: runtime.configuration.clock.now())
        } catch let error as ReportError {
            throw Problem(.conflict, "Cannot export", detail: "\(error)")
        }
        let files = ([written.json, written.signature, written.csv, written.html].compactMap { $0 } + written.htmlPages)
            .map { ($0 as NSString).lastPathComponent }
        var response = Response.json(.object(["requests": .number(Double(written.requests)), "files": .array(files.map(JSONValue.string))]),
                                     status: .created)
        response.headers[.location] = "/api/v1/reports/\(files[0])"
        return response
    }

    /// `GET /api/v1/reports/{file}`: a file an export wrote, streamed.
    func reportFile(_ name: String, context: APIContext) async throws -> Response {
        _ = try context.require(.auditor)
        let path = (try reportsDirectory() as NSString).appendingPathComponent(name)
        guard Self.isReportFile(name), FileManager.default.fileExists(atPath: path) else {
            throw Problem.notFound("no report file '\(name)'; GET /api/v1/reports lists them")
        }
        let type = name.hasSuffix(".json") ? "application/json" : name.hasSuffix(".sig") ? "application/octet-stream"
            : name.hasSuffix(".csv") ? "text/csv; charset=utf-8" : "text/html; charset=utf-8"
        return Response(status: .ok, headers: [.contentType: type], body: try await FileIO().loadFile(path: path, context: context))
    }

    /// `GET /api/v1/requests/{id}/certificate`: exports the request's signed erasure
    /// certificate and answers its JSON (the signed bytes); the signature is in the
    /// `Lethe-Signature` header (base64) and in the `.sig` file next to it.
    func certificate(_ idOrRef: String, context: APIContext) async throws -> Response {
        // Officers send the certificate to the subject; auditors check it.
        _ = try context.require(.officer, .auditor)
        let stored = try find(idOrRef)
        let written: WrittenReport
        do {
            written = try runtime.reports().exportCertificate(stored, into: try reportsDirectory(), now: runtime.configuration.clock.now())
        } catch let error as ReportError {
            throw Problem(.conflict, "Cannot export", detail: "\(error)")
        }
        let json = try Data(contentsOf: URL(fileURLWithPath: written.json))
        let signature = try Data(contentsOf: URL(fileURLWithPath: written.signature))
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[.init("Lethe-Signature")!] = signature.base64EncodedString()
        headers[.location] = "/api/v1/reports/\((written.json as NSString).lastPathComponent)"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }
}

extension API {
    /// `POST /api/v1/sweeps[?dry_run=true&skip_invalid=true]` with a consent ledger as the body
    /// (`text/csv` or `application/x-ndjson`): the body is streamed to a file, then swept as
    /// `lethe sweep` does. Invalid rows are 422 with their line numbers, and nothing is filed.
    func sweep(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let type = request.headers[.contentType]?.lowercased() ?? ""
        let format: LedgerFormat
        if type.hasPrefix("text/csv") {
            format = .csv
        } else if type.hasPrefix("application/x-ndjson") || type.hasPrefix("application/jsonl") {
            format = .jsonl
        } else {
            throw Problem(.unsupportedMediaType, "Unsupported media type", detail: "send the ledger as text/csv or application/x-ndjson")
        }
        let query = request.uri.queryParameters
        for key in query.map({ String($0.key) }).sorted() where key != "dry_run" && key != "skip_invalid" {
            throw Problem.badRequest("unknown query parameter '\(key)'; known: dry_run, skip_invalid")
        }
        func flag(_ name: String) throws -> Bool {
            guard let text = query[Substring(name)].map(String.init) else { return false }
            guard let value = Bool(text) else { throw Problem.badRequest("\(name) is true or false, not '\(text)'") }
            return value
        }
        var options = ConsentSweep.Options(format: format, dryRun: try flag("dry_run"), skipInvalid: try flag("skip_invalid"),
                                           now: runtime.configuration.clock.now())
        // Shown as "consent sweep by alice"; compared as alice's token (four eyes).
        options.filer = token.actor.shown(as: "consent sweep by \(token.name)")
        // The ledger can be large: written to a private file as it arrives, never held whole.
        // In the state directory (mode 0700), not /tmp: a ledger holds e-mail addresses.
        let path = try stateDirectory().file(".ledger-\(UUID().uuidString).partial")
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let file = FileHandle(forWritingAtPath: path) else {
            throw Problem(.internalServerError, "Internal error", detail: "cannot store the ledger")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let limit = server.options.maxLedgerBytes
        let tooLarge = Problem(.contentTooLarge, "Content too large",
                               detail: "the ledger is over this server's limit of \(limit) bytes (lethe serve --max-ledger-bytes); nothing was filed. "
                                   + "Split it, or run `lethe sweep --ledger FILE` on the server")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            try? file.close()
            throw tooLarge
        }
        var received = 0
        do {
            for try await chunk in request.body {
                received += chunk.readableBytes
                guard received <= limit else { throw tooLarge }
                try file.write(contentsOf: Data(chunk.readableBytesView))
            }
            try file.close()
        } catch let problem as Problem {
            try? file.close()
            throw problem
        } catch {
            try? file.close()
            throw Problem.badRequest("the ledger did not arrive whole")
        }
        let sweep = try runtime.sweep()
        let summary: ConsentSweep.Summary
        do {
            summary = try await withCheckedThrowingContinuation { continuation in
                // A sweep reads the ledger twice and commits in batches: off the cooperative pool.
                Thread { [options] in continuation.resume(with: Result { try sweep.run(ledger: path, options: options) }) }.start()
            }
        } catch let failure as ConsentSweep.Failure {
            switch failure {
            case .invalid(let problems, let total, let rows):
                var problem = Problem.unprocessable("\(total) invalid row\(total == 1 ? "" : "s") of \(rows); nothing was filed")
                problem.errors = problems.map { ($0.description, $0.line) }
                throw problem
            case .empty, .unreadable:
                throw Problem.badRequest("\(failure)")
            }
        }
        var json = try JSONBody.value(summary)
        if case .object(var fields) = json {
            fields["request_ids"] = .array(summary.requestIds.prefix(1000).map(JSONValue.string))
            fields["request_ids_total"] = .number(Double(summary.requestIds.count))
            json = .object(fields)
        }
        return Response.json(json)
    }
}

/// Reading a JSON request body: content type, size, strict parsing, field types.
enum JSONBody {
    static func object(_ request: Request, context: APIContext) async throws -> [String: JSONValue] {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/json") else {
            throw Problem(.unsupportedMediaType, "Unsupported media type", detail: "send the body as application/json")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        let value: JSONValue
        do {
            value = try JSONValue.parsing(Data(buffer.readableBytesView))
        } catch {
            throw Problem.badRequest("the body is not JSON: \(error)")
        }
        guard case .object(let fields) = value else { throw Problem.badRequest("the body must be a JSON object", pointer: "#") }
        return fields
    }

    static func string(_ fields: [String: JSONValue], _ name: String, at pointer: String? = nil, required: Bool = false) throws -> String? {
        switch fields[name] {
        case nil:
            if required { throw Problem.badRequest("\(name) is required", pointer: pointer ?? "#/\(name)") }
            return nil
        case .string(let text)?: return text
        default: throw Problem.badRequest("\(name) must be a string", pointer: pointer ?? "#/\(name)")
        }
    }

    /// `subject`: an object of `email`, `external_id`, `user_name` (at least one).
    static func subject(_ fields: [String: JSONValue], required: Bool) throws -> SubjectIdentifiers? {
        guard let value = fields["subject"] else {
            if required { throw Problem.badRequest("subject is required", pointer: "#/subject") }
            return nil
        }
        guard case .object(let subjectFields) = value else { throw Problem.badRequest("subject must be an object", pointer: "#/subject") }
        for key in subjectFields.keys.sorted() where !API.subjectFields.contains(key) {
            throw Problem.badRequest("unknown field '\(key)'; a subject has \(API.subjectFields.joined(separator: ", "))", pointer: "#/subject/\(key)")
        }
        let subject = SubjectIdentifiers(email: try string(subjectFields, "email", at: "#/subject/email"),
                                         externalId: try string(subjectFields, "external_id", at: "#/subject/external_id"),
                                         userName: try string(subjectFields, "user_name", at: "#/subject/user_name"))
        guard subject.email != nil || subject.externalId != nil || subject.userName != nil else {
            throw Problem.badRequest("the subject needs an email, external_id or user_name", pointer: "#/subject")
        }
        return subject
    }

    /// An `Encodable` as a `JSONValue`, to nest it in an answer.
    static func value<T: Encodable>(_ value: T) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try JSONValue.parsing(try encoder.encode(value))
    }

    static func strings(_ fields: [String: JSONValue], _ name: String) throws -> [String] {
        switch fields[name] {
        case nil: return []
        case .array(let items)?:
            return try items.enumerated().map { index, item in
                guard case .string(let text) = item else { throw Problem.badRequest("\(name) holds strings only", pointer: "#/\(name)/\(index)") }
                return text
            }
        default: throw Problem.badRequest("\(name) must be an array of strings", pointer: "#/\(name)")
        }
    }
}
