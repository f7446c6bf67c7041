import NIOCore

/// The open link as seen from outside the read loop: where the farewell of an
/// orderly stop and the late answers are written, and whether the client is stopping
/// (then it does not reconnect when the server closes the stream).
actor LinkControl {
    /// One open link: its writer, its channel, and the pacing of its late answers.
    struct Link {
        let writer: NIOAsyncChannelOutboundWriter<ByteBuffer>
        let channel: any Channel
        let pacer: LinkPacer
    }

    private var link: Link?
    private(set) var stopping = false

    func attach(_ link: Link) {
        self.link = link
    }

    /// The link is gone: whatever waits for one of its markers stops waiting.
    func detach() {
        link?.pacer.close()
        link = nil
    }

    /// The open link, if there is one and the client is not stopping.
    func current() -> Link? {
        guard !stopping else { return nil }
        return link
    }

    /// Marks the client as stopping; the open link, if there is one. Late answers stop
    /// here, so that nothing follows the end of the stream.
    func beginStop() -> Link? {
        guard !stopping else { return nil }  // the farewell goes out once
        stopping = true
        link?.pacer.close()
        return link
    }
}
