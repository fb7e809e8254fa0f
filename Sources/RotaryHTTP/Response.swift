/// An HTTP response value; the server turns it into a libmicrohttpd response.
public struct Response: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// When set, the body is produced over time instead (`body` is ignored).
    public var stream: ResponseStream?

    public init(status: Int = 200, headers: [(name: String, value: String)] = [], body: [UInt8] = [],
                stream: ResponseStream? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream
    }

    /// A response whose body is already-encoded JSON.
    public static func json(_ body: [UInt8], status: Int = 200) -> Response {
        // A fresh list of literals: a shared static list would have its reference count bounced between
        // the server's threads on every response, which costs more than the allocation.
        Response(status: status, headers: [("Content-Type", "application/json")], body: body)
    }

    public static func text(_ body: String, contentType: String, status: Int = 200) -> Response {
        Response(status: status, headers: [("Content-Type", contentType)], body: Array(body.utf8))
    }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }
}
