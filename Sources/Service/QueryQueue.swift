import MUC
import Synchronization
import XMPPCore

/// The expensive reads (full-text MAM, alert `items`, the inbox) that were started and whose
/// answers are not written yet, service-wide (`[limits] queued_queries`), and those of each
/// address until they are answered (`queued_queries_per_user`): each user's rate is bounded by
/// `QueryRateLimiter`, and this bounds what many users together can queue for the read
/// connections and the paced writer, and how much of it one address can take.
public final class QueryQueue: Sendable {
    private struct Places {
        var total = 0
        var perUser: [JID: Int] = [:]
    }

    /// Why a read found no place.
    public enum Refusal: Error, Equatable, Sendable {
        case full
        case userFull
    }

    private let limit: Int
    private let limitPerUser: Int
    private let places = Mutex(Places())

    public init(limits: RoomLimits) {
        limit = limits.queuedQueries
        limitPerUser = limits.queuedQueriesPerUser
    }

    /// Takes a place for one read of `user` (its bare JID counts); nothing is taken when refused.
    public func enter(_ user: JID) -> Refusal? {
        let user = user.bare
        return places.withLock { places in
            if limitPerUser > 0 && places.perUser[user, default: 0] >= limitPerUser { return .userFull }
            if limit > 0 && places.total >= limit { return .full }
            places.total += 1
            places.perUser[user, default: 0] += 1
            return nil
        }
    }

    /// `user`'s read is answered (its answer is handed to the link): the address may ask again.
    public func answered(_ user: JID) {
        let user = user.bare
        places.withLock { places in
            guard let count = places.perUser[user] else { return }
            places.perUser[user] = count > 1 ? count - 1 : nil
        }
    }

    /// One answer is written, or dropped with its link.
    public func leave() {
        places.withLock { places in places.total = max(0, places.total - 1) }
    }

    /// Places held now, service-wide.
    public var count: Int { places.withLock { $0.total } }

    static func error(_ refusal: Refusal) -> StanzaError {
        switch refusal {
        case .full:
            StanzaError(.resourceConstraint, type: .wait, text: "the service is busy answering searches: try again shortly")
        case .userFull:
            StanzaError(.resourceConstraint, type: .wait, text: "your earlier searches are not answered yet: wait for their answers")
        }
    }
}

/// Where one expensive read's answer goes when it runs off the rooms' path: the late answers
/// the link writes; handing it over also gives the asker's place back.
struct LateAnswer: Sendable {
    let answers: AsyncStream<[Outbound]>.Continuation
    let queue: QueryQueue
    let asker: JID

    func send(_ outbound: [Outbound]) {
        queue.answered(asker)
        answers.yield(outbound)
    }
}
