import CSQLite
import Foundation
import MUC
import XMPPCore

/// A read-only connection for the archive's expensive reads (full-text MAM),
/// beside the store's own: SQLite's WAL lets readers run while the writer
/// commits, so a long search never holds up the messages being archived and
/// fanned out. Its queries run on a thread of its own at a lower CPU priority
/// (nice 10), not on the cooperative pool the rooms run on, so that on a busy
/// machine a search waits for the rooms rather than the other way round. Each
/// query has a time budget; past it SQLite interrupts it.
public final class ArchiveReadConnection: @unchecked Sendable {
    // Touched only on `worker`'s thread: confinement, not locks, keeps it safe.
    private let database: SQLiteDatabase
    private let budget: Double
    private let worker: LowPriorityWorker

    /// `budget`: seconds one query may run (0: no limit).
    public init(path: String, budget: Double) throws(StorageError) {
        database = try SQLiteDatabase(path: path, readOnly: true)
        try Schema.requireCurrent(database)
        self.budget = budget
        worker = LowPriorityWorker(name: "parley-archive-reader")
    }

    public func query(_ room: JID, _ query: ArchiveQuery) async throws(ArchiveQueryError) -> ArchivePage {
        try await read { database throws(ArchiveQueryError) in try database.archiveQuery(room, query) }
    }

    /// Runs `body` on this connection's thread, within the budget.
    func read<T: Sendable, E: Error>(_ body: @escaping @Sendable (SQLiteDatabase) throws(E) -> T) async throws(E) -> T {
        let result: Result<T, E> = await worker.run { [self] in
            do throws(E) {
                return .success(try database.withTimeBudget(budget) { () throws(E) in try body(database) })
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    /// Whether an error is the budget running out.
    public static func isTimeout(_ error: ArchiveQueryError) -> Bool {
        if case .storage(let storage) = error { return storage.code == SQLITE_INTERRUPT }
        return false
    }
}

/// One thread at nice 10 that runs jobs in order; the thread ends when the worker is
/// released (a service assembled again, as the router fuzz target does per input, must
/// not leave threads behind).
final class LowPriorityWorker: @unchecked Sendable {
    /// What the thread holds: never the worker itself, or the worker would outlive its owner.
    private final class Jobs: @unchecked Sendable {
        let lock = NSCondition()
        var pending: [() -> Void] = []
        var closed = false
    }
    private let jobs = Jobs()

    init(name: String) {
        let thread = Thread { [jobs] in
            // Linux keeps a nice value per thread: 0 is the calling thread.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
            while true {
                jobs.lock.lock()
                while jobs.pending.isEmpty && !jobs.closed { jobs.lock.wait() }
                guard !jobs.pending.isEmpty else {
                    jobs.lock.unlock()
                    return
                }
                let job = jobs.pending.removeFirst()
                jobs.lock.unlock()
                job()
            }
        }
        thread.name = name
        thread.start()
    }

    deinit {
        jobs.lock.lock()
        jobs.closed = true
        jobs.lock.signal()
        jobs.lock.unlock()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            jobs.lock.lock()
            jobs.pending.append { continuation.resume(returning: body()) }
            jobs.lock.signal()
            jobs.lock.unlock()
        }
    }
}

/// A few read connections, taken in turn.
public struct ArchiveReaders: Sendable {
    private let connections: [ArchiveReadConnection]
    private let next = Counter()

    public init(path: String, count: Int = 2, budget: Double) throws(StorageError) {
        var connections: [ArchiveReadConnection] = []
        for _ in 0..<max(1, count) { connections.append(try ArchiveReadConnection(path: path, budget: budget)) }
        self.connections = connections
    }

    public func query(_ room: JID, _ query: ArchiveQuery) async throws(ArchiveQueryError) -> ArchivePage {
        try await connection.query(room, query)
    }

    /// The next connection in turn.
    public var connection: ArchiveReadConnection { connections[next.increment() % connections.count] }

    private final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var value = 0
        func increment() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value &+= 1
            return value & Int.max
        }
    }
}

extension SQLiteDatabase {
    /// Runs `body` with SQLite's progress handler watching the clock: past `seconds`
    /// the running statement stops with SQLITE_INTERRUPT.
    func withTimeBudget<T, E: Error>(_ seconds: Double, _ body: () throws(E) -> T) throws(E) -> T {
        guard seconds > 0 else { return try body() }
        let deadline = Unmanaged.passRetained(Deadline(at: DispatchTime.now().uptimeNanoseconds + UInt64(seconds * 1e9)))
        sqlite3_progress_handler(handle, 10_000, { context in
            guard let context else { return 0 }
            let deadline = Unmanaged<Deadline>.fromOpaque(context).takeUnretainedValue()
            return DispatchTime.now().uptimeNanoseconds > deadline.at ? 1 : 0
        }, deadline.toOpaque())
        defer {
            sqlite3_progress_handler(handle, 0, nil, nil)
            deadline.release()
        }
        return try body()
    }
}

private final class Deadline {
    let at: UInt64
    init(at: UInt64) { self.at = at }
}
