import CMicroHTTPD
import CRotaryShims
import Glibc
import Logging

// The C callbacks, bridged in one place. `cls` is the `Server` (retained while the daemon runs);
// `*con_cls` is the request's `Exchange` (retained from the first call until request-completed).
// The server is borrowed, not retained, per call: both daemon threads would otherwise bounce its
// reference count between the cores on every request.

let accessHandlerCallback: MHD_AccessHandlerCallback = { cls, connection, url, method, version, uploadData, uploadDataSize, requestContext in
    guard let cls, let connection, let url, let method, let uploadDataSize, let requestContext else { return .NO }
    return Unmanaged<Server>.fromOpaque(cls)._withUnsafeGuaranteedRef { server in
        server.handleAccess(connection, url, method, version, uploadData, uploadDataSize, requestContext)
    }
}

/// Stands in for the request's context from the request line to the first access-handler call when the
/// path holds an encoded NUL: libmicrohttpd decodes the path in place, so the handler would only see the
/// part before it (`/health%00anything` as `/health`). Never dereferenced.
nonisolated(unsafe) let encodedNULMarker = UnsafeMutableRawPointer(bitPattern: 0x4E55_4C00)!

/// Runs on the raw request line, before libmicrohttpd decodes it; its result becomes the request context.
let uriLogCallback: @convention(c) (UnsafeMutableRawPointer?, UnsafePointer<CChar>?, OpaquePointer?) -> UnsafeMutableRawPointer? = { _, uri, _ in
    guard let uri else { return nil }
    var i = 0
    while uri[i] != 0 && uri[i] != 0x3F {   // the path ends at '?'
        if uri[i] == 0x25 && uri[i + 1] == 0x30 && uri[i + 2] == 0x30 { return encodedNULMarker }   // "%00"
        i += 1
    }
    return nil
}

let requestCompletedCallback: MHD_RequestCompletedCallback = { cls, _, requestContext, termination in
    guard let cls, let requestContext, let raw = requestContext.pointee else { return }
    requestContext.pointee = nil
    if raw == encodedNULMarker { return }   // the request ended before its first access-handler call
    let exchange = Unmanaged<Exchange>.fromOpaque(raw).takeRetainedValue()
    exchange.watched?.responseDone()
    Unmanaged<Server>.fromOpaque(cls)._withUnsafeGuaranteedRef { server in
        server.finish(exchange, completedNormally: termination == .REQUEST_TERMINATED_COMPLETED_OK)
    }
}

/// What the stream callbacks need: the stream, and the server to unregister it from.
final class StreamContext {
    let stream: ResponseStream
    unowned let server: Server
    init(_ stream: ResponseStream, _ server: Server) { self.stream = stream; self.server = server }
}

let streamReaderCallback: MHD_ContentReaderCallback = { cls, _, buffer, max in
    guard let cls, let buffer else { return -2 }
    return Unmanaged<StreamContext>.fromOpaque(cls).takeUnretainedValue().stream.read(into: buffer, max: max)
}

let streamFreeCallback: MHD_ContentReaderFreeCallback = { cls in
    guard let cls else { return }
    let context = Unmanaged<StreamContext>.fromOpaque(cls).takeRetainedValue()
    context.stream.release()
    context.server.streams.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(context.stream)) }
}

/// The request method: the standard ones as literals (no allocation, no UTF-8 validation), others copied.
private func methodName(_ method: UnsafePointer<CChar>) -> String {
    if strcmp(method, "GET") == 0 { return "GET" }
    if strcmp(method, "POST") == 0 { return "POST" }
    if strcmp(method, "HEAD") == 0 { return "HEAD" }
    if strcmp(method, "OPTIONS") == 0 { return "OPTIONS" }
    return String(cString: method)
}

private let collectPairs: MHD_KeyValueIterator = { cls, kind, key, value in
    guard let cls, let key else { return .YES }
    let pairs = cls.assumingMemoryBound(to: [(name: String, value: String)].self)
    // Header names are case-insensitive: store them lower-cased, in the one allocation of the String.
    let name = kind == .HEADER_KIND ? lowercasedASCII(key) : String(cString: key)
    pairs.pointee.append((name, value.map { String(cString: $0) } ?? ""))
    return .YES
}

