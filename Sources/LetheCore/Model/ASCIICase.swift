/// Case-insensitivity the way SCIM means it for `caseExact: false` e-mails and user names:
/// A–Z and a–z are the same letter, and nothing else is folded. `straße` is not `strasse`,
/// the Kelvin sign is not `K`, and nothing the server did not normalise is normalised here.
public enum ASCIICase {
    /// True when the two texts are byte-for-byte equal after mapping ASCII A–Z to a–z.
    public static func equal(_ a: String, _ b: String) -> Bool {
        equal(a, b[...])
    }

    /// The same, for a slice of a line (a ledger's field) against a known name.
    public static func equal(_ a: String, _ b: Substring) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) where p != q {
            guard lower(p) == lower(q) else { return false }
        }
        return true
    }

    @inline(__always) static func lower(_ byte: UInt8) -> UInt8 {
        (65...90).contains(byte) ? byte + 32 : byte
    }
}
