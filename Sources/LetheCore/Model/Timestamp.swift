import Foundation

/// Moments written for people and records: ISO 8601 in UTC with milliseconds.
public enum Timestamp {
    /// `2026-11-29T13:45:07.123Z`.
    public static func iso8601(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let days = Int(floorDiv(millis, 86_400_000))
        let inDay = millis - Int64(days) * 86_400_000
        let day = CalendarDate(daysSinceEpoch: days)
        let h = inDay / 3_600_000, m = inDay / 60_000 % 60, s = inDay / 1000 % 60, ms = inDay % 1000
        func pad(_ v: Int64, _ w: Int) -> String {
            let t = String(v)
            return String(repeating: "0", count: max(0, w - t.count)) + t
        }
        return "\(day)T\(pad(h, 2)):\(pad(m, 2)):\(pad(s, 2)).\(pad(ms, 3))Z"
    }

    /// Parses what `iso8601` writes (and the same without milliseconds).
    public static func parse(_ text: String) -> Date? {
        guard text.count >= 20, text.hasSuffix("Z"), let day = CalendarDate(iso: String(text.prefix(10))) else { return nil }
        let time = text.dropFirst(11).dropLast()
        let parts = time.split(separator: ":")
        guard parts.count == 3, let h = Int(parts[0]), let m = Int(parts[1]), let s = Double(parts[2]) else { return nil }
        return Date(timeIntervalSince1970: day.secondsSince1970AtMidnightUTC + Double(h * 3600 + m * 60) + s)
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 {
        a >= 0 ? a / b : (a - b + 1) / b
    }
}
