/// An HTTP request as the router and handlers see it: plain values, no libmicrohttpd types.
public struct Request: Sendable {
    public var method: String
    /// The path without the query string, e.g. `/rotate`.
    public var path: String
    /// Decoded query items in the order they arrived.
    public var query: [(name: String, value: String)]
    /// Header names are stored lower-cased.
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// The id sent back as `X-Request-Id` (taken from the client when it sent a sane one).
    public var id: String
    /// Whether the client is still connected. Worker handlers check it between steps of long work
    /// (the connection is suspended then, so only a peek at its socket can tell).
    public var isConnected: @Sendable () -> Bool = { true }

    public init(
        method: String, path: String, query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [], body: [UInt8] = [], id: String = "test"
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers.map { ($0.name.lowercased(), $0.value) }
        self.body = body
        self.id = id
    }

    /// Headers already lower-cased by the server.
    init(method: String, path: String, query: [(name: String, value: String)],
         lowercasedHeaders: [(name: String, value: String)], id: String) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = lowercasedHeaders
        self.body = []
        self.id = id
    }

    /// The first header with this name (case-insensitive).
    public func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name == wanted }?.value
    }

    /// The first query item with this name.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    /// The media type of the body without parameters, lower-cased (`application/json`).
    public var mediaType: String? {
        guard let raw = header("content-type") else { return nil }
        let type = raw.split(separator: ";", maxSplits: 1).first ?? ""
        return type.trimmingCharacters(in: " \t").lowercased()
    }

    /// Whether the `Accept` header names this media type itself, with a nonzero quality. Wildcards
    /// (`*/*`, `image/*`) do not count: routes with a choice of representations send their default then.
    public func accepts(_ mediaType: String) -> Bool {
        guard let accept = header("accept") else { return false }
        let wanted = mediaType.lowercased()
        for part in accept.split(separator: ",") {
            let fields = part.split(separator: ";")
            guard (fields.first ?? "").trimmingCharacters(in: " \t").lowercased() == wanted else { continue }
            let quality = fields.dropFirst().lazy
                .map { $0.trimmingCharacters(in: " \t").lowercased() }
                .first { $0.hasPrefix("q=") }
                .flatMap { Double($0.dropFirst(2)) } ?? 1
            return quality > 0
        }
        return false
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var slice = Substring(self)
        while let first = slice.first, chars.contains(first) { slice.removeFirst() }
        while let last = slice.last, chars.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
