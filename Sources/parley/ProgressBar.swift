import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A progress line on standard error for long commands (export, backup, sweep):
/// drawn only when standard error is a terminal, so piped and logged runs stay
/// quiet; redrawn at most ten times a second.
final class ProgressBar: @unchecked Sendable {
    private let label: String
    private let total: Int?
    private let unit: String
    private let enabled: Bool
    private let started = Date()
    private var done = 0
    private var lastDrawn = Date.distantPast
    private var finished = false
    private let lock = NSLock()

    /// Whether a progress line would be seen: standard error is a terminal, and (for
    /// commands that print their data) standard output is not the same terminal.
    static func wanted(dataOnStandardOutput: Bool) -> Bool {
        isatty(STDERR_FILENO) == 1 && !(dataOnStandardOutput && isatty(STDOUT_FILENO) == 1)
    }

    init(_ label: String, total: Int?, unit: String, enabled: Bool) {
        self.label = label
        self.total = total
        self.unit = unit
        self.enabled = enabled
    }

    func advance(by count: Int = 1) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        done += count
        let now = Date()
        guard now.timeIntervalSince(lastDrawn) >= 0.1 else { return }
        lastDrawn = now
        draw(now: now)
    }

    /// Redraws without progress (a spinner's tick for a step whose size is unknown).
    func tick() {
        advance(by: 0)
    }

    /// The last line, then a newline so the prompt or the next line starts clean. Once.
    func finish(_ note: String? = nil) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        guard !finished else { return }
        finished = true
        draw(now: Date(), note: note)
        FileHandle.standardError.write(Data("\n".utf8))
    }

    private func draw(now: Date, note: String? = nil) {
        let seconds = String(format: "%.1f s", now.timeIntervalSince(started))
        var line = "\r\(label) "
        if let total, total > 0 {
            let fraction = min(1, Double(done) / Double(total))
            let width = 30
            let filled = Int(fraction * Double(width))
            line += "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: width - filled) + "] "
            line += "\(Int(fraction * 100))% \(done)/\(total) \(unit)  \(seconds)"
        } else if total == nil && done > 0 {
            line += "\(done) \(unit)  \(seconds)"
        } else {
            line += "\(seconds)"
        }
        if let note { line += "  \(note)" }
        // Clears what a longer previous line left behind.
        FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
    }
}
