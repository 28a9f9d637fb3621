import Foundation

/// Moments written for people and records: ISO 8601 in UTC with milliseconds.
public enum Timestamp {
    /// `2026-11-29T13:45:07.123Z`.
    public static func iso8601(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let days = Int(floorDiv(millis, 86_400_000))
        let inDay = Int(millis - Int64(days) * 86_400_000)
        let day = CalendarDate(daysSinceEpoch: days)
        // Written digit by digit into the string's own storage: a report writes this for every
        // completed action, and building it from padded pieces was 5 % of an export (issue #13).
        guard (0...9999).contains(day.year) else {
            func pad(_ v: Int, _ w: Int) -> String {
                let t = String(v)
                return String(repeating: "0", count: max(0, w - t.count)) + t
            }
            return "\(day)T\(pad(inDay / 3_600_000, 2)):\(pad(inDay / 60_000 % 60, 2)):\(pad(inDay / 1000 % 60, 2)).\(pad(inDay % 1000, 3))Z"
        }
        return String(unsafeUninitializedCapacity: 24) { out in
            CalendarDate.writeDigits(day.year, 4, into: out, at: 0)
            out[4] = UInt8(ascii: "-")
            CalendarDate.writeDigits(day.month, 2, into: out, at: 5)
            out[7] = UInt8(ascii: "-")
            CalendarDate.writeDigits(day.day, 2, into: out, at: 8)
            out[10] = UInt8(ascii: "T")
            CalendarDate.writeDigits(inDay / 3_600_000, 2, into: out, at: 11)
            out[13] = UInt8(ascii: ":")
            CalendarDate.writeDigits(inDay / 60_000 % 60, 2, into: out, at: 14)
            out[16] = UInt8(ascii: ":")
            CalendarDate.writeDigits(inDay / 1000 % 60, 2, into: out, at: 17)
            out[19] = UInt8(ascii: ".")
            CalendarDate.writeDigits(inDay % 1000, 3, into: out, at: 20)
            out[23] = UInt8(ascii: "Z")
            return 24
        }
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
