/// Strict HTTP/1.1 framing (RFC 9112 §6.3) over the head libmicrohttpd parsed: libmicrohttpd 0.9.75 is
/// lenient (it frames by the first `Content-Length`, ignores a name with whitespace before the colon, waits
/// forever on a transfer coding it does not know), and a lenient reading is how one connection's bytes
/// become two requests. A request that fails here is answered once and its connection closed.
enum RequestFraming {
    /// How the body is delimited, once the head is known to be sound.
    enum Body: Equatable {
        case none
        case length(UInt64)
        case chunked
    }

    /// The framing of a request head (header names lower-cased), or the error that answers it.
    /// `requiresHost`: an HTTP/1.1 request, which must name its `Host`.
    static func body(of headers: [(name: String, value: String)], requiresHost: Bool,
                     maxBodyBytes: Int) -> Result<Body, HTTPError> {
        var length: UInt64?
        var transferEncoding: String?
        var hasHost = false
        for header in headers {
            if header.name.utf8.contains(where: { $0 == 0x20 || $0 == 0x09 }) {
                return .failure(.badRequest("header name '\(header.name)' has whitespace before the colon", param: header.name))
            }
            switch header.name {
            case "host": hasHost = true
            case "content-length":
                guard let value = decimalLength(header.value) else {
                    if isDigits(header.value) {   // a length past 2^64-1 is still a length: too large
                        return .failure(tooLarge(maxBodyBytes))
                    }
                    return .failure(.badRequest("Content-Length must be a decimal number of bytes, got '\(header.value)'", param: "Content-Length"))
                }
                if let length, length != value {
                    return .failure(.badRequest("Content-Length is given twice with different values", param: "Content-Length"))
                }
                length = value
            case "transfer-encoding":
                if transferEncoding != nil {
                    return .failure(notImplemented("Transfer-Encoding is given more than once"))
                }
                transferEncoding = header.value
            default: break
            }
        }
        if requiresHost && !hasHost {
            return .failure(.badRequest("an HTTP/1.1 request must have a Host header", param: "Host"))
        }
        if let transferEncoding {
            if length != nil {
                return .failure(.badRequest("Content-Length and Transfer-Encoding must not both be given", param: "Transfer-Encoding"))
            }
            guard transferEncoding.trimmingCharacters(in: " \t").lowercased() == "chunked" else {
                return .failure(notImplemented("Transfer-Encoding '\(transferEncoding)' is not supported; only 'chunked' is"))
            }
            return .success(.chunked)
        }
        guard let length else { return .success(.none) }
        if length > UInt64(maxBodyBytes) { return .failure(tooLarge(maxBodyBytes)) }
        return .success(length == 0 ? .none : .length(length))
    }

    static func tooLarge(_ maxBodyBytes: Int) -> HTTPError {
        .payloadTooLarge("request body is larger than the limit of \(maxBodyBytes) bytes (max_body_bytes)")
    }

    private static func notImplemented(_ message: String) -> HTTPError {
        HTTPError(status: 501, type: "not_implemented", message: message, param: "Transfer-Encoding")
    }

    private static func isDigits(_ text: String) -> Bool {
        !text.isEmpty && text.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    /// `1*DIGIT` as a UInt64; nil for anything else (signs, hex, lists, spaces) or past 2^64-1.
    static func decimalLength(_ text: String) -> UInt64? {
        guard isDigits(text) else { return nil }
        var value: UInt64 = 0
        for digit in text.utf8 {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(digit - 0x30))
            if overflow1 || overflow2 { return nil }
            value = sum
        }
        return value
    }
}
