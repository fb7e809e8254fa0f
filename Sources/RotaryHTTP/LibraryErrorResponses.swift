import CMicroHTTPD
import CRotaryShims
import Glibc

// libmicrohttpd refuses some requests itself, where Rotary's access handler cannot see them first: after
// the request line, a `Content-Length` that is not a decimal number or is past 2^64-1; in a chunked body,
// a chunk line (size and extensions) longer than the connection's buffer. It answers with its own HTML (in
// 0.9.75 a malformed length gets the status line and headers twice; a long chunk line a 500). It logs each
// such refusal just before queuing it, on the connection's thread. Rotary's hook then finds the connection
// among those that thread is reading a head or chunked body for, and answers first with its JSON error and
// shuts the socket's sending side: libmicrohttpd's own answer then fails to send and the connection
// closes. When the hook cannot tell the connection for sure, libmicrohttpd's answer goes out as before.

let libraryErrorResponseHook: rotary_mhd_error_response_hook = { context, status in
    guard let context else { return }
    Unmanaged<Server>.fromOpaque(context)._withUnsafeGuaranteedRef { server in server.preemptLibraryErrorResponse(status: Int(status)) }
}

private let collectHeaders: MHD_KeyValueIterator = { cls, _, key, value in
    guard let cls, let key else { return .YES }
    cls.assumingMemoryBound(to: [(name: String, value: String)].self).pointee
        .append((lowercasedASCII(key), value.map { String(cString: $0) } ?? ""))
    return .YES
}

extension Server {
    func preemptLibraryErrorResponse(status: Int) {
        let thread = UInt(pthread_self())
        if status == 500 {
            // libmicrohttpd's only 500 comes while a body arrives and the read buffer is full. A body with a
            // Content-Length is always taken whole, so it is a chunk line too long; with one chunked body on
            // this thread, it is that one's.
            let receiving = deadlines.connectionsReceivingChunks(on: thread)
            guard receiving.count == 1 else { return }
            receiving[0].chunksPendingOn.store(0, ordering: .relaxed)
            receiving[0].answerAndClose(.badRequest("a chunk line (size and extensions) is longer than the connection's buffer (connection_memory_limit)"),
                                        how: SHUT_WR)
            return
        }
        for watched in deadlines.connectionsWithHeadPending(on: thread) {
            var headers: [(name: String, value: String)] = []
            withUnsafeMutablePointer(to: &headers) { _ = MHD_get_connection_values(watched.connection, .HEADER_KIND, collectHeaders, $0) }
            // Without the Host rule: a Host header may still be on its way for a head that is not complete.
            // Every other rule a later header cannot undo, so a head refused here would be refused whole.
            guard case .failure(let error) = RequestFraming.body(of: headers, requiresHost: false, maxBodyBytes: configuration.maxBodyBytes)
            else { continue }
            watched.headPendingOn.store(0, ordering: .relaxed)
            watched.answerAndClose(error, how: SHUT_WR)
        }
    }
}

extension HTTPError {
    /// The whole response as bytes, with `Connection: close`, for writing to a socket directly.
    var closingResponseBytes: [UInt8] {
        let reasons = [400: "Bad Request", 408: "Request Timeout", 413: "Content Too Large", 501: "Not Implemented"]
        let body = self.body
        let head = "HTTP/1.1 \(status) \(reasons[status] ?? "Error")\r\nConnection: close\r\n"
            + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"
        return Array(head.utf8) + body
    }
}
