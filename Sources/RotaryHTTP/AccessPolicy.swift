/// Who may call and from which web origin: an optional bearer token (constant-time comparison; the
/// `openPaths` need none: `/health`, `/ready`, and those the service adds, the playground's files) and an
/// optional CORS origin (off unless set).
public struct AccessPolicy: Sendable, Equatable {
    public var apiKey: String?
    public var corsOrigin: String?
    public var openPaths: Set<String> = ["/health", "/ready"]

    public init(apiKey: String? = nil, corsOrigin: String? = nil) {
        self.apiKey = apiKey
        self.corsOrigin = corsOrigin
    }

    /// nil when the request may proceed, else the 401 that answers it.
    func check(_ request: Request) -> HTTPError? {
        guard let apiKey, !apiKey.isEmpty, !openPaths.contains(request.path) else { return nil }
        let presented = Array((request.header("authorization") ?? "").utf8)
        // The scheme is case-insensitive (RFC 9110 §11.1): `bearer` and `BEARER` name it too. Only the
        // credential after it needs the constant-time comparison.
        let scheme = Array("bearer ".utf8)
        let schemeMatches = presented.count >= scheme.count
            && zip(presented, scheme).allSatisfy { lowercasedASCIIByte($0) == $1 }
        let credential = schemeMatches ? Array(presented[scheme.count...]) : []
        guard schemeMatches, Self.constantTimeEqual(credential, Array(apiKey.utf8)) else {
            return HTTPError(status: 401, type: "unauthorized", message: "a valid 'Authorization: Bearer <api key>' header is required",
                             headers: [("WWW-Authenticate", "Bearer")])
        }
        return nil
    }

    /// Compares in time that depends only on the lengths, not on where the bytes differ.
    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = UInt8(a.count == b.count ? 0 : 1)
        for i in 0..<max(a.count, b.count) {
            difference |= (i < a.count ? a[i] : 0) ^ (i < b.count ? b[i] : 0)
        }
        return difference == 0
    }
}
