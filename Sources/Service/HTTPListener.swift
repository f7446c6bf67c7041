import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import WebLogs

/// The HTTP listener of `[http] listen`, on Hummingbird: `/health` for monitors and load
/// balancers, `/metrics` for Prometheus, `/logs/` for the rooms' web logs. Plain HTTP on
/// an address the admin chooses; a reverse proxy adds TLS. GET and HEAD only.
struct HTTPListener: Sendable {
    let host: String
    let port: Int
    let maximumConnections: Int
    let health: @Sendable () async -> HealthReport
    /// The Prometheus text exposition.
    let metrics: @Sendable () async -> String
    /// The web logs; nil when `[weblogs] enabled = false`.
    let webLogs: WebLogSite?
    let logger: Logger

    /// A connection that says nothing for this long is closed, so that nobody can hold the listener.
    static let idleTimeout = TimeAmount.seconds(10)

    /// Serves until cancelled. Throws when the address cannot be bound.
    func run() async throws {
        let router = Hummingbird.Router(context: ClientRequestContext.self)
        let health = health
        let metrics = metrics
        // First, so that it wraps every route and the not-found answer too.
        router.add(middleware: ReadOnlyMethods())
        let healthRoute: @Sendable (Request, ClientRequestContext) async throws -> Response = { request, _ in
            let report = await health()
            return Self.response(
                status: report.statusCode(), type: "application/json", body: ByteBuffer(string: report.json()), for: request)
        }
        let metricsRoute: @Sendable (Request, ClientRequestContext) async throws -> Response = { request, _ in
            Self.response(
                status: 200, type: "text/plain; version=0.0.4; charset=utf-8", body: ByteBuffer(string: await metrics()), for: request)
        }
        for (path, route) in [("/health", healthRoute), ("/metrics", metricsRoute)] {
            router.get(RouterPath(stringLiteral: path), use: route)
            router.head(RouterPath(stringLiteral: path), use: route)
        }
        if let webLogs {
            let serve: @Sendable (Request, ClientRequestContext) async throws -> Response = { request, context in
                // The router does not tell "/logs" from "/logs/": the index lives at the latter.
                guard request.uri.path.hasPrefix("/logs/") else {
                    var response = Self.response(status: 301, type: "text/plain; charset=utf-8", body: ByteBuffer(string: "/logs/\n"))
                    response.headers[.location] = "/logs/"
                    return response
                }
                let path = request.uri.path.dropFirst("/logs".count)
                let answer = await webLogs.respond(to: WebRequest(
                    path: path, query: WebRequest.parseQuery(request.uri.query ?? ""),
                    clientAddress: context.clientAddress, ifNoneMatch: request.headers[.ifNoneMatch]))
                var response = Self.response(status: answer.status, type: nil, body: answer.body, cacheControl: nil, for: request)
                for (name, value) in answer.headers {
                    // HTTPTypes' field type, reached through the HTTPFields Hummingbird exports.
                    if let field = HTTPFields.Element.Name(name) { response.headers.append(HTTPFields.Element(name: field, value: value)) }
                }
                return response
            }
            router.get("/", use: serve)
            router.get("/logs", use: serve)
            router.head("/logs", use: serve)
            router.get("/logs/**", use: serve)
            router.head("/logs/**", use: serve)
        }
        let open = OpenConnections(limit: maximumConnections)
        let group = Self.lowPriorityEventLoop()
        let application = Application(
            router: router,
            server: .http1(configuration: .init(
                additionalChannelHandlers: [ConnectionGuard(open: open, idleTimeout: Self.idleTimeout)]
                    + (webLogs.map { [CachedPageResponder(site: $0)] } ?? []))),
            configuration: .init(address: .hostname(host, port: port), serverName: nil, backlog: 64, reuseAddress: true),
            onServerRunning: { [logger, host, port] _ in
                logger.info("HTTP listener on \(host):\(port) (/health, /metrics\(webLogs == nil ? "" : ", /logs/"))")
            },
            eventLoopGroupProvider: .shared(group),
            logger: Self.quieter(logger))
        do {
            try await application.run()
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try? await group.shutdownGracefully()
    }

    /// One event-loop thread at nice 10 for HTTP: when the machine is busy, the XMPP side
    /// (Parley's rooms and the server beside it) goes first and the web waits.
    static func lowPriorityEventLoop() -> MultiThreadedEventLoopGroup {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        group.next().execute {
            // Linux keeps a nice value per thread: 0 is the calling thread.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        }
        return group
    }

    /// Hummingbird's own log: its per-request lines and the cancellation it reports as an
    /// error when the service stops are noise next to Parley's log.
    static func quieter(_ logger: Logger) -> Logger {
        var quiet = logger
        quiet.logLevel = max(logger.logLevel, .critical)
        return quiet
    }

    /// A response; to HEAD, the same headers with the length of the body GET would get, and no body.
    static func response(
        status: Int, type: String?, body: ByteBuffer, cacheControl: String? = "no-store", for request: Request? = nil
    ) -> Response {
        var headers = HTTPFields()
        if let type { headers[.contentType] = type }
        if let cacheControl { headers[.cacheControl] = cacheControl }
        guard request?.method == .head else {
            return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody(byteBuffer: body))
        }
        headers[.contentLength] = String(body.readableBytes)
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: ResponseBody())
    }
}

/// Everything here only reads: other methods get 405 with `Allow`, on every path.
struct ReadOnlyMethods: RouterMiddleware {
    typealias Context = ClientRequestContext

    func handle(
        _ request: Request, context: ClientRequestContext, next: (Request, ClientRequestContext) async throws -> Response
    ) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            var headers = HTTPFields()
            headers[.allow] = "GET, HEAD"
            headers[.contentType] = "text/plain; charset=utf-8"
            return Response(status: .methodNotAllowed, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: "GET or HEAD\n")))
        }
        return try await next(request, context)
    }
}

/// Hummingbird's request context with the client's address, for per-address limits.
struct ClientRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// The peer's IP address ("" when unknown). Behind a reverse proxy this is the proxy.
    let clientAddress: String

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        clientAddress = source.channel.remoteAddress?.ipAddress ?? ""
    }
}
