import ArgumentParser
import RecKitCLI

/// The executable's entry point: RecKitCommand's configuration, run through ArgumentParser's
/// async entry point so that `reckit serve` (an async command) runs.
@main
struct ReckitMain: AsyncParsableCommand {
    static let configuration = RecKitCommand.configuration
}
