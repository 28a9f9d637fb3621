import HummingbirdCore
import NIOCore
import NIOHTTPTypes

/// How long a client may take before the server stops waiting for it. A connection that opens
/// and sends nothing, or trickles half a request header, would otherwise hold one of the
/// server's connections for as long as the client likes (a "slow loris").
public struct ConnectionLimits: Sendable, Hashable {
    /// From the connection opening to the end of the first request's header.
    public var firstHeader: Duration
    /// From a response to the end of the next request's header on a kept-alive connection.
    public var keepAlive: Duration
    /// Open connections at most; more wait in the listen backlog until one closes.
    public var maxConnections: Int

    public init(firstHeader: Duration = .seconds(10), keepAlive: Duration = .seconds(60), maxConnections: Int = 256) {
        self.firstHeader = firstHeader
        self.keepAlive = keepAlive
        self.maxConnections = maxConnections
    }
}

/// Closes a connection whose next request header does not arrive in time: `firstHeader` after
/// it opens, `keepAlive` after each response. It sits after HTTP decoding, so "arrived" means
/// the whole header was read; a body, once the header is in, is bounded by the handler's size
/// limits and the idle timeout instead.
final class RequestHeaderDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let limits: ConnectionLimits
    private var timer: Scheduled<Void>?
    /// Requests whose header arrived and whose response has not ended.
    private var open = 0

    init(limits: ConnectionLimits) {
        self.limits = limits
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(context: context, after: limits.firstHeader)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            open += 1
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            open = max(0, open - 1)
            if open == 0 { arm(context: context, after: limits.keepAlive) }
        }
        context.write(data, promise: promise)
    }

    private func arm(context: ChannelHandlerContext, after delay: Duration) {
        timer?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: TimeAmount(delay)) {
            loopBound.value.close(promise: nil)
        }
    }
}
