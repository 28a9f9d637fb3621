import Foundation
import LetheCore
import LetheStorage

/// A period report's request row written straight from the stored records, in its three forms:
/// the canonical JSON of `requestRow`, its CSV lines (`ReportRendering.csvLines`) and its HTML
/// section (`ReportRendering.htmlRequest`). The bytes and text are the same as building the
/// row's `JSONValue` tree and rendering it (`ReportRowsTests` compares them over varied rows);
/// the tree is not built, because at 100,000 requests building, sorting and walking it three
/// times was most of an export's time (issue #13).
///
/// The member names are written in canonical order by hand: every name is ASCII, so that order
/// is plain byte order (underscore before letters).
public struct RequestRowWriter {
    let builder: ReportBuilder
    public var json: [UInt8] = []
    public var csv = ""
    public var html = ""

    public init(builder: ReportBuilder) {
        self.builder = builder
    }

    /// Appends the row of `request` to `json` (after a comma when it already holds one),
    /// `csv` and `html`, and returns whether the request needs attention
    /// (`ReportRendering.needsAttention`).
    @discardableResult
    public mutating func append(_ request: StoredRequest, actions: [StoredAction], citations: [String: AuditEvent], changes: [AuditEvent]) -> Bool {
        let standing = request.standing(today: builder.today)
        let completedAt = request.completedAt.map(Timestamp.iso8601)
        let onTime = builder.onTime(request)
        let rejection = request.state == .rejected ? request.approval?.note : nil
        let followUps = Dictionary(grouping: actions.filter { $0.follows != nil }, by: { $0.follows ?? 0 })
        let targets = actions.filter { $0.follows == nil }.map { action in
            let followUps = followUps[action.id] ?? []
            return Target(action: action, event: citations[action.target], followUps: followUps.map { ($0, citations[builder.followUpKey($0)]) },
                          completedAt: action.completedAt.map(Timestamp.iso8601),
                          retentionStatement: ReportBuilder.retentionStatement(action, followUps: followUps))
        }
        let received = request.received.description, due = request.due.description
        let parsedChanges = changes.map(Change.init)

        // JSON
        if !json.isEmpty { json.append(UInt8(ascii: ",")) }
        json.raw("{\"approval\":")
        if let approval = request.approval {
            json.raw("{\"at\":")
            json.put(approval.at.map(Timestamp.iso8601))
            json.raw(",\"by\":")
            json.put(approval.by)
            json.raw(",\"note\":")
            json.put(approval.state == .approved ? approval.note : nil)
            json.raw(",\"state\":")
            json.put(approval.state.rawValue)
            json.raw("}")
        } else {
            json.raw("null")
        }
        json.raw(",\"cancel_reason\":")
        json.put(request.cancelReason)
        json.raw(",\"changes\":[")
        for (index, change) in parsedChanges.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json.raw("{\"at\":")
            json.put(change.event.at)
            json.raw(",\"by\":")
            CanonicalJSON.append(change.by ?? .null, to: &json)
            json.raw(",\"event\":")
            json.put(change.event.event)
            json.raw(",\"seq\":")
            json.put(Int(change.event.seq))
            json.raw(",\"target\":")
            json.put(change.event.target)
            json.raw("}")
        }
        json.raw("],\"completed_at\":")
        json.put(completedAt)
        json.raw(",\"deadline\":")
        json.put(standing.rawValue)
        json.raw(",\"due\":")
        json.put(due)
        json.raw(",\"extended_months\":")
        json.put(request.extendedMonths)
        json.raw(",\"filed_by\":")
        json.put(request.requestedBy)
        json.raw(",\"id\":")
        json.put(request.id)
        json.raw(",\"kind\":")
        json.put(request.kind)
        json.raw(",\"on_time\":")
        json.put(onTime)
        json.raw(",\"overdue\":")
        json.put(standing.isOverdue)
        json.raw(",\"purposes\":[")
        for (index, purpose) in request.purposes.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            json.put(purpose)
        }
        json.raw("],\"received\":")
        json.put(received)
        json.raw(",\"ref\":")
        json.put(request.ref)
        json.raw(",\"rejection_reason\":")
        json.put(rejection)
        json.raw(",\"state\":")
        json.put(request.state.rawValue)
        json.raw(",\"subject\":")
        json.put(request.pseudonym)
        json.raw(",\"targets\":[")
        for (index, target) in targets.enumerated() {
            if index > 0 { json.append(UInt8(ascii: ",")) }
            target.writeJSON(to: &json)
        }
        json.raw("]}")

        // CSV: one line per target, or one with empty target cells.
        var base = ""
        for cell in [ReportRendering.quote(request.id), ReportRendering.quote(request.kind), request.ref.map(ReportRendering.quote) ?? "",
                     ReportRendering.quote(request.pseudonym), ReportRendering.quote(request.purposes.joined(separator: " ")),
                     ReportRendering.quote(received), ReportRendering.quote(due),
                     completedAt.map(ReportRendering.quote) ?? "", onTime.map { $0 ? "yes" : "no" } ?? "",
                     ReportRendering.quote(request.state.rawValue)] {
            base += cell
            base += ","
        }
        if targets.isEmpty {
            csv += base + ",,,,,,,,\n"
        }
        for target in targets {
            let action = target.action
            csv += base
            csv += ReportRendering.quote(action.target) + "," + ReportRendering.quote(action.plan.operation.rawValue) + ","
                + ReportRendering.quote(action.state.rawValue) + "," + (action.outcome.map { ReportRendering.quote($0.rawValue) } ?? "") + ","
                + (action.verified.map { $0 ? "yes" : "no" } ?? "") + "," + String(action.attempts) + ","
                + (target.completedAt.map(ReportRendering.quote) ?? "") + ","
            csv += ReportRendering.quote(action.plan.retained.map { kept in
                "\(kept.keptNames.joined(separator: " ")) under \(kept.basis.rawValue) until \(kept.until)"
            }.joined(separator: "; "))
            csv += "," + (action.knownBy.map { ReportRendering.quote($0.rawValue) } ?? "")
            csv += "\n"
        }

        // HTML
        let escape = ReportRendering.escape
        let deadlineWords = switch standing {
        case .completedOnTime: "on time"
        case .completedLate: "LATE"
        case .unresolvedOverdue, .openOverdue: "OVERDUE"
        case .cancelled: "cancelled: \(request.cancelReason ?? "no reason given")"
        case .rejected: "rejected: \(rejection ?? "no reason given")"
        case .unresolved, .open: "not yet due"
        }
        html += "<section id=\"\(escape(request.id))\"><h3>\(escape(request.id)) · \(escape(request.kind)) · \(escape(request.state.rawValue)) · \(escape(deadlineWords))</h3>\n"
        html += "<p>Subject (pseudonym) <code>\(escape(request.pseudonym))</code>"
        if let ref = request.ref { html += " · reference \(escape(ref))" }
        if !request.purposes.isEmpty { html += " · consent withdrawn for \(escape(request.purposes.joined(separator: ", ")))" }
        html += " · received \(escape(received)) · due \(escape(due)) · ended \(completedAt.map(escape) ?? "–")"
        if let filer = request.requestedBy { html += " · filed by \(escape(filer))" }
        html += "</p>\n"
        if !parsedChanges.isEmpty {
            html += "<p class=meta>Changes: " + parsedChanges.map { change -> String in
                let event = change.event
                let what = switch event.event {
                case "action_retried": "retried" + (event.target.map { " in \($0)" } ?? "")
                case "cancel_requested": "cancelled"
                case "request_extended": "extended"
                case "approval_granted": "approved"
                case "rejection_recorded": "rejected"
                default: event.event
                }
                return "\(escape(what)) \(escape(event.at))" + (change.by?.stringValue.map { " by \(escape($0))" } ?? "")
            }.joined(separator: "; ") + "</p>\n"
        }
        html += "<table><tr><th>System</th><th>Operation</th><th>Outcome</th><th>Verified</th><th>Attempts</th><th>Completed</th><th>Kept (why, until)</th></tr>\n"
        for target in targets {
            let action = target.action
            let kept = target.retentionStatement.map(escape) ?? action.plan.retained.map { kept in
                escape("\(kept.keptNames.joined(separator: ", ")) — \(kept.basis.rawValue) (\(kept.purpose)) until \(kept.until)")
            }.joined(separator: "<br>")
            let verified = action.verified.map { $0 ? "yes" : "NO" } ?? "–"
            let how = action.verification ?? target.reason ?? ""
            html += "<tr><td>\(escape(action.target))</td><td>\(escape(action.plan.operation.rawValue))</td>"
                + "<td>\(escape(action.outcome?.rawValue ?? action.state.rawValue))</td>"
            html += "<td title=\"\(escape(how))\">\(verified)</td>"
            html += "<td>\(action.attempts)</td><td>\(target.completedAt.map(escape) ?? "–")</td><td>\(kept)</td></tr>\n"
        }
        html += "</table></section>\n"

        switch standing {
        case .completedLate, .unresolved, .unresolvedOverdue, .openOverdue: return true
        default: return false
        }
    }

    /// A change event with the `by` of its details.
    struct Change {
        var event: AuditEvent
        var by: JSONValue?

        init(_ event: AuditEvent) {
            self.event = event
            by = JSONValue.parse(Data(event.details.utf8))?["by"]
        }
    }

    /// One target of the row, with the event it cites and its follow-ups with theirs.
    struct Target {
        var action: StoredAction
        var event: AuditEvent?
        var followUps: [(action: StoredAction, event: AuditEvent?)]
        /// `action.completedAt` as the report writes it.
        var completedAt: String?
        /// `ReportBuilder.retentionStatement`, written in the JSON and the HTML.
        var retentionStatement: String?

        var reason: String? { action.state == .succeeded ? nil : action.lastError }

        /// `ReportBuilder.targetRow` in canonical form.
        func writeJSON(to json: inout [UInt8]) {
            let plan = action.plan
            json.raw("{\"attempts\":")
            json.put(action.attempts)
            json.raw(",\"attributes\":[")
            for (index, change) in plan.attributes.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json.raw("{\"path\":")
                json.put(change.path.description)
                json.raw(",\"strategy\":")
                json.put(change.strategy.rawValue)
                json.raw("}")
            }
            json.raw("],\"audit\":")
            Self.writeCitation(event, to: &json)
            json.raw(",\"completed_at\":")
            json.put(completedAt)
            json.raw(",\"confirmed_by\":")
            json.put(action.confirmedBy)
            json.raw(",\"evidence\":")
            json.put(action.knownBy?.rawValue)
            json.raw(",\"groups\":")
            json.put(plan.groups)
            json.raw(",\"operation\":")
            json.put(plan.operation.rawValue)
            json.raw(",\"outcome\":")
            json.put(action.outcome?.rawValue)
            json.raw(",\"pseudonymised\":")
            json.put(plan.pseudonymised.map(\.description))
            json.raw(",\"reason\":")
            json.put(reason)
            json.raw(",\"retained\":[")
            for (index, kept) in plan.retained.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                json.raw("{\"attributes\":")
                json.put(kept.keptNames)
                json.raw(",\"basis\":")
                json.put(kept.basis.rawValue)
                json.raw(",\"ended_before_filing\":")
                json.put(kept.ended == true)
                json.raw(",\"purpose\":")
                json.put(kept.purpose)
                json.raw(",\"until\":")
                json.put(kept.until.description)
                json.raw("}")
            }
            json.raw("],\"retention_end\":[")
            for (index, followUp) in followUps.enumerated() {
                if index > 0 { json.append(UInt8(ascii: ",")) }
                Self.writeFollowUp(followUp.action, citing: followUp.event, to: &json)
            }
            json.raw("],\"retention_statement\":")
            json.put(retentionStatement)
            json.raw(",\"state\":")
            json.put(action.state.rawValue)
            json.raw(",\"target\":")
            json.put(action.target)
            json.raw(",\"verification\":")
            json.put(action.verification)
            json.raw(",\"verified\":")
            json.put(action.verified)
            json.raw("}")
        }

        /// `ReportBuilder.followUpRow` in canonical form.
        static func writeFollowUp(_ action: StoredAction, citing event: AuditEvent?, to json: inout [UInt8]) {
            json.raw("{\"attempts\":")
            json.put(action.attempts)
            json.raw(",\"attributes\":")
            json.put(action.plan.attributes.map(\.path.description) + action.plan.groups)
            json.raw(",\"audit\":")
            writeCitation(event, to: &json)
            json.raw(",\"completed_at\":")
            json.put(action.completedAt.map(Timestamp.iso8601))
            json.raw(",\"confirmed_by\":")
            json.put(action.confirmedBy)
            json.raw(",\"due\":")
            json.put(action.notBefore?.description)
            json.raw(",\"evidence\":")
            json.put(action.knownBy?.rawValue)
            json.raw(",\"outcome\":")
            json.put(action.outcome?.rawValue)
            json.raw(",\"reason\":")
            json.put(action.state == .succeeded ? nil : action.lastError)
            json.raw(",\"state\":")
            json.put(action.state.rawValue)
            json.raw(",\"verification\":")
            json.put(action.verification)
            json.raw(",\"verified\":")
            json.put(action.verified)
            json.raw("}")
        }

        static func writeCitation(_ event: AuditEvent?, to json: inout [UInt8]) {
            guard let event else { return json.raw("null") }
            json.raw("{\"hash\":")
            json.put(event.hash)
            json.raw(",\"seq\":")
            json.put(Int(event.seq))
            json.raw("}")
        }
    }
}

extension RetainedData {
    /// What is kept, as the report names it: attribute paths, then groups.
    var keptNames: [String] { attributes.map(\.description) + groups }
}

private extension Array where Element == UInt8 {
    mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { append(contentsOf: $0) }
    }

    mutating func put(_ text: String?) {
        if let text { CanonicalJSON.append(string: text, to: &self) } else { raw("null") }
    }

    mutating func put(_ texts: [String]) {
        append(UInt8(ascii: "["))
        for (index, text) in texts.enumerated() {
            if index > 0 { append(UInt8(ascii: ",")) }
            CanonicalJSON.append(string: text, to: &self)
        }
        append(UInt8(ascii: "]"))
    }

    mutating func put(_ number: Int) {
        append(contentsOf: String(number).utf8)
    }

    mutating func put(_ flag: Bool?) {
        switch flag {
        case true?: raw("true")
        case false?: raw("false")
        case nil: raw("null")
        }
    }
}
