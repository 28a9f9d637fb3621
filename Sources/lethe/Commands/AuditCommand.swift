import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheReports
import LetheStorage

/// `lethe audit ...`
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Work with the hash-chained audit log.",
        subcommands: [AuditVerifyCommand.self, AuditCheckpointCommand.self]
    )
}

/// `lethe audit verify`
struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Walk the audit chain, recompute every hash, and check it against the signed checkpoints. Exit 0 intact, 1 broken.",
        discussion: """
            Each event's hash is SHA-256 over the previous hash and the event's canonical JSON, so \
            any edit, deletion or reordering breaks the chain from that event on. Deleting the \
            last events, or recomputing the whole chain, leaves a chain that is whole: the signed \
            checkpoints in STATE/checkpoints.jsonl (written by every run, every report export and \
            `lethe audit checkpoint`) catch that, because the log must still reach each one with \
            the same hash.

            --against REPORT.json (repeatable) checks that the log still holds, with the same \
            hashes, the range an earlier report states and every event its rows cite: a report \
            already handed to a regulator is the strongest anchor.

            Threat model: whoever holds both the signing key and the database can rewrite both \
            and sign new checkpoints; published reports and copied checkpoints are what they \
            cannot take back.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(name: .customLong("against"), help: ArgumentHelp("A report or certificate the log must still agree with.", valueName: "report.json"))
    var reports: [String] = []

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        var given: [(name: String, report: JSONValue)] = []
        for path in reports {
            guard let data = FileManager.default.contents(atPath: path), let report = JSONValue.parse(data) else {
                Output.error("lethe audit verify: cannot read \(path) as a report")
                throw ExitStatus.usage
            }
            given.append((path, report))
        }
        let result = try context.runtime.audit().verify(against: given)
        let chain = result.chain
        if json {
            try Output.json(ChainJSON(intact: result.intact, events: chain.events, headHash: chain.headHash, lastSeq: chain.lastSeq,
                                      problem: result.problem, checkpoints: result.checkpoints, reports: result.anchors))
        } else if let problem = result.problem {
            Output.line("audit chain BROKEN: \(problem)")
        } else {
            var text = "audit chain intact: \(chain.events) events, head \(chain.headHash)"
            if let latest = result.latestCheckpoint {
                text += "; \(result.checkpoints) signed checkpoint\(result.checkpoints == 1 ? "" : "s"), the latest at event \(latest.seq) (\(latest.at)) still matches"
            } else {
                text += "; no checkpoint yet (lethe audit checkpoint writes one)"
            }
            if !result.anchors.isEmpty { text += "; agrees with \(result.anchors.count) report\(result.anchors.count == 1 ? "" : "s")" }
            Output.line(text)
        }
        if !result.intact { throw ExitStatus.failure }
    }
}

/// `lethe audit checkpoint`
struct AuditCheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Sign where the audit chain reaches now and append it to STATE/checkpoints.jsonl.",
        discussion: "Copy checkpoints.jsonl somewhere the database's owner cannot write (a ticket, a mail to the DPO): a copied checkpoint is an anchor nobody can take back."
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let signed: AuditCheckpoint?
        do {
            signed = try context.runtime.audit().checkpoint()
        } catch let refusal as AuditVerification.Refusal {
            Output.line(refusal.description)
            throw ExitStatus.failure
        }
        guard let checkpoint = signed else {
            Output.line("the audit log is empty: nothing to checkpoint")
            return
        }
        Output.line("checkpoint: event \(checkpoint.seq), head \(checkpoint.headHash), signed with key \(checkpoint.keyId.prefix(16))… → \(context.state.checkpointsPath)")
    }
}

private struct ChainJSON: Encodable {
    var intact: Bool
    var events: Int
    var headHash: String
    var lastSeq: Int64?
    var problem: String?
    var checkpoints: Int
    var reports: [String]

    enum CodingKeys: String, CodingKey {
        case intact, events, problem, checkpoints, reports
        case headHash = "head_hash"
        case lastSeq = "last_seq"
    }
}
