/// The one error type handlers throw: it carries its HTTP status and serialises as
/// `{"error": {"message": ..., "type": ..., "param": ... | null, "code": <status>}}`.
public struct HTTPError: Error, Sendable, Equatable {
    public var status: Int
    /// A short machine-readable kind, e.g. `invalid_request_error`, `not_found`.
    public var type: String
    public var message: String
    /// The request field at fault (a dotted path such as `rope.factor`), when there is one.
    public var param: String?
    /// Extra response headers, e.g. `Allow` on 405 or `Retry-After` on 429.
    public var headers: [(name: String, value: String)]

    public init(status: Int, type: String, message: String, param: String? = nil,
                headers: [(name: String, value: String)] = []) {
        self.status = status
        self.type = type
        self.message = message
        self.param = param
        self.headers = headers
    }

    public static func == (lhs: HTTPError, rhs: HTTPError) -> Bool {
        lhs.status == rhs.status && lhs.type == rhs.type && lhs.message == rhs.message && lhs.param == rhs.param
    }

    public static func badRequest(_ message: String, param: String? = nil) -> HTTPError {
        HTTPError(status: 400, type: "invalid_request_error", message: message, param: param)
    }

    public static func notFound(path: String) -> HTTPError {
        HTTPError(status: 404, type: "not_found", message: "no route for path '\(path)'")
    }

    public static func methodNotAllowed(method: String, path: String, allowed: [String]) -> HTTPError {
        HTTPError(status: 405, type: "method_not_allowed",
                  message: "method \(method) is not allowed on '\(path)'; allowed: \(allowed.joined(separator: ", "))",
                  headers: [("Allow", allowed.joined(separator: ", "))])
    }

    public static func payloadTooLarge(_ message: String, param: String? = nil) -> HTTPError {
        HTTPError(status: 413, type: "payload_too_large", message: message, param: param)
    }

    public static func unsupportedMediaType(_ got: String?, expected: [String]) -> HTTPError {
        HTTPError(status: 415, type: "unsupported_media_type",
                  message: "Content-Type must be \(expected.joined(separator: " or ")); got \(got.map { "'\($0)'" } ?? "none")")
    }

    public static func internalError(_ message: String = "internal server error") -> HTTPError {
        HTTPError(status: 500, type: "internal_error", message: message)
    }

    /// The JSON error body. Written by hand so the HTTP module needs no JSON library.
    public var body: [UInt8] {
        var out = #"{"error":{"message":"#
        out += Self.quoted(message)
        out += #","type":"# + Self.quoted(type)
        out += #","param":"# + (param.map(Self.quoted) ?? "null")
        out += #","code":\#(status)}}"#
        return Array(out.utf8)
    }

    public var response: Response {
        Response(status: status, contentType: "application/json", headers: headers, body: body)
    }

    static func quoted(_ text: String) -> String {
        var out = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}
