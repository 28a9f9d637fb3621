import ArgumentParser
import Foundation
import LetheApp
import LetheCore
import LetheReports
import LetheStorage

/// `lethe keys ...`
struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "The report signing key.",
        subcommands: [KeysPublicCommand.self, KeysRotateCommand.self]
    )
}

/// `lethe keys public`
struct KeysPublicCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "public",
        abstract: "Print the public key as PEM (SubjectPublicKeyInfo) for openssl and auditors.",
        discussion: "The key id that reports name is the SHA-256 of the raw 32-byte public key; `--id` prints it."
    )

    @OptionGroup var global: GlobalOptions

    @Flag(help: "Print the key id instead of the PEM.")
    var id = false

    func run() async throws {
        let state = global.state
        do {
            let key = try state.signer().publicKey
            if id { Output.line(key.keyId) } else { print(key.pem, terminator: "") }
        } catch {
            throw ExitStatus.report(error)
        }
    }
}

/// `lethe keys rotate`
struct KeysRotateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "Start signing with a new key; the old public key is kept so old reports stay verifiable.",
        discussion: """
            The old public key stays in STATE/public-keys/KEYID.pem, where `lethe report verify` \
            finds it by the key id each report names. Publish the new public key \
            (`lethe keys public`) to whoever verifies your reports.
            """
    )

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let state = global.state
        do {
            let (old, new) = try state.rotateSigningKey()
            Output.line("signing key rotated: \(old) → \(new); the old public key is kept in \(state.publicKeysDirectory)")
        } catch {
            throw ExitStatus.report(error)
        }
    }
}
