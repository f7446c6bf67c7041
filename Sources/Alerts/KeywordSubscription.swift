import XMPPCore

/// One user's subscription to one keyword node (`keywords/<keyword>`).
public struct KeywordSubscription: Sendable, Hashable {
    /// The subscriber's bare JID: alerts go there.
    public var subscriber: JID
    /// The keyword as the user wrote it (the node is `keywords/` + this).
    public var keyword: String
    /// Its normalised form, which matching uses.
    public var key: KeywordMatcher.Key
    /// `parley#rooms`: only these rooms, or all the user may read when nil.
    public var rooms: Set<JID>?
    /// `pubsub#deliver`: false pauses live alerts (missed matches stay fetchable).
    public var deliver: Bool

    public init(subscriber: JID, keyword: String, key: KeywordMatcher.Key, rooms: Set<JID>? = nil, deliver: Bool = true) {
        self.subscriber = subscriber
        self.keyword = keyword
        self.key = key
        self.rooms = rooms
        self.deliver = deliver
    }

    public static let nodePrefix = "keywords/"

    public var node: String { Self.nodePrefix + keyword }

    /// The keyword a node names, or nil if it is not a keyword node.
    public static func keyword(ofNode node: String) -> String? {
        guard node.hasPrefix(nodePrefix) else { return nil }
        return String(node.dropFirst(nodePrefix.count))
    }
}

/// All keyword subscriptions and the matcher built from them, kept in step.
/// The service's alert actor owns one.
public final class KeywordIndex {
    private let matcher = KeywordMatcher()
    /// Subscriptions by key, then by subscriber.
    private var subscriptions: [KeywordMatcher.Key: [JID: KeywordSubscription]] = [:]
    private var bySubscriber: [JID: [KeywordMatcher.Key: KeywordSubscription]] = [:]

    public init() {}

    public var keywordCount: Int { matcher.count }

    public func subscriptions(of subscriber: JID) -> [KeywordSubscription] {
        (bySubscriber[subscriber] ?? [:]).values.sorted { $0.keyword < $1.keyword }
    }

    public func subscription(of subscriber: JID, key: KeywordMatcher.Key) -> KeywordSubscription? {
        bySubscriber[subscriber]?[key]
    }

    public func add(_ subscription: KeywordSubscription) {
        if subscriptions[subscription.key] == nil { matcher.insert(key: subscription.key) }
        subscriptions[subscription.key, default: [:]][subscription.subscriber] = subscription
        bySubscriber[subscription.subscriber, default: [:]][subscription.key] = subscription
    }

    public func remove(subscriber: JID, key: KeywordMatcher.Key) {
        subscriptions[key]?[subscriber] = nil
        bySubscriber[subscriber]?[key] = nil
        if bySubscriber[subscriber]?.isEmpty == true { bySubscriber[subscriber] = nil }
        if subscriptions[key]?.isEmpty == true {
            subscriptions[key] = nil
            matcher.remove(key: key)
        }
    }

    /// Who should hear about a message in `room` with this body: each
    /// subscriber once, with every keyword of theirs that matched. Room access
    /// is not checked here (the room decides); the author is left out.
    public func candidates(room: JID, body: String, author: JID?) -> [(subscriber: JID, keywords: [KeywordSubscription])] {
        let keys = matcher.matches(in: body)
        guard !keys.isEmpty else { return [] }
        var bySubscriber: [JID: [KeywordSubscription]] = [:]
        for key in keys {
            for (subscriber, subscription) in subscriptions[key] ?? [:] {
                guard subscription.deliver, subscriber != author else { continue }
                if let rooms = subscription.rooms, !rooms.contains(room) { continue }
                bySubscriber[subscriber, default: []].append(subscription)
            }
        }
        return bySubscriber.map { subscriber, keywords in
            (subscriber, keywords.count > 1 ? keywords.sorted { $0.keyword < $1.keyword } : keywords)
        }
    }
}
