import Foundation
import LetheCore
import Testing

/// The byte-level check that lets a large report be verified in place must say exactly what
/// parsing and encoding again says: a text it accepts that the parser would not (or the other
/// way round) is a signed report read differently by two verifiers.
@Suite("Canonical form checked in place")
struct CanonicalTapeTests {
    func tapeSays(_ bytes: [UInt8]) -> Bool {
        var tape = CanonicalTape()
        return bytes.withUnsafeBytes { tape.read($0, 0..<bytes.count) }
    }

    func parserSays(_ bytes: [UInt8]) -> Bool { CanonicalJSON.isCanonical(Data(bytes)) }

    static let texts: [String] = [
        #"{}"#, #"[]"#, #"{"a":1}"#, #"{"a":1,"b":[true,false,null]}"#, #"{"b":1,"a":2}"#, #"{"a":1,"a":1}"#,
        #"{"a":1 }"#, #" {"a":1}"#, #"{"a" :1}"#, #"{"a":1,}"#, #"[1,]"#, #"[,1]"#, #"[1 ,2]"#, #"{"a":{"b":{"c":[[]]}}}"#,
        #""plain""#, #""tab\tand\nnewline""#, #""\u0001""#, #""\u001f""#, #""\u001F""#, #""\u0041""#, #""\/""#, #""/""#,
        #""\u0008""#, #""\b""#, #""\u000a""#, #""\"quoted\" and \\""#, #""\ud83d\ude00""#, #""😀""#, #""é""#, #""\x""#,
        "\"raw\ttab\"", "\"unterminated", #"0"#, #"-0"#, #"12"#, #"012"#, #"1.0"#, #"1.5"#, #"-1.5"#, #"1e2"#, #"1E2"#, #"0.1"#,
        #"9007199254740991"#, #"9007199254740992"#, #"-9007199254740991"#, #"123456789012345678"#, #"1e400"#, #"0.5e-3"#,
        #"5e-324"#, #"1.7976931348623157e+308"#, #"1e+20"#, #"100000000000000000000"#, #"tru"#, #"true"#, #"nul"#, #"null "#,
        #"{"é":1,"z":2}"#, #"{"z":1,"é":2}"#, #"{"\n":1,"a":2}"#, #"{"a":2,"\n":1}"#, #"{"ab":1,"a":2}"#, #"{"a":1,"ab":2}"#,
        #"{"":1}"#, #"{"":1,"":2}"#, #"{"\u0000":1}"#, #"{"a":"\u0000"}"#, #"[1]x"#, #"[1]]"#, #"{"a":1}}"#, #"{"a"}"#, #"{1:2}"#,
        #"{"\ud800":1}"#, #"{"a\\":1,"a]":2}"#, #"{"A":1,"a":2}"#, #"{"a":1,"A":2}"#, "", " ", "[", "{", "\"",
        // Names the parser takes for one (canonically equivalent), next to each other or not.
        "{\"K\":1,\"\u{212A}\":2}", "{\"e\u{301}\":1,\"é\":2}", "{\"e\u{301}\":1,\"e\u{302}\":2,\"é\":3}",
        "{\"e\u{301}\":1,\"e\u{302}\":2}", "[{\"K\":1},{\"\u{212A}\":2}]", "{\"a\":{\"K\":1,\"\u{212A}\":2}}",
    ]

    @Test("on hand-picked texts", arguments: texts)
    func agrees(_ text: String) {
        let bytes = Array(text.utf8)
        #expect(tapeSays(bytes) == parserSays(bytes), "\(text): the tape says \(tapeSays(bytes)), parsing says \(parserSays(bytes))")
    }

