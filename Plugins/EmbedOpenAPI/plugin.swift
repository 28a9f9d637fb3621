import Foundation
import PackagePlugin

/// Makes `docs/openapi.yaml` part of LetheServer at build time: the one file is the document
/// readers open and the one the server serves, with no copy to keep equal by hand. Rebuilt
/// whenever the file changes.
@main
struct EmbedOpenAPI: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let input = context.package.directoryURL.appending(path: "docs").appending(path: "openapi.yaml")
        let output = context.pluginWorkDirectoryURL.appending(path: "OpenAPIDocument.swift")
        return [.buildCommand(displayName: "Embedding docs/openapi.yaml", executable: try context.tool(named: "embed-text").url,
                              arguments: [input.path(), output.path(), "OpenAPIDocument", "yaml"],
                              inputFiles: [input], outputFiles: [output])]
    }
}
