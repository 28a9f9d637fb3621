import Foundation
import LetheCore
import LetheSCIM
import LetheTesting

enum ClientFixtures {
    static func policy(baseURL: String = "https://crm.example.com/scim/v2", auth: AuthSettings = .bearer(tokenEnv: "CRM_TOKEN")) -> TargetPolicy {
        TargetPolicy(
            target: "crm", description: "", connection: Connection(baseURL: baseURL, auth: auth, timeout: .seconds(5)),
            match: [.email], shares: [Share(purpose: "account", basis: .contract, attributes: [AttributePath(name: "userName")])],
            erasure: ErasureRule(action: .delete), sourceFile: "crm.yaml")
    }

    static func client(_ transport: RecordingTransport, auth: AuthSettings = .bearer(tokenEnv: "CRM_TOKEN"),
                       environment: [String: String] = ["CRM_TOKEN": "s3cret-token"], pageSize: Int = 50,
                       now: @escaping @Sendable () -> Date = { Date(timeIntervalSince1970: 1_796_083_200) }) throws -> SCIMClient {
        try SCIMClient(policy: policy(auth: auth), environment: environment, transport: transport, now: now, pageSize: pageSize)
    }

    static func user(_ id: String, email: String = "ana@example.com", userName: String? = nil, version: Int = 1, extra: String = "") -> String {
        """
        {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"\(id)","userName":\(quote(userName ?? email)),\
        "emails":[{"value":\(quote(email)),"type":"work"}],"meta":{"version":"W/\\"\(version)\\""}\(extra)}
        """
    }

    static func quote(_ text: String) -> String { String(decoding: JSONValue.string(text).encoded(), as: UTF8.self) }

    static func error(_ status: String, _ detail: String, scimType: String? = nil) -> String {
        """
        {"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":\(status),\
        "detail":"\(detail)"\(scimType.map { ",\"scimType\":\"\($0)\"" } ?? "")}
        """
    }
}
