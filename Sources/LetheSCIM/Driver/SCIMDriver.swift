import Foundation
import LetheCore
import LetheDrivers
import LetheStorage

/// The driver of a SCIM 2.0 target (`kind: scim`, the default): each attempt is an
/// `ActionExecutor` over the target's client.
public struct SCIMDriver: TargetDriver {
    public let client: SCIMClient
    let pseudonymizer: Pseudonymizer
    let randomToken: @Sendable () -> String

    public init(client: SCIMClient, pseudonymizer: Pseudonymizer, randomToken: @escaping @Sendable () -> String = ActionExecutor.randomToken) {
        self.client = client
        self.pseudonymizer = pseudonymizer
        self.randomToken = randomToken
    }

    public func perform(_ claimed: ClaimedAction, policy: TargetPolicy, journal: ActionJournal) async -> ExecutionResult {
        await ActionExecutor(client: client, pseudonymizer: pseudonymizer, randomToken: randomToken, journal: journal)
            .execute(claimed, policy: policy)
    }
}
