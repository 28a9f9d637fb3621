import Foundation
import LetheCore
import LetheSandbox

/// Arbitrary bytes as a PATCH body to one of the sandbox's users (parsed, applied, validated,
/// stored): every body must be answered, 2xx or a SCIM error, never a crash or a 5xx.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPatch(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let body = Data(bytes: start, count: count)
    // A fresh account each time, so one input cannot leave the next a different store.
    let sandbox = Sandbox(Sandbox.Configuration(targets: ["crm"], seedCustomers: 1, randomSeed: 1))
    guard case .respond(let listed, _) = sandbox.handle(method: "GET", uri: "/crm/v2/Users", headers: [], body: Data(), host: "127.0.0.1"),
          let id = JSONValue.parse(listed.body)?["Resources"]?.arrayValue?.first?["id"]?.stringValue else {
        fatalError("the seeded sandbox lists no user")
    }
    let outcome = sandbox.handle(method: "PATCH", uri: "/crm/v2/Users/\(id)", headers: [("Content-Type", "application/scim+json")],
                                 body: body, host: "127.0.0.1")
    if case .respond(let response, _) = outcome, response.status >= 500 { fatalError("a PATCH body made the sandbox answer \(response.status)") }
    _ = sandbox.handle(method: "GET", uri: "/crm/v2/Users/\(id)", headers: [], body: Data(), host: "127.0.0.1")
    return 0
}
