import LetheCore

/// A consent ledger of arbitrary bytes, CSV or JSON Lines (the first byte decides): the header
/// and every line are read as a sweep reads them; every problem must be an error, never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzLedger(_ start: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = UnsafeBufferPointer(start: start, count: count)
    let text = String(decoding: bytes.dropFirst(), as: UTF8.self)
    var parser = LedgerParser(format: bytes[0] % 2 == 0 ? .csv : .jsonl, now: 1_796_000_000, purposes: PurposeCatalog.builtIn)
    var number = 0
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
        number += 1
        if !parser.headerRead {
            try? parser.readHeader(line)
            continue
        }
        _ = try? parser.row(line, line: number)
    }
    return 0
}
