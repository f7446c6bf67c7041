import Foundation
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// The small HTTP listener of `[http] listen`: `/health` for monitors and load
/// balancers, `/metrics` for Prometheus. Plain HTTP on an address the admin
/// chooses (loopback by default in the example config); GET and HEAD only.
struct HTTPListener: Sendable {
    let host: String
    let port: Int
    let health: @Sendable () async -> HealthReport
    /// The Prometheus text exposition.
    let metrics: @Sendable () async -> String
    let logger: Logger

    typealias Connection = NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>

    /// A monitor needs one or two connections: more are refused, and a connection that
    /// says nothing for this long is closed, so that nobody can hold the listener.
    static let maximumConnections = 32
    static let idleTimeout = TimeAmount.seconds(10)

    /// Serves until cancelled. Throws when the address cannot be bound.
    func run() async throws {
        let open = OpenConnections()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(ChannelOptions.backlog, value: 16)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers([
                        IdleStateHandler(readTimeout: Self.idleTimeout), IdleConnectionCloser(),
                    ])
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        logger.info("HTTP listener on \(host):\(port) (/health, /metrics)")
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask {
                        guard open.enter() else {
                            // Over the limit: closed at once, nothing read (an async channel
                            // must be closed through executeThenClose).
                            try? await connection.executeThenClose { _, _ in }
                            return
                        }
                        defer { open.leave() }
                        await serve(connection)
                    }
                }
            }
        }
    }

    private func serve(_ connection: Connection) async {
        do {
            try await connection.executeThenClose { inbound, outbound in
                var head: HTTPRequestHead?
                for try await part in inbound {
                    switch part {
                    case .head(let request): head = request
                    case .body: continue
                    case .end:
                        guard let request = head else { return }
                        let (status, contentType, body) = await respond(to: request)
                        var headers = HTTPHeaders()
                        headers.add(name: "Content-Type", value: contentType)
                        headers.add(name: "Content-Length", value: String(body.utf8.count))
                        headers.add(name: "Cache-Control", value: "no-store")
                        try await outbound.write(.head(HTTPResponseHead(version: request.version, status: status, headers: headers)))
                        if request.method != .HEAD {
                            try await outbound.write(.body(.byteBuffer(ByteBuffer(string: body))))
                        }
                        try await outbound.write(.end(nil))
                        head = nil
                    }
                }
            }
        } catch {
            logger.debug("HTTP connection ended: \(error)")
        }
    }

    private func respond(to request: HTTPRequestHead) async -> (HTTPResponseStatus, String, String) {
        let text = "text/plain; charset=utf-8"
        guard request.method == .GET || request.method == .HEAD else {
            return (.methodNotAllowed, text, "GET or HEAD\n")
        }
        switch request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri {
        case "/health":
            let report = await health()
            return (HTTPResponseStatus(statusCode: report.statusCode()), "application/json", report.json())
        case "/metrics":
            return (.ok, "text/plain; version=0.0.4; charset=utf-8", await metrics())
        default:
            return (.notFound, text, "not found\n")
        }
    }
}

/// How many HTTP connections are open (at most `HTTPListener.maximumConnections`).
final class OpenConnections: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0

    func enter() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard count < HTTPListener.maximumConnections else { return false }
        count += 1
        return true
    }

    func leave() {
        lock.lock()
        count -= 1
        lock.unlock()
    }
}

/// Closes a connection once the `IdleStateHandler` before it says it has been quiet too long.
final class IdleConnectionCloser: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            context.close(promise: nil)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
