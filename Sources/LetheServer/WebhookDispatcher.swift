import Crypto
import LetheApp
import Foundation
import LetheCore
import LetheHTTP
import LetheStorage
import Logging
import ServiceLifecycle

/// Tells each `--webhook URL` when a request completes, fails, needs review or becomes
/// overdue: a JSON event, signed with HMAC-SHA256 under `LETHE_WEBHOOK_SECRET`, retried with
/// backoff, delivered at least once (the audit log is the outbox; a URL's cursor moves only
/// after a 2xx, so a restart resends what was in flight). Receivers deduplicate by the event's
/// `id`. Payloads carry ids, pseudonyms and references, never an identifier.
public final class WebhookDispatcher: Service, Sendable {
    public struct Settings: Sendable {
        public var urls: [String]
        public var secret: Data
        /// How often the log and the overdue requests are looked at.
        public var interval: Duration = .milliseconds(250)
        /// No other dispatcher can be running on this store (one process owns it: the SQLite
        /// store under the run lock), so the job is taken at start even while a holder that died
        /// (`kill -9`) still has time on its lease.
        public var exclusive = false

        public init(urls: [String], secret: Data) {
            self.urls = urls
            self.secret = secret
        }
    }

    let database: any WebhookOutbox & JobLeases
    /// This dispatcher, as the holder of the deployment's `webhooks` job: replicas of `lethe serve`
    /// on one database deliver each event once between them.
    let holder = "webhooks-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
    /// How long the job is this dispatcher's without renewal (renewed before every URL's round).
    static let jobLease: TimeInterval = 60
    let settings: Settings
    let transport: any HTTPTransport
    let now: @Sendable () -> Date
    let logger: Logger

    public init(database: any WebhookOutbox & JobLeases, settings: Settings, transport: any HTTPTransport, now: @escaping @Sendable () -> Date = { Date() },
                logger: Logger = Logger(label: "lethe.webhooks")) {
        self.database = database
        self.settings = settings
        self.transport = transport
        self.now = now
        self.logger = logger
    }

    /// The shortest `LETHE_WEBHOOK_SECRET` accepted: 32 bytes, a SHA-256 block's worth of key
    /// (`openssl rand -hex 32` makes one).
    public static let minimumSecretBytes = 32

    /// How far a receiver should let `Lethe-Webhook-Timestamp` stray from its own clock before
    /// it refuses a delivery as replayed (README, "Webhooks").
    public static let timestampTolerance: TimeInterval = 300

    /// The signature header a receiver checks: `sha256=` and the hex HMAC-SHA256 of
    /// `TIMESTAMP.BODY`, where TIMESTAMP is the `Lethe-Webhook-Timestamp` header (seconds since
    /// 1970). Signing the time with the body means a captured delivery cannot be replayed later
    /// by whoever saw it: the receiver refuses a timestamp outside its tolerance, and deduplicates
    /// by `Lethe-Webhook-Id` inside it.
    public static func signature(_ body: Data, timestamp: Int, secret: Data) -> String {
        WebhookSignature.sign(body, timestamp: timestamp, secret: secret)
    }

    /// A webhook URL as logs show it: scheme, host and port only. Receivers often put a secret in
    /// the path or the query, and secrets never appear in logs.
    public static func redacted(_ url: String) -> String { WebhookSignature.redacted(url) }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var first = true
            while !Task.isCancelled {
                for url in self.settings.urls {
                    do {
                        // Another replica delivers while it holds the job; this one waits its turn.
                        let asOf = first && self.settings.exclusive ? Date.distantFuture : self.now()
                        guard try self.database.acquireJob("webhooks", holder: self.holder, until: self.now().addingTimeInterval(Self.jobLease),
                                                           now: asOf) else { break }
                        first = false
                        try await self.deliver(to: url)
                    } catch {
                        self.logger.warning("webhook \(Self.redacted(url)): \(type(of: error))")
                    }
                }
                try? await Task.sleep(for: self.settings.interval)
            }
        }
        // Stopping cleanly hands the job over at once instead of after the lease.
        try? database.releaseJob("webhooks", holder: holder)
    }

    /// Delivers what is due to one URL: log events in order, then overdue requests.
    func deliver(to url: String) async throws {
        let cursor = try database.webhookCursor(url: url)
        guard now() >= cursor.nextAttemptAt else { return }
        var last = cursor.lastSeq
        while !Task.isCancelled, let (event, request) = try database.nextWebhookEvent(after: last) {
            let type = switch event.event {
            case AuditEventKind.requestCompleted.rawValue: "request.completed"
            case AuditEventKind.requestFailed.rawValue: "request.failed"
            // A manual target's task was handed to a person, or is past its due time.
            case AuditEventKind.taskCreated.rawValue: "task.created"
            case AuditEventKind.taskOverdue.rawValue: "task.overdue"
            default: "request.needs_review"
            }
            guard try await send(url: url, id: "evt-\(event.seq)", type: type, at: event.at, request: request, target: event.target,
                                 attempts: cursor.attempts) else { return }
            try database.webhookDelivered(url: url, seq: event.seq)
            last = event.seq
        }
        let today = CalendarDate(secondsSince1970: now().timeIntervalSince1970)
        for request in try database.overdueNotNotified(url: url, today: today, limit: 100) where !Task.isCancelled {
            guard try await send(url: url, id: "overdue-\(request.id)", type: "request.overdue", at: Timestamp.iso8601(now()), request: request,
                                 attempts: cursor.attempts) else { return }
            try database.overdueNotified(url: url, requestId: request.id)
        }
    }

    /// One delivery; false (and the retry scheduled) when it did not get a 2xx.
    /// `target`: the task's target, for a task event.
    func send(url: String, id: String, type: String, at: String, request: StoredRequest, target: String? = nil, attempts: Int) async throws -> Bool {
        var fields: [String: JSONValue] = [
            "id": .string(id), "type": .string(type), "at": .string(at),
            "request": .object([
                "id": .string(request.id), "ref": request.ref.map(JSONValue.string) ?? .null, "kind": .string(request.kind),
                "state": .string(request.state.rawValue), "subject": .string(request.pseudonym), "due": .string(request.due.description),
            ]),
        ]
        if let target { fields["target"] = .string(target) }
        let payload: JSONValue = .object(fields)
        let body = CanonicalJSON.encode(payload)
        let timestamp = Int(now().timeIntervalSince1970)
        let headers = [HTTPHeader("Content-Type", "application/json"), HTTPHeader("Lethe-Webhook-Id", id),
                       HTTPHeader("Lethe-Webhook-Timestamp", String(timestamp)),
                       HTTPHeader("Lethe-Webhook-Signature", Self.signature(body, timestamp: timestamp, secret: settings.secret))]
        var problem: String
        do {
            let response = try await transport.send(HTTPRequest(method: .post, url: url, headers: headers, body: body, timeout: .seconds(10)))
            if (200..<300).contains(response.status) { return true }
            problem = "HTTP \(response.status)"
        } catch {
            problem = "no answer (\(error))"
        }
        // 1 s, 2 s, 4 s … at most 5 minutes.
        let delay = min(300, pow(2, Double(min(attempts, 9))))
        try database.webhookFailed(url: url, error: problem, retryAt: now().addingTimeInterval(delay))
        logger.warning("webhook \(Self.redacted(url)): \(id) not delivered (\(problem)); again in \(Int(delay)) s")
        return false
    }
}
