import LetheCore

/// A policy file of arbitrary bytes: the reader must answer with diagnostics, never crash.
/// The first byte picks which file the rest is (a target policy, purposes.yaml, lethe.yaml).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPolicy(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
    let environment = ["LETHE_TEST_URL": "http://127.0.0.1:1/v2", "LETHE_TEST_TOKEN": "t"]
    switch bytes[0] % 3 {
    case 0: _ = PolicySet.parse(files: [("fuzz.yaml", text)], environment: environment)
    case 1: _ = PolicySet.parse(files: [], purposesFile: ("purposes.yaml", text), environment: environment)
    default: _ = PolicySet.parse(files: [], settingsFile: ("lethe.yaml", text), environment: environment)
    }
    return 0
}
