import Foundation
import Logging
import Storage

/// Deletes archived messages past their room's retention, in the background:
/// batches of a few hundred rows with a pause between them, so that message
/// archiving (which shares the database) is never held up for long.
public struct RetentionSweeper: Sendable {
    let store: SQLiteRoomStore
    let defaultDays: Int
    /// Days a destroyed room's archive stays exportable by admins; 0 = forever.
    let keepDestroyedDays: Int
    let interval: Duration
    let logger: Logger
    static let batchSize = 500

    public init(
        store: SQLiteRoomStore, defaultDays: Int, keepDestroyedDays: Int, interval: Duration = .seconds(3600),
        logger: Logger
    ) {
        self.store = store
        self.defaultDays = defaultDays
        self.keepDestroyedDays = keepDestroyedDays
        self.interval = interval
        self.logger = logger
    }

    /// How many messages a sweep now would delete (for a progress bar).
    public func due(now: Double = Date().timeIntervalSince1970) async throws(StorageError) -> Int {
        var total = 0
        for (room, days) in try await store.retentionPlan(defaultDays: defaultDays) {
            total += try await store.expirable(room, before: now - Double(days) * 86_400)
        }
        if keepDestroyedDays > 0 {
            for key in try await store.endedBefore(now - Double(keepDestroyedDays) * 86_400) {
                total += try await store.expirable(key, before: .greatestFiniteMagnitude)
            }
        }
        return total
    }

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

    /// One sweep; `onDeleted` hears of every batch. Returns the messages deleted, or nil when it failed.
    @discardableResult
    public func sweep(onDeleted: (Int) -> Void = { _ in }) async -> Int? {
        do {
            let now = Date().timeIntervalSince1970
            var total = 0
            for (room, days) in try await store.retentionPlan(defaultDays: defaultDays) {
                let cutoff = now - Double(days) * 86_400
                while !Task.isCancelled {
                    let deleted = try await store.expire(room, before: cutoff, limit: Self.batchSize)
                    total += deleted
                    onDeleted(deleted)
                    guard deleted == Self.batchSize else { break }
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            if keepDestroyedDays > 0 {
                for key in try await store.endedBefore(now - Double(keepDestroyedDays) * 86_400) {
                    while !Task.isCancelled {
                        let deleted = try await store.purgeEnded(key, limit: Self.batchSize)
                        total += deleted
                        onDeleted(deleted)
                        guard deleted == Self.batchSize else { break }
                        try? await Task.sleep(for: .milliseconds(5))
                    }
                    logger.info("retention: the archive of the destroyed room \(key) is gone")
                }
            }
            if total > 0 { logger.info("retention: \(total) archived messages expired") }
            return total
        } catch {
            logger.error("retention sweep failed: \(error)")
            return nil
        }
    }
}
