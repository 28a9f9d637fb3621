import Foundation
import LetheApp
import LetheCore

/// The third SCIM server the tests run against: django-scim2 0.23.0 (15five's Django app, an
/// implementation independent of Lethe and of scim2-server), started by `scripts/peers`
/// from `Tests/Fixtures/django-scim2`, which exports its address. One store for the whole
/// run, so tests use names nobody else does.
public enum DjangoPeer {
    /// True when the peer's address is known, or in CI, where a missing peer must fail.
    public static var shouldRun: Bool {
        ProcessInfo.processInfo.environment["LETHE_TEST_DJANGO_URL"] != nil || SCIM2ServerPeer.isCI
    }

    /// The running peer as a tenant to read and write raw; throws with instructions when it is not running.
    public static func running() throws -> SCIMTenant {
        let env = ProcessInfo.processInfo.environment
        guard let url = env["LETHE_TEST_DJANGO_URL"], !url.isEmpty else {
            throw FixtureError("django-scim2 is not running: run the tests with scripts/test, or `eval \"$(scripts/peers start)\"` first")
        }
        return SCIMTenant(baseURL: url, token: env["LETHE_TEST_SCIM2_TOKEN"] ?? "lethe-test-token")
    }

    /// The portal policy (`Tests/Fixtures/django-scim2/policies`) pointed at the peer.
    public static func policies(_ tenant: SCIMTenant) throws -> (PolicySet, [String: String]) {
        let environment = ["LETHE_PORTAL_URL": tenant.baseURL, "LETHE_PORTAL_TOKEN": tenant.token]
        let loaded = try PolicyDirectory.load(Repository.path("Tests/Fixtures/django-scim2/policies").path, environment: environment).get()
        return (loaded, environment)
    }
}
