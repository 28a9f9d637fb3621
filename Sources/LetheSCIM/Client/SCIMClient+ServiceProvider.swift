import Foundation
import LetheCore

/// What a target says it supports (`/ServiceProviderConfig`, RFC 7643 §5).
public struct ServiceProviderCapabilities: Sendable, Hashable, Codable {
    public var patch: Bool
    public var filter: Bool
    public var etag: Bool
    public var filterMaxResults: Int?
}

extension SCIMClient {
    /// Reads `/ServiceProviderConfig`.
    public func serviceProviderConfig() async throws(SCIMClientError) -> ServiceProviderCapabilities {
        let operation = "GET /ServiceProviderConfig"
        let response = try await send(.get, "/ServiceProviderConfig", operation: operation)
        guard response.status == 200 else { throw failure(response, operation) }
        guard let json = JSONValue.parse(response.body), case .object = json else {
            throw SCIMClientError(kind: .protocolViolation, target: target, operation: operation, status: 200,
                                  detail: "the answer is not JSON")
        }
        return ServiceProviderCapabilities(
            patch: json["patch"]?["supported"]?.boolValue ?? false,
            filter: json["filter"]?["supported"]?.boolValue ?? false,
            etag: json["etag"]?["supported"]?.boolValue ?? false,
            filterMaxResults: json["filter"]?["maxResults"]?.intValue)
    }
}
