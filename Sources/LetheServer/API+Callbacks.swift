import Foundation
import Hummingbird
import LetheApp
import LetheCore
import LetheStorage
import Logging
import NIOCore

/// `POST /api/v1/callbacks/{action}`: a webhook target's answer to a job it accepted with 202.
extension API {
    /// Accepted once, for the action it names, signed with the target's secret within five
    /// minutes; anything else (a bad or old signature, another action's callback, a second or
    /// late one after the action ended) is refused and recorded as `callback_refused` with the
    /// reason, never with its body.
    func callback(_ request: Request, context: APIContext) async throws -> Response {
        let text = try context.parameters.require("action")
        guard let id = Int64(text), let (stored, action) = try database.task(actionId: id),
              let endpoint = runtime.policies[action.target]?.webhook else {
            throw Problem.notFound("no webhook target's action \(text)")
        }
        let body = Data(buffer: try await request.body.collect(upTo: context.maxUploadSize))
        let now = runtime.configuration.clock.now()
        func refuse(_ status: HTTPResponse.Status, _ reason: String) throws -> Never {
            try database.recordRefusedCallback(actionId: id, reason: reason, now: now)
            Logger(label: "lethe.callbacks").warning("callback refused", metadata: ["action": "\(id)", "target": "\(action.target)", "reason": "\(reason)"])
            throw Problem(status, "Callback refused", detail: reason)
        }
        guard let secret = runtime.configuration.environment[endpoint.secretEnv], !secret.isEmpty else {
            try refuse(.serviceUnavailable, "\(endpoint.secretEnv) is not set here: the callback cannot be checked")
        }
        func header(_ name: String) -> String? { request.headers.first { $0.name.canonicalName == name }?.value }
        guard let signature = header("lethe-webhook-signature"), let timestamp = header("lethe-webhook-timestamp"),
              WebhookSignature.isValid(signature, body: body, timestamp: timestamp, secret: Data(secret.utf8), now: now) else {
            try refuse(.unauthorized, "the signature is missing, wrong, or more than 5 minutes old")
        }
        guard let named = JSONValue.parse(body)?["action"]?.intValue, Int64(named) == id else {
            try refuse(.conflict, "the callback does not name this action in its body (\"action\": \(id))")
        }
        guard action.state == .awaitingConfirmation else {
            try refuse(.conflict, "the action is \(action.state.rawValue): it was answered already or has ended")
        }
        let clean = Scrubber(values: stored.identifiers.map(WebhookDriver.values) ?? [])
        switch WebhookDriver.answer(body, action: id, target: action.target, clean: clean) {
        case .confirmed(let outcome, let by, let note):
            let state: RequestState
            do {
                state = try database.confirmTask(stored.id, target: action.target, outcome: outcome, by: Principal(name: by, identities: ["system:" + by]),
                                                 note: note, evidence: .system, now: now)
            } catch let error as StoreError {
                try refuse(.conflict, "\(error)")
            }
            return Response.json(.object(["recorded": .bool(true), "outcome": .string(outcome.rawValue), "request_state": .string(state.rawValue)]))
        case .needsReview(let why), .permanentFailure(let why):
            try refuse(.badRequest, why)
        default:
            try refuse(.badRequest, "the callback carries no outcome")
        }
    }
}
