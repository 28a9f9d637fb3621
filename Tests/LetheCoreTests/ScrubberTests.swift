import Foundation
@testable import LetheCore
import Testing

@Suite("Scrubbing what targets say")
struct ScrubberTests {
    @Test("the byte-level forms are Foundation's: trimming, the @ replaced, base64 without padding")
    func formsMatchFoundation() {
        let values = ["ana@example.com", " ana@example.com\n", "\u{00A0}Zoë\u{2028}", "a@b@c", "@", "plain", "x", "tab\there ",
                      "é@ü.example", "\u{301}@x", "e\u{301}@café.fr", "\t", "", "  ", "Ng", "a b"]
        for value in values {
            #expect(Scrubber.trimmed(value) == value.trimmingCharacters(in: .whitespacesAndNewlines), "\(value.debugDescription)")
            #expect(Scrubber.replacingAt(value, with: "%40") == value.replacingOccurrences(of: "@", with: "%40"), "\(value.debugDescription)")
            #expect(Scrubber.replacingAt(value, with: "\\u0040") == value.replacingOccurrences(of: "@", with: "\\u0040"))
            #expect(Scrubber.percentEncoded(value) == value.addingPercentEncoding(withAllowedCharacters: .alphanumerics), "\(value.debugDescription)")
        }
        // Every ASCII character, alone and in an address.
        for byte in UInt8(0)..<0x80 {
            let text = "a" + String(UnicodeScalar(byte)) + "b@x.org"
            #expect(Scrubber.percentEncoded(text) == text.addingPercentEncoding(withAllowedCharacters: .alphanumerics), "\(text.debugDescription)")
        }
        for length in 0..<8 {
            let base64 = Data("abcdefgh".utf8.prefix(length)).base64EncodedString()
            #expect(String(decoding: base64.utf8.prefix { $0 != UInt8(ascii: "=") }, as: UTF8.self) == base64.replacingOccurrences(of: "=", with: ""))
        }
    }

    @Test("known values go in every encoding; e-mail and phone shapes go too; two-letter names only as whole words")
    func scrubs() {
        let scrubber = Scrubber(values: ["ana@example.com", "Ng", "Silva"])
        let text = scrubber.scrub("user Ana Ng (ana%40example.com, YW5hQGV4YW1wbGUuY29t) SILVA called +44 20 7946 0958 from bo@corp.example; string range ok")
        #expect(!text.contains("Ng") && !text.contains("ana%40example.com") && !text.contains("YW5hQGV4YW1wbGUuY29t") && !text.lowercased().contains("silva"), "\(text)")
        #expect(!text.contains("7946") && !text.contains("bo@corp.example"), "\(text)")
        #expect(text.contains("string range ok"), "a two-letter value does not eat other words: \(text)")
    }

    @Test("the fast paths decide exactly what Foundation decides: ASCII case-insensitive containment, and shapes only where their marker is")
    func fastPathsAgree() {
        let texts = ["GET /Users/ANA.SILVA-7 answers 404", "ana.silva-7", "no match at all", "", "a", "xAnA.SiLvA-7y", "ana.silv", "Ana Silva\\u0040x.org",
                     "Ünïcode ANA.SILVA-7", "mail ana%40example.com", "+44 20 7946 0958", "id 12345"]
        let forms = ["ana.silva-7", "ANA.SILVA-7", "silva", "a", "ü", "example"]
        for text in texts {
            for form in forms {
                let foundation = text.range(of: form, options: .caseInsensitive) != nil
                #expect(!foundation || Scrubber.mayContain(text, form), "\(form) in \(text)")
                if text.utf8.allSatisfy({ $0 < 0x80 }) && form.utf8.allSatisfy({ $0 < 0x80 }) {
                    #expect(Scrubber.mayContain(text, form) == foundation, "\(form) in \(text)")
                }
            }
            for index in Scrubber.shapes.indices where text.range(of: Scrubber.shapes[index].0, options: .regularExpression) != nil {
                #expect(Scrubber.mayHaveShape(index, text), "shape \(index) in \(text)")
            }
        }
        #expect(Scrubber.looksPersonal("ana%40example.com") && Scrubber.looksPersonal("x\\u0040example.org") && Scrubber.looksPersonal("+44 20 7946 0958"))
        #expect(!Scrubber.looksPersonal("2819c223-7f76-453a-919d-413861904646"))
    }
}