    @Test("on bytes that are not UTF-8, overlong, surrogates or past U+10FFFF", arguments: [
        [0xC0, 0xAF], [0xC1, 0xBF], [0xC2, 0xA9], [0xE0, 0x80, 0xAF], [0xE0, 0xA0, 0x80], [0xED, 0xA0, 0x80], [0xED, 0x9F, 0xBF],
        [0xF0, 0x8F, 0xBF, 0xBF], [0xF0, 0x90, 0x80, 0x80], [0xF4, 0x8F, 0xBF, 0xBF], [0xF4, 0x90, 0x80, 0x80], [0xF5, 0x80, 0x80, 0x80],
        [0x80], [0xBF], [0xE2, 0x82], [0xE2, 0x82, 0xAC], [0xFF], [0xEF, 0xBB, 0xBF],
    ] as [[UInt8]])
    func agreesOnRawBytes(_ inner: [UInt8]) {
        let asString = [0x22] + inner + [0x22]
        let asName = Array(#"{""#.utf8) + inner + Array(#"":1}"#.utf8)
        #expect(tapeSays(asString) == parserSays(asString), "\(inner)")
        #expect(tapeSays(asName) == parserSays(asName), "\(inner)")
    }

    @Test("nesting: as deep as the parser reads, and no deeper")
    func depth() {
        for levels in [510, 511, 512, 513] {
            let bytes = Array((String(repeating: "[", count: levels) + String(repeating: "]", count: levels)).utf8)
            #expect(tapeSays(bytes) == parserSays(bytes), "\(levels) levels")
        }
    }

    @Test("on random values, and every one-byte change to them")
    func randomValues() {
        var random = SeededRandom(seed: 13)
        let alphabet = Array(#"{}[]",:0123456789.-+eE\"u/ abéz😀"#.utf8) + [0x00, 0x0A, 0x1F, 0x7F, 0xC3, 0xFF]
        func value(_ depth: Int) -> JSONValue {
            switch random.next() % (depth > 3 ? 5 : 7) {
            case 0: return .null
            case 1: return .bool(random.next() % 2 == 0)
            case 2: return .number([0, 1, -1, 42, 0.5, -2.25, 1e21, 1e-7, 9_007_199_254_740_991, 123.456][Int(random.next() % 10)])
            case 3, 4:
                let pieces = ["a", "é", "\"", "\\", "\n", "\u{01}", "😀", "/", " ", "z", "\u{7F}"]
                return .string((0..<Int(random.next() % 5)).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined())
            case 5: return .array((0..<Int(random.next() % 4)).map { _ in value(depth + 1) })
            default:
                var members: [String: JSONValue] = [:]
                for _ in 0..<Int(random.next() % 4) { members[["a", "b", "ab", "é", "A", "\n", ""][Int(random.next() % 7)]] = value(depth + 1) }
                return .object(members)
            }
        }
        var disagreements: [String] = []
        for _ in 0..<300 {
            let bytes = CanonicalJSON.bytes(value(0))
            if !tapeSays(bytes) { disagreements.append("refused its own encoding: \(String(decoding: bytes, as: UTF8.self))") }
            for position in 0..<bytes.count {
                var changed = bytes
                switch random.next() % 3 {
                case 0: changed[position] = alphabet[Int(random.next() % UInt64(alphabet.count))]
                case 1: changed.remove(at: position)
                default: changed.insert(alphabet[Int(random.next() % UInt64(alphabet.count))], at: position)
                }
                if tapeSays(changed) != parserSays(changed) {
                    disagreements.append("\(changed): the tape says \(tapeSays(changed))")
                }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.prefix(5))")
    }

    @Test("a large object's members are found around escaped quotes and backslashes")
    func topLevelMembers() throws {
        let text = #"{"a":"x\"y","b":["\\",{"c":"\"\\\""}],"c":"\\","d":1,"e":"é\n"}"#
        let data = Data(text.utf8)
        let members = try #require(CanonicalJSON.topLevelMembers(data))
        func slice(_ range: Range<Int>) -> String { String(decoding: data[range], as: UTF8.self) }
        #expect(members.map { slice($0.name) } == [#""a""#, #""b""#, #""c""#, #""d""#, #""e""#])
        #expect(members.map { slice($0.value) } == [#""x\"y""#, #"["\\",{"c":"\"\\\""}]"#, #""\\""#, "1", #""é\n""#])
        #expect(CanonicalJSON.topLevelMembers(Data(#"{"a":"unterminated\"}"#.utf8)) == nil)
    }

    @Test("a walk over the members visits each once in order, stops when asked, and refuses what is not an object of members")
    func walkingMembers() throws {
        let data = Data(#"{"a":"x\"y","b":[1,{"c":"}"}],"c":2}"#.utf8)
        var seen: [String] = []
        let walk = CanonicalJSON.walkTopLevelMembers(data) { name, start in
            seen.append(String(decoding: data[name], as: UTF8.self))
            return CanonicalJSON.valueEnd(in: data, from: start).map { .next(valueEnd: $0) } ?? .invalid
        }
        #expect(walk == .finished)
        #expect(seen == [#""a""#, #""b""#, #""c""#])
        var visited = 0
        #expect(CanonicalJSON.walkTopLevelMembers(data) { _, _ in visited += 1; return .stop } == .stopped)
        #expect(visited == 1)
        #expect(CanonicalJSON.walkTopLevelMembers(Data("{}".utf8)) { _, _ in .invalid } == .finished)
        for broken in [#"{"a":1"#, #"{"a":1}}"#, #"{"a":1,}"#, #"["a"]"#, #"{a:1}"#, "{"] {
            let data = Data(broken.utf8)
            let walk = CanonicalJSON.walkTopLevelMembers(data) { _, start in
                CanonicalJSON.valueEnd(in: data, from: start).map { .next(valueEnd: $0) } ?? .invalid
            }
            #expect(walk == .invalid, "\(broken)")
        }
    }

    @Test("reads members, elements, text and integers as JSONValue does")
    func reading() throws {
        let text = #"{"esc":"a\"b","id":"r-1","n":3,"s":"4","targets":[{"audit":{"hash":"ab","seq":7},"target":"shop"},{"Target":"crm"}],"x":null}"#
        let data = Data(text.utf8)
        var tape = CanonicalTape()
        #expect(data.withUnsafeBytes { tape.read($0, 0..<data.count) })
        let value = CanonicalTape.Value(root: tape, in: data)
        let parsed = try #require(JSONValue.parse(data))
        #expect(value["id"]?.stringValue == parsed["id"]?.stringValue)
        #expect(value["n"]?.intValue == 3 && value["s"]?.intValue == 4 && parsed["s"]?.intValue == 4)
        #expect(value["esc"]?.stringValue == "a\"b")
        #expect(value["missing"] == nil && value["x"]?.stringValue == nil)
        let targets = try #require(value["targets"]?.arrayValue)
        #expect(targets.count == 2)
        #expect(targets[0]["audit"]?["seq"]?.intValue == 7 && targets[0]["audit"]?["hash"]?.stringValue == "ab")
        // Member names compare case-insensitively after an exact miss, as SCIM's do.
        #expect(targets[1]["target"]?.stringValue == "crm" && parsed["targets"]?.arrayValue?[1]["target"]?.stringValue == "crm")
        #expect(value["id"]?.arrayValue == nil && value["targets"]?["id"] == nil)
    }

    @Test("a member name found only case-insensitively is found as JSONValue finds it, outside ASCII too")
    func caseInsensitiveNames() throws {
        // "\u{212A}" (the Kelvin sign) lowers into "k"; "Ä" into "ä"; "İ" into "i" and a combining dot.
        let object: [String: JSONValue] = ["AUDIT": .number(1), "Target_Name": .string("x"), "\u{212A}ey": .number(2), "Ärger": .number(3),
                                           "İd": .number(4), "na\"me": .number(5)]
        let data = CanonicalJSON.encode(.object(object))
        var tape = CanonicalTape()
        #expect(data.withUnsafeBytes { tape.read($0, 0..<data.count) })
        let value = CanonicalTape.Value(root: tape, in: data)
        let parsed = try #require(JSONValue.parse(data))
        for key in ["audit", "Audit", "target_name", "TARGET_NAME", "key", "KEY", "ärger", "ÄRGER", "id", "i\u{307}d", "NA\"ME", "missing", "audi", "auditx", ""] {
            #expect(value[key]?.intValue == parsed[key]?.intValue && value[key]?.stringValue == parsed[key]?.stringValue, "\(key)")
            #expect((value[key] == nil) == (parsed[key] == nil), "\(key)")
        }
        #expect(value["audit"]?.intValue == 1 && value["key"]?.intValue == 2 && value["ärger"]?.intValue == 3)
    }
}
