import Foundation

/// What `/health` says: healthy only while the component link is up, the
/// database answers, and no twin shares the domain.
public struct HealthReport: Sendable, Hashable {
    public var linkUp: Bool
    public var databaseAnswers: Bool
    /// When another instance under the same domain was last noticed (`TwinDetector`).
    public var twinSeen: Date?

    public init(linkUp: Bool, databaseAnswers: Bool, twinSeen: Date?) {
        self.linkUp = linkUp
        self.databaseAnswers = databaseAnswers
        self.twinSeen = twinSeen
    }

    /// A twin counts while it was seen in the last ten minutes (link checks run every minute).
    public func twinActive(now: Date = Date()) -> Bool {
        twinSeen.map { now.timeIntervalSince($0) < 600 } ?? false
    }

    public func isHealthy(now: Date = Date()) -> Bool {
        linkUp && databaseAnswers && !twinActive(now: now)
    }

    /// HTTP status: 200 healthy, 503 otherwise.
    public func statusCode(now: Date = Date()) -> Int {
        isHealthy(now: now) ? 200 : 503
    }

    /// A small JSON object a monitor or a person can read.
    public func json(now: Date = Date()) -> String {
        var fields = [
            "\"status\":\"\(isHealthy(now: now) ? "ok" : "unhealthy")\"",
            "\"link\":\"\(linkUp ? "up" : "down")\"",
            "\"database\":\"\(databaseAnswers ? "ok" : "failing")\"",
            "\"twin\":\(twinActive(now: now))",
        ]
        if let twinSeen {
            fields.append("\"twin_seen\":\"\(ISO8601DateFormatter().string(from: twinSeen))\"")
        }
        return "{" + fields.joined(separator: ",") + "}\n"
    }
}
