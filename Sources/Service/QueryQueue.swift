import MUC
import Synchronization
import XMPPCore

/// The expensive reads (full-text MAM, alert `items`, the inbox) that were started and whose
/// answers are not written yet, service-wide (`[limits] queued_queries`): each user's rate is
/// bounded by `QueryRateLimiter`, and this bounds what many users together can queue for the
/// read connections and the paced writer.
public final class QueryQueue: Sendable {
    private let limit: Int
    private let pending = Mutex(0)

    public init(limits: RoomLimits) {
        limit = limits.queuedQueries
    }

    /// Takes a place for one read; false when the queue is full (then nothing was taken).
    func enter() -> Bool {
        pending.withLock { count in
            guard limit <= 0 || count < limit else { return false }
            count += 1
            return true
        }
    }

    /// One answer is written, or dropped with its link.
    public func leave() {
        pending.withLock { count in count = max(0, count - 1) }
    }

    var count: Int { pending.withLock { $0 } }

    static let refusal = StanzaError(
        .resourceConstraint, type: .wait, text: "the service is busy answering searches: try again shortly")
}
