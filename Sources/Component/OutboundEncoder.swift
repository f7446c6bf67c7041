import NIOCore
import XMLStream
import XMPPCore

/// Turns outbound stanzas into the bytes of one write: each fan-out serialized once, and
/// the write ended with the whitespace that keeps the server's parser from sitting on it.
struct OutboundEncoder {
    private var buffer: ByteBuffer
    private var longestTag = 0

    init(allocator: ByteBufferAllocator, capacity: Int = 1024) {
        buffer = allocator.buffer(capacity: capacity)
    }

    var byteCount: Int { buffer.readableBytes }

    mutating func append(_ item: Outbound) {
        switch item {
        case .stanza(let stanza):
            var serialized = XMLSerializer.serialize(stanza, inheritedNamespace: Namespace.client)
            longestTag = max(longestTag, serialized.withUTF8(XMLSerializer.longestTag))
            buffer.writeString(serialized)
        case .fanOut(let stanza, let recipients):
            // Written straight into the buffer: the text once, split after the
            // element name, and per copy only the recipient in between.
            let serialized = Array(XMLSerializer.serialize(stanza, inheritedNamespace: Namespace.client).utf8)
            let split = stanza.name.utf8.count + 1
            buffer.reserveCapacity(minimumWritableBytes: recipients.count * (serialized.count + 64))
            var longestAddress = 0
            for recipient in recipients {
                let address = recipient.description
                let written: Int
                buffer.writeBytes(serialized[..<split])
                buffer.writeStaticString(" to='")
                if XMLSerializer.needsNoEscaping(address, inAttribute: true) {
                    written = buffer.writeString(address)
                } else {
                    written = buffer.writeString(XMLSerializer.escaped(address, inAttribute: true))
                }
                buffer.writeStaticString("'")
                buffer.writeBytes(serialized[split...])
                longestAddress = max(longestAddress, written)
            }
            if !recipients.isEmpty {
                let tag = serialized.withUnsafeBufferPointer(XMLSerializer.longestTag)
                longestTag = max(longestTag, tag + " to=''".utf8.count + longestAddress)
            }
        }
    }

    /// Text already serialized (a pacing marker), counted like any tag.
    mutating func append(raw text: String) {
        longestTag = max(longestTag, text.utf8.count)
        buffer.writeString(text)
    }

    /// The write, padded.
    consuming func finish() -> ByteBuffer {
        buffer.writeRepeatingByte(UInt8(ascii: " "), count: Self.parserFlush(afterLongestTag: longestTag))
        return buffer
    }

    /// Whitespace to end a write with, so that the server's parser does not sit on its end.
    ///
    /// Expat 2.6's reparse deferral (backported to Debian 12's 2.5.0, and used by
    /// Prosody through lua-expat and ejabberd through fast_xml, neither of which
    /// turns it off) does not retry a token after an attempt that consumed nothing
    /// until the unparsed bytes have doubled. Text is reported as it arrives, so the
    /// only tokens that can be held are tags: when reads cut one of the last tags of
    /// a write so that an attempt holds only its beginning, the stanza would wait
    /// for Parley's next write, up to a keepalive interval. Whitespace between
    /// stanzas is legal (RFC 6120 §11.7); as many bytes as the longest tag in the
    /// write guarantee the doubling for every tag in it. (Padding by the longest
    /// stanza, as before, doubled a 200-recipient multicast stanza.)
    static func parserFlush(afterLongestTag length: Int) -> Int {
        min(length, maximumFlush)
    }

    static let maximumFlush = 512 * 1024
}
