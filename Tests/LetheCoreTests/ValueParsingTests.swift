import LetheCore
import Testing

@Suite("Dates, durations, rates and variables")
struct ValueParsingTests {
    @Test("calendar months clamp to the month's last day")
    func monthArithmetic() {
        let jan31 = CalendarDate(iso: "2026-01-31")!
        #expect(jan31.adding(months: 1).description == "2026-02-28")
        #expect(CalendarDate(iso: "2028-01-31")!.adding(months: 1).description == "2028-02-29")
        #expect(CalendarDate(iso: "2024-02-29")!.adding(years: 10).description == "2034-02-28")
        #expect(CalendarDate(iso: "2026-11-29")!.adding(months: 1).description == "2026-12-29")
        #expect(CalendarDate(iso: "2026-12-15")!.adding(months: 2).description == "2027-02-15")
        #expect(CalendarDate(iso: "2026-12-30")!.adding(days: 3).description == "2027-01-02")
    }

    @Test("ISO dates are parsed strictly", arguments: ["2026-02-30", "2026-13-01", "26-01-01", "2026-1-1", "2026/01/01", "", "2026-01-01T00:00"])
    func invalidDates(text: String) {
        #expect(CalendarDate(iso: text) == nil)
    }

    @Test("days since the epoch round-trip")
    func epochRoundTrip() {
        for days in stride(from: -800_000, through: 800_000, by: 9_973) {
            #expect(CalendarDate(daysSinceEpoch: days).daysSinceEpoch == days)
        }
        #expect(CalendarDate(daysSinceEpoch: 0).description == "1970-01-01")
        #expect(CalendarDate(secondsSince1970: 1_796_083_200).description == "2026-12-01")
    }

    @Test("durations")
    func durations() {
        #expect(TimeSpan(parsing: "500ms")?.milliseconds == 500)
        #expect(TimeSpan(parsing: "1s")?.milliseconds == 1000)
        #expect(TimeSpan(parsing: "5m")?.milliseconds == 300_000)
        #expect(TimeSpan(parsing: "2h")?.milliseconds == 7_200_000)
        for bad in ["", "s", "1", "1 s", "-1s", "1.5s", "1d"] { #expect(TimeSpan(parsing: bad) == nil, "\(bad)") }
    }

    @Test("retention periods count calendar units")
    func retention() {
        let start = CalendarDate(iso: "2026-11-29")!
        #expect(RetentionPeriod(parsing: "90d")?.end(from: start).description == "2027-02-27")
        #expect(RetentionPeriod(parsing: "6m")?.end(from: start).description == "2027-05-29")
        #expect(RetentionPeriod(parsing: "10y")?.end(from: start).description == "2036-11-29")
        for bad in ["10", "y", "0y", "10 y", "10w", "-1d"] { #expect(RetentionPeriod(parsing: bad) == nil, "\(bad)") }
    }

    @Test("rate limits")
    func rates() {
        #expect(RateLimit(parsing: "50/s")?.perSecond == 50)
        #expect(RateLimit(parsing: "600/m")?.perSecond == 10)
        for bad in ["50", "/s", "0/s", "50/d", "fast"] { #expect(RateLimit(parsing: bad) == nil, "\(bad)") }
    }

    @Test("environment expansion")
    func expansion() throws {
        let env = ["A": "x", "EMPTY": ""]
        #expect(try EnvironmentExpansion.expand("${A}", environment: env).get() == "x")
        #expect(try EnvironmentExpansion.expand("pre-${A}-post", environment: env).get() == "pre-x-post")
        #expect(try EnvironmentExpansion.expand("${B:-http://h:1/v2}", environment: env).get() == "http://h:1/v2")
        #expect(try EnvironmentExpansion.expand("${EMPTY:-d}", environment: env).get() == "d")
        #expect(try EnvironmentExpansion.expand("${EMPTY}", environment: env).get() == "")
        #expect(try EnvironmentExpansion.expand("$$5 and $x", environment: env).get() == "$5 and $x")
        #expect(EnvironmentExpansion.expand("${B}", environment: env) == .failure(.unset(name: "B", offset: 0)))
        if case .failure(.malformed) = EnvironmentExpansion.expand("${A", environment: env) {} else { Issue.record("unclosed accepted") }
        if case .failure(.malformed) = EnvironmentExpansion.expand("${1A}", environment: env) {} else { Issue.record("bad name accepted") }
    }

    @Test("attribute paths resolve case-insensitively to the schema's spelling")
    func attributePaths() throws {
        let catalog = AttributeCatalog.standard
        #expect(try catalog.resolve("Name.GivenName").get().path.description == "name.givenName")
        #expect(try catalog.resolve("urn:ietf:params:scim:schemas:core:2.0:User:userName").get().path.description == "userName")
        let ext = try catalog.resolve("urn:example:params:scim:schemas:extension:gdpr:2.0:User:marketingSegment").get()
        #expect(ext.path.schema == SCIMSchemas.gdprUser && ext.path.name == "marketingSegment")
        #expect(try catalog.resolve("userName").get().shape.required)
        for bad in ["emails[type eq \"work\"].value", "name.givenName.x", "1abc", "urn:example:params:scim:schemas:extension:gdpr:2.0:User:nope"] {
            if case .success = catalog.resolve(bad) { Issue.record("\(bad) accepted") }
        }
    }
}
