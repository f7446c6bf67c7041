import XMLStream
import XMPPCore

/// Why a component stream ended.
public enum ComponentFailure: Error, Sendable, Hashable, CustomStringConvertible {
    /// The server refused the secret: retrying cannot help (XEP-0114 §3).
    case notAuthorized(String?)
    /// The server ended the stream with this error.
    case streamError(StreamError)
    /// The server broke the protocol; Parley answered with this stream error.
    case protocolViolation(StreamError)
    /// The server closed the stream or the connection without an error.
    case closed

    /// Whether reconnecting may help.
    public var isFatal: Bool {
        if case .notAuthorized = self { return true }
        return false
    }

    public var description: String {
        switch self {
        case .notAuthorized(let text):
            "the server rejected the component secret (not-authorized\(text.map { ": \($0)" } ?? ""))"
        case .streamError(let error): "the server ended the stream: \(error)"
        case .protocolViolation(let error): "the server broke the stream protocol: \(error)"
        case .closed: "the server closed the stream"
        }
    }
}

/// The XEP-0114 stream as a state machine: header, handshake, then stanzas.
/// It does no I/O; the connection feeds it input and carries out its actions.
public struct ComponentSession: Sendable {
    public enum State: Sendable, Hashable {
        case awaitingStreamHeader
        case awaitingHandshakeReply
        case ready
        case ended
    }

    public enum Action: Sendable, Hashable {
        /// Write this text to the server.
        case send(String)
        /// The handshake succeeded; stanzas flow from now on.
        case becameReady(streamID: String)
        /// Hand this stanza to the service.
        case deliver(XMLElement)
        /// Tell the service that this stanza broke a limit and was skipped.
        case reject(XMLElement, reason: XMLStreamError)
        /// The stream is over; any final text to write has been given in a `.send` before.
        case end(ComponentFailure)
    }

    public let domain: String
    private let secret: String
    public private(set) var state = State.awaitingStreamHeader
    /// The id the server gave the stream, once its header arrived.
    public private(set) var streamID: String?

    public init(domain: String, secret: String) {
        self.domain = domain
        self.secret = secret
    }

    /// The stream header Parley opens with (XEP-0114 §3).
    public var openingHeader: String {
        "<?xml version='1.0'?><stream:stream xmlns='\(Namespace.componentAccept)' "
            + "xmlns:stream='\(Namespace.streams)' to='\(XMLSerializer.escaped(domain, inAttribute: true))'>"
    }

    public static let closingTag = "</stream:stream>"

    public mutating func receive(_ input: StreamInput) -> [Action] {
        guard state != .ended else { return [] }
        switch input {
        case .failure(let failure):
            return violate(StreamError(failure))
        case .event(.streamClose):
            state = .ended
            return [.send(Self.closingTag), .end(.closed)]
        case .event(.streamOpen(let header)):
            return receiveHeader(header)
        case .event(.element(let element)):
            return receiveElement(element)
        case .event(.rejected(let stanza, let reason)):
            guard state == .ready else { return violate(StreamError(reason)) }
            return [.reject(stanza, reason: reason)]
        }
    }

    private mutating func receiveHeader(_ header: XMLStreamHeader) -> [Action] {
        guard state == .awaitingStreamHeader else {
            return violate(StreamError(.badFormat, text: "a second stream header"))
        }
        guard header.contentNamespace == Namespace.componentAccept else {
            return violate(StreamError(.invalidNamespace, text: "expected \(Namespace.componentAccept)"))
        }
        guard let streamID = header[attribute: "id"], !streamID.isEmpty else {
            return violate(StreamError(.badFormat, text: "the stream header has no id to hash"))
        }
        state = .awaitingHandshakeReply
        self.streamID = streamID
        let digest = ComponentHandshake.digest(streamID: streamID, secret: secret)
        return [.send("<handshake>\(digest)</handshake>")]
    }

    private mutating func receiveElement(_ element: XMLElement) -> [Action] {
        if let error = StreamError(element: element) {
            let wasReady = state == .ready
            state = .ended
            if error.condition == .notAuthorized && !wasReady {
                return [.send(Self.closingTag), .end(.notAuthorized(error.text))]
            }
            return [.send(Self.closingTag), .end(.streamError(error))]
        }
        switch state {
        case .awaitingStreamHeader, .ended:
            return violate(StreamError(.badFormat, text: "an element before the stream header"))
        case .awaitingHandshakeReply:
            guard element.name == "handshake", element.namespace == Namespace.client else {
                return violate(StreamError(.notAuthorized, text: "expected <handshake/>, got <\(element.name)/>"))
            }
            state = .ready
            return [.becameReady(streamID: streamID ?? "")]
        case .ready:
            return [.deliver(element)]
        }
    }

    private mutating func violate(_ error: StreamError) -> [Action] {
        state = .ended
        return [.send(Self.streamErrorText(error) + Self.closingTag), .end(.protocolViolation(error))]
    }

    /// `<stream:error>` written with the conventional prefix.
    public static func streamErrorText(_ error: StreamError) -> String {
        var text = "<stream:error>"
        for child in error.element.elements {
            XMLSerializer.write(child, inheritedNamespace: Namespace.streams, to: &text)
        }
        return text + "</stream:error>"
    }
}
