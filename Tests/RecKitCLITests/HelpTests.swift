import ArgumentParser
import Testing

@testable import RecKitCLI

/// `--help` of every command at 80 columns reads as wrapped paragraphs: no line breaks early.
struct HelpTests {
    /// `reckit` and every subcommand under it, depth first, with their names.
    static func commands(
        _ command: ParsableCommand.Type = RecKitCommand.self, path: [String] = []
    ) -> [(name: String, type: ParsableCommand.Type)] {
        let name = (["reckit"] + path).joined(separator: " ")
        return [(name, command)]
            + command.configuration.subcommands.flatMap { sub in
                commands(sub, path: path + [sub._commandName])
            }
    }

    /// The lines of `help` that end a line of a paragraph early: the next line continues the
    /// same paragraph (the discussion at column 0, or an option's or subcommand's help at column
    /// 26), and its first word would have fitted on this line. ArgumentParser wraps greedily, so
    /// such a line comes from a line break written into the text.
    static func raggedLines(_ help: String, columns: Int = 80) -> [String] {
        let lines = help.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        func indent(_ line: String) -> Int { line.prefix { $0 == " " }.count }
        // An option's or subcommand's line whose help text starts at column 26.
        func startsHelp(_ line: String) -> Bool {
            let characters = Array(line)
            return indent(line) == 2 && characters.count > 26 && characters[24] == " " && characters[25] == " "
                && characters[26] != " "
        }
        func continues(_ line: String, _ next: String) -> Bool {
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty, let first = next.split(separator: " ").first
            else { return false }
            if indent(line) == 0 && indent(next) == 0 {
                // A list item or a section title starts a line of its own.
                let numbered = first.count > 1 && first.hasSuffix(".") && first.dropLast().allSatisfy(\.isNumber)
                let item = next.hasPrefix("- ") || next.hasPrefix("* ") || numbered
                return !item && !line.hasSuffix(":") && !next.hasSuffix(":")
            }
            return indent(next) == 26 && (indent(line) == 26 || startsHelp(line))
        }
        return zip(lines, lines.dropFirst()).compactMap { line, next in
            guard continues(line, next), let first = next.split(separator: " ").first else { return nil }
            return line.count + 1 + first.count < columns ? "\(line)⏎\(next)" : nil
        }
    }

    @Test func everyCommandsHelpWrapsAsParagraphsAt80Columns() {
        let commands = Self.commands()
        #expect(commands.count > 20)
        #expect(commands.contains { $0.name == "reckit data fetch" })
        for (name, command) in commands {
            let help = RecKitCommand.helpMessage(for: command, columns: 80)
            #expect(
                Self.raggedLines(help).isEmpty, "\(name) --help:\n\(Self.raggedLines(help).joined(separator: "\n"))")
        }
    }

    /// The check itself finds a paragraph written with a line break, and passes one without.
    @Test func aLineBreakInsideAParagraphIsFound() {
        let broken = "OVERVIEW: A tool.\n\nData sets are named or given as a\npath: a folder of files.\n"
        #expect(Self.raggedLines(broken) == ["Data sets are named or given as a⏎path: a folder of files."])
        #expect(Self.raggedLines("OVERVIEW: A tool.\n\nData sets are named or given as a path: a folder.\n").isEmpty)
        let label = "  --holdout <holdout>     "
        let option = label + "Newest fraction of the events\n" + String(repeating: " ", count: 26) + "held out by time."
        #expect(Self.raggedLines(option).count == 1)
    }
}
