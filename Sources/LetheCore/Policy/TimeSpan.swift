/// A duration written in a policy: `500ms`, `1s`, `5m`, `2h`, `2d`.
public struct TimeSpan: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let milliseconds: Int64

    public init(milliseconds: Int64) { self.milliseconds = milliseconds }

    public static func seconds(_ value: Int64) -> TimeSpan { TimeSpan(milliseconds: value * 1000) }

    public var seconds: Double { Double(milliseconds) / 1000 }

    /// Parses `<number><unit>` with unit `ms`, `s`, `m`, `h` or `d` (24 hours).
    public init?(parsing text: String) {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000), ("d", 86_400_000)]
        for (unit, factor) in units where text.hasSuffix(unit) {
            let number = text.dropLast(unit.count)
            guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }),
                  let value = Int64(number), value <= 10_000_000 else { return nil }
            self.milliseconds = value * factor
            return
        }
        return nil
    }

    public var description: String {
        if milliseconds % 86_400_000 == 0, milliseconds > 0 { return "\(milliseconds / 86_400_000)d" }
        if milliseconds % 3_600_000 == 0, milliseconds > 0 { return "\(milliseconds / 3_600_000)h" }
        if milliseconds % 60_000 == 0, milliseconds > 0 { return "\(milliseconds / 60_000)m" }
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        return "\(milliseconds)ms"
    }

    public static func < (lhs: TimeSpan, rhs: TimeSpan) -> Bool { lhs.milliseconds < rhs.milliseconds }
}

/// A legal retention period: `90d`, `6m`, `10y` (days, calendar months, calendar years).
public struct RetentionPeriod: Sendable, Hashable, Codable, CustomStringConvertible {
    public enum Unit: String, Sendable, Hashable, Codable {
        case days = "d"
        case months = "m"
        case years = "y"
    }

    public let amount: Int
    public let unit: Unit

    public init(amount: Int, unit: Unit) {
        self.amount = amount
        self.unit = unit
    }

    /// Parses `<number>d|m|y`.
    public init?(parsing text: String) {
        guard let last = text.last, let unit = Unit(rawValue: String(last)) else { return nil }
        let number = text.dropLast()
        guard !number.isEmpty, number.allSatisfy({ $0.isASCII && $0.isNumber }),
              let amount = Int(number), amount > 0, amount <= 100 * 366 else { return nil }
        self.amount = amount
        self.unit = unit
    }

    /// The last day the data must be kept when counted from `start`.
    public func end(from start: CalendarDate) -> CalendarDate {
        switch unit {
        case .days: start.adding(days: amount)
        case .months: start.adding(months: amount)
        case .years: start.adding(years: amount)
        }
    }

    public var description: String { "\(amount)\(unit.rawValue)" }
}

/// A request budget: `50/s`, `600/m`, `10000/h`.
public struct RateLimit: Sendable, Hashable, CustomStringConvertible {
    public let requests: Int
    public let per: TimeSpan

    public init(requests: Int, per: TimeSpan) {
        self.requests = requests
        self.per = per
    }

    /// Parses `<count>/<s|m|h>`.
    public init?(parsing text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].allSatisfy({ $0.isASCII && $0.isNumber }),
              let count = Int(parts[0]), count > 0 else { return nil }
        switch parts[1] {
        case "s": per = .seconds(1)
        case "m": per = .seconds(60)
        case "h": per = .seconds(3600)
        default: return nil
        }
        requests = count
    }

    /// Requests per second.
    public var perSecond: Double { Double(requests) / per.seconds }

    public var description: String {
        let unit = per.milliseconds == 1000 ? "s" : per.milliseconds == 60_000 ? "m" : "h"
        return "\(requests)/\(unit)"
    }
}
