import Foundation
import Hummingbird
import LetheApp
import LetheCore
import LetheReports
import LetheStorage
import NIOCore

/// `/api/v1/requests` and `/api/v1/plan`: filing, listing, reading, and every decision on a request.
extension API {
    func registerRequests(on api: RouterGroup<APIContext>) {
        api.post("requests") { request, context in try await file(request, context: context) }
        api.get("requests") { request, context in try list(request, context: context) }
        api.get("requests/{id}") { _, context in
            _ = try context.require(.officer, .auditor)
            return try Response.encoded(try runtime.reading().view(of: try find(context.parameters.require("id"))))
        }
        api.post("requests/{id}/cancel") { request, context in
            try await decide(request, context: context, fields: ["reason"], named: "a cancellation", refused: "Cannot cancel") { decisions, stored, token, body in
                try decisions.cancel(stored.id, by: token.actor, reason: JSONBody.string(body, "reason", required: true), now: now)
            }
        }
        api.post("requests/{id}/retry") { request, context in try await retry(request, context: context) }
        api.post("requests/{id}/extend") { request, context in
            try await decide(request, context: context, fields: ["months", "reason"], named: "an extension", refused: "Cannot extend") { decisions, stored, token, body in
                guard case .number(let months)? = body["months"], months == 1 || months == 2 else {
                    throw Problem.badRequest("months is 1 or 2", pointer: "#/months")
                }
                let reason = try JSONBody.string(body, "reason", required: true)
                return try decisions.extend(stored.id, months: Int(months), by: token.actor, reason: reason, now: now)
            }
        }
        api.post("requests/{id}/approve") { request, context in
            try await decide(request, context: context, fields: ["note"], named: "an approval", refused: "Cannot approve") { decisions, stored, token, body in
                try decisions.approve(stored.id, by: token.actor, note: JSONBody.string(body, "note"), now: now)
            }
        }
        api.post("requests/{id}/targets/{target}/confirm") { request, context in
            let target = try context.parameters.require("target")
            guard let task = runtime.policies[target]?.manual else {
                _ = try context.require(.officer)
                throw Problem.notFound("'\(target)' is not a manual target (kind: manual) in the policies; only a person's task is confirmed")
            }
            if task.confirmRole == .admin { _ = try context.require(.admin) }
            return try await decide(request, context: context, fields: ["outcome", "note"], named: "a confirmation",
                                    refused: "Cannot confirm") { decisions, stored, token, body in
                let text = try JSONBody.string(body, "outcome", required: true) ?? ""
                guard let outcome = TaskOutcome(rawValue: text) else {
                    throw Problem.badRequest("outcome is one of \(TaskOutcome.allCases.map(\.rawValue).joined(separator: ", "))", pointer: "#/outcome")
                }
                _ = try decisions.confirm(stored.id, target: target, outcome: outcome, by: token.actor, note: JSONBody.string(body, "note"), now: now)
                return try find(stored.id)
            }
        }
        api.post("requests/{id}/reject") { request, context in
            try await decide(request, context: context, fields: ["reason"], named: "a rejection", refused: "Cannot reject") { decisions, stored, token, body in
                try decisions.reject(stored.id, by: token.actor, reason: JSONBody.string(body, "reason", required: true), now: now)
            }
        }
        api.post("plan") { request, context in try await plan(request, context: context) }
    }

    var now: Date { runtime.configuration.clock.now() }

    func find(_ idOrRef: String) throws -> StoredRequest {
        guard let request = try database.request(idOrRef) else { throw Problem.notFound("no request with id or reference '\(idOrRef)'") }
        return request
    }

    /// A decision on one request by an officer (cancel, extend, approve, reject): the body has
    /// only `fields`, the change goes through `RequestDecisions`, and the answer is the request
    /// as it is afterwards. A four-eyes refusal is 403; any other refusal by the store is 409.
    func decide(_ request: Request, context: APIContext, fields: [String], named what: String, refused title: String,
                _ change: (RequestDecisions, StoredRequest, APIToken, [String: JSONValue]) throws -> StoredRequest) async throws -> Response {
        let token = try context.require(.officer)
        let stored = try find(context.parameters.require("id"))
        let body = try await JSONBody.object(request, context: context)
        for key in body.keys.sorted() where !fields.contains(key) {
            throw Problem.badRequest("unknown field '\(key)'; \(what) has \(fields.joined(separator: " and "))", pointer: "#/\(key)")
        }
        do {
            let changed = try change(try runtime.decisions(), stored, token, body)
            return try Response.encoded(try runtime.reading().view(of: changed))
        } catch let error as StoreError {
            if case .selfApproval = error { throw Problem(.forbidden, "Four eyes", detail: "\(error)") }
            throw Problem(.conflict, title, detail: "\(error)")
        }
    }

    static let requestFields: Set<String> = ["kind", "subject", "purposes", "ref", "received", "note"]
    static let subjectFields = ["email", "external_id", "user_name"]

    /// `POST /api/v1/requests`: 201 filed, 200 the same reference filed before for the same
    /// subject, 409 the reference belongs to another subject.
    func file(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let body = try await JSONBody.object(request, context: context)
        let (submission, purposes) = try Self.submission(body, filer: token.actor, today: today)
        let filing: Intake.Filing
        do {
            filing = try await runtime.intake().fileGrouped(submission, now: runtime.configuration.clock.now())
        } catch let refusal as Intake.Refusal {
            throw Self.problem(refusal, purposes: purposes)
        } catch StoreError.refConflict(let ref, let existing) {
            throw Problem(.conflict, "Reference in use", detail: "reference '\(ref)' is already used by request \(existing) for another subject or kind",
                          pointer: "#/ref")
        }
        let stored = filing.request
        let view = RequestView(stored, actions: filing.actions, today: today)
        if filing.isNew {
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
        let page = try runtime.reading().page(filter, limit: limit)
        return try Response.encoded(RequestPage(requests: page.requests, nextCursor: page.next?.description))
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
            let view = try runtime.reading().view(of: try find(stored.id))
            return Response.json(.object(["retried": .array(targets.map(JSONValue.string)), "request": try JSONBody.value(view)]))
        } catch let refusal as Intake.Refusal {
            throw Self.problem(refusal, purposes: [])
        } catch let error as StoreError {
            throw Problem(.conflict, "Cannot retry", detail: "\(error)")
        }
    }




    /// `POST /api/v1/plan`: what filing this body would do in each target; files nothing.
    func plan(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let body = try await JSONBody.object(request, context: context)
        let (submission, purposes) = try Self.submission(body, filer: token.actor, today: today)
        let intake = try runtime.intake()
        let actions: [PlannedAction]
        do {
            // What filing would store, checked as filing checks it; nothing is stored.
            actions = try intake.prepare(submission, today: today).plan
        } catch {
            throw Self.problem(error, purposes: purposes)
        }
        return Response.json(.object(["actions": .array(try actions.map { try JSONBody.value(PlanJSON($0)) })]))
    }
}
