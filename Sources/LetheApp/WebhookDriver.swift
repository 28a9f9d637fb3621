import Crypto
import Foundation
import LetheCore
import LetheDrivers
import LetheHTTP
import LetheStorage

/// HMAC-SHA256 over `SECONDS.BODY`, as `sha256=HEX`: how Lethe signs what it sends (its own
/// webhooks, a webhook target's jobs) and how a webhook target signs its callbacks.
public enum WebhookSignature {
    public static func sign(_ body: Data, timestamp: Int, secret: Data) -> String {
        var signed = Data("\(timestamp).".utf8)
        signed.append(body)
        return "sha256=" + Hex.encode(HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: secret)))
    }

    /// A webhook URL as logs and checks show it: scheme, host and port only. Receivers often put
    /// a secret in the path or the query, and secrets never appear in logs.
    public static func redacted(_ url: String) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme, let host = components.host else { return "(a webhook URL)" }
        return "\(scheme)://\(host)" + (components.port.map { ":\($0)" } ?? "") + "/…"
    }

    /// Whether `signature` is this body's at `timestamp`, compared in constant time, and the
    /// timestamp within `tolerance` seconds of `now` (a replayed old callback is refused).
    public static func isValid(_ signature: String, body: Data, timestamp: String, secret: Data, now: Date, tolerance: Double = 300) -> Bool {
        guard let seconds = Int(timestamp), abs(now.timeIntervalSince1970 - Double(seconds)) <= tolerance else { return false }
        let expected = Array(sign(body, timestamp: seconds, secret: secret).utf8), given = Array(signature.utf8)
        guard expected.count == given.count else { return false }
        return zip(expected, given).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// A webhook target's driver (`kind: webhook`): POSTs the system a signed job naming the action,
/// the operation, the attributes and the identifiers it needs to find the subject. The system
/// answers at once (2xx with its result: outcome, and how it checked) or with 202 and calls back
/// later (`POST /api/v1/callbacks/{action}`, signed with the same secret). Either way the outcome
/// is the system's word ("confirmed by the system"), never "verified".
public struct WebhookDriver: TargetDriver {
    let endpoint: WebhookEndpoint
    let secret: Data
    let transport: any HTTPTransport
    let timeout: TimeSpan
    /// Where callbacks go (`LETHE_PUBLIC_URL` + `/api/v1/callbacks/{action}`), when known.
    let publicURL: String?
    let now: @Sendable () -> Date

    public func perform(_ claimed: ClaimedAction, policy: TargetPolicy, journal: ActionJournal) async -> ExecutionResult {
        let body = CanonicalJSON.encode(Self.job(claimed, policy: policy, publicURL: publicURL))
        let timestamp = Int(now().timeIntervalSince1970)
        let headers = [HTTPHeader("Content-Type", "application/json"), HTTPHeader("Lethe-Webhook-Id", "job-\(claimed.action.id)-\(claimed.attempt)"),
                       HTTPHeader("Lethe-Webhook-Timestamp", String(timestamp)),
                       HTTPHeader("Lethe-Webhook-Signature", WebhookSignature.sign(body, timestamp: timestamp, secret: secret))]
        let response: HTTPResponse
        do {
            response = try await transport.send(HTTPRequest(method: .post, url: endpoint.url, headers: headers, body: body, timeout: timeout))
        } catch {
            if Task.isCancelled { return ExecutionResult(result: .interrupted("interrupted: Lethe stopped before \(policy.target) answered")) }
            return ExecutionResult(result: .transientFailure("no answer from \(policy.target): \(error)", retryAfter: nil))
        }
        let clean = Scrubber(values: claimed.identifiers.map(Self.values) ?? [])
        switch response.status {
        case 202:
            return ExecutionResult(result: .handedOver(within: endpoint.within.seconds), statusCode: 202)
        case 200..<300:
            return ExecutionResult(result: Self.answer(response.body, action: claimed.action.id, target: policy.target, clean: clean),
                                   statusCode: response.status)
        case 429, 500..<600:
            return ExecutionResult(result: .transientFailure("\(policy.target) answered HTTP \(response.status)",
                                                             retryAfter: response.header("Retry-After").flatMap(Double.init)),
                                   statusCode: response.status)
        default:
            return ExecutionResult(result: .permanentFailure("\(policy.target) refused the job: HTTP \(response.status)"), statusCode: response.status)
        }
    }

    /// The job: what to do, to whom, and where to answer.
    static func job(_ claimed: ClaimedAction, policy: TargetPolicy, publicURL: String?, test: Bool = false) -> JSONValue {
        var subject: [String: JSONValue] = [:]
        for attribute in policy.match {
            guard let value = claimed.identifiers?.value(for: attribute) else { continue }
            subject[attribute.rawValue] = .string(value)
        }
        let action = claimed.action
        var fields: [String: JSONValue] = [
            "action": .number(Double(action.id)), "attempt": .number(Double(claimed.attempt)), "request": .string(claimed.requestId),
            "target": .string(policy.target), "operation": .string(action.plan.operation.rawValue),
            "attributes": .array(action.plan.attributes.map { .string($0.path.description) }),
            "groups": .array(action.plan.groups.map(JSONValue.string)),
            "subject": .object(subject), "pseudonym": .string(claimed.pseudonym),
            "answer": .string("200 with {\"outcome\": erased|anonymized|not_found|cannot_comply, \"checked\": how you checked, \"note\": ...}, "
                + "or 202 and then POST the same to the callback, signed like this job"),
        ]
        if let publicURL { fields["callback"] = .string(publicURL.trimmingSuffix("/") + "/api/v1/callbacks/\(action.id)") }
        if test { fields["test"] = .bool(true) }
        return .object(fields)
    }

    /// A system's answer (the body of a 2xx, or of a callback): its outcome and how it checked.
    /// Its texts are the system's words: scrubbed of the subject's identifiers, and refused when
    /// they still look personal, since they are kept in the audit log.
    public static func answer(_ body: Data, action: Int64, target: String, clean: Scrubber) -> ActionStateMachine.AttemptResult {
        guard let document = JSONValue.parse(body), case .object = document else {
            return .permanentFailure("\(target) answered without a JSON result (an outcome, or 202 to call back)")
        }
        if let named = document["action"]?.intValue, Int64(named) != action {
            return .needsReview("\(target) answered about another action (\(Int64(named))), not \(action)")
        }
        guard let text = document["outcome"]?.stringValue, let outcome = TaskOutcome(rawValue: text) else {
            return .permanentFailure("\(target) answered without a valid outcome (erased, anonymized, not_found, cannot_comply)")
        }
        let said = [document["checked"]?.stringValue.map { "checked: \($0)" }, document["note"]?.stringValue]
            .compactMap { $0 }.map { clean.scrub($0) }.joined(separator: "; ")
        let note = said.isEmpty ? nil : String(said.prefix(500))
        if let note, Scrubber.looksPersonal(note) {
            return .needsReview("\(target) answered \(outcome.rawValue), but its note looks like personal data; nothing of it is kept")
        }
        return .confirmed(outcome, by: target, note: note)
    }

    public static func values(_ identifiers: SubjectIdentifiers) -> [String] {
        [identifiers.email, identifiers.externalId, identifiers.userName].compactMap { $0 }
    }
}

extension String {
    func trimmingSuffix(_ suffix: String) -> String { hasSuffix(suffix) ? String(dropLast(suffix.count)) : self }
}
