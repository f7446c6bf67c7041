import Alerts
import Foundation
import Inbox
import MUC
import XMLStream
import XMPPCore

/// Flood control for the reads that cost the database the most — full-text MAM
/// searches, keyword-alert `items`, the inbox — per user across the service
/// (`[limits] query_burst`, `queries_per_minute`): a person or a client syncing
/// at login never meets it, a loop does.
public actor QueryRateLimiter {
    private let burst: Int
    private let perMinute: Int
    private var buckets: [JID: TokenBucket] = [:]
    static let maximumBuckets = 4096

    public init(limits: RoomLimits) {
        burst = limits.queryBurst
        perMinute = limits.queriesPerMinute
    }

    /// Takes one query from `user`'s bucket; false when the user must wait.
    public func allow(_ user: JID, now: Double = Date().timeIntervalSince1970) -> Bool {
        guard burst > 0, perMinute > 0 else { return true }
        let key = user.bare
        if buckets[key] == nil && buckets.count >= Self.maximumBuckets {
            // Users quiet for ten minutes have full buckets anyway.
            buckets = buckets.filter { now - $0.value.updated < 600 }
            if buckets.count >= Self.maximumBuckets { buckets.removeAll() }
        }
        var bucket = buckets[key] ?? TokenBucket(tokens: Double(burst), updated: now)
        let allowed = bucket.take(now: now, burst: burst, perSecond: Double(perMinute) / 60)
        buckets[key] = bucket
        return allowed
    }

    static let refusal = StanzaError(.resourceConstraint, type: .wait, text: "too many searches: slow down")

    /// Whether an IQ to the service JID is one of the expensive reads.
    nonisolated static func isExpensive(_ iq: IQ) -> Bool {
        guard let payload = iq.payload else { return false }
        switch payload.namespace {
        case InboxProtocol.namespace:
            return true
        case PubSubNamespace.pubsub:
            return iq.type == .get && payload.elements.contains { $0.name == "items" }
        default:
            return false
        }
    }
}
