import Foundation
import LetheCore
import LetheStorage

/// Small pieces of the dashboard's HTML. Every text that reaches a page goes through `e`.
enum H {
    /// Escapes text for HTML content and quoted attribute values (`HTMLText.escape`, the one
    /// escaper the reports use too).
    static func e(_ text: String) -> String { HTMLText.escape(text) }

    /// Percent-encodes a query value.
    static func query(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    /// A moment: shown in the browser's time zone by the page's script, the UTC value on hover.
    static func time(_ date: Date) -> String { isoTime(Timestamp.iso8601(date)) }

    static func isoTime(_ iso: String) -> String {
        "<time datetime=\"\(e(iso))\" title=\"\(e(iso)) UTC\">\(e(iso.replacingOccurrences(of: "T", with: " ").replacingOccurrences(of: "Z", with: " UTC")))</time>"
    }

    static func state(_ state: String) -> String {
        "<span class=\"state state-\(e(state))\">\(e(state.replacingOccurrences(of: "_", with: " ")))</span>"
    }

    static func kind(_ kind: String) -> String { kind == "erasure" ? "Erasure" : "Withdrawal" }

    static func csrf(_ context: APIContext) -> String {
        "<input type=hidden name=csrf value=\"\(e(context.session?.csrf ?? ""))\">"
    }

    /// A form posting to `action` with the CSRF field.
    static func form(_ action: String, context: APIContext, button: String, danger: Bool = false, fields: String) -> String {
        "<form method=post action=\"\(action)\" class=\"card action\">\(csrf(context))\(fields)"
            + "<button type=submit\(danger ? " class=danger" : "")>\(e(button))</button></form>"
    }

    static func select(_ name: String, label: String, options: [(String, String)], selected: String) -> String {
        "<label for=\(name)>\(e(label))</label><select id=\(name) name=\(name)>"
            + options.map { "<option value=\"\(e($0.0))\"\($0.0 == selected ? " selected" : "")>\(e($0.1))</option>" }.joined() + "</select>"
    }

    static func tile(_ label: String, _ count: Int, href: String, alarm: Bool = false) -> String {
        "<a class=\"tile\(alarm ? " alarm" : "")\" href=\"\(e(href))\"><span class=count>\(count)</span><span class=label>\(e(label))</span></a>"
    }

    /// The page around `body`: navigation by role, who is signed in, sign-out.
    static func page(title: String, context: APIContext?, active: String, body: String) -> String {
        var nav = ""
        if let token = context?.token {
            var links: [(String, String)] = [("/", "Overview"), ("/requests", "Requests")]
            if token.role != .auditor { links.append(("/new", "New request")) }
            if token.role != .officer { links.append(("/reports", "Reports")) }
            links.append(("/tasks", "Tasks"))
            links.append(("/systems", "Systems"))
            if token.role != .auditor { links.append(("/sweeps", "Consent sweeps")) }
            nav = "<nav aria-label=Main><ul>" + links.map { link in
                "<li><a href=\"\(link.0)\"\(link.0 == active ? " aria-current=page" : "")>\(link.1)</a></li>"
            }.joined() + "</ul><form method=post action=\"/signout\" class=signout>\(csrf(context!))"
                + "<span>\(e(token.name)) (\(e(token.role.rawValue)))</span> <button type=submit class=secondary>Sign out</button></form></nav>"
        }
        return """
            <!doctype html>
            <html lang=en><head><meta charset=utf-8><meta name=viewport content="width=device-width, initial-scale=1">
            <title>\(e(title)) · Lethe</title><link rel=icon href="/assets/icon.svg" type="image/svg+xml"><link rel=stylesheet href="/assets/lethe.css"><script src="/assets/lethe.js" defer></script></head>
            <body><header><a class=brand href="/">Lethe</a>\(nav)</header><main id=main>\(body)</main>
            <footer>Lethe — GDPR erasure and consent withdrawal, verified and signed. Subjects appear only by pseudonym.</footer></body></html>
            """
    }

    /// Requests per week received, stacked by state, as an SVG drawn on the server.
    static func weeklyChart(_ weekly: [String: [String: Int]], today: CalendarDate, weeks: Int = 12) -> String {
        let monday = today.adding(days: -today.weekdayFromMonday)
        let starts = (0..<weeks).reversed().map { monday.adding(days: -7 * $0) }
        let groups: [(label: String, states: [String], color: String)] = [
            ("completed", ["completed"], "#2e7d32"),
            ("open", ["awaiting_approval", "received", "in_progress"], "#1565c0"),
            ("failed or needs review", ["failed", "needs_review"], "#c62828"),
            ("cancelled or rejected", ["cancelled", "rejected"], "#757575"),
        ]
        let totals = starts.map { start in weekly[start.description, default: [:]].values.reduce(0, +) }
        let top = max(1, totals.max() ?? 1)
        let width = 640, height = 220, left = 40, bottom = 30, barWidth = (width - left - 10) / weeks
        var svg = "<svg class=chart viewBox=\"0 0 \(width) \(height)\" role=img aria-labelledby=chart-title><title id=chart-title>Requests received per week for the last \(weeks) weeks, by outcome</title>"
        svg += "<line x1=\(left) y1=\(height - bottom) x2=\(width - 5) y2=\(height - bottom) stroke=\"#999\"/>"
        svg += "<text x=\(left - 6) y=\(height - bottom) text-anchor=end font-size=11>0</text><text x=\(left - 6) y=16 text-anchor=end font-size=11>\(top)</text>"
        for (index, start) in starts.enumerated() {
            let counts = weekly[start.description, default: [:]]
            var y = Double(height - bottom)
            let x = left + index * barWidth + 4
            for group in groups {
                let n = group.states.reduce(0) { $0 + counts[$1, default: 0] }
                guard n > 0 else { continue }
                let h = Double(n) / Double(top) * Double(height - bottom - 10)
                y -= h
                svg += "<rect x=\(x) y=\(String(format: "%.1f", y)) width=\(barWidth - 8) height=\(String(format: "%.1f", h)) fill=\"\(group.color)\"><title>week of \(start): \(n) \(group.label)</title></rect>"
            }
            if index % 2 == 0 {
                svg += "<text x=\(x + (barWidth - 8) / 2) y=\(height - 12) text-anchor=middle font-size=10>\(String(start.description.dropFirst(5)))</text>"
            }
        }
        svg += "</svg>"
        let legend = "<ul class=legend>" + groups.enumerated().map { "<li><span class=\"swatch c\($0.offset)\"></span>\($0.element.label)</li>" }.joined() + "</ul>"
        let table = "<details><summary>The numbers</summary><table><thead><tr><th scope=col>Week of</th>" + groups.map { "<th scope=col>\($0.label)</th>" }.joined()
            + "</tr></thead><tbody>" + starts.map { start in
                let counts = weekly[start.description, default: [:]]
                return "<tr><td>\(start)</td>" + groups.map { group in "<td>\(group.states.reduce(0) { $0 + counts[$1, default: 0] })</td>" }.joined() + "</tr>"
            }.joined() + "</tbody></table></details>"
        return svg + legend + table
    }
}
