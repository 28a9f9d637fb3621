import Foundation
import Hummingbird
import LetheCore

/// An RFC 9457 problem: `application/problem+json` with a title, the status, what went wrong
/// and, for a bad field, a JSON pointer (RFC 6901) to it. Never carries a request body or a
/// subject identifier.
public struct Problem: HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var title: String
    public var detail: String
    /// `#/subject/email`: the offending field of the request body.
    public var pointer: String?
    /// Line-numbered problems in an uploaded ledger: (detail, line).
    public var errors: [(detail: String, line: Int)] = []
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ title: String, detail: String, pointer: String? = nil) {
        self.status = status
        self.title = title
        self.detail = detail
        self.pointer = pointer
    }

    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "type": .string("about:blank"),
            "title": .string(title),
            "status": .number(Double(status.code)),
            "detail": .string(detail),
        ]
        if let pointer {
            fields["pointer"] = .string(pointer)
            fields["errors"] = .array([.object(["detail": .string(detail), "pointer": .string(pointer)])])
        } else if !errors.isEmpty {
            fields["errors"] = .array(errors.map { .object(["detail": .string($0.detail), "line": .number(Double($0.line))]) })
        }
        return .object(fields)
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = self.headers
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: CanonicalJSON.bytes(json))))
    }

    static func badRequest(_ detail: String, pointer: String? = nil) -> Problem {
        Problem(.badRequest, "Bad request", detail: detail, pointer: pointer)
    }

    static func unprocessable(_ detail: String, pointer: String? = nil) -> Problem {
        Problem(.unprocessableContent, "The request cannot be carried out", detail: detail, pointer: pointer)
    }

    static func notFound(_ detail: String) -> Problem { Problem(.notFound, "Not found", detail: detail) }

    static var unauthorized: Problem {
        var problem = Problem(.unauthorized, "Unauthorized",
                              detail: "send a valid API token as `Authorization: Bearer TOKEN` (`lethe token create` makes one)")
        problem.headers[.wwwAuthenticate] = "Bearer realm=\"lethe\""
        return problem
    }

    static func forbidden(_ role: String, needs: String) -> Problem {
        Problem(.forbidden, "Forbidden", detail: "a token with role \(role) cannot do this; it needs \(needs)")
    }
}
