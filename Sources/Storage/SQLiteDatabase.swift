import CSQLite

/// A SQLite failure, with SQLite's own message and result code.
public struct StorageError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int32
    public var message: String

    public init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "SQLite error \(code): \(message)" }

    /// The disk (or the database's size limit) is full: worth saying to a client as `resource-constraint`.
    public var isFull: Bool { code & 0xff == SQLITE_FULL }
}

/// How far a commit must have gone before it counts (`[storage] durability`).
public enum Durability: String, Sendable, Hashable, CaseIterable {
    /// `synchronous=FULL`: a committed row survives a power cut (the WAL is synced at every commit).
    case power
    /// `synchronous=NORMAL`: a committed row survives the process being killed, not a power cut.
    case crash
}

/// A value bound to or read from a statement.
public enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
}

/// One SQLite connection. Not thread-safe: an actor owns it and every
/// statement made from it (SQLite handles cannot be `Sendable`).
public final class SQLiteDatabase {
    let handle: OpaquePointer
    public let path: String
    private var statements: [String: SQLiteStatement] = [:]

    /// Opens (creating if needed) the database in WAL mode: readers never
    /// block the writer, and a commit survives the process being killed.
    public init(path: String, readOnly: Bool = false, durability: Durability = .power) throws(StorageError) {
        var handle: OpaquePointer?
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let status = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard status == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            if let handle { sqlite3_close_v2(handle) }
            throw StorageError(code: status, message: "\(path): \(message)")
        }
        self.handle = handle
        self.path = path
        sqlite3_busy_timeout(handle, 5000)
        if !readOnly {
            try execute("PRAGMA journal_mode = WAL")
            // FULL syncs the WAL at every commit, so an acknowledged message survives a power
            // cut; group commit keeps that to one sync per batch. NORMAL still keeps every
            // commit across a crash of the process; only a power loss can cost the last ones.
            try execute(durability == .power ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")
        }
        try execute("PRAGMA foreign_keys = ON")
    }

    deinit {
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    func error(_ status: Int32) -> StorageError {
        StorageError(code: status, message: String(cString: sqlite3_errmsg(handle)))
    }

    /// Runs SQL that returns no rows (several statements allowed).
    public func execute(_ sql: String) throws(StorageError) {
        var message: UnsafeMutablePointer<CChar>?
        let status = sqlite3_exec(handle, sql, nil, nil, &message)
        guard status == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? "error"
            sqlite3_free(message)
            throw StorageError(code: status, message: text)
        }
    }

    /// A prepared statement, cached by its SQL text. The cache is bounded:
    /// SQL is written so that its text does not depend on input (values are
    /// bound, lists go through `json_each`), but should some text vary anyway,
    /// memory must not grow with it. A statement still in use when the cache is
    /// cleared lives on with its user and is finalized after.
    public func statement(_ sql: String) throws(StorageError) -> SQLiteStatement {
        if let cached = statements[sql] {
            cached.reset()
            return cached
        }
        var raw: OpaquePointer?
        let status = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &raw, nil)
        guard status == SQLITE_OK, let raw else { throw error(status) }
        let statement = SQLiteStatement(raw, database: self)
        if statements.count >= Self.maximumCachedStatements { statements.removeAll(keepingCapacity: true) }
        statements[sql] = statement
        return statement
    }

    /// How many prepared statements are kept at most.
    public static let maximumCachedStatements = 256

    /// How many prepared statements are cached now.
    public var cachedStatementCount: Int { statements.count }

    /// Runs `body` in one transaction: all of it is committed, or none.
    public func transaction<T>(_ body: () throws(StorageError) -> T) throws(StorageError) -> T {
        try execute("BEGIN IMMEDIATE")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }
}

/// A prepared statement: bind, step through rows, read columns.
public final class SQLiteStatement {
    private let raw: OpaquePointer
    private unowned let database: SQLiteDatabase

    init(_ raw: OpaquePointer, database: SQLiteDatabase) {
        self.raw = raw
        self.database = database
    }

    deinit {
        sqlite3_finalize(raw)
    }

    func reset() {
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
    }

    /// Ends the statement's current run. A statement left mid-way holds a read
    /// transaction open (blocking schema changes and WAL checkpoints), so every
    /// read that stops before the last row calls this.
    public func finish() {
        sqlite3_reset(raw)
    }

    /// The first column of the first row as an integer (a `COUNT(*)`, a `PRAGMA`), 0 when
    /// there is no row; the statement is finished.
    public func scalar() throws(StorageError) -> Int {
        defer { finish() }
        return try step() ? Int(int(0)) : 0
    }

    @discardableResult
    public func bind(_ values: SQLiteValue...) throws(StorageError) -> SQLiteStatement {
        try bind(values)
    }

    @discardableResult
    public func bind(_ values: [SQLiteValue]) throws(StorageError) -> SQLiteStatement {
        for (offset, value) in values.enumerated() {
            let index = Int32(offset + 1)
            let status: Int32
            switch value {
            case .null: status = sqlite3_bind_null(raw, index)
            case .integer(let integer): status = sqlite3_bind_int64(raw, index, integer)
            case .real(let real): status = sqlite3_bind_double(raw, index, real)
            case .text(let text): status = sqlite3_bind_text(raw, index, text, -1, parley_sqlite_transient())
            }
            guard status == SQLITE_OK else { throw database.error(status) }
        }
        return self
    }

    /// Advances to the next row; false when there are no more.
    public func step() throws(StorageError) -> Bool {
        let status = sqlite3_step(raw)
        switch status {
        case SQLITE_ROW: return true
        case SQLITE_DONE:
            sqlite3_reset(raw)
            return false
        default:
            let error = database.error(status)
            sqlite3_reset(raw)
            throw error
        }
    }

    /// Runs a statement that returns no rows.
    public func run() throws(StorageError) {
        while try step() {}
    }

    public func int(_ column: Int32) -> Int64 { sqlite3_column_int64(raw, column) }
    public func double(_ column: Int32) -> Double { sqlite3_column_double(raw, column) }
    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(raw, column) == SQLITE_NULL }

    public func text(_ column: Int32) -> String? {
        guard let pointer = sqlite3_column_text(raw, column) else { return nil }
        let count = Int(sqlite3_column_bytes(raw, column))
        return String(decoding: UnsafeBufferPointer(start: pointer, count: count), as: UTF8.self)
    }
}
