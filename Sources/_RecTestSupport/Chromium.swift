import Foundation

/// Headless Chromium (Debian's `chromium` package, installed by `scripts/install-deps.sh`), run
/// once per page as a ``ChildProcess``: one run writes the DOM after the page's scripts and a
/// screenshot, within a deadline after which its whole process group is killed.
public enum Chromium {
    public struct Rendered: Sendable {
        /// The DOM after the page's scripts ran.
        public var dom: String
        /// The size of the PNG screenshot written.
        public var screenshotBytes: Int
    }

    public struct Missing: Error, CustomStringConvertible {
        public var description: String { "chromium is not installed: run scripts/install-deps.sh" }
    }

    /// The browser itself before Debian's launcher script (`/usr/bin/chromium`), which adds the
    /// flags of `/etc/chromium.d` (extensions to load, GPU rasterization) to every run.
    static var executable: String? {
        [
            "/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
        ]
        .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The command line for `page`: the DOM goes to standard output, the screenshot to `screenshot`.
    /// `--no-sandbox` because the tests may run as root; a fresh profile per run, so that runs at
    /// the same time share no lock; no GPU and no `/dev/shm`, which containers lack or keep small.
    /// `waitMilliseconds` of virtual time let the page's timers and fetches finish first (virtual
    /// time waits for pending fetches, and runs ahead of the clock when nothing is pending).
    static func arguments(_ page: URL, screenshot: URL, waitMilliseconds: Int) -> [String] {
        var arguments = [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
            "--no-default-browser-check", "--disable-extensions", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--mute-audio", "--hide-scrollbars",
            "--user-data-dir=\(temporaryDirectory("chromium").path)", "--window-size=1200,2600",
        ]
        if waitMilliseconds > 0 { arguments.append("--virtual-time-budget=\(waitMilliseconds)") }
        return arguments + ["--dump-dom", "--screenshot=\(screenshot.path)", page.absoluteString]
    }

    /// Loads `page` headless, returns its DOM after scripts, and writes a screenshot of the
    /// window (1200 × 2600). Throws ``ChildProcess/DeadlinePassed`` when Chromium has not exited
    /// after `seconds` (its process group is killed then). Blocks the calling thread: from async
    /// code that serves the page in process, call the async overload.
    public static func render(_ page: URL, screenshot: URL, waitMilliseconds: Int = 0, seconds: Double = 60)
        throws -> Rendered
    {
        guard let executable else { throw Missing() }
        try? FileManager.default.removeItem(at: screenshot)
        let dom = try ChildProcess.run(
            URL(fileURLWithPath: executable),
            arguments(page, screenshot: screenshot, waitMilliseconds: waitMilliseconds),
            seconds: seconds, leftovers: true)
        return Rendered(dom: dom, screenshotBytes: size(of: screenshot))
    }

    /// ``render(_:screenshot:waitMilliseconds:seconds:)`` for async callers: waits for Chromium
    /// without holding a thread of the concurrency pool, which an in-process server needs to
    /// answer the page's fetches (on two cores the pool has two threads).
    public static func render(_ page: URL, screenshot: URL, waitMilliseconds: Int = 0, seconds: Double = 60)
        async throws -> Rendered
    {
        guard let executable else { throw Missing() }
        try? FileManager.default.removeItem(at: screenshot)
        let dom = try await ChildProcess.run(
            URL(fileURLWithPath: executable),
            arguments(page, screenshot: screenshot, waitMilliseconds: waitMilliseconds),
            seconds: seconds, leftovers: true)
        return Rendered(dom: dom, screenshotBytes: size(of: screenshot))
    }

    static func size(of file: URL) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: file.path)[.size] as? NSNumber)?.intValue ?? 0
    }
}
