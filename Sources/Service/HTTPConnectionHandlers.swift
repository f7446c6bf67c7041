import Foundation
import HTTPTypes
import NIOCore
import NIOHTTPTypes
import WebLogs

/// How many HTTP connections are open, at most `limit`.
final class OpenConnections: @unchecked Sendable {
    private let lock = NSLock()
    private let limit: Int
    private var count = 0

    init(limit: Int) {
        self.limit = limit
    }

    func enter() -> Bool {
        lock.withLock {
            guard count < limit else { return false }
            count += 1
            return true
        }
    }

    func leave() {
        lock.withLock { count -= 1 }
    }
}

/// Guards one HTTP connection: closes it at once when `OpenConnections` is full (holding
/// many idle connections cannot shut monitors and readers out), and closes it after
/// `idleTimeout` without a request in progress. It sits before `CachedPageResponder`, so
/// it sees every request and response, those answered from the cache too.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    private let open: OpenConnections
    private let idleTimeout: TimeAmount
    private var entered = false
    private var inProgress = 0
    private var idleClose: Scheduled<Void>?

    init(open: OpenConnections, idleTimeout: TimeAmount) {
        self.open = open
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        entered = open.enter()
        if entered {
            scheduleIdleClose(context)
        } else {
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleClose?.cancel()
        if entered { open.leave() }
        entered = false
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            inProgress += 1
            idleClose?.cancel()
            idleClose = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        guard case .end = unwrapOutboundIn(data) else {
            context.write(data, promise: promise)
            return
        }
        inProgress = max(0, inProgress - 1)
        // Idle from when the response has gone out, not from when it was queued: a large
        // page to a slow reader must not be cut off by the idle timer.
        let written = promise ?? context.eventLoop.makePromise(of: Void.self)
        written.futureResult.assumeIsolatedUnsafeUnchecked().whenComplete { [self] _ in
            if inProgress == 0 && context.channel.isActive { scheduleIdleClose(context) }
        }
        context.write(data, promise: written)
    }

    private func scheduleIdleClose(_ context: ChannelHandlerContext) {
        idleClose?.cancel()
        idleClose = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: idleTimeout) {
            context.close(promise: nil)
        }
    }
}

/// Answers requests for web log pages that are in the cache, or the stylesheet and script,
/// right here on the HTTP event loop; everything else goes on to Hummingbird. A cached
/// page is a lookup: handing it to Swift's task pool, where the rooms run, would cost more
/// than serving it and wake threads the rooms need.
final class CachedPageResponder: ChannelDuplexHandler, RemovableChannelHandler, @unchecked Sendable {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart
    private let site: WebLogSite
    /// Requests handed on whose responses have not ended: while there is one, later
    /// requests go the same way, so that responses keep their order.
    private var handedOn = 0
    /// The request being answered here: its body and end are dropped.
    private var answering = false

    init(site: WebLogSite) {
        self.site = site
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let request):
            if handedOn == 0, let response = cached(request) {
                answering = true
                context.write(wrapOutboundOut(.head(response.head)), promise: nil)
                if request.method != .head { context.write(wrapOutboundOut(.body(response.body)), promise: nil) }
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            handedOn += 1
            context.fireChannelRead(data)
        case .body, .end:
            if answering {
                if case .end = unwrapInboundIn(data) { answering = false }
                return
            }
            context.fireChannelRead(data)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { handedOn = max(0, handedOn - 1) }
        context.write(data, promise: promise)
    }

    private func cached(_ request: HTTPRequest) -> (head: HTTPResponse, body: ByteBuffer)? {
        guard request.method == .get || request.method == .head, let target = request.path, target.hasPrefix("/logs/") else {
            return nil
        }
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        guard let answer = site.cachedResponse(to: WebRequest(
            path: parts[0].dropFirst("/logs".count), query: WebRequest.parseQuery(parts.count > 1 ? String(parts[1]) : ""),
            ifNoneMatch: request.headerFields[.ifNoneMatch]))
        else { return nil }
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let field = HTTPField.Name(name) { fields.append(HTTPField(name: field, value: value)) }
        }
        fields[.date] = UTCDate.httpDate(Date().timeIntervalSince1970)
        // A 304 names no length (RFC 9110 §8.6: it would have to be the 200's).
        if answer.status != 304 { fields[.contentLength] = String(answer.body.readableBytes) }
        return (HTTPResponse(status: .init(code: answer.status), headerFields: fields), answer.body)
    }
}
