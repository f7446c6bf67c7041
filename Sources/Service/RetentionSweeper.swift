import Foundation
import Logging
import Storage

/// Deletes archived messages past their room's retention, in the background:
/// batches of a few hundred rows with a pause between them, so that message
/// archiving (which shares the database) is never held up for long.
struct RetentionSweeper {
    let store: SQLiteRoomStore
    let defaultDays: Int
    /// Days a destroyed room's archive stays exportable by admins; 0 = forever.
    let keepDestroyedDays: Int
    let interval: Duration
    let logger: Logger
    static let batchSize = 500

    /// Sweeps now and then every `interval`, until cancelled.
    func run() async {
        while !Task.isCancelled {
            await sweep()
            do {
                try await Task.sleep(for: interval)
            } catch {
                return
            }
        }
    }

    func sweep() async {
        do {
            let now = Date().timeIntervalSince1970
            var total = 0
            for (room, days) in try await store.retentionPlan(defaultDays: defaultDays) {
                let cutoff = now - Double(days) * 86_400
                while !Task.isCancelled {
                    let deleted = try await store.expire(room, before: cutoff, limit: Self.batchSize)
                    total += deleted
                    guard deleted == Self.batchSize else { break }
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            if keepDestroyedDays > 0 {
                for key in try await store.endedBefore(now - Double(keepDestroyedDays) * 86_400) {
                    while !Task.isCancelled {
                        let deleted = try await store.purgeEnded(key, limit: Self.batchSize)
                        total += deleted
                        guard deleted == Self.batchSize else { break }
                        try? await Task.sleep(for: .milliseconds(5))
                    }
                    logger.info("retention: the archive of the destroyed room \(key) is gone")
                }
            }
            if total > 0 { logger.info("retention: \(total) archived messages expired") }
        } catch {
            logger.error("retention sweep failed: \(error)")
        }
    }
}
