import Foundation
import LetheCore

/// Arbitrary bytes through Lethe's JSON parser. Beyond not crashing: whatever parses must come
/// back the same from its canonical form (what reports are signed over).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSON(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: start, count: count)
    guard let value = try? JSONValue.parsing(data) else { return 0 }
    let canonical = CanonicalJSON.encode(value)
    guard let again = try? JSONValue.parsing(canonical) else {
        fatalError("the canonical form of a parsed value does not parse: \(String(decoding: canonical.prefix(200), as: UTF8.self))")
    }
    guard CanonicalJSON.encode(again) == canonical else {
        fatalError("canonical JSON is not stable: \(String(decoding: canonical.prefix(200), as: UTF8.self))")
    }
    return 0
}
