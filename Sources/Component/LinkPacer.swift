import NIOConcurrencyHelpers
import XMLStream

/// Keeps answers that are not urgent (full-text searches, alert `items`, the inbox) from
/// queuing ahead of a room's messages in the server.
///
/// The server reads the component link in order and in one thread (Prosody), so a 29 KB
/// page of search results written at once delays every message written after it by the
/// whole page's routing, ~7 ms. Written in slices, each followed by an IQ result Parley
/// addresses to itself (servers route it straight back), the next slice goes out only when
/// the server has routed the previous one: at most one slice is ever ahead of a message.
final class LinkPacer: Sendable {
    /// Bytes per slice: about 1 ms of Prosody's routing (8 KiB measured p99 2.2× the quiet
    /// baseline in the isolation benchmark, 4 KiB 1.6×, at no cost to the searches).
    static let sliceBytes = 4 * 1024
    static let markerPrefix = "parley-pace-"

    private struct State {
        var sequence = 0
        var expected: String?
        var arrived = false
        var waiter: CheckedContinuation<Bool, Never>?
        /// Off after a marker did not come back in time (a server that drops them gets the
        /// answers unpaced rather than a wait per slice); on again when a late one arrives.
        var enabled = true
        /// The link is gone or stopping: nothing more is written on it.
        var closed = false
    }

    private let domain: String
    private let timeout: Duration
    private let onTimeout: @Sendable () -> Void
    private let state = NIOLockedValueBox(State())

    init(domain: String, timeout: Duration, onTimeout: @escaping @Sendable () -> Void = {}) {
        self.domain = domain
        self.timeout = timeout
        self.onTimeout = onTimeout
    }

    var isEnabled: Bool { state.withLockedValue { $0.enabled } }
    var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// The link is gone or stopping: a wait ends (false), and so does every later one.
    func close() {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Bool, Never>? in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: false)
    }

    /// The marker to write after a slice; `waitForMarker()` then waits for it.
    func nextMarker() -> String {
        let id = state.withLockedValue { state -> String in
            state.sequence += 1
            state.expected = Self.markerPrefix + String(state.sequence)
            state.arrived = false
            return state.expected ?? ""
        }
        let address = XMLSerializer.escaped(domain, inAttribute: true)
        return "<iq type='result' from='\(address)' to='\(address)' id='\(id)'/>"
    }

    /// Until the last marker is back (true), the link goes (false, and `isClosed`), or the
    /// timeout passes (false, and pacing stops until a marker comes back).
    func waitForMarker() async -> Bool {
        let (expected, closed) = state.withLockedValue { ($0.expected, $0.closed) }
        if closed { return false }
        guard let id = expected else { return true }
        let timer = Task { [timeout] in
            try? await Task.sleep(for: timeout)
            if !Task.isCancelled { self.giveUp(on: id) }
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state -> Bool? in
                guard state.expected == id, !state.closed else { return false }  // given up on, or the link went
                if state.arrived { return true }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Whether `stanza` is one of the markers (then it is consumed here, never handled).
    func consume(_ stanza: XMLElement) -> Bool {
        guard stanza.name == "iq", let id = stanza[attribute: "id"], id.hasPrefix(Self.markerPrefix),
            stanza[attribute: "type"] == "result", stanza[attribute: "from"] == domain
        else { return false }
        let waiter = state.withLockedValue { state -> CheckedContinuation<Bool, Never>? in
            guard state.expected == id else {
                // A late one, after a timeout: the server routes them after all.
                if state.expected == nil { state.enabled = true }
                return nil
            }
            state.arrived = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: true)
        return true
    }

    private func giveUp(on id: String) {
        let (gaveUp, waiter) = state.withLockedValue { state -> (Bool, CheckedContinuation<Bool, Never>?) in
            guard state.expected == id, !state.arrived, !state.closed else { return (false, nil) }
            state.expected = nil
            state.enabled = false
            defer { state.waiter = nil }
            return (true, state.waiter)
        }
        if gaveUp { onTimeout() }
        waiter?.resume(returning: false)
    }
}
