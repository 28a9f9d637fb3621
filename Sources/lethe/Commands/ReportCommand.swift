import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheReports
import LetheStorage

/// `lethe report ...`
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Signed audit reports and erasure certificates a regulator can verify without Lethe.",
        subcommands: [ReportExportCommand.self, ReportCertificateCommand.self, ReportVerifyCommand.self]
    )
}

/// `lethe report export`
struct ReportExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export a signed period report (JSON + .sig, with CSV and HTML renderings).",
        discussion: """
            Writes lethe-report-FROM-TO.json (canonical JSON: sorted keys, no insignificant \
            whitespace), lethe-report-FROM-TO.json.sig (the raw 64-byte Ed25519 signature over \
            the JSON's exact bytes), and .csv and .html renderings for people. Requests are \
            selected by the day they were received. No e-mail, name or other identifier of a \
            subject is written: pseudonyms and ticket references only.

            Verify with `lethe report verify FILE`, or without Lethe:
              lethe keys public > lethe.pub.pem
              openssl pkeyutl -verify -pubin -inkey lethe.pub.pem -rawin -in FILE.json -sigfile FILE.json.sig
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("First day received, YYYY-MM-DD (default: the earliest request).", valueName: "date"))
    var from: String?

    @Option(help: ArgumentHelp("Last day received, YYYY-MM-DD (default: today, UTC).", valueName: "date"))
    var to: String?

    @Option(help: ArgumentHelp("Directory to write into.", valueName: "dir"))
    var out = "reports"

    func validate() throws {
        for (name, value) in [("--from", from), ("--to", to)] {
            if let value, CalendarDate(iso: value) == nil { throw ValidationError("\(name) '\(value)' is not a date; write YYYY-MM-DD") }
        }
        if let start = from.flatMap(CalendarDate.init(iso:)), let end = to.flatMap(CalendarDate.init(iso:)), start > end {
            throw ValidationError("--from \(start) is after --to \(end)")
        }
    }

    func run() async throws {
        // The policies name each target's recipient in the report; a report is exported without them too.
        let policies = try? PolicyDirectory.load(global.policyDirectory).get()
        let context = try AppContext.open(global, needsPolicies: false) { if let policies { $0.policies = policies } }
        let end = to.flatMap(CalendarDate.init(iso:)) ?? context.today
        let start = try from.flatMap(CalendarDate.init(iso:)) ?? context.runtime.reading().earliestReceived() ?? end
        do {
            let written = try context.runtime.reports().exportPeriod(from: start, to: end, into: out)
            Output.line("report over \(written.requests) request\(written.requests == 1 ? "" : "s") received \(start) to \(end):")
            for path in [written.json, written.signature, written.csv, written.html].compactMap({ $0 }) { Output.line("  \(path)") }
            if let first = written.htmlPages.first, let last = written.htmlPages.last {
                Output.line("  \(written.htmlPages.count) HTML pages of requests, linked from the HTML: \((first as NSString).lastPathComponent) to \((last as NSString).lastPathComponent)")
            }
        } catch {
            throw ExitStatus.report(error)
        }
    }
}

/// `lethe report certificate`
struct ReportCertificateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificate",
        abstract: "Export the signed erasure certificate of one request (JSON + .sig + HTML).",
        discussion: """
            What was done in which system (every recipient the data was shared with, GDPR \
            Art. 19), when, verified how, what was kept, under which basis and until when. \
            This is what a data subject or a regulator asks for.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The request id or reference.")
    var id: String

    @Option(help: ArgumentHelp("Directory to write into.", valueName: "dir"))
    var out = "reports"

    func run() async throws {
        let policies = try? PolicyDirectory.load(global.policyDirectory).get()
        let context = try AppContext.open(global, needsPolicies: false) { if let policies { $0.policies = policies } }
        let request = try context.request(id)
        do {
            let written = try context.runtime.reports().exportCertificate(request, into: out)
            Output.line("certificate for \(request.id) (\(request.state.rawValue)):")
            for path in [written.json, written.signature, written.html] { Output.line("  \(path)") }
        } catch {
            throw ExitStatus.report(error)
        }
    }
}

/// `lethe report verify`
struct ReportVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a report's signature, canonical form, and every row against the audit log. Exit 0 valid, 1 invalid.",
        discussion: """
            The signature is read from FILE.sig. The key is --public-key, or the key the report \
            names from the state directory (current or kept from before a rotation).

            Next to a state directory, the report must be signed with one of its keys; the audit \
            chain range and head hash must match the log; and each request row must match, per \
            target, the audit event it cites (the event exists, has the cited hash, and agrees \
            with the row's state, outcome and attempts).

            With --public-key and no state directory, only the signature and the canonical form \
            are checked, and the output says so.
            """
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The report or certificate JSON file.")
    var file: String

    @Option(name: .customLong("public-key"), help: ArgumentHelp("PEM public key to verify with.", valueName: "pem"))
    var publicKey: String?

    func run() async throws {
        // Mapped, not read: a report over a long period can be hundreds of megabytes.
        guard let json = try? Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped) else {
            Output.error("lethe report verify: cannot read \(file)")
            throw ExitStatus.usage
        }
        let signature = FileManager.default.contents(atPath: file + ".sig")
        let state = global.state
        // A state directory that is there but cannot be used (not private, database lost) is an
        // error, never silently "no state directory": the rows would go unchecked.
        let database = state.isInitialized ? try state.openDatabase() : nil
        let named = ReportVerifier.namedKeyId(json) ?? ""
        let key: ReportPublicKey
        do {
            if let publicKey {
                guard let pem = try? String(contentsOfFile: publicKey, encoding: .utf8) else {
                    Output.error("lethe report verify: cannot read \(publicKey)")
                    throw ExitStatus.usage
                }
                key = try ReportPublicKey(pem: pem)
            } else if state.isInitialized {
                guard let found = try state.publicKey(id: named) else {
                    Output.line("INVALID: the report names signing key \(named.isEmpty ? "(none)" : named), which is not one of the keys of \(state.path); "
                        + "it was not signed by this Lethe")
                    throw ExitStatus.failure
                }
                key = found
            } else {
                Output.error("lethe report verify: no state directory at \(state.path); pass --public-key lethe.pub.pem")
                throw ExitStatus.usage
            }
            // Next to a state directory, a report is this Lethe's only if one of its keys signed it:
            // a valid signature by any other key says nothing about this log.
            if database != nil, publicKey != nil, try state.publicKey(id: key.keyId) == nil {
                Output.line("INVALID: the report is signed with key \(key.keyId), which is not one of the keys of \(state.path); it was not signed by this Lethe")
                throw ExitStatus.failure
            }
        } catch let error as ReportError {
            Output.error("lethe report verify: \(error)")
            throw ExitStatus.usage
        }
        let result = try ReportVerifier.verify(json: json, signature: signature, publicKey: key, database: database)
        if let problem = result.problem {
            Output.line("INVALID: \(problem)")
            throw ExitStatus.failure
        }
        Output.line("valid: " + result.passed.joined(separator: "; "))
        if database == nil {
            Output.line("checked the signature and canonical form only: with no state directory here, the audit log and the rows were not checked")
        }
    }
}
