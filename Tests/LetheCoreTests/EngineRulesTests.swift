import Foundation
import LetheCore
import Testing

@Suite("Action state machine and retry policy")
struct EngineRulesTests {
    let policy = RetryPolicy(RetrySettings(base: .seconds(1), max: .seconds(60), maxAttempts: 4))

    @Test("success is terminal and verified")
    func success() {
        let t = ActionStateMachine.afterAttempt(.succeeded(.deleted, verification: "404"), attemptsUsed: 1, policy: policy, random: 0.5)
        #expect(t.state == .succeeded && t.outcome == .deleted && t.verified == true && t.event.rawValue == "action_succeeded")
        #expect(t.state.isTerminal)
    }

    @Test("an absent subject is a success with outcome absent")
    func absent() {
        let t = ActionStateMachine.afterAttempt(.succeeded(.absent, verification: "no account"), attemptsUsed: 1, policy: policy, random: 0)
        #expect(t.state == .succeeded && t.outcome == .absent)
    }

    @Test("an unverified write fails, marked not verified, and is not retried")
    func notVerified() {
        let t = ActionStateMachine.afterAttempt(.notVerified("still 200 with active=false"), attemptsUsed: 1, policy: policy, random: 0)
        #expect(t.state == .failed && t.verified == false)
        #expect(t.reason?.hasPrefix("not verified:") == true)
    }

    @Test("an ambiguous match needs review")
    func ambiguous() {
        let t = ActionStateMachine.afterAttempt(.needsReview("2 accounts match"), attemptsUsed: 1, policy: policy, random: 0)
        #expect(t.state == .needsReview && t.event.rawValue == "action_needs_review")
    }

    @Test("a permanent failure fails at once, whatever the budget")
    func permanent() {
        let t = ActionStateMachine.afterAttempt(.permanentFailure("401"), attemptsUsed: 1, policy: policy, random: 0)
        #expect(t.state == .failed && t.reason == "401")
    }

    @Test("a transient failure retries with backoff until the attempts are used up")
    func transientThenExhausted() {
        let first = ActionStateMachine.afterAttempt(.transientFailure("503", retryAfter: nil), attemptsUsed: 1, policy: policy, random: 0)
        #expect(first.state == .retrying && first.retryIn == 0.5 && first.event.rawValue == "action_retrying")
        let third = ActionStateMachine.afterAttempt(.transientFailure("503", retryAfter: nil), attemptsUsed: 3, policy: policy, random: 0.999)
        #expect(third.state == .retrying && (third.retryIn ?? 0) > 3.9 && (third.retryIn ?? 0) < 4)
        let last = ActionStateMachine.afterAttempt(.transientFailure("503", retryAfter: nil), attemptsUsed: 4, policy: policy, random: 0)
        #expect(last.state == .failed)
        #expect(last.reason == "gave up after 4 attempts: 503")
    }

    @Test("Retry-After wins over the computed backoff, up to the policy's retry.max; asking for more is said in the reason")
    func retryAfterWins() {
        let t = ActionStateMachine.afterAttempt(.transientFailure("429", retryAfter: 45), attemptsUsed: 1, policy: policy, random: 0.3)
        #expect(t.retryIn == 45 && t.reason == "429")
        #expect(policy.delay(afterAttempt: 1, retryAfter: 0, random: 0.9) == 0)
        // A huge number of seconds, or a far-future date, is the cap.
        let huge = ActionStateMachine.afterAttempt(.transientFailure("429", retryAfter: 31_536_000), attemptsUsed: 1, policy: policy, random: 0.3)
        #expect(huge.retryIn == 60)
        #expect(huge.reason?.contains("the server asked to wait 31536000s, more than retry.max (60s): retrying after 60s") == true, "\(huge.reason ?? "")")
        #expect(policy.delay(afterAttempt: 1, retryAfter: .infinity, random: 0) == 60)
    }

    @Test("backoff doubles, is capped, and its jitter stays within half the delay")
    func backoff() {
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 0) == 0.5)
        #expect(policy.delay(afterAttempt: 1, retryAfter: nil, random: 1) == 1)
        #expect(policy.delay(afterAttempt: 2, retryAfter: nil, random: 1) == 2)
        #expect(policy.delay(afterAttempt: 7, retryAfter: nil, random: 1) == 60)
        #expect(policy.delay(afterAttempt: 60, retryAfter: nil, random: 0) == 30)
    }

    @Test("an interrupted attempt (shutdown, deadline) goes back to pending at once, whatever the budget")
    func interrupted() {
        let t = ActionStateMachine.afterAttempt(.interrupted("stopped"), attemptsUsed: 99, policy: policy, random: 0.5)
        #expect(t.state == .pending && t.retryIn == 0 && t.event.rawValue == "action_interrupted" && t.outcome == nil && t.verified == nil)
        #expect(AttemptResultKind(.interrupted("x")) == .interrupted)
        #expect(AttemptResultKind(.transientFailure("x", retryAfter: nil)).rawValue == "transient")
    }

    @Test("rescue after a crash puts the action back to pending at once")
    func rescue() {
        let t = ActionStateMachine.rescue()
        #expect(t.state == .pending && t.retryIn == 0 && t.event.rawValue == "action_rescued")
        #expect(ActionStateMachine.canRetry(.failed) && ActionStateMachine.canRetry(.needsReview))
        #expect(!ActionStateMachine.canRetry(.succeeded) && !ActionStateMachine.canRetry(.running))
    }

    @Test("request state is derived from its actions", arguments: [
        ([ActionState.pending, .pending], false, false, RequestState.received),
        ([.running, .pending], true, false, .inProgress),
        ([.succeeded, .retrying], true, false, .inProgress),
        ([.succeeded, .succeeded], true, false, .completed),
        ([.succeeded, .failed, .needsReview], true, false, .failed),
        ([.succeeded, .needsReview], true, false, .needsReview),
        ([.succeeded, .cancelled], true, true, .cancelled),
        ([.succeeded], false, false, .completed),
    ])
    func derive(actions: [ActionState], attempted: Bool, cancelled: Bool, expected: RequestState) {
        #expect(RequestState.derive(actions: actions, anyAttempt: attempted, cancelled: cancelled) == expected)
    }
}

