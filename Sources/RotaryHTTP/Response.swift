/// An HTTP response value; the server turns it into a libmicrohttpd response.
public struct Response: Sendable {
    public var status: Int
    /// The `Content-Type`, kept apart from `headers` so the common response needs no header list
    /// (an allocation per request saved on the hot path).
    public var contentType: String?
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// A body fixed at compile time, sent from where it lies (no allocation or copy): when set, `body` is
    /// ignored. For constant answers on the hottest paths (`/health`).
    public var staticBody: StaticString?
    /// When set, the body is produced over time instead (`body` is ignored).
    public var stream: ResponseStream?

    public init(status: Int = 200, contentType: String? = nil, headers: [(name: String, value: String)] = [],
                body: [UInt8] = [], stream: ResponseStream? = nil) {
        self.status = status
        self.contentType = contentType
        self.headers = headers
        self.body = body
        self.stream = stream
    }

    /// A JSON response whose body is a compile-time constant.
    public static func json(_ body: StaticString, status: Int = 200) -> Response {
        var response = Response(status: status, contentType: "application/json")
        response.staticBody = body
        return response
    }

    /// The body's bytes, whichever form holds them.
    public var bodyBytes: [UInt8] {
        guard let staticBody else { return body }
        return Array(UnsafeBufferPointer(start: staticBody.utf8Start, count: staticBody.utf8CodeUnitCount))
    }

    /// A response whose body is already-encoded JSON.
    public static func json(_ body: [UInt8], status: Int = 200) -> Response {
        Response(status: status, contentType: "application/json", body: body)
    }

    public static func text(_ body: String, contentType: String, status: Int = 200) -> Response {
        Response(status: status, contentType: contentType, body: Array(body.utf8))
    }

    /// The first header with this name (case-insensitive), `Content-Type` included.
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        if wanted == "content-type", let contentType { return contentType }
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}
