import Foundation
import LetheCore
import LetheStorage

/// Builds the signed record: canonical JSON with no personal data (pseudonyms and ticket
/// references only). The CSV and HTML are rendered from this same value.
public struct ReportBuilder: Sendable {
    /// Bump when the JSON shape changes.
    public static let version = 1

    public var keyId: String
    public var generatedAt: Date
    public var today: CalendarDate
    /// The audit chain at generation time.
    public var chain: ChainVerification
    /// Target name → description, for the recipients list.
    public var recipients: [String: String]

    public init(keyId: String, generatedAt: Date, chain: ChainVerification, recipients: [String: String] = [:]) {
        self.keyId = keyId
        self.generatedAt = generatedAt
        today = CalendarDate(secondsSince1970: generatedAt.timeIntervalSince1970)
        self.chain = chain
        self.recipients = recipients
    }

    /// A period report over the requests received from `from` to `to`, inclusive.
    /// - Parameter citations: per request and target, the audit event of the target's final
    ///   transition (`AuditLog.finalTargetEvents`); each target row cites it.
    /// - Parameter retentionErasures: follow-ups that ended a legal retention within the period
    ///   (whenever their request was received), with their citations keyed by request.
    public func periodReport(from: CalendarDate, to: CalendarDate, requests: [StoredRequest], actions: [String: [StoredAction]],
                             citations: [String: [String: AuditEvent]] = [:], changes: [String: [AuditEvent]] = [:],
                             retentionErasures: [StoredAction] = [],
                             retentionCitations: [String: [String: AuditEvent]] = [:]) -> JSONValue {
        let rows = requests.map { requestRow($0, actions: actions[$0.id] ?? [], citations: citations[$0.id] ?? [:], changes: changes[$0.id] ?? []) }
        var members = periodHeader(from: from, to: to)
        members["requests"] = .array(rows)
        members.merge(periodTrailer(retentionErasures: retentionErasures, retentionCitations: retentionCitations, summary: summary(requests))) { a, _ in a }
        return .object(members)
    }

    /// The members of a period report other than its requests and what follows from them.
    /// `periodHeader`, the rows, and `periodTrailer` together are `periodReport`: a report
    /// streamed from them is byte for byte the same canonical JSON.
    public func periodHeader(from: CalendarDate, to: CalendarDate) -> [String: JSONValue] {
        var members = header(type: "period_report")
        members["period"] = .object(["from": .string(from.description), "to": .string(to.description)])
        return members
    }

    /// The members of a period report that can only be written once its requests are counted.
    public func periodTrailer(retentionErasures: [StoredAction], retentionCitations: [String: [String: AuditEvent]], summary: JSONValue) -> [String: JSONValue] {
        [
            "retention_erasures": .array(retentionErasures.map { followUp in
                var row = followUpRow(followUp, citing: retentionCitations[followUp.requestId]?[followUpKey(followUp)])
                if case .object(var fields) = row {
                    fields["request"] = .string(followUp.requestId)
                    fields["target"] = .string(followUp.target)
                    row = .object(fields)
                }
                return row
            }),
            "summary": summary,
        ]
    }

    func followUpKey(_ action: StoredAction) -> String {
        action.notBefore.map { "\(action.target)@\($0)" } ?? action.target
    }

    /// How a completed request's outcomes are known, per recipient: a certificate never calls
    /// a person's or a system's word "verified".
    static func completedStatement(_ actions: [StoredAction]) -> String {
        let done = actions.filter { $0.follows == nil && $0.outcome != nil && $0.outcome != .notApplicable }
        let read = done.filter { $0.knownBy == .readBack }.map(\.target)
        let people = done.filter { $0.knownBy == .person }.map { "\($0.target) (by \($0.confirmedBy ?? "?"))" }
        let systems = done.filter { $0.knownBy == .system }.map(\.target)
        guard !people.isEmpty || !systems.isEmpty else {
            return "Every connected system was processed and each outcome was confirmed by reading it back."
        }
        var statement = "Every connected system was processed."
        if !read.isEmpty { statement += " Verified by read-back: \(read.joined(separator: ", "))." }
        if !people.isEmpty { statement += " Confirmed by a person, not read back: \(people.joined(separator: ", "))." }
        if !systems.isEmpty { statement += " Confirmed by the system, not read back: \(systems.joined(separator: ", "))." }
        return statement
    }

