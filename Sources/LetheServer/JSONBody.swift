import Foundation
import Hummingbird
import LetheCore
import NIOCore


/// Reading a JSON request body: content type, size, strict parsing, field types.
enum JSONBody {
    static func object(_ request: Request, context: APIContext) async throws -> [String: JSONValue] {
        let type = request.headers[.contentType]?.lowercased() ?? ""
        guard type.hasPrefix("application/json") else {
            throw Problem(.unsupportedMediaType, "Unsupported media type", detail: "send the body as application/json")
        }
        var request = request
        let buffer = try await request.collectBody(upTo: context.maxUploadSize)
        let value: JSONValue
        do {
            value = try JSONValue.parsing(Data(buffer.readableBytesView))
        } catch {
            throw Problem.badRequest("the body is not JSON: \(error)")
        }
        guard case .object(let fields) = value else { throw Problem.badRequest("the body must be a JSON object", pointer: "#") }
        return fields
    }

    static func string(_ fields: [String: JSONValue], _ name: String, at pointer: String? = nil, required: Bool = false) throws -> String? {
        switch fields[name] {
        case nil:
            if required { throw Problem.badRequest("\(name) is required", pointer: pointer ?? "#/\(name)") }
            return nil
        case .string(let text)?: return text
        default: throw Problem.badRequest("\(name) must be a string", pointer: pointer ?? "#/\(name)")
        }
    }

    /// `subject`: an object of `email`, `external_id`, `user_name` (at least one).
    static func subject(_ fields: [String: JSONValue], required: Bool) throws -> SubjectIdentifiers? {
        guard let value = fields["subject"] else {
            if required { throw Problem.badRequest("subject is required", pointer: "#/subject") }
            return nil
        }
        guard case .object(let subjectFields) = value else { throw Problem.badRequest("subject must be an object", pointer: "#/subject") }
        for key in subjectFields.keys.sorted() where !API.subjectFields.contains(key) {
            throw Problem.badRequest("unknown field '\(key)'; a subject has \(API.subjectFields.joined(separator: ", "))", pointer: "#/subject/\(key)")
        }
        let subject = SubjectIdentifiers(email: try string(subjectFields, "email", at: "#/subject/email"),
                                         externalId: try string(subjectFields, "external_id", at: "#/subject/external_id"),
                                         userName: try string(subjectFields, "user_name", at: "#/subject/user_name"))
        guard subject.email != nil || subject.externalId != nil || subject.userName != nil else {
            throw Problem.badRequest("the subject needs an email, external_id or user_name", pointer: "#/subject")
        }
        return subject
    }

    /// An `Encodable` as a `JSONValue`, to nest it in an answer.
    static func value<T: Encodable>(_ value: T) throws -> JSONValue {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try JSONValue.parsing(try encoder.encode(value))
    }

    static func strings(_ fields: [String: JSONValue], _ name: String) throws -> [String] {
        switch fields[name] {
        case nil: return []
        case .array(let items)?:
            return try items.enumerated().map { index, item in
                guard case .string(let text) = item else { throw Problem.badRequest("\(name) holds strings only", pointer: "#/\(name)/\(index)") }
                return text
            }
        default: throw Problem.badRequest("\(name) must be an array of strings", pointer: "#/\(name)")
        }
    }
}