extension Server {
    func handleAccess(
        _ connection: OpaquePointer, _ url: UnsafePointer<CChar>, _ method: UnsafePointer<CChar>,
        _ version: UnsafePointer<CChar>?,
        _ uploadData: UnsafePointer<CChar>?, _ uploadDataSize: UnsafeMutablePointer<Int>,
        _ requestContext: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    ) -> MHD_Result {
        guard let raw = requestContext.pointee, raw != encodedNULMarker else {
            // First call: headers only. Answering now would make libmicrohttpd close the connection,
            // so only heads that must be refused (framing, size) are answered here (closing is then what we want).
            let isHTTP11 = version.map { strcmp($0, "HTTP/1.1") == 0 } ?? false
            let exchange = Exchange(connection: connection, method: methodName(method),
                                    path: String(cString: url), startNanos: monotonicNanos(),
                                    allowsInterimResponses: isHTTP11)
            // Every header in one pass over libmicrohttpd's list: the framing rules and the request id read it.
            var headers: [(name: String, value: String)] = []
            headers.reserveCapacity(8)   // one allocation for a typical request's headers
            withUnsafeMutablePointer(to: &headers) { _ = MHD_get_connection_values(connection, .HEADER_KIND, collectPairs, $0) }
            let pathHasNUL = requestContext.pointee == encodedNULMarker
            let clientID = headers.first { $0.name == "x-request-id" }?.value
            exchange.headers = headers
            threadStates.withCurrent { thread in
                exchange.id = nextRequestID(from: clientID, on: thread)
                thread.countStarted()
            }
            requestContext.pointee = Unmanaged.passRetained(exchange).toOpaque()
            exchange.watched = watchedConnection(connection)
            var refusal: HTTPError?
            switch RequestFraming.body(of: headers, requiresHost: isHTTP11, maxBodyBytes: configuration.maxBodyBytes) {
            case .failure(let error): refusal = error
            case .success(let body):
                if case .length(let length) = body { exchange.declaredLength = Int(length) }
                exchange.watched?.headReceived(expectingBody: body != .none)
            }
            if refusal == nil && pathHasNUL {
                refusal = .badRequest("the path must not contain an encoded NUL (%00)")
            }
            if let refusal {
                // The bytes after a head that fails cannot be framed: answer once, then close.
                exchange.watched?.requestComplete()
                exchange.answered = true
                var response = refusal.response
                response.headers.append(("Connection", "close"))
                return queue(response, exchange, connection)
            }
            return .YES
        }
        let exchange = Unmanaged<Exchange>.fromOpaque(raw).takeUnretainedValue()
        if exchange.handedToWorker, let response = exchange.takeResponse() {
            return queue(response, exchange, connection)   // a worker finished and resumed us
        }
        if uploadDataSize.pointee > 0 {
            let count = uploadDataSize.pointee
            uploadDataSize.pointee = 0
            if exchange.answered || exchange.bodyLimitExceeded { return .YES }
            if exchange.body.count + count > configuration.maxBodyBytes {
                // A chunked body crossed the limit: drop what we have, drain the rest, answer 413.
                exchange.bodyLimitExceeded = true
                exchange.body = []
                return .YES
            }
            if exchange.body.isEmpty, let length = exchange.declaredLength {
                exchange.body.reserveCapacity(length)
            }
            uploadData.map { data in
                data.withMemoryRebound(to: UInt8.self, capacity: count) {
                    exchange.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count))
                }
            }
            return .YES
        }
        if exchange.answered { return .YES }
        exchange.watched?.requestComplete()
        if exchange.bodyLimitExceeded { return queue(bodyTooLarge.response, exchange, connection) }
        return dispatch(connection, exchange)
    }

    private var bodyTooLarge: HTTPError { RequestFraming.tooLarge(configuration.maxBodyBytes) }

    private func dispatch(_ connection: OpaquePointer, _ exchange: Exchange) -> MHD_Result {
        // Without a body the request was complete at its first call: its start time serves (a clock read
        // costs a measurable share of a /health request on this VM).
        exchange.dispatchNanos = (exchange.declaredLength ?? 0) == 0 && exchange.body.isEmpty
            ? exchange.startNanos : monotonicNanos()
        var query: [(name: String, value: String)] = []
        withUnsafeMutablePointer(to: &query) { _ = MHD_get_connection_values(connection, .GET_ARGUMENT_KIND, collectPairs, $0) }
        var request = Request(method: exchange.method, path: exchange.path, query: query,
                              lowercasedHeaders: exchange.headers, id: exchange.id)
        exchange.headers = []
        request.body = exchange.body
        exchange.body = []
        switch router.resolution(request) {
        case .failure(let error):
            exchange.pathIsRoute = error.status != 404
            return queue(error.response, exchange, connection)
        case .preflight(let response):
            exchange.pathIsRoute = true
            return queue(response, exchange, connection)
        case .route(let index):
            exchange.pathIsRoute = true
            switch router.routes[index].handler {
            case .inline(let body):
                return queue(router.runInline(body, request), exchange, connection)
            case .worker(let body):
                request.isConnected = exchange.connectionProbe(fd: rotary_mhd_connection_fd(connection))
                exchange.markSuspended()
                suspendedExchanges.withLock { $0[ObjectIdentifier(exchange)] = exchange }
                MHD_suspend_connection(connection)
                let router = self.router
                Task.detached { [self] in
                    let response = await router.runWorker(body, request)
                    suspendedExchanges.withLock { _ = $0.removeValue(forKey: ObjectIdentifier(exchange)) }
                    if exchange.deliver(response), let connection = exchange.connection {
                        MHD_resume_connection(connection)
                    }
                }
                return .YES
            }
        }
    }

    private func queue(_ response: Response, _ exchange: Exchange, _ connection: OpaquePointer) -> MHD_Result {
        var response = response
        var counted = response.stream == nil && response.staticBody == nil && response.body.count > ResponseBudget.countedBytes
        if counted && !responseBudget.reserve(response.body.count) {
            response = responseBudget.refusal.response   // small: never counted
            counted = false
        }
        let mhdResponse: OpaquePointer?
        if let stream = response.stream {
            stream.attach(connection)
            streams.withLock { $0[ObjectIdentifier(stream)] = stream }
            // MHD_SIZE_UNKNOWN: chunked encoding; the stream is retained until the free callback.
            mhdResponse = MHD_create_response_from_callback(UInt64.max, 4096, streamReaderCallback,
                                                            Unmanaged.passRetained(StreamContext(stream, self)).toOpaque(),
                                                            streamFreeCallback)
        } else if let staticBody = response.staticBody {
            // Constant memory: libmicrohttpd may send it from where it lies.
            mhdResponse = MHD_create_response_from_buffer(staticBody.utf8CodeUnitCount,
                                                          UnsafeMutableRawPointer(mutating: staticBody.utf8Start),
                                                          .RESPMEM_PERSISTENT)
        } else if counted {
            mhdResponse = response.body.withUnsafeBytes { responseBudget.response(copying: $0) }
            if mhdResponse == nil { responseBudget.release(response.body.count) }
        } else {
            mhdResponse = response.body.withUnsafeBytes { bytes in
                MHD_create_response_from_buffer(bytes.count, UnsafeMutableRawPointer(mutating: bytes.baseAddress),
                                                .RESPMEM_MUST_COPY)
            }
        }
        guard let mhdResponse else { return .NO }
        if let contentType = response.contentType { addHeader(mhdResponse, "Content-Type", contentType) }
        for header in response.headers { addHeader(mhdResponse, header.name, header.value) }
        if router.policy.corsOrigin != nil && response.header("Access-Control-Allow-Origin") == nil {
            for header in router.responseHeaders { addHeader(mhdResponse, header.name, header.value) }
        }
        addHeader(mhdResponse, "X-Request-Id", exchange.id)
        // Loading or draining: the client should reconnect (to whichever server the balancer now picks).
        if readiness.state != .ready { addHeader(mhdResponse, "Connection", "close") }
        if exchange.dispatchNanos > 0 {
            // Time spent handling the request (body already received), for clients and benchmarks.
            addHeader(mhdResponse, "Server-Timing", serverTimingText(micros: (monotonicNanos() - exchange.dispatchNanos) / 1000))
        }
        let result = MHD_queue_response(connection, UInt32(response.status), mhdResponse)
        MHD_destroy_response(mhdResponse)
        exchange.status = response.status
        exchange.bytesSent = response.staticBody?.utf8CodeUnitCount ?? response.body.count
        return result
    }

    /// `withCString` lends a native string's own bytes; passing a String where C wants a pointer would
    /// copy it into a fresh array every time.
    private func addHeader(_ response: OpaquePointer, _ name: String, _ value: String) {
        name.withCString { name in value.withCString { value in _ = MHD_add_response_header(response, name, value) } }
    }

    func finish(_ exchange: Exchange, completedNormally: Bool) {
        threadStates.withCurrent { thread in
            finish(exchange, completedNormally: completedNormally, on: thread)
            thread.countFinished()   // after the log line: tests wait for it, then read the log
        }
    }

    private func finish(_ exchange: Exchange, completedNormally: Bool, on thread: ServerThreadState) {
        let nanos = monotonicNanos() - exchange.startNanos
        let isRoute = exchange.pathIsRoute ?? router.hasRoutes(for: exchange.path)
        metrics.record(path: isRoute ? exchange.path : "other", method: exchange.method,
                       status: exchange.status, seconds: Double(nanos) / 1e9)
        // The message from the string itself (interpolation would copy it), built only when the level lets
        // it through (an autoclosure); an explicit source spares swift-log parsing #fileID for every line.
        thread.accessLogger.info(Logger.Message(stringLiteral: accessLogText(
            id: exchange.id, method: exchange.method, path: exchange.path, status: exchange.status,
            bytes: exchange.bytesSent, micros: nanos / 1000, aborted: !completedNormally)), source: Self.accessLogSource)
    }
}
