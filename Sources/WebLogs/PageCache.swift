import Foundation
import NIOCore
import Storage

/// Rendered pages kept in memory up to a number of bytes, the least recently served
/// going first. An entry is served only while the room's generations it was rendered
/// under still hold, so a moderation or a new message is seen by the next reader.
final class PageCache: @unchecked Sendable {
    struct Page {
        var body: ByteBuffer
        var etag: String
        var lastModified: Double?
        var contentType: String
    }

    /// What must not have moved since the page was rendered.
    enum Validity: Equatable {
        case edits(Int)
        case editsAndAppends(Int, Int)

        func holds(for room: PublishedRoom) -> Bool {
            switch self {
            case .edits(let edits): edits == room.edits
            case .editsAndAppends(let edits, let appends): edits == room.edits && appends == room.appends
            }
        }
    }

    private struct Entry {
        var page: Page
        var validity: Validity
        var used: UInt64
    }

    private let lock = NSLock()
    private let capacity: Int
    private var entries: [String: Entry] = [:]
    private var bytes = 0
    private var clock: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
    }

    func page(_ key: String, room: PublishedRoom) -> Page? {
        lock.withLock {
            guard var entry = entries[key], entry.validity.holds(for: room) else { return nil }
            clock &+= 1
            entry.used = clock
            entries[key] = entry
            return entry.page
        }
    }

    func store(_ page: Page, key: String, validity: Validity) {
        let size = page.body.readableBytes + key.utf8.count
        guard size <= capacity / 4 else { return }
        lock.withLock {
            if let old = entries[key] { bytes -= old.page.body.readableBytes + key.utf8.count }
            clock &+= 1
            entries[key] = Entry(page: page, validity: validity, used: clock)
            bytes += size
            guard bytes > capacity else { return }
            // Evict the older half by last use: amortised, never a scan per request.
            let threshold = entries.values.map(\.used).sorted()[entries.count / 2]
            for (name, entry) in entries where entry.used < threshold {
                entries[name] = nil
                bytes -= entry.page.body.readableBytes + name.utf8.count
            }
        }
    }
}

/// One page kept for a few seconds (the index, whose occupant counts are "now").
final class RecentPage: @unchecked Sendable {
    private let lock = NSLock()
    private let seconds: Double
    private var kept: (page: PageCache.Page, at: Double, version: Int)?

    init(seconds: Double) {
        self.seconds = seconds
    }

    /// The page kept, if younger than `seconds` and rendered at this `version` of what it shows.
    func recent(at now: Double, version: Int) -> PageCache.Page? {
        lock.withLock { kept.flatMap { now - $0.at < seconds && $0.version == version ? $0.page : nil } }
    }

    func keep(_ page: PageCache.Page, at now: Double, version: Int) {
        lock.withLock { kept = (page, now, version) }
    }
}

/// Searches per client address: a token bucket each, forgotten once full again. IPv6
/// addresses count by their /64, which one subscriber usually has whole.
final class AddressRateLimiter: @unchecked Sendable {
    private let lock = NSLock()
    private let perMinute: Int
    private var buckets: [String: (tokens: Double, updated: Double)] = [:]
    private var lastPrune = 0.0
    static let maximumBuckets = 10_000

    init(perMinute: Int) {
        self.perMinute = perMinute
    }

    /// Takes one search for `address`; false when it must wait. `retryAfter` says how long.
    func take(_ address: String, now: Double) -> (allowed: Bool, retryAfter: Int) {
        guard perMinute > 0 else { return (true, 0) }
        let burst = Double(perMinute)
        let rate = burst / 60
        let address = Self.key(address)
        return lock.withLock {
            if buckets.count > Self.maximumBuckets && now - lastPrune >= 1 {
                // Full buckets are as good as none. At most one sweep a second; if even that
                // leaves too many (a crowd of fresh addresses), everyone starts full again.
                lastPrune = now
                buckets = buckets.filter { $0.value.tokens + (now - $0.value.updated) * rate < burst }
                if buckets.count > Self.maximumBuckets { buckets = [:] }
            }
            var bucket = buckets[address] ?? (burst, now)
            bucket.tokens = min(burst, bucket.tokens + max(0, now - bucket.updated) * rate)
            bucket.updated = now
            defer { buckets[address] = bucket }
            guard bucket.tokens >= 1 else { return (false, Int(((1 - bucket.tokens) / rate).rounded(.up))) }
            bucket.tokens -= 1
            return (true, 0)
        }
    }

    /// An IPv4 address as it is; an IPv6 address by its first four groups (its /64).
    static func key(_ address: String) -> String {
        guard address.contains(":") else { return address }
        var groups = address.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        if let gap = groups.firstIndex(of: ""), groups.count < 8 {
            // Expand "::" so that the first four groups are the first four.
            let missing = 8 - groups.filter { !$0.isEmpty }.count
            groups.removeAll { $0.isEmpty }
            groups.insert(contentsOf: Array(repeating: "0", count: missing), at: min(gap, groups.count))
        }
        return groups.prefix(4).joined(separator: ":") + "::/64"
    }
}
