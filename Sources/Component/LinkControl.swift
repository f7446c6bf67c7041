import NIOCore

/// The open link as seen from outside the read loop: where the farewell of an
/// orderly stop is written, and whether the client is stopping (then it does
/// not reconnect when the server closes the stream).
actor LinkControl {
    private var writer: NIOAsyncChannelOutboundWriter<ByteBuffer>?
    private var channel: (any Channel)?
    private(set) var stopping = false

    func attach(_ writer: NIOAsyncChannelOutboundWriter<ByteBuffer>, channel: any Channel) {
        self.writer = writer
        self.channel = channel
    }

    func detach() {
        writer = nil
        channel = nil
    }

    /// The open link, if there is one and the client is not stopping.
    func current() -> (writer: NIOAsyncChannelOutboundWriter<ByteBuffer>, channel: any Channel)? {
        guard !stopping, let writer, let channel else { return nil }
        return (writer, channel)
    }

    /// Marks the client as stopping; the open link, if there is one.
    func beginStop() -> (writer: NIOAsyncChannelOutboundWriter<ByteBuffer>, channel: any Channel)? {
        guard !stopping else { return nil }  // the farewell goes out once
        stopping = true
        guard let writer, let channel else { return nil }
        return (writer, channel)
    }
}
