import Foundation
import LetheCore

/// The CSV and HTML renderings of a signed report, for people. They show exactly what the
/// JSON says; the JSON is the signed record.
public enum ReportRendering {
    /// One line per request × target.
    public static func csv(_ report: JSONValue) -> String {
        ([csvHeader] + rows(report).flatMap(csvLines)).joined(separator: "\n") + "\n"
    }

    public static let csvHeader = "request_id,kind,ref,subject,purposes,received,due,completed_at,on_time,state,target,operation,target_state,outcome,verified,attempts,target_completed_at,retained,evidence"

    /// The CSV lines of one request row: one per target, or one with empty target cells.
    public static func csvLines(_ request: JSONValue) -> [String] {
        let base = [request["id"], request["kind"], request["ref"], request["subject"],
                    .string((request["purposes"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")),
                    request["received"], request["due"], request["completed_at"], request["on_time"], request["state"]].map(cell)
        let targets = request["targets"]?.arrayValue ?? []
        return (targets.isEmpty ? [JSONValue.object([:])] : targets).map { target in
            let retained = (target["retained"]?.arrayValue ?? []).map { kept in
                "\((kept["attributes"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: " ")) under \(kept["basis"]?.stringValue ?? "") until \(kept["until"]?.stringValue ?? "")"
            }.joined(separator: "; ")
            let fields = base + [target["target"], target["operation"], target["state"], target["outcome"], target["verified"],
                                 target["attempts"], target["completed_at"]].map(cell) + [quote(retained), cell(target["evidence"])]
            return fields.joined(separator: ",")
        }
    }

    static func rows(_ report: JSONValue) -> [JSONValue] {
        if let requests = report["requests"]?.arrayValue { return requests }
        if let request = report["request"] { return [request] }
        return []
    }

    static func cell(_ value: JSONValue?) -> String {
        switch value {
        case .string(let text)?: quote(text)
        case .bool(let b)?: b ? "yes" : "no"
        case .number?: CanonicalJSON.string(value!)
        default: ""
        }
    }

    /// RFC 4180 quoting, and a leading apostrophe for cells a spreadsheet would run as a formula.
    public static func quote(_ text: String) -> String {
        var text = text
        if let first = text.utf8.first, "=+-@".utf8.contains(first) { text = "'" + text }
        guard text.utf8.contains(where: { $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r") })
        else { return text }
        var out = "\""
        for scalar in text.unicodeScalars {
            if scalar == "\"" { out += "\"\"" } else { out.unicodeScalars.append(scalar) }
        }
        return out + "\""
    }

    /// A self-contained, printable page with the verification instructions.
    public static func html(_ report: JSONValue, jsonFileName: String) -> String {
        let isCertificate = report["type"]?.stringValue == "erasure_certificate"
        var body = htmlHeading(report)
        if let summary = report["summary"] { body += htmlSummary(summary) }
        body += "<h2>\(isCertificate ? "What was done in each system (GDPR Art. 19 recipients)" : "Requests")</h2>\n"
        for request in rows(report) { body += htmlRequest(request, isCertificate: isCertificate) }
        body += htmlRetentionErasures(report["retention_erasures"]?.arrayValue ?? [])
        if let events = report["events"]?.arrayValue, !events.isEmpty {
            body += "<h2>Audit trail of this request</h2>\n<table><tr><th>#</th><th>Time</th><th>Event</th><th>System</th><th>Hash</th></tr>\n"
            for event in events {
                body += "<tr><td>\(text(event["seq"]))</td><td>\(text(event["at"]))</td><td>\(text(event["event"]))</td><td>\(text(event["target"]))</td>"
                    + "<td><code>\(escape(String((event["hash"]?.stringValue ?? "").prefix(16))))…</code></td></tr>\n"
            }
            body += "</table>\n"
        }
        body += htmlHowToVerify(jsonFileName: jsonFileName)
        return htmlPage(title: htmlTitle(report), body: body)
    }

    public static func htmlTitle(_ report: JSONValue) -> String {
        report["type"]?.stringValue == "erasure_certificate"
            ? "Erasure certificate — request \(report["request"]?["id"]?.stringValue ?? "")"
            : "Lethe report — \(report["period"]?["from"]?.stringValue ?? "") to \(report["period"]?["to"]?.stringValue ?? "")"
    }

    /// The title, the signing key and the audit chain head, and the certificate's statement.
    public static func htmlHeading(_ report: JSONValue) -> String {
        var body = "<h1>\(escape(htmlTitle(report)))</h1>\n"
        body += "<p class=meta>Generated \(escape(report["generated_at"]?.stringValue ?? "")) · signing key id <code>\(escape(report["key_id"]?.stringValue ?? ""))</code> · "
            + "audit chain up to event \(escape(CanonicalJSON.string(report["audit_chain"]?["last_seq"] ?? .null))), head <code>\(escape(report["audit_chain"]?["head_hash"]?.stringValue ?? ""))</code></p>\n"
        if let statement = report["statement"]?.stringValue { body += "<p class=statement>\(escape(statement))</p>\n" }
        return body
    }

    public static func htmlSummary(_ summary: JSONValue) -> String {
        let ratio = summary["on_time_ratio"].flatMap { value -> String? in
            if case .number(let n) = value { return String(format: "%.1f%%", n * 100) }
            return nil
        } ?? "n/a"
        var body = "<h2>Summary</h2>\n<table class=summary>"
        body += "<tr><th>Requests</th><td>\(text(summary["requests"]))</td></tr>"
        body += "<tr><th>By kind</th><td>\(escape(pairs(summary["by_kind"])))</td></tr>"
        body += "<tr><th>By state</th><td>\(escape(pairs(summary["by_state"])))</td></tr>"
        body += "<tr><th>Completed on time</th><td>\(text(summary["completed_on_time"])) (on-time ratio \(ratio): "
            + "\(escape(summary["on_time_ratio_basis"]?.stringValue ?? "")))</td></tr>"
        body += "<tr><th>Completed late</th><td>\(text(summary["completed_late"]))</td></tr>"
        body += "<tr><th>Unresolved (failed, needs review)</th><td>\(text(summary["unresolved"])), of which overdue \(text(summary["unresolved_overdue"]))</td></tr>"
        body += "<tr><th>Open</th><td>\(text(summary["open"])), of which overdue \(text(summary["open_overdue"]))</td></tr>"
        body += "<tr><th>Cancelled</th><td>\(text(summary["cancelled"])) \(escape(pairs(summary["cancel_reasons"])))</td></tr>"
        if summary["rejected"] != nil {
            body += "<tr><th>Rejected</th><td>\(text(summary["rejected"])) \(escape(pairs(summary["rejection_reasons"])))</td></tr>"
            body += "<tr><th>Approved by a second person</th><td>\(text(summary["approved"])); still awaiting approval \(text(summary["awaiting_approval"]))</td></tr>"
        }
        body += "<tr><th>Overdue</th><td>\(text(summary["overdue"]))</td></tr></table>\n"
        return body
    }

    /// How a request stands against its deadline, in words.
    static func deadlineWords(_ request: JSONValue) -> String {
        switch request["deadline"]?.stringValue {
        case "completed_on_time": "on time"
        case "completed_late": "LATE"
        case "unresolved_overdue", "open_overdue": "OVERDUE"
        case "cancelled": "cancelled: \(request["cancel_reason"]?.stringValue ?? "no reason given")"
        case "rejected": "rejected: \(request["rejection_reason"]?.stringValue ?? "no reason given")"
        default: "not yet due"
        }
    }

    /// A request someone must look at: completed late, failed or needing review, or open past
    /// its due date.
    public static func needsAttention(_ request: JSONValue) -> Bool {
        switch request["deadline"]?.stringValue {
        case "completed_late", "unresolved", "unresolved_overdue", "open_overdue": true
        default: false
        }
    }

    /// The first page of a report too large for one: the requests that need attention, each
    /// linked to the page that shows it in full; at most `limit`, with a pointer to the CSV.
    public static func htmlAttention(_ entries: [(row: JSONValue, page: String)], total: Int, limit: Int) -> String {
        guard total > 0 else { return "<h2>Needing attention</h2>\n<p>None: no request was completed late, failed, needs review or is overdue.</p>\n" }
        var body = "<h2>Needing attention (\(total))</h2>\n"
        if total > entries.count {
            body += "<p>The first \(entries.count) are listed; the CSV next to this page has every request.</p>\n"
        }
        body += "<table><tr><th>Request</th><th>Kind</th><th>State</th><th>Deadline</th><th>Received</th><th>Due</th></tr>\n"
        for (row, page) in entries {
            let id = row["id"]?.stringValue ?? ""
            body += "<tr><td><a href=\"\(escape(page))#\(escape(id))\">\(escape(id))</a></td><td>\(text(row["kind"]))</td><td>\(text(row["state"]))</td>"
                + "<td>\(escape(deadlineWords(row)))</td><td>\(text(row["received"]))</td><td>\(text(row["due"]))</td></tr>\n"
        }
        return body + "</table>\n"
    }

    /// One request: its heading (with an anchor named by its id), subject pseudonym, dates, and
    /// a table of what was done in each system.
    public static func htmlRequest(_ request: JSONValue, isCertificate: Bool) -> String {
        let id = request["id"]?.stringValue ?? ""
        var body = "<section id=\"\(escape(id))\"><h3>\(escape(id)) · \(escape(request["kind"]?.stringValue ?? "")) · \(escape(request["state"]?.stringValue ?? "")) · \(escape(deadlineWords(request)))</h3>\n"
        body += "<p>Subject (pseudonym) <code>\(escape(request["subject"]?.stringValue ?? ""))</code>"
        if let ref = request["ref"]?.stringValue { body += " · reference \(escape(ref))" }
        let purposes = (request["purposes"]?.arrayValue ?? []).compactMap(\.stringValue)
        if !purposes.isEmpty { body += " · consent withdrawn for \(escape(purposes.joined(separator: ", ")))" }
        body += " · received \(text(request["received"])) · due \(text(request["due"])) · ended \(text(request["completed_at"]))"
        if let filer = request["filed_by"]?.stringValue { body += " · filed by \(escape(filer))" }
        body += "</p>\n"
        let changes = (request["changes"]?.arrayValue ?? []).map { change -> String in
            let what = switch change["event"]?.stringValue {
            case "action_retried": "retried" + (change["target"]?.stringValue.map { " in \($0)" } ?? "")
            case "cancel_requested": "cancelled"
            case "request_extended": "extended"
            case "approval_granted": "approved"
            case "rejection_recorded": "rejected"
            default: change["event"]?.stringValue ?? ""
            }
            return "\(escape(what)) \(text(change["at"]))" + (change["by"]?.stringValue.map { " by \(escape($0))" } ?? "")
        }
        if !changes.isEmpty { body += "<p class=meta>Changes: \(changes.joined(separator: "; "))</p>\n" }
        let descriptions = Dictionary((request["recipients"]?.arrayValue ?? []).compactMap { recipient -> (String, String)? in
            guard let name = recipient["target"]?.stringValue, let text = recipient["description"]?.stringValue, !text.isEmpty else { return nil }
            return (name, text)
        }, uniquingKeysWith: { a, _ in a })
        body += "<table><tr><th>System</th><th>Operation</th><th>Outcome</th><th>Verified</th>"
            + (isCertificate ? "<th>How it was verified</th>" : "") + "<th>Attempts</th><th>Completed</th><th>Kept (why, until)</th></tr>\n"
        for target in request["targets"]?.arrayValue ?? [] {
            let kept = target["retention_statement"]?.stringValue.map(escape) ?? (target["retained"]?.arrayValue ?? []).map { k in
                escape("\((k["attributes"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")) — \(k["basis"]?.stringValue ?? "") (\(k["purpose"]?.stringValue ?? "")) until \(k["until"]?.stringValue ?? "")")
            }.joined(separator: "<br>")
            // Only a read-back is "yes": a person's or a system's word is said as such.
            let verified: String = switch (target["verified"], target["evidence"]?.stringValue) {
            case (.bool(true)?, _): "yes"
            case (.bool(false)?, _): "NO"
            case (_, Evidence.person.rawValue?): "no: " + Evidence.person.statement
            case (_, Evidence.system.rawValue?): "no: " + Evidence.system.statement
            default: "–"
            }
            let how = target["verification"]?.stringValue ?? target["reason"]?.stringValue ?? ""
            let name = target["target"]?.stringValue ?? ""
            let system = descriptions[name].map { "\(escape(name))<br><small>\(escape($0))</small>" } ?? escape(name)
            body += "<tr><td>\(system)</td><td>\(text(target["operation"]))</td><td>\(escape(target["outcome"]?.stringValue ?? target["state"]?.stringValue ?? ""))</td>"
            body += "<td title=\"\(escape(how))\">\(verified)</td>" + (isCertificate ? "<td><small>\(escape(how))</small></td>" : "")
            body += "<td>\(text(target["attempts"]))</td><td>\(text(target["completed_at"]))</td><td>\(kept)</td></tr>\n"
        }
        body += "</table></section>\n"
        return body
    }

    public static func htmlRetentionErasures(_ erasures: [JSONValue]) -> String {
        guard !erasures.isEmpty else { return "" }
        var body = "<h2>Retained data erased in this period (legal retention ended)</h2>\n<table><tr><th>Request</th><th>System</th><th>Due</th>"
            + "<th>State</th><th>Verified</th><th>Erased</th><th>What</th></tr>\n"
        for erasure in erasures {
            let what = (erasure["attributes"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", ")
            body += "<tr><td>\(text(erasure["request"]))</td><td>\(text(erasure["target"]))</td><td>\(text(erasure["due"]))</td>"
                + "<td>\(text(erasure["state"]))</td><td>\(erasure["verified"]?.boolValue == true ? "yes" : "NO")</td>"
                + "<td>\(text(erasure["completed_at"]))</td><td>\(escape(what))</td></tr>\n"
        }
        return body + "</table>\n"
    }

    public static func htmlHowToVerify(jsonFileName: String) -> String {
        """
        <h2>How to verify this document</h2>
        <p>The signed record is <code>\(escape(jsonFileName))</code>; this page is a rendering of it. Its signature is the raw \
        Ed25519 signature in <code>\(escape(jsonFileName)).sig</code>, by the key whose SHA-256 id is shown above. With the \
        public key <code>lethe.pub.pem</code> (from <code>lethe keys public</code>), anyone can check it without Lethe:</p>
        <pre>openssl pkeyutl -verify -pubin -inkey lethe.pub.pem -rawin -in \(escape(jsonFileName)) -sigfile \(escape(jsonFileName)).sig</pre>
        <p>It prints <code>Signature Verified Successfully</code>. Changing a single byte of the JSON or the signature makes it fail. \
        <code>lethe report verify \(escape(jsonFileName))</code> also checks the audit chain range against the log.</p>
        <p class=meta>No e-mail address, name or other identifier of any person appears in this document: subjects are \
        named by a keyed pseudonym only.</p>
        """
    }

    /// A whole page around `body`, with the report's style sheet.
    public static func htmlPage(title: String, body: String) -> String {
        htmlPageStart(title: title) + body + htmlPageEnd
    }

    public static func htmlPageStart(title: String) -> String {
        """
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><title>\(escape(title))</title>
        <style>
        body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:70rem;color:#1b1f24;line-height:1.4}
        h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ccd}h3{font-size:1rem;margin-bottom:.3rem}
        table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}th,td{border:1px solid #ccd;padding:.25rem .5rem;text-align:left;font-size:.9rem;vertical-align:top}
        th{background:#f1f3f6}code,pre{font-family:ui-monospace,monospace;font-size:.85rem}pre{background:#f6f8fa;padding:.6rem;overflow-x:auto;white-space:pre-wrap}
        .meta{color:#57606a;font-size:.85rem}.statement{font-weight:600}section{page-break-inside:avoid}nav a{margin-right:.6rem}
        @media print{body{margin:0;max-width:none}pre{white-space:pre-wrap}}
        </style></head><body>

        """
    }

    public static let htmlPageEnd = "\n</body></html>\n"

    static func text(_ value: JSONValue?) -> String {
        switch value {
        case .string(let s)?: escape(s)
        case .number?: CanonicalJSON.string(value!)
        case .bool(let b)?: b ? "yes" : "no"
        default: "–"
        }
    }

    static func pairs(_ value: JSONValue?) -> String {
        (value?.objectValue ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \(CanonicalJSON.string($0.value))" }.joined(separator: ", ")
    }

    /// `HTMLText.escape`: the same escaper as the dashboard's.
    public static func escape(_ text: String) -> String { HTMLText.escape(text) }
}
