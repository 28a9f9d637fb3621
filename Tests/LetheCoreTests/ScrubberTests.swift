import Foundation
import LetheCore
import Testing

@Suite("Scrubbing what targets say")
struct ScrubberTests {
    @Test("known values go in every encoding; e-mail and phone shapes go too; two-letter names only as whole words")
    func scrubs() {
        let scrubber = Scrubber(values: ["ana@example.com", "Ng", "Silva"])
        let text = scrubber.scrub("user Ana Ng (ana%40example.com, YW5hQGV4YW1wbGUuY29t) SILVA called +44 20 7946 0958 from bo@corp.example; string range ok")
        #expect(!text.contains("Ng") && !text.contains("ana%40example.com") && !text.contains("YW5hQGV4YW1wbGUuY29t") && !text.lowercased().contains("silva"), "\(text)")
        #expect(!text.contains("7946") && !text.contains("bo@corp.example"), "\(text)")
        #expect(text.contains("string range ok"), "a two-letter value does not eat other words: \(text)")
    }
}
