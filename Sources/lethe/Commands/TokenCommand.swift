import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheStorage

/// `lethe token ...`
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "API tokens for `lethe serve`: create, list, revoke.",
        discussion: """
            Roles: officer (file, retry, cancel, extend, plan, sweeps, read), auditor (read, \
            reports, certificates, audit verify), admin (everything, tokens included). Only a \
            token's SHA-256 is stored; the token is shown once, when it is created.
            """,
        subcommands: [TokenCreateCommand.self, TokenListCommand.self, TokenRevokeCommand.self]
    )
}

extension TokenRole: ExpressibleByArgument {}

/// `lethe token create`
struct TokenCreateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create an API token and print it once.",
        discussion: """
            Examples:
              lethe token create --name "DPO desk" --role officer
              TOKEN=$(lethe token create --name reporting --role auditor)

            The token alone goes to standard output, so a script can capture it; what it is \
            for goes to standard error. It is not stored and cannot be shown again: keep it in \
            a secret store. The creation is recorded in the audit log (name, role and id only).
            """
    )

    @OptionGroup var global: GlobalOptions

    @Option(help: ArgumentHelp("A name people recognise: it is the actor in the audit log for everything done with the token.", valueName: "name"))
    var name: String

    @Option(help: ArgumentHelp("officer, auditor or admin.", valueName: "role"))
    var role: TokenRole

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let created: (token: APIToken, secret: String)
        do {
            created = try context.runtime.tokens().create(name: name, role: role)
        } catch {
            throw ExitStatus.report(error)
        }
        Output.line(created.secret)
        Output.error("token \(created.token.id) '\(created.token.name)' (\(created.token.role.rawValue)) created; it is shown only now. "
            + "Send it as `Authorization: Bearer TOKEN` to `lethe serve`.")
    }
}

/// `lethe token list`
struct TokenListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List API tokens (never their secrets).")

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print JSON.")
    var json = false

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        let tokens = try context.runtime.tokens().list()
        if json {
            try Output.json(tokens.map { TokenJSON(id: $0.id, name: $0.name, role: $0.role.rawValue, created: Timestamp.iso8601($0.createdAt),
                                                   revoked: $0.revokedAt.map(Timestamp.iso8601)) })
            return
        }
        if tokens.isEmpty { Output.line("no tokens; `lethe token create --name NAME --role ROLE` makes one") }
        for token in tokens {
            Output.line("\(token.id)  \(token.role.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0))  \(token.name)  created \(Timestamp.iso8601(token.createdAt))"
                + (token.revokedAt.map { "  REVOKED \(Timestamp.iso8601($0))" } ?? ""))
        }
    }
}

private struct TokenJSON: Encodable {
    var id: String
    var name: String
    var role: String
    var created: String
    var revoked: String?
}

/// `lethe token revoke`
struct TokenRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke an API token by id or name; it is refused (401) from then on."
    )

    @OptionGroup var global: GlobalOptions

    @Argument(help: "The token's id or name.")
    var token: String

    func run() async throws {
        let context = try AppContext.open(global, needsPolicies: false)
        do {
            let revoked = try context.runtime.tokens().revoke(token)
            Output.line("revoked \(revoked.id) '\(revoked.name)' (\(revoked.role.rawValue))")
        } catch {
            throw ExitStatus.report(error)
        }
    }
}
