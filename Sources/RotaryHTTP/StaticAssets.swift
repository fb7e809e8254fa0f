/// A file served as it is, from memory: its exact path, media type and bytes.
public struct StaticAsset: Sendable {
    public var path: String
    public var contentType: String
    public var body: [UInt8]
    /// A strong validator of the bytes (`"…"`, FNV-1a 64 of the body): a browser revalidates with it and
    /// gets 304 without the body while the file is unchanged.
    public var entityTag: String

    public init(path: String, contentType: String, body: [UInt8]) {
        self.path = path
        self.contentType = contentType
        self.body = body
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in body { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let hex = String(hash, radix: 16)
        entityTag = "\"" + String(repeating: "0", count: 16 - hex.count) + hex + "\""
    }

    /// The media type for a file name's extension, or nil for one that is not served.
    public static func contentType(forFileName name: String) -> String? {
        switch name.split(separator: ".").last.map({ $0.lowercased() }) {
        case "html": "text/html; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        default: nil
        }
    }
}

/// Routes for a fixed set of files. Each file is an exact route, so no request path is ever mapped onto the
/// file system: a path outside the set (`/static/../x`, `%2e%2e`, a missing name) is the router's 404.
public enum StaticAssets {
    /// Headers on every asset answer: `Cache-Control: no-cache` (asset names carry no version, so a browser
    /// must revalidate; the ETag makes that a bodiless 304) and the security headers given.
    public static func routes(_ assets: [StaticAsset], securityHeaders: [(name: String, value: String)]) -> [Route] {
        assets.map { asset in
            let headers = [("ETag", asset.entityTag), ("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff")]
                + securityHeaders
            return Route("GET", asset.path, handler: .inline { request in
                if let condition = request.header("if-none-match"), matches(condition, asset.entityTag) {
                    return Response(status: 304, headers: headers)
                }
                return Response(status: 200, contentType: asset.contentType, headers: headers, body: asset.body)
            })
        }
    }

    /// RFC 9110 §13.1.2: `*`, or a list of tags one of which equals ours (weak comparison: `W/` ignored).
    static func matches(_ condition: String, _ tag: String) -> Bool {
        condition.split(separator: ",").contains { candidate in
            var value = candidate.trimmingCharacters(in: " \t")
            if value.hasPrefix("W/") { value.removeFirst(2) }
            return value == "*" || value == tag
        }
    }
}
