import Foundation
import LetheCore
import LetheSandbox

/// Arbitrary bytes as the sandbox's `?filter=` (parsed and evaluated against its users), the way
/// a client's query reaches it: every filter must be answered (400 invalidFilter or a list).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFilter(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: start, count: count), as: UTF8.self)
    guard let query = text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) else { return 0 }
    let outcome = FuzzSandbox.shared.handle(method: "GET", uri: "/crm/v2/Users?filter=\(query)", headers: [], body: Data(), host: "127.0.0.1")
    if case .respond(let response, _) = outcome, response.status >= 500 { fatalError("a filter made the sandbox answer \(response.status)") }
    return 0
}

/// One sandbox for the run (a filter changes nothing).
enum FuzzSandbox {
    static let shared = Sandbox(Sandbox.Configuration(targets: ["crm"], seedCustomers: 6, randomSeed: 1))
}
