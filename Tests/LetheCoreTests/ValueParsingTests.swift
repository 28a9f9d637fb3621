import Foundation
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
        #expect(TimeSpan(parsing: "2d")?.milliseconds == 172_800_000)
        for bad in ["", "s", "1", "1 s", "-1s", "1.5s", "1w", "d"] { #expect(TimeSpan(parsing: bad) == nil, "\(bad)") }
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

@Suite("Strict JSON")
struct StrictJSONTests {
    func problem(_ text: String) -> JSONParseError? {
        do { _ = try JSONValue.parsing(Data(text.utf8)); return nil } catch { return error }
    }

    @Test("errors say where: line, column and byte offset")
    func positions() throws {
        let error = try #require(problem("{\n  \"a\": 1,\n  \"b\": tru\n}"))
        #expect(error.line == 3 && error.column == 8 && error.offset == 19, "\(error)")
        #expect(error.reason.contains("true"))
        #expect(problem("[1, 2") != nil && problem("{\"a\" 1}")?.reason.contains("':'") == true)
        #expect(problem("\"x\" y")?.reason.contains("after the JSON value") == true)
    }

    @Test("a duplicate member name is refused: the text would have two meanings")
    func duplicateKeys() throws {
        let error = try #require(problem(#"{"userName": "ana", "id": "1", "userName": "bo"}"#))
        #expect(error.reason.contains("duplicate") && error.reason.contains("userName") && error.column == 32, "\(error)")
        // A key that could carry data is not repeated in the message.
        let hidden = try #require(problem(#"{"ana@example.com": 1, "ana@example.com": 2}"#))
        #expect(!hidden.description.contains("ana@example.com"))
        // Nested objects are checked too; the same name at different levels is fine.
        #expect(problem(#"{"a": {"b": 1, "b": 2}}"#) != nil)
        #expect(problem(#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#) == nil)
    }

    @Test("invalid UTF-8 is an error, never replaced with U+FFFD")
    func invalidUTF8() throws {
        for bytes: [UInt8] in [[0x22, 0xC3, 0x28, 0x22], [0x22, 0xFF, 0x22], [0x22, 0x61, 0xED, 0xA0, 0x80, 0x22], [0x5B, 0x22, 0xE2, 0x82, 0x22, 0x5D]] {
            #expect(throws: JSONParseError.self, "\(bytes)") { try JSONValue.parsing(Data(bytes)) }
        }
        // Valid multi-byte text and escapes still parse.
        #expect(try JSONValue.parsing(Data(#"["straße", "\u00df", "\ud83d\ude00", "K"]"#.utf8)).arrayValue?.count == 4)
    }

    @Test("the parser agrees with JSONSerialization on well-formed documents")
    func agreesWithFoundation() throws {
        let documents = [
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":2,"Resources":[{"id":"1","active":true},{"id":"2","name":null}]}"#,
            #"[0, -1.5, 2e3, 1E-2, "a\"b\\c\/d\n", {}, []]"#,
        ]
        for text in documents {
            let ours = try JSONValue.parsing(Data(text.utf8))
            let theirs = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            let reencoded = try JSONValue.parsing(JSONSerialization.data(withJSONObject: theirs, options: [.fragmentsAllowed]))
            #expect(ours == reencoded, "\(text)")
        }
    }
}
