import Foundation
import Hummingbird
import LetheApp
import LetheCore
import LetheReports
import LetheStorage
import NIOCore

/// `/api/v1/sweeps`: a consent ledger swept as `lethe sweep` does.
extension API {
    func registerSweeps(on api: RouterGroup<APIContext>) {
        api.post("sweeps") { request, context in try await sweep(request, context: context) }
    }

    /// `POST /api/v1/sweeps[?dry_run=true&skip_invalid=true]` with a consent ledger as the body
    /// (`text/csv` or `application/x-ndjson`): the body is streamed to a file, then swept as
    /// `lethe sweep` does. Invalid rows are 422 with their line numbers, and nothing is filed.
    func sweep(_ request: Request, context: APIContext) async throws -> Response {
        let token = try context.require(.officer)
        let type = request.headers[.contentType]?.lowercased() ?? ""
        let format: LedgerFormat
        if type.hasPrefix("text/csv") {
            format = .csv
        } else if type.hasPrefix("application/x-ndjson") || type.hasPrefix("application/jsonl") {
            format = .jsonl
        } else {
            throw Problem(.unsupportedMediaType, "Unsupported media type", detail: "send the ledger as text/csv or application/x-ndjson")
        }
        let query = request.uri.queryParameters
        for key in query.map({ String($0.key) }).sorted() where key != "dry_run" && key != "skip_invalid" {
            throw Problem.badRequest("unknown query parameter '\(key)'; known: dry_run, skip_invalid")
        }
        func flag(_ name: String) throws -> Bool {
            guard let text = query[Substring(name)].map(String.init) else { return false }
            guard let value = Bool(text) else { throw Problem.badRequest("\(name) is true or false, not '\(text)'") }
            return value
        }
        var options = ConsentSweep.Options(format: format, dryRun: try flag("dry_run"), skipInvalid: try flag("skip_invalid"),
                                           now: runtime.configuration.clock.now())
        // Shown as "consent sweep by alice"; compared as alice's token (four eyes).
        options.filer = token.actor.shown(as: "consent sweep by \(token.name)")
        // The ledger can be large: written to a private file as it arrives, never held whole.
        // In the state directory (mode 0700), not /tmp: a ledger holds e-mail addresses.
        let path = try stateDirectory().file(".ledger-\(UUID().uuidString).partial")
        guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let file = FileHandle(forWritingAtPath: path) else {
            throw Problem(.internalServerError, "Internal error", detail: "cannot store the ledger")
        }
        defer { try? FileManager.default.removeItem(atPath: path) }
        let limit = server.options.maxLedgerBytes
        let tooLarge = Problem(.contentTooLarge, "Content too large",
                               detail: "the ledger is over this server's limit of \(limit) bytes (lethe serve --max-ledger-bytes); nothing was filed. "
                                   + "Split it, or run `lethe sweep --ledger FILE` on the server")
        if let declared = request.headers[.contentLength].flatMap(Int.init), declared > limit {
            try? file.close()
            throw tooLarge
        }
        var received = 0
        do {
            for try await chunk in request.body {
                received += chunk.readableBytes
                guard received <= limit else { throw tooLarge }
                try file.write(contentsOf: Data(chunk.readableBytesView))
            }
            try file.close()
        } catch let problem as Problem {
            try? file.close()
            throw problem
        } catch {
            try? file.close()
            throw Problem.badRequest("the ledger did not arrive whole")
        }
        let sweep = try runtime.sweep()
        let summary: ConsentSweep.Summary
        do {
            summary = try await withCheckedThrowingContinuation { continuation in
                // A sweep reads the ledger twice and commits in batches: off the cooperative pool.
                Thread { [options] in continuation.resume(with: Result { try sweep.run(ledger: path, options: options) }) }.start()
            }
        } catch let failure as ConsentSweep.Failure {
            switch failure {
            case .invalid(let problems, let total, let rows):
                var problem = Problem.unprocessable("\(total) invalid row\(total == 1 ? "" : "s") of \(rows); nothing was filed")
                problem.errors = problems.map { ($0.description, $0.line) }
                throw problem
            case .empty, .unreadable:
                throw Problem.badRequest("\(failure)")
            }
        }
        var json = try JSONBody.value(summary)
        if case .object(var fields) = json {
            fields["request_ids"] = .array(summary.requestIds.prefix(1000).map(JSONValue.string))
            fields["request_ids_total"] = .number(Double(summary.requestIds.count))
            json = .object(fields)
        }
        return Response.json(json)
    }
}
