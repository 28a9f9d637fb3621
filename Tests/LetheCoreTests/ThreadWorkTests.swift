import Foundation
import LetheCore
import Testing

@Suite("Work on a thread of its own")
struct ThreadWorkTests {
    struct Failure: Error, Equatable {}

    @Test("join gives the value, or what the work threw, as often as it is asked")
    func join() throws {
        let sum = ThreadWork { (1...1000).reduce(0, +) }
        let failing = ThreadWork<Int> { throw Failure() }
        #expect(try sum.join() == 500_500)
        #expect(try sum.join() == 500_500)
        #expect(throws: Failure()) { try failing.join() }
    }
}
