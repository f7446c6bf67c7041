import NIOCore

/// Sends a single space when nothing was written for a while (RFC 6120
/// §4.6.1), so that dead links are found and idle NAT entries stay open.
/// Sits behind an `IdleStateHandler` that reports write-idleness.
final class WhitespaceKeepalive: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .write {
            var space = context.channel.allocator.buffer(capacity: 1)
            space.writeInteger(UInt8(ascii: " "))
            context.writeAndFlush(NIOAny(space), promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}

@available(*, unavailable)
extension WhitespaceKeepalive: Sendable {}