@Suite("Canonical JSON and timestamps")
struct CanonicalJSONTests {
    @Test("keys sorted, no whitespace, integers without fraction, escapes")
    func canonical() {
        let value: JSONValue = .object([
            "b": .number(1), "a": .array([.bool(true), .null, .number(2.5)]), "é": .string("line\nq\"\\"), "A": .object([:]),
        ])
        #expect(CanonicalJSON.string(value) == #"{"A":{},"a":[true,null,2.5],"b":1,"é":"line\nq\"\\"}"#)
        #expect(CanonicalJSON.isCanonical(CanonicalJSON.encode(value)))
        #expect(!CanonicalJSON.isCanonical(Data(#"{"b":1, "a":2}"#.utf8)))
        // Names are ordered by UTF-16 code units (RFC 8785), where U+E000 sorts after 😀 (a
        // surrogate pair), though its code point is lower; control characters are escaped.
        let names = ["b", "a", "ab", "é", "\u{E000}", "😀", "😀a", "", "Z", "\u{7F}", "\u{80}"]
        let expected = names.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
        #expect(names.sorted(by: CanonicalJSON.precedes) == expected)
        let object = JSONValue.object(Dictionary(uniqueKeysWithValues: names.map { ($0, JSONValue.null) }))
        #expect(CanonicalJSON.string(object) == "{" + expected.map { "\"\($0)\":null" }.joined(separator: ",") + "}")
        #expect(CanonicalJSON.string(.string("\u{01}\u{1F}\t\u{08}\u{0C}é")) == #""\u0001\u001f\t\b\fé""#)
    }

    @Test("timestamps are ISO 8601 UTC with milliseconds and read back")
    func timestamps() {
        let date = Date(timeIntervalSince1970: 1_796_083_200.123)
        #expect(Timestamp.iso8601(date) == "2026-12-01T00:00:00.123Z")
        #expect(abs(Timestamp.parse("2026-12-01T00:00:00.123Z")!.timeIntervalSince(date)) < 0.001)
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: -0.5)) == "1969-12-31T23:59:59.500Z")
    }

    @Test("timestamps and days written digit by digit are what padded pieces gave, and their days Foundation's calendar's, 1600 to 9999")
    func timestampsMatchFoundation() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        func pad(_ v: Int, _ w: Int) -> String { String(repeating: "0", count: max(0, w - String(v).count)) + String(v) }
        var random = SystemRandomNumberGenerator()
        // From 1600-01-01 (Foundation's calendar is Julian before 1582) to 9999-12-31, milliseconds
        // included; and the edges of a day.
        var moments = (0..<2000).map { _ in Int64.random(in: -11_676_096_000_000...253_402_300_799_999, using: &random) }
        moments += [0, 1, 86_399_999, 1_796_083_200_000, 951_782_400_000, 253_402_300_799_999, -1]
        for millis in moments {
            // Half a millisecond in, so the Double holds a moment inside that millisecond.
            let text = Timestamp.iso8601(Date(timeIntervalSince1970: (Double(millis) + 0.5) / 1000))
            // The day from Foundation's calendar at the day's noon; the time of day from the milliseconds.
            let inDay = Int(((millis % 86_400_000) + 86_400_000) % 86_400_000)
            let noon = Date(timeIntervalSince1970: Double(millis - Int64(inDay) + 43_200_000) / 1000)
            let parts = calendar.dateComponents([.year, .month, .day], from: noon)
            let expected = "\(pad(parts.year!, 4))-\(pad(parts.month!, 2))-\(pad(parts.day!, 2))T\(pad(inDay / 3_600_000, 2)):"
                + "\(pad(inDay / 60_000 % 60, 2)):\(pad(inDay / 1000 % 60, 2)).\(pad(inDay % 1000, 3))Z"
            #expect(text == expected, "\(millis)")
            let day = CalendarDate(secondsSince1970: (Double(millis) + 0.5) / 1000)
            #expect(day.description == String(expected.prefix(10)))
            #expect(CalendarDate(iso: day.description) == day)
        }
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(Date(timeIntervalSince1970: 253_402_300_800)) == "10000-01-01T00:00:00.000Z")
        #expect(CalendarDate(daysSinceEpoch: -719_163).description == "0000-12-31")
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test("parses what RFC 8259 allows, exactly")
    func valid() {
        let value = JSONValue.parse(Data(#" {"a":[1,-2.5e3,true,false,null],"s":"q\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00","o":{}} "#.utf8))
        #expect(value?["a"] == .array([.number(1), .number(-2500), .bool(true), .bool(false), .null]))
        #expect(value?["s"]?.stringValue == "q\"\\/\u{08}\u{0C}\n\r\té😀")
        #expect(value?["o"] == .object([:]))
        #expect(JSONValue.parse(Data("\"zoë\"".utf8)) == .string("zoë"))
    }

    @Test("refuses what it does not allow", arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "01", "1.", ".5", "+1", "tru", "\"a", "\"\\x\"", "{a:1}", "[1] 2", "\"\u{01}\"", "\"\\ud800\"", "NaN",
    ])
    func invalid(text: String) {
        #expect(JSONValue.parse(Data(text.utf8)) == nil)
    }
}
