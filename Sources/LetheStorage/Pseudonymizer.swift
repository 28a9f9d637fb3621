import Crypto
import Foundation
import LetheCore

/// Turns a subject's identifier into the pseudonym that logs, audit events and reports carry:
/// a keyed HMAC-SHA256, so nobody without the state directory's key can link it back.
public struct Pseudonymizer: Sendable {
    /// HMAC-SHA256 with the key already absorbed; each token copies it (the hash state is a
    /// value) instead of keying a new one.
    private let keyed: HMAC<SHA256>

    public init(key: Data) { keyed = HMAC<SHA256>(key: SymmetricKey(data: key)) }

    /// `psn_` and 32 hex digits (128 bits) of HMAC-SHA256 over the primary identifier, typed
    /// and normalised (e-mails lowercased), so the same person always gets the same pseudonym.
    public func pseudonym(for subject: SubjectIdentifiers) -> String? {
        if let email = subject.value(for: .email) { return token("email:" + email.lowercased()) }
        return inputs(subject).first.map(token)
    }

    /// True when any of the identifiers gives this pseudonym (used to check re-supplied identifiers).
    public func matches(_ subject: SubjectIdentifiers, _ pseudonym: String) -> Bool {
        candidates(subject).contains(pseudonym)
    }

    private func candidates(_ subject: SubjectIdentifiers) -> [String] {
        inputs(subject).map(token)
    }

    /// The typed, normalised identifiers, primary first.
    private func inputs(_ subject: SubjectIdentifiers) -> [String] {
        var inputs: [String] = []
        if let email = subject.value(for: .email) { inputs.append("email:" + email.lowercased()) }
        if let externalId = subject.value(for: .externalId) { inputs.append("externalId:" + externalId) }
        if let userName = subject.value(for: .userName) { inputs.append("userName:" + userName.lowercased()) }
        return inputs
    }

    /// A keyed hash of any text, for the `pseudonym` anonymization strategy.
    public func token(_ text: String) -> String {
        var hmac = keyed
        var text = text
        text.withUTF8 { hmac.update(data: UnsafeRawBufferPointer($0)) }
        let mac = hmac.finalize()
        return "psn_" + Hex.encode(mac.prefix(16))
    }
}
