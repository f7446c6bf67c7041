import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// Acknowledges what the server sent as soon as Parley has read it.
///
/// Prosody (and ejabberd) write to the component with Nagle's algorithm on: a
/// small stanza waits while an earlier one is unacknowledged. Linux delays an
/// ACK on a connection that looks interactive until the receiver has something
/// to send, so while Parley works on a request without answering at once (a
/// full-text search answered later) every stanza the server sends meanwhile sat
/// in the server's buffer, up to the whole search (p99 of unrelated deliveries
/// ×4 beside a search loop). TCP_QUICKACK is not sticky, so it is set again
/// after every read, which also sends the pending ACK there and then.
final class QuickAck: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    func channelReadComplete(context: ChannelHandlerContext) {
        #if os(Linux)
        let quickAck = ChannelOptions.Types.SocketOption(level: .tcp, name: .init(rawValue: CInt(TCP_QUICKACK)))
        try? context.channel.syncOptions?.setOption(quickAck, value: 1)
        #endif
        context.fireChannelReadComplete()
    }
}

@available(*, unavailable)
extension QuickAck: Sendable {}
