import Foundation
import Testing
import RotaryHTTP
import RotaryTestSupport

/// Requests whose framing is ambiguous or invalid (RFC 9112 §6.3): each gets exactly one JSON error with
/// `Connection: close`, and the bytes after its head are never read as a second request. Raw sockets; what
/// is checked is everything that reaches the wire.
@Suite(.serialized) struct StrictFramingTests {
    /// What the server sent for these bytes, until it closed.
    struct Wire {
        var text: String
        var closed: Bool
        /// Status lines: at the start, or right after a line end (a body may mention "HTTP/1.1").
        var statusLines: Int { ("\r\n" + text).components(separatedBy: "\r\nHTTP/1.").count - 1 }
        var status: Int? { text.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } }
        var headBody: (head: String, body: String) {
            guard let end = text.range(of: "\r\n\r\n") else { return (text, "") }
            return (String(text[..<end.lowerBound]), String(text[end.upperBound...]))
        }
        var errorType: String? {
            let body = headBody.body
            guard let object = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                  let error = object["error"] as? [String: Any] else { return nil }
            return error["type"] as? String
        }
    }

    static func send(_ raw: String, to server: TestServer, shutDown: Bool = false) throws -> Wire {
        let client = try server.client()
        try client.send(raw)
        if shutDown { client.shutdownWrite() }
        let (bytes, closed) = client.readToEnd(idleSeconds: 3)
        return Wire(text: String(decoding: bytes, as: UTF8.self), closed: closed)
    }

    /// One error of this status and type, JSON, `Connection: close`, and the connection closed.
    static func expectOneError(_ wire: Wire, status: Int, type: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(wire.statusLines == 1, "status lines on the wire: \(wire.text)", sourceLocation: sourceLocation)
        #expect(wire.status == status, "\(wire.text)", sourceLocation: sourceLocation)
        #expect(wire.headBody.head.lowercased().contains("\r\nconnection: close"), "\(wire.text)", sourceLocation: sourceLocation)
        #expect(wire.headBody.head.lowercased().contains("content-type: application/json"), "\(wire.text)", sourceLocation: sourceLocation)
        #expect(wire.errorType == type, "\(wire.text)", sourceLocation: sourceLocation)
        #expect(wire.closed, "the connection stayed open", sourceLocation: sourceLocation)
    }

    /// A request that, read leniently, smuggles a second one (`GET /health`) in its body.
    static let smuggled = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
    /// The head of a JSON POST up to its framing headers.
    static let postEcho = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"

    /// Each of these bytes, on a connection of its own, gets one error of this status and type.
    static func expectRefusal(_ requests: [String], status: Int, type: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let server = try TestServer(router: LoopbackServerTests.router())
        for raw in requests {
            expectOneError(try send(raw, to: server), status: status, type: type, sourceLocation: sourceLocation)
        }
    }

    @Test func twoContentLengthsWithDifferentValues() throws {
        try Self.expectRefusal([Self.postEcho + "Content-Length: 2\r\nContent-Length: \(2 + Self.smuggled.utf8.count)\r\n\r\n[]" + Self.smuggled],
                               status: 400, type: "invalid_request_error")
    }

    @Test func equalContentLengthsStillFrameTheBody() throws {
        let server = try TestServer(router: LoopbackServerTests.router())
        let client = try server.client()
        try client.send(Self.postEcho + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n[]")
        let reply = try client.readReply()
        #expect(reply.status == 200 && reply.text == "[]")
    }

    @Test func contentLengthWithTransferEncoding() throws {
        try Self.expectRefusal([Self.postEcho + "Content-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + Self.smuggled],
                               status: 400, type: "invalid_request_error")
    }

    @Test func whitespaceBeforeTheColonOfAHeaderName() throws {
        try Self.expectRefusal([Self.postEcho + "Content-Length : \(Self.smuggled.utf8.count)\r\n\r\n" + Self.smuggled,
                                Self.postEcho + "Content-Length\t: \(Self.smuggled.utf8.count)\r\n\r\n" + Self.smuggled],
                               status: 400, type: "invalid_request_error")
    }

    @Test func transferEncodingOtherThanChunkedIs501() throws {
        try Self.expectRefusal(["gzip", "gzip, chunked", "identity"].map { Self.postEcho + "Transfer-Encoding: \($0)\r\n\r\n2\r\n[]\r\n0\r\n\r\n" },
                               status: 501, type: "not_implemented")
    }

    /// From 2^63 to 2^64-1 libmicrohttpd takes the length and waits for the body (past it, it refuses itself).
    @Test func lengthFromTwoToThe63UpToTwoToThe64Is413() throws {
        try Self.expectRefusal(["9223372036854775808", "18446744073709551615"]
            .map { Self.postEcho + "Content-Length: \($0)\r\n\r\n[]" }, status: 413, type: "payload_too_large")
    }

    @Test func encodedNULInThePathIs400() throws {
        try Self.expectRefusal(["/health%00anything", "/health%00", "/query%00?a=1"].map { "GET \($0) HTTP/1.1\r\nHost: x\r\n\r\n" },
                               status: 400, type: "invalid_request_error")
        let server = try TestServer(router: LoopbackServerTests.router())
        // A NUL-free path with a percent sign elsewhere is untouched.
        #expect(try server.client().request("GET", "/query?a=%0041").status == 200)
    }

    @Test func http11WithoutHostIs400() throws {
        let server = try TestServer(router: LoopbackServerTests.router())
        Self.expectOneError(try Self.send("GET /health HTTP/1.1\r\n\r\n", to: server), status: 400, type: "invalid_request_error")
        // HTTP/1.0 has no such rule.
        let old = try Self.send("GET /health HTTP/1.0\r\n\r\n", to: server)
        #expect(old.status == 200 && old.statusLines == 1)
    }

    @Test func authorizationSchemeIsCaseInsensitive() throws {
        var router = Router(routes: LoopbackServerTests.router().routes, policy: AccessPolicy(apiKey: "s3cret"))
        router.add(Route("GET", "/guarded", handler: .inline { _ in .json(Array("{}".utf8)) }))
        let server = try TestServer(router: router)
        let client = try server.client()
        for scheme in ["Bearer", "bearer", "BEARER", "bEaReR"] {
            #expect(try client.request("GET", "/guarded", headers: ["Authorization": "\(scheme) s3cret"]).status == 200, "\(scheme)")
        }
        for wrong in ["bearer S3cret", "Basic s3cret", "bearers3cret", "bearer  s3cret", "bearer"] {
            #expect(try client.request("GET", "/guarded", headers: ["Authorization": wrong]).status == 401, "\(wrong)")
        }
    }
}
