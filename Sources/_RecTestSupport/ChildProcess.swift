import Foundation

/// A process a test starts, with a deadline and a kill: it runs in a process group of its own
/// (Foundation's `Process` makes the child a group leader), so ``stop(grace:)`` reaches the
/// children it starts too (Chromium's zygote, renderers and GPU process); a watchdog stops it when
/// `lifetime` passes, whatever the test is doing then. Its output goes to files, never to a pipe:
/// a pipe that nobody reads while the test waits fills up and blocks the child, and one that a
/// grandchild inherits (Chromium's crash handler, a daemon) never reaches its end.
public final class ChildProcess: @unchecked Sendable {
    public let process: Process
    /// What the process wrote to standard output and standard error.
    public let output: URL, errors: URL
    public let command: String
    private let leadsGroup: Bool

    /// Starts `executable` with `arguments`; `output` and `errors` (new files in a temporary
    /// folder when nil) receive its standard output and error. After `lifetime` seconds it is
    /// stopped.
    public init(
        _ executable: URL, _ arguments: [String], output: URL? = nil, errors: URL? = nil,
        environment: [String: String]? = nil, lifetime: Double
    ) throws {
        let folder = temporaryDirectory("child")
        self.output = output ?? folder.appendingPathComponent("stdout")
        self.errors = errors ?? folder.appendingPathComponent("stderr")
        command = ([executable.lastPathComponent] + arguments).joined(separator: " ")
        process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try Self.create(self.output)
        process.standardError = self.errors == self.output ? process.standardOutput : try Self.create(self.errors)
        try process.run()
        let pid = process.processIdentifier
        leadsGroup = getpgid(pid) == pid
        // Holds the child until then, so that a caller may keep only `process`.
        DispatchQueue.global().asyncAfter(deadline: .now() + lifetime) { [self] in
            if process.isRunning { stop() }
        }
    }

    private static func create(_ url: URL) throws -> FileHandle {
        _ = FileManager.default.createFile(atPath: url.path, contents: nil)
        return try FileHandle(forWritingTo: url)
    }

    public var isRunning: Bool { process.isRunning }
    public var pid: Int32 { process.processIdentifier }

    /// Sends `number` to the process's group (to the process alone if it leads none).
    public func signal(_ number: Int32) {
        let pid = process.processIdentifier
        _ = kill(leadsGroup ? -pid : pid, number)
    }

    /// Whether it exited within `seconds`, polled without blocking a thread of the
    /// concurrency pool (an in-process server a child talks to needs those threads).
    public func wait(seconds: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        return !process.isRunning
    }

    /// Whether it exited within `seconds`, blocking the calling thread.
    public func waitBlocking(seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        return !process.isRunning
    }

    /// SIGTERM to the group, then SIGKILL after `grace` seconds if the process still runs; with
    /// `leftovers`, SIGKILL to what is left of its group in any case (children it left behind).
    /// Without it a process that exited by itself is left alone with its group: a script that
    /// starts a daemon (`scripts/postgres.sh`) must not lose it.
    public func stop(grace: Double = 2, leftovers: Bool = false) {
        if process.isRunning {
            signal(SIGTERM)
            if !waitBlocking(seconds: grace) { signal(SIGKILL) }
            _ = waitBlocking(seconds: grace)
        }
        guard leftovers else { return }
        signal(SIGKILL)
        // The group's members die a moment after the signal; wait for that, within `grace`.
        let deadline = Date().addingTimeInterval(grace)
        while leadsGroup && !Self.livingMembers(ofGroup: pid).isEmpty && Date() < deadline { usleep(20_000) }
    }

    /// What it wrote to standard output.
    public func outputText() -> String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// The last `count` lines of its standard error, for a failure's message.
    public func errorTail(_ count: Int = 20) -> String {
        let text = (try? String(contentsOf: errors, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(count).joined(separator: "\n")
    }

    /// The process did not exit within its deadline and was killed.
    public struct DeadlinePassed: Error, CustomStringConvertible {
        public var command: String
        /// Its process id, which is also its process group's.
        public var pid: Int32
        public var seconds: Double
        public var errorTail: String
        public var description: String {
            "`\(command)` did not exit within \(seconds) s and was killed; the end of its standard error:\n\(errorTail)"
        }
    }

    /// The process exited with a status other than 0.
    public struct Failed: Error, CustomStringConvertible {
        public var command: String
        public var status: Int32
        public var errorTail: String
        public var description: String { "`\(command)` exited with status \(status):\n\(errorTail)" }
    }

    /// Runs `executable` to its end within `seconds` and returns its standard output; kills its
    /// group and throws ``DeadlinePassed`` when the deadline passes, ``Failed`` on a non-zero
    /// status. `leftovers`: see ``stop(grace:leftovers:)``.
    public static func run(
        _ executable: URL, _ arguments: [String], seconds: Double, environment: [String: String]? = nil,
        leftovers: Bool = false
    ) throws -> String {
        let child = try ChildProcess(executable, arguments, environment: environment, lifetime: seconds + 10)
        let exited = child.waitBlocking(seconds: seconds)
        child.stop(leftovers: leftovers)
        try child.check(exited: exited, seconds: seconds)
        return child.outputText()
    }

    /// ``run(_:_:seconds:environment:leftovers:)`` for async callers: waits without blocking a thread.
    public static func run(
        _ executable: URL, _ arguments: [String], seconds: Double, environment: [String: String]? = nil,
        leftovers: Bool = false
    ) async throws -> String {
        let child = try ChildProcess(executable, arguments, environment: environment, lifetime: seconds + 10)
        let exited = await child.wait(seconds: seconds)
        child.stop(leftovers: leftovers)
        try child.check(exited: exited, seconds: seconds)
        return child.outputText()
    }

    func check(exited: Bool, seconds: Double) throws {
        guard exited else { throw DeadlinePassed(command: command, pid: pid, seconds: seconds, errorTail: errorTail()) }
        guard process.terminationStatus == 0 else {
            throw Failed(command: command, status: process.terminationStatus, errorTail: errorTail())
        }
    }
}

extension ChildProcess {
    /// The processes of group `group` that still run (zombies, which wait for a parent to reap
    /// them, do not count), read from `/proc`; empty where there is no `/proc`.
    public static func livingMembers(ofGroup group: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> Int32? in
            guard let pid = Int32(entry),
                let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
                let end = stat.lastIndex(of: ")")
            else { return nil }
            // After the command's closing parenthesis: state, parent, group, …
            let fields = stat[stat.index(after: end)...].split(separator: " ")
            guard fields.count > 2, fields[0] != "Z", fields[0] != "X", Int32(fields[2]) == group else { return nil }
            return pid
        }
    }
}
