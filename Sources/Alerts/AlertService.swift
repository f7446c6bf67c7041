import Foundation
import MUC
import Storage
import XMLStream
import XMPPCore

/// The owner of every keyword subscription: keeps the index and the store in
/// step, enforces the limits, and says who a new message should alert.
public actor AlertService {
    public static let maximumKeywordCharacters = 100
    public static let maximumKeywordBytes = 400
    private let store: any AlertSubscriptionStore
    private let index = KeywordIndex()
    public let maxKeywordsPerUser: Int

    public init(store: any AlertSubscriptionStore, maxKeywordsPerUser: Int = 100) {
        self.store = store
        self.maxKeywordsPerUser = maxKeywordsPerUser
    }

    /// Loads the stored subscriptions into the index (at start-up).
    public func load() async throws(StorageError) {
        for stored in try await store.alertSubscriptions() {
            index.add(KeywordSubscription(
                subscriber: stored.subscriber, keyword: stored.keyword, key: stored.key,
                rooms: stored.rooms.map(Set.init), deliver: stored.deliver))
        }
    }

    public var keywordCount: Int { index.keywordCount }

    /// The key of a keyword a user asks for, after the checks every request makes.
    public static func validatedKey(_ keyword: String) throws(StanzaError) -> KeywordMatcher.Key {
        // Bytes as well as characters: one letter with 120,000 combining marks is one character.
        guard keyword.count <= maximumKeywordCharacters, keyword.utf8.count <= maximumKeywordBytes else {
            throw StanzaError(
                .notAcceptable,
                text: "a keyword is at most \(maximumKeywordCharacters) characters and \(maximumKeywordBytes) bytes")
        }
        guard let key = KeywordMatcher.key(for: keyword) else {
            throw StanzaError(.badRequest, text: "a keyword needs at least one word")
        }
        guard key.split(separator: " ").count <= 8 else {
            throw StanzaError(.notAcceptable, text: "a keyword phrase is at most 8 words")
        }
        return key
    }

    public func subscription(of subscriber: JID, keyword: String) throws(StanzaError) -> KeywordSubscription? {
        index.subscription(of: subscriber, key: try Self.validatedKey(keyword))
    }

    /// Subscribes (or re-subscribes, keeping options not given).
    public func subscribe(
        _ subscriber: JID, keyword: String, rooms: Set<JID>??, deliver: Bool?
    ) async throws(StanzaError) -> KeywordSubscription {
        let key = try Self.validatedKey(keyword)
        let existing = index.subscription(of: subscriber, key: key)
        if existing == nil && index.subscriptions(of: subscriber).count >= maxKeywordsPerUser {
            throw StanzaError(.policyViolation, text: "at most \(maxKeywordsPerUser) keywords per user")
        }
        var subscription = existing ?? KeywordSubscription(subscriber: subscriber, keyword: keyword, key: key)
        if let rooms { subscription.rooms = rooms }
        if let deliver { subscription.deliver = deliver }
        do {
            try await store.saveAlertSubscription(
                StoredAlertSubscription(
                    subscriber: subscriber, key: key, keyword: subscription.keyword,
                    rooms: subscription.rooms.map { $0.sorted() }, deliver: subscription.deliver),
                at: Date().timeIntervalSince1970)
        } catch {
            throw StanzaError(.internalServerError, text: "the subscription could not be stored")
        }
        index.add(subscription)
        return subscription
    }

    public func unsubscribe(_ subscriber: JID, keyword: String) async throws(StanzaError) {
        let key = try Self.validatedKey(keyword)
        guard index.subscription(of: subscriber, key: key) != nil else {
            throw StanzaError(
                .unexpectedRequest, type: .cancel, text: "not subscribed to keywords/\(keyword)",
                applicationCondition: XMLElement("not-subscribed", namespace: PubSubNamespace.errors))
        }
        do {
            try await store.deleteAlertSubscription(subscriber: subscriber, key: key)
        } catch {
            throw StanzaError(.internalServerError, text: "the subscription could not be removed")
        }
        index.remove(subscriber: subscriber, key: key)
    }

    public func subscriptions(of subscriber: JID) -> [KeywordSubscription] {
        index.subscriptions(of: subscriber)
    }

    /// Who might be alerted about a message (before the room's access check).
    public func candidates(room: JID, body: String, author: JID?) -> [(subscriber: JID, keywords: [KeywordSubscription])] {
        index.candidates(room: room, body: body, author: author)
    }
}
