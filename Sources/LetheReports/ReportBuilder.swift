import Foundation
import LetheCore
import LetheStore

/// Builds the signed record: canonical JSON with no personal data (pseudonyms and ticket
/// references only). The CSV and HTML are rendered from this same value.
public struct ReportBuilder: Sendable {
    /// Bump when the JSON shape changes.
    public static let version = 1

    public var keyId: String
    public var generatedAt: Date
    public var today: CalendarDate
    /// The audit chain at generation time.
    public var chain: AppDatabase.ChainVerification
    /// Target name → description, for the recipients list.
    public var recipients: [String: String]

    public init(keyId: String, generatedAt: Date, chain: AppDatabase.ChainVerification, recipients: [String: String] = [:]) {
        self.keyId = keyId
        self.generatedAt = generatedAt
        today = CalendarDate(secondsSince1970: generatedAt.timeIntervalSince1970)
        self.chain = chain
        self.recipients = recipients
    }

    /// A period report over the requests received from `from` to `to`, inclusive.
    public func periodReport(from: CalendarDate, to: CalendarDate, requests: [StoredRequest], actions: [String: [StoredAction]]) -> JSONValue {
        let rows = requests.map { requestRow($0, actions: actions[$0.id] ?? []) }
        return .object(header(type: "period_report").merging([
            "period": .object(["from": .string(from.description), "to": .string(to.description)]),
            "requests": .array(rows),
            "summary": summary(requests),
        ]) { a, _ in a })
    }

    /// The erasure certificate for one request: what was done in which system, when, verified
    /// how, what was kept and why (GDPR Art. 5(2), Art. 19).
    public func certificate(_ request: StoredRequest, actions: [StoredAction], events: [AuditEvent]) -> JSONValue {
        var row = requestRow(request, actions: actions)
        if case .object(var fields) = row {
            fields["recipients"] = .array(actions.map { action in
                .object(["target": .string(action.target), "description": .string(recipients[action.target] ?? "")])
            })
            row = .object(fields)
        }
        let statement = switch request.state {
        case .completed: "Every connected system was processed and each outcome was confirmed by reading it back."
        case .cancelled: "The request was cancelled; the table shows what had been done before."
        case .failed, .needsReview: "Not every connected system could be processed; see the outcome per system."
        case .received, .inProgress: "The request is still being processed; this certificate shows its state so far."
        }
        return .object(header(type: "erasure_certificate").merging([
            "request": row,
            "statement": .string(statement),
            "events": .array(events.map { event in
                .object(["seq": .number(Double(event.seq)), "at": .string(event.at), "event": .string(event.event),
                         "target": event.target.map(JSONValue.string) ?? .null, "hash": .string(event.hash)])
            }),
        ]) { a, _ in a })
    }

    private func header(type: String) -> [String: JSONValue] {
        [
            "report_version": .number(Double(Self.version)),
            "type": .string(type),
            "generated_at": .string(Timestamp.iso8601(generatedAt)),
            "key_id": .string(keyId),
            "audit_chain": .object([
                "first_seq": chain.firstSeq.map { .number(Double($0)) } ?? .null,
                "last_seq": chain.lastSeq.map { .number(Double($0)) } ?? .null,
                "head_hash": .string(chain.headHash),
                "events": .number(Double(chain.events)),
            ]),
            "verify_with": .string("openssl pkeyutl -verify -pubin -inkey lethe.pub.pem -rawin -in REPORT.json -sigfile REPORT.json.sig"),
        ]
    }

    /// True when the request ended on or before its due date; nil while open.
    func onTime(_ request: StoredRequest) -> Bool? {
        guard request.state.isTerminal, let completed = request.completedAt else { return nil }
        return CalendarDate(secondsSince1970: completed.timeIntervalSince1970) <= request.due
    }

    func requestRow(_ request: StoredRequest, actions: [StoredAction]) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(request.id),
            "kind": .string(request.kind),
            "ref": request.ref.map(JSONValue.string) ?? .null,
            "subject": .string(request.pseudonym),
            "purposes": .array(request.purposes.map(JSONValue.string)),
            "received": .string(request.received.description),
            "due": .string(request.due.description),
            "extended_months": .number(Double(request.extendedMonths)),
            "completed_at": request.completedAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "on_time": onTime(request).map(JSONValue.bool) ?? .null,
            "overdue": .bool(!request.state.isTerminal && request.due < today),
            "state": .string(request.state.rawValue),
        ]
        fields["targets"] = .array(actions.map(targetRow))
        return .object(fields)
    }

    func targetRow(_ action: StoredAction) -> JSONValue {
        .object([
            "target": .string(action.target),
            "operation": .string(action.plan.operation.rawValue),
            "state": .string(action.state.rawValue),
            "outcome": action.outcome.map { .string($0.rawValue) } ?? .null,
            "verified": action.verified.map(JSONValue.bool) ?? .null,
            "verification": action.verification.map(JSONValue.string) ?? .null,
            "reason": action.state == .succeeded ? .null : action.lastError.map(JSONValue.string) ?? .null,
            "attempts": .number(Double(action.attempts)),
            "completed_at": action.completedAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "attributes": .array(action.plan.attributes.map { .object(["path": .string($0.path.description), "strategy": .string($0.strategy.rawValue)]) }),
            "groups": .array(action.plan.groups.map(JSONValue.string)),
            "retained": .array(action.plan.retained.map { kept in
                .object([
                    "purpose": .string(kept.purpose), "basis": .string(kept.basis.rawValue),
                    "attributes": .array((kept.attributes.map(\.description) + kept.groups).map(JSONValue.string)),
                    "until": .string(kept.until.description),
                ])
            }),
            "pseudonymised": .array(action.plan.pseudonymised.map { .string($0.description) }),
        ])
    }

    func summary(_ requests: [StoredRequest]) -> JSONValue {
        var byKind: [String: Int] = [:], byState: [String: Int] = [:]
        var closed = 0, closedOnTime = 0
        var overdue: [String] = []
        for request in requests {
            byKind[request.kind, default: 0] += 1
            byState[request.state.rawValue, default: 0] += 1
            if let onTime = onTime(request) {
                closed += 1
                if onTime { closedOnTime += 1 }
            } else if request.due < today {
                overdue.append(request.id)
            }
        }
        let ratio: JSONValue = closed == 0 ? .null : .number((Double(closedOnTime) / Double(closed) * 10_000).rounded() / 10_000)
        return .object([
            "requests": .number(Double(requests.count)),
            "by_kind": .object(byKind.mapValues { .number(Double($0)) }),
            "by_state": .object(byState.mapValues { .number(Double($0)) }),
            "closed": .number(Double(closed)),
            "closed_on_time": .number(Double(closedOnTime)),
            "on_time_ratio": ratio,
            "overdue_open": .number(Double(overdue.count)),
            "overdue_open_requests": .array(overdue.map(JSONValue.string)),
        ])
    }
}
