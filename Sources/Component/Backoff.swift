/// How long to wait before the next reconnection attempt: exponential, capped
/// and jittered, so that a restarted server is not hit by every component at once.
public struct Backoff: Sendable, Hashable {
    public let initial: Duration
    public let maximum: Duration
    public private(set) var attempt = 0

    public init(initial: Duration = .milliseconds(500), maximum: Duration = .seconds(30)) {
        precondition(initial > .zero && maximum >= initial, "backoff bounds must be positive and ordered")
        self.initial = initial
        self.maximum = maximum
    }

    /// The delay before the next attempt: a random point in the upper half of
    /// `min(maximum, initial × 2^attempt)`.
    public mutating func nextDelay(using generator: inout some RandomNumberGenerator) -> Duration {
        let exponent = min(attempt, 30)
        attempt += 1
        let ceiling = min(maximum, initial * (1 << exponent))
        return ceiling * Double.random(in: 0.5...1.0, using: &generator)
    }

    public mutating func nextDelay() -> Duration {
        var generator = SystemRandomNumberGenerator()
        return nextDelay(using: &generator)
    }

    /// Called once a connection is fully established.
    public mutating func reset() {
        attempt = 0
    }
}
