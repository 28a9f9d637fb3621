import Foundation
import Hummingbird
import LetheApp
import LetheCore
import LetheReports
import LetheStorage
import NIOCore

/// `/api/v1/reports`, certificates and `/api/v1/keys`: what auditors take away and check.
extension API {
    func registerReports(on api: RouterGroup<APIContext>) {
        api.post("reports") { request, context in try await exportReport(request, context: context) }
        api.get("reports") { _, context in
            _ = try context.require(.auditor)
            return Response.json(.object(["files": .array(try reportFiles().map(JSONValue.string))]))
        }
        api.get("reports/{file}") { _, context in try await reportFile(context.parameters.require("file"), context: context) }
        api.get("requests/{id}/certificate") { _, context in try await certificate(context.parameters.require("id"), context: context) }
        api.get("keys") { _, context in
            _ = try context.require(.auditor)
            let state = try stateDirectory()
            let current = try state.signer().publicKey
            let archived = ((try? FileManager.default.contentsOfDirectory(atPath: state.publicKeysDirectory)) ?? [])
                .filter { $0.hasSuffix(".pem") }.map { String($0.dropLast(4)) }.filter { $0 != current.keyId }.sorted()
            return Response.json(.object([
                "current": .object(["key_id": .string(current.keyId), "pem": .string(current.pem)]),
                "earlier": .array(try archived.compactMap { id in
                    try state.publicKey(id: id).map { .object(["key_id": .string($0.keyId), "pem": .string($0.pem)]) }
                }),
            ]))
        }
    }

    func stateDirectory() throws -> StateDirectory {
        guard let state = server.storage.state else { throw Problem(.serviceUnavailable, "No state directory", detail: "this server keeps no reports") }
        return state
    }

    /// Where reports exported through the API are kept: `STATE/reports`.
    func reportsDirectory() throws -> String { try stateDirectory().file("reports") }

    /// A file name a report export writes; nothing else is served (no path, no traversal).
    static func isReportFile(_ name: String) -> Bool {
        name.range(of: #"^lethe-(report|certificate)-[A-Za-z0-9-]+(-requests-[0-9]{4}\.html|\.json|\.json\.sig|\.csv|\.html)$"#,
                   options: .regularExpression) != nil
    }

    func reportFiles() throws -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: try reportsDirectory())) ?? []).filter(Self.isReportFile).sorted()
    }

    /// `POST /api/v1/reports` with `{"from": "YYYY-MM-DD", "to": "YYYY-MM-DD"}`: exports a signed
    /// period report into the state directory's `reports/`.
    func exportReport(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.require(.auditor)
        let body = try await JSONBody.object(request, context: context)
        for key in body.keys.sorted() where key != "from" && key != "to" {
            throw Problem.badRequest("unknown field '\(key)'; a report has from and to", pointer: "#/\(key)")
        }
        func date(_ name: String) throws -> CalendarDate {
            guard let text = try JSONBody.string(body, name, required: true), let date = CalendarDate(iso: text) else {
                throw Problem.badRequest("\(name) is a date, YYYY-MM-DD", pointer: "#/\(name)")
            }
            return date
        }
        let from = try date("from"), to = try date("to")
        guard from <= to else { throw Problem.unprocessable("the period starts \(from), after it ends \(to)", pointer: "#/to") }
        let written: WrittenReport
        do {
            written = try runtime.reports().exportPeriod(from: from, to: to, into: try reportsDirectory(), now: runtime.configuration.clock.now())
        } catch let error as ReportError {
            throw Problem(.conflict, "Cannot export", detail: "\(error)")
        }
        let files = ([written.json, written.signature, written.csv, written.html].compactMap { $0 } + written.htmlPages)
            .map { ($0 as NSString).lastPathComponent }
        var response = Response.json(.object(["requests": .number(Double(written.requests)), "files": .array(files.map(JSONValue.string))]),
                                     status: .created)
        response.headers[.location] = "/api/v1/reports/\(files[0])"
        return response
    }

    /// `GET /api/v1/reports/{file}`: a file an export wrote, streamed.
    func reportFile(_ name: String, context: APIContext) async throws -> Response {
        _ = try context.require(.auditor)
        let path = (try reportsDirectory() as NSString).appendingPathComponent(name)
        guard Self.isReportFile(name), FileManager.default.fileExists(atPath: path) else {
            throw Problem.notFound("no report file '\(name)'; GET /api/v1/reports lists them")
        }
        let type = name.hasSuffix(".json") ? "application/json" : name.hasSuffix(".sig") ? "application/octet-stream"
            : name.hasSuffix(".csv") ? "text/csv; charset=utf-8" : "text/html; charset=utf-8"
        return Response(status: .ok, headers: [.contentType: type], body: try await FileIO().loadFile(path: path, context: context))
    }

    /// `GET /api/v1/requests/{id}/certificate`: exports the request's signed erasure
    /// certificate and answers its JSON (the signed bytes); the signature is in the
    /// `Lethe-Signature` header (base64) and in the `.sig` file next to it.
    func certificate(_ idOrRef: String, context: APIContext) async throws -> Response {
        // Officers send the certificate to the subject; auditors check it.
        _ = try context.require(.officer, .auditor)
        let stored = try find(idOrRef)
        let written: WrittenReport
        do {
            written = try runtime.reports().exportCertificate(stored, into: try reportsDirectory(), now: runtime.configuration.clock.now())
        } catch let error as ReportError {
            throw Problem(.conflict, "Cannot export", detail: "\(error)")
        }
        let json = try Data(contentsOf: URL(fileURLWithPath: written.json))
        let signature = try Data(contentsOf: URL(fileURLWithPath: written.signature))
        var headers: HTTPFields = [.contentType: "application/json"]
        headers[.init("Lethe-Signature")!] = signature.base64EncodedString()
        headers[.location] = "/api/v1/reports/\((written.json as NSString).lastPathComponent)"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: json)))
    }
}
