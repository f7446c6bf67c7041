import XMLStream

/// What the decoder hands up the pipeline: the next stream event, or the
/// parser's verdict that the stream is broken (sent once, last).
public enum StreamInput: Sendable, Hashable {
    case event(XMLStreamEvent)
    case failure(XMLStreamError)
}
