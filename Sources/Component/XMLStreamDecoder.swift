import NIOCore
import XMLStream

/// The channel handler that turns bytes into stream events with one
/// `XMLStreamParser`. Every chunk is consumed at once: Expat keeps any
/// incomplete token itself, so nothing is buffered here.
final class XMLStreamDecoder: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    /// Everything one read completed: the unit of group commit downstream.
    typealias InboundOut = [StreamInput]

    private let parser: XMLStreamParser
    private var failureReported = false

    init(parser: XMLStreamParser) {
        self.parser = parser
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failureReported else { return }
        let buffer = unwrapInboundIn(data)
        let events = buffer.withUnsafeReadableBytes { parser.feed($0) }
        var inputs = events.map(StreamInput.event)
        if let error = parser.error {
            failureReported = true
            inputs.append(.failure(error))
        }
        if !inputs.isEmpty {
            context.fireChannelRead(wrapInboundOut(inputs))
        }
    }
}

@available(*, unavailable)
extension XMLStreamDecoder: Sendable {}
