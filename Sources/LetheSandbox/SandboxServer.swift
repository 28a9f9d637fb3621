import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The sandbox on HTTP/1.1 over loopback (SwiftNIO). A raw NIO server rather than a web
/// framework, because the faults need what frameworks hide: closing a connection without
/// an answer, and answering late.
public final class SandboxServer: Sendable {
    let channel: any Channel
    public let port: Int
    public let host: String
    /// What it serves (tests read the stored users and the call counts).
    public let sandbox: Sandbox

    private init(channel: any Channel, host: String, port: Int, sandbox: Sandbox) {
        self.channel = channel
        self.host = host
        self.port = port
        self.sandbox = sandbox
    }

    /// Binds to `host:port` (0 picks a free port) and serves `sandbox` until `stop()`.
    public static func start(_ sandbox: Sandbox, host: String = "127.0.0.1", port: Int = 0) async throws -> SandboxServer {
        try await start(handler: sandbox, sandbox: sandbox, host: host, port: port)
    }

    /// Serves any handler (a sandbox, or a test's programmable server wrapping one).
    public static func start(handler: any SCIMRequestHandler, sandbox: Sandbox, host: String = "127.0.0.1", port: Int = 0) async throws -> SandboxServer {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(SandboxHTTPHandler(handler: handler))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return SandboxServer(channel: channel, host: host, port: channel.localAddress?.port ?? port, sandbox: sandbox)
    }

    /// The base URL of a target.
    public func baseURL(_ target: String) -> String { "http://\(host):\(port)/\(target)/v2" }

    public func stop() async {
        try? await channel.close()
    }
}

/// Collects one request, asks the sandbox, and answers (or drops, or answers late).
final class SandboxHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let handler: any SCIMRequestHandler
    var head: HTTPRequestHead?
    var body = ByteBuffer()

    init(handler: any SCIMRequestHandler) { self.handler = handler }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body.clear()
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            self.head = nil
            let headers = head.headers.map { ($0.name, $0.value) }
            let outcome = handler.handle(method: head.method.rawValue, uri: head.uri, headers: headers,
                                         body: Data(body.readableBytesView), host: head.headers["host"].first ?? "127.0.0.1")
            switch outcome {
            case .drop:
                context.close(promise: nil)
            case .stall(let status):
                var headers = HTTPHeaders()
                headers.add(name: "Content-Type", value: "application/scim+json")
                headers.add(name: "Content-Length", value: "4096")
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: HTTPResponseStatus(statusCode: status),
                                                                               headers: headers))), promise: nil)
            case .respond(let response, let delayMs):
                let keepAlive = head.isKeepAlive
                let version = head.version
                if delayMs > 0 {
                    let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
                    context.eventLoop.scheduleTask(in: .milliseconds(Int64(delayMs))) {
                        let (handler, context) = bound.value
                        handler.write(response, version: version, keepAlive: keepAlive, context: context)
                    }
                } else {
                    write(response, version: version, keepAlive: keepAlive, context: context)
                }
            }
        }
    }

    func write(_ response: SandboxResponse, version: HTTPVersion, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.count))
        if !keepAlive { headers.replaceOrAdd(name: "Connection", value: "close") }
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}
