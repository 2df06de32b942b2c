import Foundation
import Testing

/// The `zmesh` binary's help and shell completion, as a user's terminal gets them.
@Suite("zmesh help and completion")
struct HelpTextTests {
    static let subcommands = ["node", "call", "status", "ls", "describe", "bench", "load", "keygen", "nodes", "serve", "ping"]

    /// swift-argument-parser wraps text to the terminal's width but keeps the line breaks the
    /// text has: a discussion written with hard breaks stays broken where the source was. On a
    /// wide terminal each paragraph of prose must therefore be one line.
    @Test(arguments: [""] + subcommands)
    func discussionParagraphsWrapAtTheTerminalNotTheSource(subcommand: String) async throws {
        let zmesh = try Repository.zmeshBinary()
        let arguments = subcommand.isEmpty ? ["--help"] : ["help", subcommand]
        let wide = try await runCommand(zmesh, arguments, environment: ["COLUMNS": "1000"])
        #expect(wide.status == 0, "\(wide.stderr)")
        let overview = Self.overview(wide.stdout)
        #expect(!overview.isEmpty, "no OVERVIEW in: \(wide.stdout)")
        // Prose lines start at the left margin (examples are indented); two in a row are one
        // paragraph broken in the source.
        for (line, next) in zip(overview, overview.dropFirst()) where Self.isProse(line) && Self.isProse(next) {
            Issue.record("zmesh \(subcommand) --help breaks a paragraph where the source does:\n\(line)\n\(next)")
        }

        // On a narrow terminal the same text wraps to its width (a word longer than the width
        // stays whole).
        let narrow = try await runCommand(zmesh, arguments, environment: ["COLUMNS": "60"])
        for line in Self.overview(narrow.stdout) where line.count > 60 && line.trimmingCharacters(in: .whitespaces).contains(" ") {
            Issue.record("zmesh \(subcommand) --help: a line wider than 60 columns: \(line)")
        }
    }

    @Test(arguments: ["bash", "zsh", "fish"])
    func completionScriptsNameEveryCommandAndTheNewOptions(shell: String) async throws {
        let script = try await runCommand(try Repository.zmeshBinary(), ["--generate-completion-script", shell])
        #expect(script.status == 0, "\(script.stderr)")
        for word in Self.subcommands {
            #expect(script.stdout.contains(word), "the \(shell) completion script lacks \(word)")
        }
        // bash and zsh spell options --name; fish as -l 'name'.
        for option in ["watch", "interval", "file", "json", "metadata"] {
            #expect(script.stdout.contains("--\(option)") || script.stdout.contains("-l '\(option)'"),
                    "the \(shell) completion script lacks --\(option)")
        }
    }

    /// The lines of the OVERVIEW section, before USAGE, the abstract's line left out.
    static func overview(_ help: String) -> [Substring] {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false)
        guard let start = lines.firstIndex(where: { $0.hasPrefix("OVERVIEW:") }) else { return [] }
        let end = lines[start...].firstIndex(where: { $0.hasPrefix("USAGE:") }) ?? lines.endIndex
        return Array(lines[(start + 1)..<end])
    }

    static func isProse(_ line: Substring) -> Bool {
        guard let first = line.first else { return false }
        return first != " "
    }
}
