import COpenSSL
import Logging
import NIOCore

/// TLS for the component link with OpenSSL's libssl (the design card's crypto),
/// through memory BIOs: ciphertext from the socket goes into one BIO, what
/// OpenSSL wants to send comes out of the other, and plaintext passes on to
/// the XML stream. Writes before the handshake is done wait for it.
final class OpenSSLClientHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let settings: ComponentTLS
    private let logger: Logger
    private let sslContext: OpaquePointer
    private var ssl: OpaquePointer?
    private var incoming: OpaquePointer?
    private var outgoing: OpaquePointer?
    private var established = false
    private var failed = false
    private var waiting: [(ByteBuffer, EventLoopPromise<Void>?)] = []

    init(settings: ComponentTLS, logger: Logger) throws(ComponentTLSError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else {
            throw ComponentTLSError(description: "OpenSSL cannot make a TLS context: \(Self.lastError())")
        }
        sslContext = context
        self.settings = settings
        self.logger = logger
        _ = parley_SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION)
        if settings.pinnedSHA256 != nil {
            // The pin is checked once the handshake is done; no CA is consulted.
            SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
        } else {
            SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            let loaded = settings.caFile.map { SSL_CTX_load_verify_locations(context, $0, nil) }
                ?? SSL_CTX_set_default_verify_paths(context)
            guard loaded == 1 else {
                SSL_CTX_free(context)
                throw ComponentTLSError(description: "cannot load the CA certificates \(settings.caFile ?? "(system)"): \(Self.lastError())")
            }
        }
    }

    deinit {
        if let ssl { SSL_free(ssl) }  // frees both BIOs
        SSL_CTX_free(sslContext)
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    private func start(context: ChannelHandlerContext) {
        guard ssl == nil, let connection = SSL_new(sslContext) else { return }
        ssl = connection
        incoming = BIO_new(BIO_s_mem())
        outgoing = BIO_new(BIO_s_mem())
        SSL_set_bio(connection, incoming, outgoing)
        SSL_set_connect_state(connection)
        _ = parley_SSL_set_tlsext_host_name(connection, settings.serverName)
        if settings.pinnedSHA256 == nil { SSL_set1_host(connection, settings.serverName) }
        handshake(context: context)
    }

    private func handshake(context: ChannelHandlerContext) {
        guard let ssl, !failed else { return }
        ERR_clear_error()
        let status = SSL_do_handshake(ssl)
        sendCiphertext(context: context, promise: nil)
        context.flush()
        if status == 1 {
            if let problem = pinProblem() {
                fail(context: context, problem)
                return
            }
            established = true
            logger.info("TLS to the server established (\(String(cString: SSL_get_version(ssl))), \(settings.pinnedSHA256 == nil ? "certificate verified for \(settings.serverName)" : "pinned certificate"))")
            let pending = waiting
            waiting = []
            for (plaintext, promise) in pending { encrypt(plaintext, context: context, promise: promise) }
            context.flush()
            readPlaintext(context: context)
            return
        }
        let error = SSL_get_error(ssl, status)
        guard error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE else { return }
        let verify = SSL_get_verify_result(ssl)
        let reason = verify != X509_V_OK
            ? "the server's certificate is not trusted: \(String(cString: X509_verify_cert_error_string(verify)))"
            : Self.lastError()
        fail(context: context, "TLS handshake with the server failed: \(reason)")
    }

    /// With a pin, the certificate must hash to it; nil when it does (or nothing is pinned).
    private func pinProblem() -> String? {
        guard let pin = settings.pinnedSHA256, let ssl else { return nil }
        guard let certificate = SSL_get1_peer_certificate(ssl) else { return "the server sent no certificate" }
        defer { X509_free(certificate) }
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(certificate, EVP_sha256(), &digest, &length) == 1 else { return Self.lastError() }
        let actual = Array(digest.prefix(Int(length)))
        guard actual == pin else {
            let shown = actual.map { String(format: "%02X", $0) }.joined(separator: ":")
            return "the server's certificate (sha256:\(shown)) is not the pinned one (component.tls_fingerprint)"
        }
        return nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let incoming, !failed else { return }
        let buffer = unwrapInboundIn(data)
        buffer.withUnsafeReadableBytes { bytes in
            // A memory BIO grows as needed: everything is taken.
            _ = BIO_write(incoming, bytes.baseAddress, Int32(bytes.count))
        }
        if established {
            readPlaintext(context: context)
        } else {
            handshake(context: context)
        }
    }

    private func readPlaintext(context: ChannelHandlerContext) {
        guard let ssl else { return }
        var plaintext = context.channel.allocator.buffer(capacity: 16 * 1024)
        var closed = false
        while true {
            ERR_clear_error()
            var result: Int32 = 0
            plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 * 1024) { space in
                result = SSL_read(ssl, space.baseAddress, Int32(space.count))
                return max(Int(result), 0)
            }
            if result > 0 { continue }
            let error = SSL_get_error(ssl, result)
            if error == SSL_ERROR_ZERO_RETURN { closed = true }
            else if error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE {
                fail(context: context, "TLS error on the component link: \(Self.lastError())")
                return
            }
            break
        }
        // Session tickets and the like may want to go out.
        sendCiphertext(context: context, promise: nil)
        context.flush()
        if plaintext.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(plaintext)) }
        if closed { context.close(promise: nil) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let plaintext = unwrapOutboundIn(data)
        guard established else {
            if failed {
                promise?.fail(ComponentTLSError(description: "TLS failed"))
            } else {
                waiting.append((plaintext, promise))
            }
            return
        }
        encrypt(plaintext, context: context, promise: promise)
    }

    private func encrypt(_ plaintext: ByteBuffer, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard let ssl else { return }
        var remaining = plaintext
        while remaining.readableBytes > 0 {
            let written = remaining.withUnsafeReadableBytes { bytes in
                SSL_write(ssl, bytes.baseAddress, Int32(bytes.count))
            }
            guard written > 0 else {
                fail(context: context, "TLS error while writing: \(Self.lastError())")
                promise?.fail(ComponentTLSError(description: "TLS write failed"))
                return
            }
            remaining.moveReaderIndex(forwardBy: Int(written))
        }
        sendCiphertext(context: context, promise: promise)
    }

    /// Moves what OpenSSL has to send to the socket (not flushed).
    private func sendCiphertext(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        guard let outgoing else {
            promise?.succeed()
            return
        }
        let pending = Int(BIO_ctrl_pending(outgoing))
        guard pending > 0 else {
            promise?.succeed()
            return
        }
        var ciphertext = context.channel.allocator.buffer(capacity: pending)
        ciphertext.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { space in
            max(Int(BIO_read(outgoing, space.baseAddress, Int32(pending))), 0)
        }
        context.write(wrapOutboundOut(ciphertext), promise: promise)
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if established, let ssl, !failed {
            _ = SSL_shutdown(ssl)
            sendCiphertext(context: context, promise: nil)
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }

    private func fail(context: ChannelHandlerContext, _ reason: String) {
        guard !failed else { return }
        failed = true
        logger.error("\(reason)")
        for (_, promise) in waiting { promise?.fail(ComponentTLSError(description: reason)) }
        waiting = []
        context.fireErrorCaught(ComponentTLSError(description: reason))
        context.close(promise: nil)
    }

    /// OpenSSL's error queue, as text.
    static func lastError() -> String {
        var messages: [String] = []
        while true {
            let code = ERR_get_error()
            guard code != 0 else { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
            messages.append(String(decoding: bytes, as: UTF8.self))
        }
        return messages.isEmpty ? "unknown error" : messages.joined(separator: "; ")
    }
}
