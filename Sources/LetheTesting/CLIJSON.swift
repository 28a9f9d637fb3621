import Foundation

/// What `lethe ... --json` prints, for tests to decode into types instead of `[String: Any]`.
/// Only the fields tests read; a field the CLI stops printing fails the decoding.
public enum CLIJSON {
    /// `lethe run --json`.
    public struct Run: Decodable, Sendable {
        public var requests: Int
        public var byState: [String: Int]
        public var attempts: Int
        public var rescued: Int
        public var interrupted: Int
        public var timedOut: Bool
        public var stopped: Bool
        public var awaitingApproval: Int
        public var startingLater: Int

        enum CodingKeys: String, CodingKey {
            case requests, attempts, rescued, interrupted, stopped
            case byState = "by_state"
            case timedOut = "timed_out"
            case awaitingApproval = "awaiting_approval"
            case startingLater = "starting_later"
        }
    }

    /// `lethe audit verify --json`.
    public struct Chain: Decodable, Sendable {
        public var intact: Bool
        public var events: Int
        public var headHash: String
        public var problem: String?

        enum CodingKeys: String, CodingKey {
            case intact, events, problem
            case headHash = "head_hash"
        }
    }

    /// `lethe policy check --json`.
    public struct PolicyCheck: Decodable, Sendable {
        public var valid: Bool
        public var targets: [Target]
        public var diagnostics: [Diagnostic]

        public struct Target: Decodable, Sendable {
            public var target: String
            public var erasure: String
        }

        public struct Diagnostic: Decodable, Sendable {
            public var file: String
            public var line: Int
            public var column: Int
            public var severity: String
            public var message: String
        }
    }

    /// One action of `lethe plan --json`.
    public struct PlannedAction: Decodable, Sendable {
        public var target: String
        public var operation: String
        public var match: String?
        public var attributes: [String]
        public var groups: [String]
        public var retained: [Retained]
        public var reason: String

        public struct Retained: Decodable, Sendable {
            public var purpose: String
            public var basis: String
            public var attributes: [String]
            public var until: String
        }
    }

    /// `lethe sweep --json`.
    public struct Sweep: Decodable, Sendable {
        public var dryRun: Bool
        public var rows: Int
        public var subjects: Int
        public var revocationsFiled: Int
        public var purposesFiled: Int
        public var alreadyFiled: Int
        public var ignoredPurposes: [String: Int]
        public var regrants: Int
        public var invalidRows: Int
        public var skippedLines: [Int]
        public var requestIds: [String]

        enum CodingKeys: String, CodingKey {
            case rows, subjects, regrants
            case dryRun = "dry_run"
            case revocationsFiled = "revocations_filed"
            case purposesFiled = "purposes_filed"
            case alreadyFiled = "already_filed"
            case ignoredPurposes = "ignored_purposes"
            case invalidRows = "invalid_rows"
            case skippedLines = "skipped_lines"
            case requestIds = "request_ids"
        }
    }

    /// One target of `lethe target check --json`.
    public struct TargetCheck: Decodable, Sendable {
        public var target: String
        public var reachable: Bool
        public var usable: Bool
        public var problems: [String]
    }

    /// `lethe target find --json`.
    public struct Find: Decodable, Sendable {
        public var target: String
        public var attribute: String
        public var matches: Int
        public var ids: [String]
        public var ambiguous: Bool
        public var match: String?
    }
}

extension CommandRunner.Result {
    /// Standard output decoded as `T`.
    public func decode<T: Decodable>(_ type: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(stdout.utf8))
    }
}
