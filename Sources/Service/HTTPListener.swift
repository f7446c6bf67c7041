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

    /// Serves until cancelled. Throws when the address cannot be bound.
    func run() async throws {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    return try Connection(wrappingChannelSynchronously: channel)
                }
            }
        logger.info("HTTP listener on \(host):\(port) (/health, /metrics)")
        try await withThrowingDiscardingTaskGroup { group in
            try await server.executeThenClose { inbound in
                for try await connection in inbound {
                    group.addTask { await serve(connection) }
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
