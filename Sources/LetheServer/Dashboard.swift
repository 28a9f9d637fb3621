import Foundation
import Hummingbird
import LetheApp
import LetheCore
import LetheReports
import LetheStorage
import NIOCore

/// The dashboard `lethe serve` shows at `/`: server-rendered pages over the same store, roles
/// and engine as the API; every asset is served by Lethe (no CDN, no build step), so it works
/// on an air-gapped network. Subjects appear only by pseudonym: no page shows an identifier.
struct Dashboard: Sendable {
    let server: LetheServer

    var database: any Store { server.storage.database }
    var runtime: Runtime { server.runtime }
    var now: Date { runtime.configuration.clock.now() }
    var today: CalendarDate { CalendarDate(secondsSince1970: now.timeIntervalSince1970) }

    /// Paths the dashboard answers (errors there are pages, not problem documents).
    static func isPage(_ path: String) -> Bool {
        let path = RoutePath.normalised(path)
        return !RoutePath.isAPI(path) && !["/healthz", "/readyz", "/metrics"].contains(path)
    }

    func register(on router: Router<APIContext>) {
        router.get("/assets/lethe.css") { _, _ in Self.asset(DashboardAssets.css, type: "text/css; charset=utf-8") }
        router.get("/assets/lethe.js") { _, _ in Self.asset(DashboardAssets.js, type: "text/javascript; charset=utf-8") }
        router.get("/assets/icon.svg") { _, _ in Self.asset(DashboardAssets.icon, type: "image/svg+xml") }
        router.get("/favicon.ico") { _, _ in Self.asset(DashboardAssets.icon, type: "image/svg+xml") }
        router.get("/signin") { _, _ in Self.html(signInPage(error: nil)) }
        router.post("/signin") { request, context in try await signIn(request, context: context) }
        router.post("/signout") { request, context in try await signOut(request, context: context) }
        router.get("/") { _, context in try overview(context) }
        router.get("/requests") { request, context in try requests(request, context: context) }
        router.get("/requests/{id}") { request, context in try detail(try context.parameters.require("id"), request: request, context: context) }
        router.post("/requests/{id}/{change}") { request, context in try await change(request, context: context) }
        router.get("/requests/{id}/certificate/{file}") { _, context in try certificate(context) }
        router.get("/new") { _, context in try newRequestPage(context, form: nil, plan: nil, error: nil) }
        router.post("/new") { request, context in try await newRequest(request, context: context) }
        router.get("/reports") { request, context in try reportsPage(context, message: try exportedNotice(request)) }
        router.post("/reports") { request, context in try await exportReport(request, context: context) }
        router.get("/reports/files/{file}") { _, context in try reportFile(context) }
        router.post("/reports/verify") { request, context in try await verifyReport(request, context: context) }
        router.get("/systems") { _, context in try systems(context) }
        router.post("/systems/{name}/check") { request, context in try await check(request, context: context) }
        router.get("/sweeps") { _, context in try sweepsPage(context) }
        router.get("/tasks") { request, context in try tasksPage(request, context: context, error: nil) }
        router.post("/tasks/{id}/{target}") { request, context in try await confirmTask(request, context: context) }
    }

    // MARK: Responses

    /// What a page may load and who may frame it: only Lethe's own assets, no inline script,
    /// no framing. HTML reports get it too (`SecurityHeadersMiddleware`).
    static let contentSecurityPolicy =
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    static let referrerPolicy = "no-referrer"

    static func headers(_ type: String) -> HTTPFields {
        var headers: HTTPFields = [.contentType: type, .cacheControl: "no-store"]
        headers[.init("Content-Security-Policy")!] = contentSecurityPolicy
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        headers[.init("Referrer-Policy")!] = referrerPolicy
        return headers
    }