    /// The erasure certificate for one request: what was done in which system, when, verified
    /// how, what was kept and why (GDPR Art. 5(2), Art. 19).
    public func certificate(_ request: StoredRequest, actions: [StoredAction], events: [AuditEvent]) -> JSONValue {
        var finals: [String: AuditEvent] = [:]
        for event in events {
            if let target = event.target { finals[AuditChain.citationKey(target: target, details: event.details)] = event }
        }
        var row = requestRow(request, actions: actions, citations: finals, changes: events.filter { AuditChain.changeEvents.contains($0.event) })
        if case .object(var fields) = row {
            fields["recipients"] = .array(actions.filter { $0.follows == nil }.map { action in
                .object(["target": .string(action.target), "description": .string(recipients[action.target] ?? "")])
            })
            row = .object(fields)
        }
        var statement = switch request.state {
        case .completed: Self.completedStatement(actions)
        case .cancelled:
            "The request was " + CancellationNote.text(reason: request.cancelReason, actions: actions.map(\.cancellationView)) + "."
                + " The table shows what had been done before the cancellation took effect."
        case .failed, .needsReview: "Not every connected system could be processed; see the outcome per system."
        case .received, .inProgress: "The request is still being processed; this certificate shows its state so far."
        case .awaitingApproval:
            "The request waits for a second person to approve it; no connected system has been touched."
        case .rejected:
            "The request was rejected by \(request.approval?.by ?? "an officer") before any connected system was touched: "
                + "\(request.approval?.note ?? "no reason recorded")."
        }
        if request.state != .rejected, let approval = request.approval, approval.state == .approved, let by = approval.by {
            statement += " It was approved by \(by)" + (request.requestedBy.map { ", not the person who filed it (\($0))" } ?? "") + "."
        }
        switch request.standing(today: today) {
        case .completedOnTime: statement += " It was completed by its due date, \(request.due)."
        case .completedLate: statement += " It was completed after its due date, \(request.due)."
        case .unresolvedOverdue, .openOverdue: statement += " It is OVERDUE: it was due on \(request.due)."
        case .unresolved, .open: statement += " It is due on \(request.due)."
        case .cancelled, .rejected: break
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

    /// True only for a request *completed* by its due date; false for one completed late or
    /// failed, needs_review or open past its due date; nil while it may still be on time, and
    /// for a cancelled request.
    func onTime(_ request: StoredRequest) -> Bool? {
        switch request.standing(today: today) {
        case .completedOnTime: true
        case .completedLate, .unresolvedOverdue, .openOverdue: false
        case .unresolved, .open, .cancelled, .rejected: nil
        }
    }

    /// - Parameter changes: the request's retried, cancelled and extended events
    ///   (`AuditChain.changeEvents`), so the report says who changed it and when.
    public func requestRow(_ request: StoredRequest, actions: [StoredAction], citations: [String: AuditEvent] = [:],
                           changes: [AuditEvent] = []) -> JSONValue {
        var fields: [String: JSONValue] = [
            "filed_by": request.requestedBy.map(JSONValue.string) ?? .null,
            "changes": .array(changes.map { event in
                let details = JSONValue.parse(Data(event.details.utf8))
                return .object(["at": .string(event.at), "event": .string(event.event), "target": event.target.map(JSONValue.string) ?? .null,
                                "by": details?["by"] ?? .null, "seq": .number(Double(event.seq))])
            }),
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
            "overdue": .bool(request.standing(today: today).isOverdue),
            "deadline": .string(request.standing(today: today).rawValue),
            "state": .string(request.state.rawValue),
            "cancel_reason": request.cancelReason.map(JSONValue.string) ?? .null,
            "approval": request.approval.map { approval in
                .object([
                    "state": .string(approval.state.rawValue),
                    "by": approval.by.map(JSONValue.string) ?? .null,
                    "at": approval.at.map { .string(Timestamp.iso8601($0)) } ?? .null,
                    "note": approval.state == .approved ? approval.note.map(JSONValue.string) ?? .null : .null,
                ])
            } ?? .null,
            "rejection_reason": request.state == .rejected ? request.approval?.note.map(JSONValue.string) ?? .null : .null,
        ]
        let followUps = Dictionary(grouping: actions.filter { $0.follows != nil }, by: { $0.follows ?? 0 })
        fields["targets"] = .array(actions.filter { $0.follows == nil }.map { action in
            targetRow(action, citing: citations[action.target], followUps: followUps[action.id] ?? [], citations: citations)
        })
        return .object(fields)
    }

    /// One target of a request row; `citing` is the audit event of its final transition, whose
    /// sequence number and hash the row carries, so a verifier can check the row against the log.
    func targetRow(_ action: StoredAction, citing event: AuditEvent? = nil, followUps: [StoredAction] = [],
                   citations: [String: AuditEvent] = [:]) -> JSONValue {
        .object(Self.outcomeFields(action, citing: event).merging([
            "retention_end": .array(followUps.map { followUpRow($0, citing: citations[followUpKey($0)]) }),
            "retention_statement": Self.retentionStatement(action, followUps: followUps).map(JSONValue.string) ?? .null,
            "target": .string(action.target),
            "operation": .string(action.plan.operation.rawValue),
            "attributes": .array(action.plan.attributes.map { .object(["path": .string($0.path.description), "strategy": .string($0.strategy.rawValue)]) }),
            "groups": .array(action.plan.groups.map(JSONValue.string)),
            "retained": .array(action.plan.retained.map { kept in
                .object([
                    "purpose": .string(kept.purpose), "basis": .string(kept.basis.rawValue),
                    "attributes": .array((kept.attributes.map(\.description) + kept.groups).map(JSONValue.string)),
                    "until": .string(kept.until.description),
                    "ended_before_filing": .bool(kept.ended == true),
                ])
            }),
            "pseudonymised": .array(action.plan.pseudonymised.map { .string($0.description) }),
        ]) { a, _ in a })
    }

    /// What every row of an action carries: its state, outcome, verification, attempts, and the
    /// audit event it cites.
    static func outcomeFields(_ action: StoredAction, citing event: AuditEvent?) -> [String: JSONValue] {
        [
            "state": .string(action.state.rawValue),
            "outcome": action.outcome.map { .string($0.rawValue) } ?? .null,
            "verified": action.verified.map(JSONValue.bool) ?? .null,
            "verification": action.verification.map(JSONValue.string) ?? .null,
            // How the outcome is known (read_back, system, person): only read_back is "verified".
            "evidence": action.knownBy.map { .string($0.rawValue) } ?? .null,
            "confirmed_by": action.confirmedBy.map(JSONValue.string) ?? .null,
            "reason": action.state == .succeeded ? .null : action.lastError.map(JSONValue.string) ?? .null,
            "attempts": .number(Double(action.attempts)),
            "completed_at": action.completedAt.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "audit": event.map { .object(["seq": .number(Double($0.seq)), "hash": .string($0.hash)]) } ?? .null,
        ]
    }

    /// A follow-up that ends a legal retention: when it is due, and what it did.
    func followUpRow(_ action: StoredAction, citing event: AuditEvent?) -> JSONValue {
        .object(Self.outcomeFields(action, citing: event).merging([
            "due": action.notBefore.map { .string($0.description) } ?? .null,
            "attributes": .array(action.plan.attributes.map { .string($0.path.description) } + action.plan.groups.map(JSONValue.string)),
        ]) { a, _ in a })
    }

    /// What happened to data kept under a legal obligation, in words: "addresses kept under
    /// legal_obligation (invoicing) until D; erased on E, verified", or when its erasure is
    /// scheduled, or that the retention had ended before the request was carried out.
    public static func retentionStatement(_ action: StoredAction, followUps: [StoredAction]) -> String? {
        guard !action.plan.retained.isEmpty, action.outcome != .absent else { return nil }
        return action.plan.retained.map { kept in
            let what = "\((kept.attributes.map(\.description) + kept.groups).joined(separator: ", ")) kept under \(kept.basis.rawValue) (\(kept.purpose)) until \(kept.until)"
            if kept.ended == true { return what + ", which had passed when the request was carried out; erased with the rest" }
            guard let followUp = followUps.first(where: { $0.notBefore == kept.erasureDue }) else {
                return action.state == .succeeded ? what + "; its erasure was not scheduled" : what
            }
            switch followUp.state {
            case .succeeded:
                let day = followUp.completedAt.map { CalendarDate(secondsSince1970: $0.timeIntervalSince1970).description } ?? "?"
                return what + "; erased on \(day)" + (followUp.verified == true ? ", verified" : "")
            case .failed, .needsReview:
                return what + "; its erasure on \(kept.erasureDue) did NOT complete: \(followUp.lastError ?? followUp.state.rawValue)"
            case .cancelled:
                return what + "; its erasure was cancelled"
            case .scheduled, .held, .pending, .running, .retrying, .awaitingConfirmation:
                return what + "; retained data scheduled for erasure on \(kept.erasureDue)"
            }
        }.joined(separator: "; ")
    }

    /// Counts against the deadline. Only a request completed by its due date is on time; the
    /// on-time ratio is completed on time over every request that reached an outcome
    /// (completed, failed or needs_review), so a failed request always counts against it.
    func summary(_ requests: [StoredRequest]) -> JSONValue {
        var counter = SummaryCounter(today: today)
        for request in requests { counter.add(request) }
        return counter.json
    }

    /// The summary of a period report, counted one request at a time so a report can be
    /// written while its requests are read.
    public struct SummaryCounter: Sendable {
        let today: CalendarDate
        /// Requests counted so far.
        public private(set) var requests = 0
        var byKind: [String: Int] = [:], byState: [String: Int] = [:]
        var standings: [DeadlineStanding: Int] = [:]
        var overdue: [String] = []
        var cancelReasons: [String: Int] = [:]
        var rejectionReasons: [String: Int] = [:]
        var approvals: [Approval.State: Int] = [:]

        public init(today: CalendarDate) { self.today = today }

        /// Requests that need someone's attention: completed late, failed or needing review, or
        /// open past their due date (`ReportRendering.needsAttention`).
        public var attention: Int {
            [DeadlineStanding.completedLate, .unresolved, .unresolvedOverdue, .openOverdue].reduce(0) { $0 + standings[$1, default: 0] }
        }

        public mutating func add(_ request: StoredRequest) {
            requests += 1
            byKind[request.kind, default: 0] += 1
            byState[request.state.rawValue, default: 0] += 1
            let standing = request.standing(today: today)
            standings[standing, default: 0] += 1
            if standing.isOverdue { overdue.append(request.id) }
            if standing == .cancelled { cancelReasons[request.cancelReason ?? "no reason given", default: 0] += 1 }
            if standing == .rejected { rejectionReasons[request.approval?.note ?? "no reason given", default: 0] += 1 }
            if let approval = request.approval {
                // Awaiting counts requests still waiting now (one cancelled while waiting is counted as cancelled).
                if approval.state != .awaiting || request.state == .awaitingApproval { approvals[approval.state, default: 0] += 1 }
            }
        }

        public var json: JSONValue {
            func count(_ wanted: DeadlineStanding...) -> Int { wanted.reduce(0) { $0 + standings[$1, default: 0] } }
            let onTime = count(.completedOnTime)
            let decided = count(.completedOnTime, .completedLate, .unresolved, .unresolvedOverdue)
            let ratio: JSONValue = decided == 0 ? .null : .number((Double(onTime) / Double(decided) * 10_000).rounded() / 10_000)
            return .object([
                "requests": .number(Double(requests)),
                "by_kind": .object(byKind.mapValues { .number(Double($0)) }),
                "by_state": .object(byState.mapValues { .number(Double($0)) }),
                "completed_on_time": .number(Double(onTime)),
                "completed_late": .number(Double(count(.completedLate))),
                "unresolved": .number(Double(count(.unresolved, .unresolvedOverdue))),
                "unresolved_overdue": .number(Double(count(.unresolvedOverdue))),
                "open": .number(Double(count(.open, .openOverdue))),
                "open_overdue": .number(Double(count(.openOverdue))),
                "cancelled": .number(Double(count(.cancelled))),
                "cancel_reasons": .object(cancelReasons.mapValues { .number(Double($0)) }),
                "approved": .number(Double(approvals[.approved, default: 0])),
                "rejected": .number(Double(count(.rejected))),
                "rejection_reasons": .object(rejectionReasons.mapValues { .number(Double($0)) }),
                "awaiting_approval": .number(Double(approvals[.awaiting, default: 0])),
                "on_time_ratio": ratio,
                "on_time_ratio_basis": .string("completed on time / (completed + failed + needs_review)"),
                "overdue": .number(Double(overdue.count)),
                "overdue_requests": .array(overdue.map(JSONValue.string)),
            ])
        }
    }
}