    static func html(_ body: String, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: headers("text/html; charset=utf-8"), body: .init(byteBuffer: ByteBuffer(string: body)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers: HTTPFields = [.contentType: type, .cacheControl: "max-age=300"]
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    static func download(_ data: Data, name: String, type: String) -> Response {
        var headers = Self.headers(type)
        headers[.contentDisposition] = "attachment; filename=\"\(name)\""
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// An error as a page (a problem thrown by a page handler or a middleware).
    static func errorPage(_ problem: Problem, context: APIContext) -> Response {
        let body = "<h1>\(H.e(problem.title))</h1><p class=error role=alert>\(H.e(problem.detail))</p><p><a href=\"/\">Back to the overview</a></p>"
        var response = html(H.page(title: problem.title, context: context, active: "", body: body), status: problem.status)
        for field in problem.headers where field.name != .contentType { response.headers.append(field) }
        return response
    }

    func requireOfficer(_ context: APIContext) throws -> APIToken { try context.require(.officer) }

    /// What a change's redirect may announce on the request's page (`?done=CODE`).
    static let notices: [String: String] = [
        "Approved": "Approved.", "Rejected": "Rejected; its identifiers are purged.", "Cancelled": "Cancelled.",
        "Extended": "Extended.", "Retried": "Failed systems back to pending.", "Filed": "Filed.",
        "FiledAwaiting": "Filed; it waits for approval by someone else.",
    ]

    // MARK: Signing in

    func signInPage(error: String?) -> String {
        var body = "<h1>Sign in to Lethe</h1>"
        if let error { body += "<p class=error role=alert>\(H.e(error))</p>" }
        body += """
            <form method=post action="/signin" class=card>
            <label for=token>API token</label>
            <input id=token name=token type=password autocomplete=off required autofocus>
            <p class=hint>An administrator makes one with <code>lethe token create --name NAME --role officer|auditor|admin</code>.</p>
            <button type=submit>Sign in</button>
            </form>
            """
        return H.page(title: "Sign in", context: nil, active: "", body: body)
    }

    /// `POST /signin`: only from Lethe's own page (login CSRF), at most `SignInGuard.limit`
    /// failures per address in its window (each logged with the address, never the token text),
    /// and a new session replaces the browser's previous one.
    func signIn(_ request: Request, context: APIContext) async throws -> Response {
        let address = context.clientAddress ?? "unknown"
        guard Self.isSameOrigin(request, publicURL: server.options.publicURL) else {
            server.logger.warning("sign-in refused: the form came from another site", metadata: ["client": .string(address)])
            throw Problem(.forbidden, "Forbidden", detail: "sign in from Lethe's own sign-in page: a form on another site cannot sign anyone in")
        }
        if let wait = server.signIns.wait(for: address, now: now) {
            server.logger.warning("sign-in refused: too many failures", metadata: ["client": .string(address)])
            var problem = Problem(.tooManyRequests, "Too many sign-ins",
                                  detail: "too many failed sign-ins from this address; try again in \(Int(wait.rounded(.up))) seconds")
            problem.headers[.retryAfter] = "\(Int(wait.rounded(.up)))"
            throw problem
        }
        let buffer = try await request.body.collect(upTo: 4096)
        let form = Form.parse(String(buffer: buffer))
        guard let secret = form.text("token"), let token = try database.token(secret: secret), !token.isRevoked else {
            let failures = server.signIns.fail(address, now: now)
            server.logger.warning("sign-in failed: unknown or revoked token",
                                  metadata: ["client": .string(address), "failures_in_window": .stringConvertible(failures)])
            return Self.html(signInPage(error: "That token is unknown or revoked."), status: .unauthorized)
        }
        server.signIns.succeed(address)
        // Signing in again ends the browser's previous session (a shared machine, a second person).
        if let previous = server.sessions.id(in: request) { try server.sessions.close(previous) }
        let session = try server.sessions.open(token: token, now: now)
        var response = Self.redirect("/")
        response.headers[.setCookie] = server.sessions.cookie(session.id, maxAge: Int(DashboardSessions.lifetime))
        return response
    }

    /// Whether a form post comes from this server's own pages. A browser says so in
    /// `Sec-Fetch-Site` (every current one sends it): same-origin, or none for a typed address.
    /// Without it, `Origin` must name this server's host, as the request reached it or as
    /// `--public-url` says; an opaque `null` origin is refused. (Lethe's pages send
    /// `Referrer-Policy: no-referrer`, under which browsers send `Origin: null` even for their
    /// own forms, so `Sec-Fetch-Site` decides when present.) A client that sends neither (curl,
    /// a script) is not a browser another site could drive.
    static func isSameOrigin(_ request: Request, publicURL: URL?) -> Bool {
        if let site = request.headers[.init("Sec-Fetch-Site")!]?.lowercased() { return site == "same-origin" || site == "none" }
        guard let origin = request.headers[.origin] else { return true }
        guard let url = URL(string: origin), let host = url.host?.lowercased() else { return false }  // "null" too
        let claimed = host + (url.port.map { ":\($0)" } ?? "")
        var own: [String] = []
        if let authority = request.head.authority?.lowercased() { own.append(authority) }
        if let publicURL, let host = publicURL.host?.lowercased() { own.append(host + (publicURL.port.map { ":\($0)" } ?? "")) }
        return own.contains(claimed)
    }

    func signOut(_ request: Request, context: APIContext) async throws -> Response {
        _ = try await Form.read(request, context: context)
        if let session = context.session { try server.sessions.close(session.id) }
        var response = Self.redirect("/signin")
        response.headers[.setCookie] = server.sessions.cookie("", maxAge: 0)
        return response
    }

    // MARK: Overview

    func overview(_ context: APIContext) throws -> Response {
        _ = try context.require(.officer, .auditor)
        let data = try database.overview(today: today)
        let open = ["awaiting_approval", "received", "in_progress"].reduce(0) { $0 + data.byState[$1, default: 0] }
        var body = "<h1>Overview</h1><div class=tiles>"
        body += H.tile("Open", open, href: "/requests")
        body += H.tile("Overdue", data.overdue, href: "/requests?overdue=true", alarm: data.overdue > 0)
        body += H.tile("Due in 7 days", data.dueSoon, href: "/requests")
        body += H.tile("Awaiting approval", data.byState["awaiting_approval", default: 0], href: "/requests?state=awaiting_approval")
        body += H.tile("Failed or needs review", data.byState["failed", default: 0] + data.byState["needs_review", default: 0],
                       href: "/requests?state=failed", alarm: data.byState["failed", default: 0] > 0)
        body += H.tile("Retained-data erasures scheduled", data.scheduledFollowUps, href: "/requests?scheduled=true")
        body += "</div>"
        body += "<div class=split><section><h2>Requests per week, by outcome</h2>" + H.weeklyChart(data.weekly, today: today) + "</section>"
        body += "<section><h2>Requests by state</h2><table><thead><tr><th scope=col>State</th><th scope=col>Requests</th></tr></thead><tbody>"
        for state in RequestState.allCases {
            let n = data.byState[state.rawValue, default: 0]
            body += "<tr><td><a href=\"/requests?state=\(state.rawValue)\">\(H.state(state.rawValue))</a></td><td>\(n)</td></tr>"
        }
        body += "</tbody></table></section></div>"
        body += "<section><h2>Systems</h2><ul>"
        for name in runtime.policies.targetNames {
            var line = "<li><a href=\"/systems#\(H.e(name))\">\(H.e(name))</a>: "
            let failing = data.failingByTarget[name, default: 0]
            line += failing > 0 ? "<span class=bad>\(failing) failed or needs review</span>" : "nothing failing"
            if let last = server.checks.get(name) {
                line += "; last check \(H.time(last.at)): " + (last.check.usable ? "usable" : "<span class=bad>NOT usable</span>")
            }
            body += line + "</li>"
        }
        body += "</ul><p>Last attempt: \(data.lastAttemptAt.map(H.time) ?? "none yet")</p></section>"
        return Self.html(H.page(title: "Overview", context: context, active: "/", body: body))
    }

    // MARK: Requests

    func requests(_ request: Request, context: APIContext) throws -> Response {
        _ = try context.require(.officer, .auditor)
        let query = request.uri.queryParameters
        func value(_ name: String) -> String? {
            guard let text = query[Substring(name)].map(String.init), !text.isEmpty else { return nil }
            return text
        }
        var filter = RequestFilter()
        filter.newestFirst = true
        var problems: [String] = []
        if let state = value("state") {
            if let known = RequestState(rawValue: state) { filter.state = known } else { problems.append("unknown state '\(state)'") }
        }
        if let kind = value("kind") {
            if kind == "erasure" || kind == "revocation" { filter.kind = kind } else { problems.append("kind is erasure or revocation") }
        }
        if let target = value("target") {
            if runtime.policies.targetNames.contains(target) { filter.target = target } else { problems.append("no target named '\(target)'") }
        }
        if value("overdue") == "true" { filter.overdueOn = today }
        if value("scheduled") == "true" { filter.scheduled = true }
        filter.ref = value("ref")
        if let cursor = value("cursor") { filter.after = RequestCursor(cursor) }
        let page = try runtime.reading().page(filter, limit: 50)
        var body = "<h1>Requests</h1>"
        for problem in problems { body += "<p class=error role=alert>\(H.e(problem)); that filter was left out.</p>" }
        body += "<form method=get action=\"/requests\" class=filters><fieldset><legend>Filter</legend>"
        body += H.select("state", label: "State", options: [("", "any")] + RequestState.allCases.map { ($0.rawValue, $0.rawValue.replacingOccurrences(of: "_", with: " ")) },
                         selected: filter.state?.rawValue ?? "")
        body += H.select("kind", label: "Kind", options: [("", "any"), ("erasure", "erasure"), ("revocation", "withdrawal")], selected: filter.kind ?? "")
        body += H.select("target", label: "System", options: [("", "any")] + runtime.policies.targetNames.map { ($0, $0) }, selected: filter.target ?? "")
        body += "<label><input type=checkbox name=overdue value=true\(filter.overdueOn != nil ? " checked" : "")> Overdue only</label>"
        body += "<label for=ref>Reference</label><input id=ref name=ref value=\"\(H.e(filter.ref ?? ""))\" placeholder=\"DSR-812\">"
        body += "<button type=submit>Show</button></fieldset></form>"
        if page.requests.isEmpty {
            body += "<p>No requests match.</p>"
        } else {
            body += "<table class=list><caption>Newest first</caption><thead><tr><th scope=col>Request</th><th scope=col>Kind</th><th scope=col>State</th>"
                + "<th scope=col>Received</th><th scope=col>Due</th><th scope=col>Systems done</th><th scope=col>Reference</th></tr></thead><tbody>"
            for view in page.requests {
                let done = view.actions.filter { $0.state == "succeeded" }.count
                body += "<tr><td><a href=\"/requests/\(H.e(view.id))\">\(H.e(view.id))</a></td><td>\(H.kind(view.kind))</td><td>\(H.state(view.state))</td>"
                    + "<td>\(H.e(view.received))</td><td>\(H.e(view.due))\(view.overdue ? " <strong class=bad>overdue</strong>" : "")</td>"
                    + "<td>\(done)/\(view.actions.count)</td><td>\(H.e(view.ref ?? ""))</td></tr>"
            }
            body += "</tbody></table>"
        }
        if let next = page.next {
            var items = query.filter { $0.key != "cursor" }.map { "\($0.key)=\(H.query(String($0.value)))" }
            items.append("cursor=\(H.query(next.description))")
            body += "<p><a rel=next href=\"/requests?\(H.e(items.joined(separator: "&")))\">Older requests →</a></p>"
        }
        return Self.html(H.page(title: "Requests", context: context, active: "/requests", body: body))
    }

    func find(_ idOrRef: String) throws -> StoredRequest {
        guard let stored = try database.request(idOrRef) else { throw Problem.notFound("no request with id or reference '\(idOrRef)'") }
        return stored
    }

    func detail(_ idOrRef: String, request: Request, context: APIContext, notice: String? = nil, error: String? = nil) throws -> Response {
        let token = try context.require(.officer, .auditor)
        let stored = try find(idOrRef)
        let detail = try runtime.reading().detail(of: stored, auditTrail: database)
        let view = detail.view
        var body = "<h1>\(H.kind(view.kind)) <code>\(H.e(view.id))</code> — \(H.state(view.state))</h1>"
        // Only known codes: a link cannot make this page say something Lethe did not do.
        if let done = request.uri.queryParameters["done"].flatMap({ Self.notices[String($0)] }) { body += "<p class=notice role=status>\(H.e(done))</p>" }
        if let notice { body += "<p class=notice role=status>\(H.e(notice))</p>" }
        if let error { body += "<p class=error role=alert>\(H.e(error))</p>" }
        body += "<dl class=facts>"
        body += "<dt>Subject</dt><dd><code>\(H.e(view.subject))</code> (pseudonym; Lethe shows no identifier)</dd>"
        if let ref = view.ref { body += "<dt>Reference</dt><dd>\(H.e(ref))</dd>" }
        if !view.purposes.isEmpty { body += "<dt>Consent withdrawn for</dt><dd>\(H.e(view.purposes.joined(separator: ", ")))</dd>" }
        body += "<dt>Received</dt><dd>\(H.e(view.received))</dd><dt>Due</dt><dd>\(H.e(view.due))"
            + (view.extendedMonths > 0 ? " (extended by \(view.extendedMonths) month\(view.extendedMonths == 1 ? "" : "s"))" : "")
            + (view.overdue ? " <strong class=bad>OVERDUE</strong>" : "") + "</dd>"
        if let filer = view.requestedBy { body += "<dt>Filed by</dt><dd>\(H.e(filer))</dd>" }
        if let approval = view.approval {
            switch approval.state {
            case "awaiting": body += "<dt>Approval</dt><dd>awaiting: someone other than \(H.e(view.requestedBy ?? "the filer")) must approve it</dd>"
            case "approved": body += "<dt>Approved</dt><dd>by \(H.e(approval.by ?? "?")) \(approval.at.map(H.isoTime) ?? "")\(approval.note.map { ": " + H.e($0) } ?? "")</dd>"
            default: body += "<dt>Rejected</dt><dd>by \(H.e(approval.by ?? "?")) \(approval.at.map(H.isoTime) ?? ""): \(H.e(approval.reason ?? ""))</dd>"
            }
        }
        if let starts = view.startsAt { body += "<dt>Starts at</dt><dd>\(H.isoTime(starts)) (grace period: cancelling before then touches no system)</dd>" }
        if let ended = view.completedAt { body += "<dt>Ended</dt><dd>\(H.isoTime(ended))</dd>" }
        if let cancellation = view.cancellation { body += "<dt>Cancelled</dt><dd>\(H.e(cancellation))</dd>" }
        body += "</dl>"

        body += "<section><h2>Per system</h2>"
        for action in detail.actions where action.follows == nil {
            let shown = view.actions.first { $0.target == action.target }
            body += "<article class=card><h3>\(H.e(action.target)): \(H.e(action.plan.operation.rawValue.replacingOccurrences(of: "_", with: " "))) — \(H.state(action.state.rawValue))</h3>"
            body += "<p><strong>Why:</strong> \(H.e(action.plan.reason))</p>"
            if let outcome = action.outcome {
                body += "<p><strong>Outcome:</strong> \(H.e(outcome.rawValue.replacingOccurrences(of: "_", with: " ")))"
                    + (action.verified == true ? ", verified" : action.verified == false ? ", <strong class=bad>NOT verified</strong>" : "")
                    + (action.verified == nil ? action.knownBy.map { ", \(H.e($0.statement))" } ?? "" : "") + "</p>"
            }
            if let verification = action.verification {
                // Only a read-back verifies; a person's or a system's word is said as theirs.
                body += "<p><strong>\(action.knownBy == .readBack || action.knownBy == nil ? "Verified by" : "Evidence"):</strong> \(H.e(verification))</p>"
            }
            if action.state == .awaitingConfirmation {
                body += "<p><strong>With a person</strong> until \(H.e(Timestamp.iso8601(action.nextAttemptAt))): see <a href=\"/tasks\">Tasks</a>.</p>"
            }
            if let error = shown?.lastError { body += "<p class=bad><strong>Last error:</strong> \(H.e(error))</p>" }
            if let said = detail.serverMessages[action.target] {
                body += "<p><strong>The system said:</strong> \(H.e(said)) <small>(its own words, shown while the request is open and deleted with "
                    + "its identifiers; never in the audit log or a report)</small></p>"
            }
            for kept in shown?.retained ?? [] {
                body += "<p><strong>Kept:</strong> \(H.e(kept.attributes.joined(separator: ", "))) under \(H.e(kept.basis)) (\(H.e(kept.purpose))) until \(H.e(kept.until))"
                    + (kept.ended ? ", which had passed: erased with the rest" : "") + "</p>"
            }
            for erasure in view.retentionErasures where erasure.target == action.target {
                body += "<p><strong>Retained data:</strong> erasure due \(H.e(erasure.due)), \(H.state(erasure.state))</p>"
            }
            let attempts = detail.attempts[action.id] ?? []
            if !attempts.isEmpty {
                body += "<table><caption>Attempts</caption><thead><tr><th scope=col>#</th><th scope=col>Started</th><th scope=col>Result</th><th scope=col>Status</th>"
                    + "<th scope=col>Duration</th><th scope=col>Error</th></tr></thead><tbody>"
                for attempt in attempts {
                    body += "<tr><td>\(attempt.number)</td><td>\(H.time(attempt.startedAt))</td><td>\(H.e(attempt.result))</td>"
                        + "<td>\(attempt.statusCode.map(String.init) ?? "–")</td><td>\(attempt.durationMs) ms</td><td>\(H.e(attempt.error ?? ""))</td></tr>"
                }
                body += "</tbody></table>"
            }
            body += "</article>"
        }
        body += "</section>"

        if token.role != .auditor {
            body += officerActions(view, stored: stored, context: context)
        }
        body += "<section><h2>Certificate</h2><p>The signed statement of what was done, checkable with openssl.</p><ul class=downloads>"
        for (file, label) in [("certificate.json", "JSON"), ("certificate.json.sig", "Signature"), ("certificate.html", "HTML")] {
            body += "<li><a href=\"/requests/\(H.e(stored.id))/certificate/\(file)\" download>\(label)</a></li>"
        }
        body += "</ul></section>"

        let events = detail.events
        body += "<section><h2>Audit trail</h2><table class=trail><thead><tr><th scope=col>#</th><th scope=col>When</th><th scope=col>Event</th>"
            + "<th scope=col>System</th><th scope=col>Hash</th></tr></thead><tbody>"
        for event in events {
            body += "<tr><td>\(event.seq)</td><td>\(H.isoTime(event.at))</td><td>\(H.e(event.event.replacingOccurrences(of: "_", with: " ")))</td>"
                + "<td>\(H.e(event.target ?? ""))</td><td><code title=\"\(H.e(event.hash))\">\(H.e(String(event.hash.prefix(16))))…</code></td></tr>"
        }
        body += "</tbody></table></section>"
        return Self.html(H.page(title: "Request \(stored.id)", context: context, active: "/requests", body: body))
    }

    func officerActions(_ view: RequestView, stored: StoredRequest, context: APIContext) -> String {
        let base = "/requests/\(H.e(stored.id))"
        var forms: [String] = []
        if stored.approval?.state == .awaiting, stored.state == .awaitingApproval {
            if let me = context.token?.actor, stored.isFiled(by: me) {
                forms.append("<p class=\"card hint\">You filed this request: someone else must approve it (four eyes).</p>")
            } else {
                forms.append(H.form(base + "/approve", context: context, button: "Approve",
                                    fields: "<label for=note>Note (no personal data)</label><input id=note name=note maxlength=500>"))
            }
        }
        let untouched = (try? database.actions(of: stored.id).allSatisfy { $0.attempts == 0 }) ?? false
        if [.awaitingApproval, .received, .needsReview].contains(stored.state), untouched {
            forms.append(H.form(base + "/reject", context: context, button: "Reject", danger: true,
                                fields: "<label for=reason-reject>Reason (no personal data)</label><input id=reason-reject name=reason required maxlength=500 placeholder=\"identity not verified\">"))
        }
        if stored.state == .failed || stored.state == .needsReview {
            forms.append(H.form(base + "/retry", context: context, button: "Retry failed systems", fields: ""))
        }
        if !stored.state.isTerminal {
            forms.append(H.form(base + "/cancel", context: context, button: "Cancel request", danger: true,
                                fields: "<label for=reason-cancel>Reason</label><input id=reason-cancel name=reason required maxlength=500 placeholder=\"filed in error\">"))
            if stored.extendedMonths < 2 {
                forms.append(H.form(base + "/extend", context: context, button: "Extend deadline",
                                    fields: "<label for=months>Months</label><select id=months name=months><option value=1>1</option>\(stored.extendedMonths == 0 ? "<option value=2>2</option>" : "")</select>"
                                        + "<label for=reason-extend>Reason (told to the subject)</label><input id=reason-extend name=reason required maxlength=500>"))
            }
        }
        guard !forms.isEmpty else { return "" }
        return "<section><h2>Actions</h2><div class=actions>" + forms.joined() + "</div></section>"
    }

    /// `POST /requests/{id}/approve|reject|retry|cancel|extend` from the detail page's forms.
    func change(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let form = try await Form.read(request, context: context)
        let stored = try find(try context.parameters.require("id"))
        let change = try context.parameters.require("change")
        let decisions = try runtime.decisions()
        let done: String
        do {
            switch change {
            case "approve":
                _ = try decisions.approve(stored.id, by: token.actor, note: form["note"], now: now)
                done = "Approved"
            case "reject":
                _ = try decisions.reject(stored.id, by: token.actor, reason: form["reason"], now: now)
                done = "Rejected"
            case "cancel":
                _ = try decisions.cancel(stored.id, by: token.actor, reason: form["reason"], now: now)
                done = "Cancelled"
            case "extend":
                guard let months = Int(form["months"] ?? ""), months == 1 || months == 2 else { throw Problem.badRequest("months is 1 or 2") }
                _ = try decisions.extend(stored.id, months: months, by: token.actor, reason: form["reason"], now: now)
                done = "Extended"
            case "retry":
                _ = try runtime.intake().retry(stored, target: nil, identifiers: nil, by: token.actor, now: now)
                done = "Retried"
            default:
                throw Problem.notFound("no such change: \(change)")
            }
        } catch let error as StoreError {
            if case .selfApproval = error { throw Problem(.forbidden, "Four eyes", detail: "\(error)") }
            return try detail(stored.id, request: request, context: context, error: "\(error)")
        } catch let refusal as Intake.Refusal {
            return try detail(stored.id, request: request, context: context, error: "\(refusal)")
        } catch let text as FreeText.Problem {
            return try detail(stored.id, request: request, context: context, error: "\(text); nothing was changed")
        }
        return Self.redirect("/requests/\(stored.id)?done=\(done)")
    }

    /// The signed certificate of a request: JSON, its signature, or the HTML rendering.
    func certificate(_ context: APIContext) throws -> Response {
        _ = try context.require(.officer, .auditor)
        let stored = try find(try context.parameters.require("id"))
        let file = try context.parameters.require("file")
        let directory = try reportsDirectory()
        let base = "lethe-certificate-\(stored.id)"
        func path(_ suffix: String) -> String { (directory as NSString).appendingPathComponent(base + suffix) }
        // The JSON is signed afresh (the request may have moved on); the signature and the HTML
        // are those of the JSON last written, so the pair a browser downloads belongs together.
        if file == "certificate.json" || !FileManager.default.fileExists(atPath: path(".json.sig")) {
            _ = try runtime.reports().exportCertificate(stored, into: directory, now: now)
        }
        switch file {
        case "certificate.json": return Self.download(try Data(contentsOf: URL(fileURLWithPath: path(".json"))), name: base + ".json", type: "application/json")
        case "certificate.json.sig":
            return Self.download(try Data(contentsOf: URL(fileURLWithPath: path(".json.sig"))), name: base + ".json.sig", type: "application/octet-stream")
        case "certificate.html":
            var response = Self.download(try Data(contentsOf: URL(fileURLWithPath: path(".html"))), name: base + ".html", type: "text/html; charset=utf-8")
            response.headers[.contentDisposition] = "inline; filename=\"\(base).html\""
            return response
        default: throw Problem.notFound("no such file: \(file)")
        }
    }

    // MARK: New request

    func newRequestPage(_ context: APIContext, form: Form?, plan: [PlannedAction]?, error: String?) throws -> Response {
        _ = try requireOfficer(context)
        let kind = form?["kind"] ?? "erasure"
        var body = "<h1>New request</h1>"
        if let error { body += "<p class=error role=alert>\(H.e(error))</p>" }
        let settings = runtime.policies.settings
        if settings.approval != .none || settings.grace.milliseconds > 0 {
            body += "<p class=hint>Under \(H.e(settings.sourceFile ?? LetheSettings.fileName)): approval \(H.e(settings.approval.rawValue)), grace \(H.e(settings.grace.description)).</p>"
        }
        let step = plan == nil ? "plan" : "file"
        body += "<form method=post action=\"/new\" class=card>\(H.csrf(context))<input type=hidden name=step value=\(step)>"
        body += "<fieldset><legend>What the subject asks</legend>"
        body += "<label><input type=radio name=kind value=erasure\(kind == "erasure" ? " checked" : "")> Erasure (GDPR Art. 17)</label>"
        body += "<label><input type=radio name=kind value=revocation\(kind == "revocation" ? " checked" : "")> Withdrawal of consent (Art. 7(3))</label>"
        let chosen = Set(form?.all("purpose") ?? [])
        body += "<fieldset><legend>Purposes withdrawn (withdrawal only)</legend>"
        for purpose in runtime.policies.consentPurposes.sorted() {
            body += "<label><input type=checkbox name=purpose value=\"\(H.e(purpose))\"\(chosen.contains(purpose) ? " checked" : "")> \(H.e(purpose))</label>"
        }
        body += "</fieldset></fieldset><fieldset><legend>Who (at least one)</legend>"
        for (name, label, type) in [("email", "E-mail address", "email"), ("external_id", "External id", "text"), ("user_name", "User name", "text")] {
            body += "<label for=\(name)>\(label)</label><input id=\(name) name=\(name) type=\(type) autocomplete=off value=\"\(H.e(form?[name] ?? ""))\">"
        }
        body += "</fieldset><fieldset><legend>Filing</legend>"
        body += "<label for=ref>Reference (ticket)</label><input id=ref name=ref maxlength=200 value=\"\(H.e(form?["ref"] ?? ""))\">"
        body += "<label for=received>Received</label><input id=received name=received type=date value=\"\(H.e(form?["received"] ?? today.description))\">"
        body += "<label for=note>Note (purged when the request ends)</label><input id=note name=note maxlength=2000 value=\"\(H.e(form?["note"] ?? ""))\">"
        body += "</fieldset>"
        if let plan {
            body += "<section aria-labelledby=plan-heading><h2 id=plan-heading>The plan: what each system will do</h2><table class=plan><thead><tr><th scope=col>System</th>"
                + "<th scope=col>Operation</th><th scope=col>Why</th></tr></thead><tbody>"
            for action in plan {
                body += "<tr><td>\(H.e(action.target))</td><td>\(H.e(action.operation.rawValue.replacingOccurrences(of: "_", with: " ")))</td><td>\(H.e(action.reason))</td></tr>"
            }
            body += "</tbody></table></section>"
            body += "<button type=submit name=confirm value=yes id=file-request>File this request</button> <button type=submit name=step value=plan class=secondary>Plan again</button>"
        } else {
            body += "<button type=submit id=show-plan>Show the plan</button>"
        }
        body += "</form>"
        return Self.html(H.page(title: "New request", context: context, active: "/new", body: body))
    }

    func newRequest(_ request: Request, context: APIContext) async throws -> Response {
        let token = try requireOfficer(context)
        let form = try await Form.read(request, context: context)
        let kind: RequestKind
        switch form["kind"] {
        case "erasure": kind = .erasure
        case "revocation":
            let purposes = form.all("purpose")
            guard !purposes.isEmpty else { return try newRequestPage(context, form: form, plan: nil, error: "A withdrawal names at least one purpose.") }
            kind = .revocation(purposes: purposes.uniqued())
        default: return try newRequestPage(context, form: form, plan: nil, error: "Choose an erasure or a withdrawal.")
        }
        let subject = SubjectIdentifiers(email: form.text("email"), externalId: form.text("external_id"), userName: form.text("user_name"))
        guard !subject.isEmpty else { return try newRequestPage(context, form: form, plan: nil, error: "Give at least one identifier of the subject.") }
        guard let received = CalendarDate(iso: form.text("received") ?? today.description) else {
            return try newRequestPage(context, form: form, plan: nil, error: "The received date is a date (YYYY-MM-DD).")
        }
        let submission = Intake.Submission(kind: kind, subject: subject, ref: form.text("ref"), filer: token.actor, note: form.text("note"), received: received)
        let intake = try runtime.intake()
        let prepared: NewRequest
        do {
            prepared = try intake.prepare(submission, today: today)
        } catch {
            return try newRequestPage(context, form: form, plan: nil, error: "\(error); nothing was filed.")
        }
        guard form["confirm"] == "yes", form["step"] == "file" else {
            return try newRequestPage(context, form: form, plan: prepared.plan, error: nil)
        }
        do {
            let filed = try await intake.fileGrouped(submission, now: now)
            return Self.redirect("/requests/\(filed.request.id)?done=\(filed.request.state == .awaitingApproval ? "FiledAwaiting" : "Filed")")
        } catch let error as StoreError {
            return try newRequestPage(context, form: form, plan: prepared.plan, error: "\(error); nothing was filed.")
        }
    }

    // MARK: Reports

    func reportsDirectory() throws -> String {
        guard let state = server.storage.state else { throw Problem(.serviceUnavailable, "No state directory", detail: "this server keeps no reports") }
        return state.file("reports")
    }

    func reportsPage(_ context: APIContext, message: String?, verification: String? = nil) throws -> Response {
        _ = try context.require(.auditor)
        var body = "<h1>Reports</h1>"
        if let message { body += "<p class=notice role=status>\(H.e(message))</p>" }
        if let verification { body += verification }
        let firstOfMonth = CalendarDate(iso: String(today.description.prefix(8)) + "01") ?? today
        body += "<section><h2>Export a period</h2><form method=post action=\"/reports\" class=card>\(H.csrf(context))"
            + "<label for=from>From</label><input id=from name=from type=date required value=\"\(firstOfMonth)\">"
            + "<label for=to>To</label><input id=to name=to type=date required value=\"\(today)\">"
            + "<button type=submit>Export and sign</button></form></section>"
        body += "<section><h2>Verify a report</h2><form id=verify-form method=post action=\"/reports/verify\" class=card data-csrf=\"\(H.e(context.session?.csrf ?? ""))\">"
            + "<label for=report-file>Report (.json)</label><input id=report-file type=file accept=\".json,application/json\" required>"
            + "<label for=signature-file>Signature (.json.sig)</label><input id=signature-file type=file accept=\".sig\" required>"
            + "<button type=submit>Verify</button><output id=verify-result></output></form></section>"
        let directory = try reportsDirectory()
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter(API.isReportFile).sorted(by: >)
        body += "<section><h2>Earlier reports</h2>"
        let reports = names.filter { $0.hasSuffix(".json") && $0.hasPrefix("lethe-report-") }
        if reports.isEmpty { body += "<p>None yet.</p>" }
        body += "<ul class=downloads>"
        for report in reports {
            let stem = String(report.dropLast(".json".count))
            let files = [(".json", "JSON"), (".json.sig", "signature"), (".csv", "CSV"), (".html", "HTML")].filter { names.contains(stem + $0.0) }
            body += "<li>\(H.e(stem)): " + files.map { "<a href=\"/reports/files/\(H.e(stem + $0.0))\">\($0.1)</a>" }.joined(separator: " · ") + "</li>"
        }
        body += "</ul></section>"
        return Self.html(H.page(title: "Reports", context: context, active: "/reports", body: body))
    }

    /// What `?exported=NAME` may announce: only the name of a report file this server wrote, so a
    /// crafted link cannot make the page say anything else.
    func exportedNotice(_ request: Request) throws -> String? {
        guard let name = request.uri.queryParameters["exported"].map(String.init), API.isReportFile(name),
              FileManager.default.fileExists(atPath: (try reportsDirectory() as NSString).appendingPathComponent(name)) else { return nil }
        return "Exported \(name)."
    }

    func exportReport(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.require(.auditor)
        let form = try await Form.read(request, context: context)
        guard let from = form.text("from").flatMap(CalendarDate.init(iso:)), let to = form.text("to").flatMap(CalendarDate.init(iso:)), from <= to else {
            return try reportsPage(context, message: nil, verification: "<p class=error role=alert>Give a period: two dates, the first not after the second.</p>")
        }
        let written = try runtime.reports().exportPeriod(from: from, to: to, into: try reportsDirectory(), now: now)
        return Self.redirect("/reports?exported=\(H.query((written.json as NSString).lastPathComponent))")
    }

    func reportFile(_ context: APIContext) throws -> Response {
        _ = try context.require(.auditor)
        let name = try context.parameters.require("file")
        guard API.isReportFile(name) else { throw Problem.notFound("no report file named \(name)") }
        let path = (try reportsDirectory() as NSString).appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: path) else { throw Problem.notFound("no report file named \(name)") }
        let type = name.hasSuffix(".json") ? "application/json" : name.hasSuffix(".csv") ? "text/csv; charset=utf-8"
            : name.hasSuffix(".html") ? "text/html; charset=utf-8" : "application/octet-stream"
        var response = Self.download(data, name: name, type: type)
        if name.hasSuffix(".html") { response.headers[.contentDisposition] = "inline; filename=\"\(name)\"" }
        return response
    }

    /// `POST /reports/verify` with `{"report": BASE64, "signature": BASE64}` (the page's script
    /// reads the two files): checked as `lethe report verify` does, against this state directory.
    func verifyReport(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.require(.auditor)
        guard context.session != nil, request.headers[.init("X-CSRF-Token")!] != nil else {
            throw Problem(.forbidden, "Forbidden", detail: "send X-CSRF-Token")
        }
        let body = try await JSONBody.object(request, context: context)
        guard let report = body["report"]?.stringValue.flatMap({ Data(base64Encoded: $0) }),
              let signature = body["signature"]?.stringValue.flatMap({ Data(base64Encoded: $0) }) else {
            throw Problem.badRequest("send report and signature, base64")
        }
        guard let state = server.storage.state else { throw Problem(.serviceUnavailable, "No state directory", detail: "no keys here") }
        guard let keyId = ReportVerifier.namedKeyId(report), let key = try state.publicKey(id: keyId) else {
            return Response.json(.object(["valid": .bool(false), "problem": .string("the report names no key of this Lethe")]))
        }
        let result = try ReportVerifier.verify(json: report, signature: signature, publicKey: key, database: database)
        return Response.json(.object(["valid": .bool(result.isValid), "passed": .array(result.passed.map(JSONValue.string)),
                                      "problem": result.problem.map(JSONValue.string) ?? .null]))
    }

    // MARK: Systems

    func systems(_ context: APIContext) throws -> Response {
        let token = try context.require(.officer, .auditor)
        var body = "<h1>Systems</h1><p>What is shared with each connected system, for which purpose, on which lawful basis, and what an erasure does there.</p>"
        let purposes = runtime.policies.purposes
        for policy in runtime.policies.policies {
            body += "<section id=\"\(H.e(policy.target))\" class=card><h2>\(H.e(policy.target))</h2>"
            if !policy.description.isEmpty { body += "<p>\(H.e(policy.description))</p>" }
            body += "<table><thead><tr><th scope=col>Purpose</th><th scope=col>Lawful basis</th><th scope=col>Data</th><th scope=col>Kept</th></tr></thead><tbody>"
            for share in policy.shares {
                let data = (share.attributes.map(\.description) + share.groups.map { "group \($0)" }).joined(separator: ", ")
                body += "<tr><td>\(H.e(share.purpose))<br><small>\(H.e(purposes.description(of: share.purpose) ?? ""))</small></td>"
                    + "<td>\(H.e(share.basis.rawValue.replacingOccurrences(of: "_", with: " ")))</td><td>\(H.e(data))</td>"
                    + "<td>\(share.retention.map { "for \(H.e($0.description)) after receipt (legal obligation)" } ?? "until erased or consent is withdrawn")</td></tr>"
            }
            body += "</tbody></table>"
            body += "<p><strong>On erasure:</strong> \(H.e(policy.erasure.action.rawValue)) the account"
                + (policy.shares.contains { $0.basis == .legalObligation } ? ", keeping what the law requires until its retention ends" : "") + ".</p>"
            if let last = server.checks.get(policy.target) {
                body += "<p><strong>Last health check</strong> \(H.time(last.at)): " + (last.check.usable ? "usable" : "<span class=bad>NOT usable</span>")
                    + (last.check.problems.isEmpty ? "" : " — " + H.e(last.check.problems.joined(separator: "; "))) + "</p>"
            } else {
                body += "<p><strong>Last health check:</strong> none since the server started.</p>"
            }
            if token.role != .auditor {
                body += H.form("/systems/\(H.e(policy.target))/check", context: context, button: "Check now", fields: "")
            }
            body += "</section>"
        }
        return Self.html(H.page(title: "Systems", context: context, active: "/systems", body: body))
    }

    /// A health check makes calls to the target: officers and admins only (auditors change nothing).
    func check(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.require(.officer)
        _ = try await Form.read(request, context: context)
        let name = try context.parameters.require("name")
        guard let policy = runtime.policies[name] else { throw Problem.notFound("no target named \(name)") }
        server.checks.set(await TargetCheck.run(policy, clients: try runtime.clients), at: now)
        return Self.redirect("/systems#\(name)")
    }

    // MARK: Sweeps

    func sweepsPage(_ context: APIContext) throws -> Response {
        _ = try requireOfficer(context)
        var body = "<h1>Consent sweeps</h1><p>Upload a consent ledger (CSV or JSON Lines: subject_email, purpose, status, changed_at). "
            + "First see what it would file (a dry run); then file it. A withdrawal already filed is never filed again.</p>"
        body += "<form id=sweep-form class=card data-csrf=\"\(H.e(context.session?.csrf ?? ""))\"><label for=ledger>Ledger</label>"
            + "<input id=ledger type=file accept=\".csv,.jsonl,.ndjson,text/csv\" required>"
            + "<button type=submit id=sweep-dry-run data-dry-run=true>Dry run</button> <button type=submit id=sweep-file data-dry-run=false disabled>File the withdrawals</button>"
            + "<output id=sweep-result></output></form>"
        return Self.html(H.page(title: "Consent sweeps", context: context, active: "/sweeps", body: body))
    }

    // MARK: Tasks

    /// Whether a token may confirm a manual task of this kind (and so see the subject's identifiers).
    static func mayConfirm(_ role: TokenRole, _ task: ManualTask) -> Bool {
        switch task.confirmRole {
        case .officer: role == .officer || role == .admin
        case .admin: role == .admin
        }
    }

    /// Manual targets' open tasks, oldest first: the instructions, and, to those who may confirm
    /// (and only while the request is open, which a waiting task implies), the subject's
    /// identifiers and a form to record what was done. Auditors see the list without identifiers.
    func tasksPage(_ request: Request, context: APIContext, error: String?) throws -> Response {
        let token = try context.require(.officer, .auditor)
        var body = "<h1>Tasks</h1><p>Systems Lethe cannot reach (kind: manual) are carried out by a person, who then records what they did. "
            + "A confirmation is said as such in reports and certificates: confirmed by a person, never verified.</p>"
        if let error { body += "<p class=error role=alert>\(H.e(error))</p>" }
        if request.uri.queryParameters["done"] == "confirmed" { body += "<p class=notice role=status>Recorded: the task is confirmed.</p>" }
        let tasks = try runtime.reading().tasks(now: now)
        if tasks.isEmpty { body += "<p id=no-tasks>No task waits for a person.</p>" }
        for task in tasks {
            guard let manual = runtime.policies[task.target]?.manual else { continue }
            body += "<section class=card data-task=\"\(H.e(task.request)) \(H.e(task.target))\"><h2>\(H.e(task.target)) — "
                + "<a href=\"/requests/\(H.e(task.request))\">\(H.e(task.request))</a>\(task.overdue ? " <span class=bad>OVERDUE</span>" : "")</h2>"
            body += "<p><strong>Do:</strong> \(H.e(manual.instructions))</p>"
            body += "<p><strong>Operation:</strong> \(H.e(task.operation))" + (task.attributes.isEmpty ? "" : " (\(H.e(task.attributes.joined(separator: ", "))))")
                + "; due \(H.e(task.due)); subject \(H.e(task.subject)) (pseudonym)</p>"
            guard Self.mayConfirm(token.role, manual) else {
                body += "<p><small>Only \(manual.confirmRole == .admin ? "an admin" : "an officer or an admin") sees who the subject is and confirms.</small></p></section>"
                continue
            }
            body += "<p class=identifiers><strong>Find the subject by:</strong> "
                + H.e(task.identifiers.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")) + "</p>"
            let outcomes = TaskOutcome.allCases.map { ($0.rawValue, $0.rawValue.replacingOccurrences(of: "_", with: " ")) }
            let slug = "\(task.request)-\(task.target)"
            body += H.form("/tasks/\(H.e(task.request))/\(H.e(task.target))", context: context, button: "Record what was done",
                           fields: H.select("outcome-\(slug)", label: "Outcome", options: outcomes, selected: "erased")
                               .replacingOccurrences(of: "name=outcome-\(slug)", with: "name=outcome")
                               + "<label for=note-\(slug)>Evidence or reason (a ticket, a runbook step; no personal data)</label>"
                               + "<input id=note-\(slug) name=note maxlength=500>")
            body += "</section>"
        }
        return Self.html(H.page(title: "Tasks", context: context, active: "/tasks", body: body))
    }

    /// A confirmation from the Tasks page, as `lethe confirm` and the API record it.
    func confirmTask(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let form = try await Form.read(request, context: context)
        let id = try context.parameters.require("id"), target = try context.parameters.require("target")
        guard let manual = runtime.policies[target]?.manual else { throw Problem.notFound("'\(target)' is not a manual target") }
        guard Self.mayConfirm(token.role, manual) else { throw Problem(.forbidden, "Forbidden", detail: "only an admin confirms \(target)'s tasks") }
        guard let outcome = TaskOutcome(rawValue: form["outcome"] ?? "") else { throw Problem.badRequest("choose an outcome") }
        let stored = try find(id)
        do {
            _ = try runtime.decisions().confirm(stored.id, target: target, outcome: outcome, by: token.actor, note: form["note"], now: now)
        } catch let error as StoreError {
            return try tasksPage(request, context: context, error: "\(error)")
        } catch let text as FreeText.Problem {
            return try tasksPage(request, context: context, error: "\(text); nothing was changed")
        }
        return Self.redirect("/tasks?done=confirmed")
    }
}
