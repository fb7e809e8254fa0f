import Foundation
import Testing
import RotaryHTTP
import RotaryService
import RotaryTestSupport

/// Clients that send their request and then shut down their sending side (`shutdown(SHUT_WR)`, as `nc -N`
/// and some proxies do) still read: they get their answer. Raw sockets, one route each.
@Suite(.serialized) struct HalfClosedClientTests {
    /// The reply to a request sent whole and followed by a half-close.
    static func halfClosedReply(_ server: TestServer, _ path: String, _ json: String) throws -> RawHTTPClient.Reply {
        let client = try server.client()
        let body = Array(json.utf8)
        try client.send(Array("POST \(path) HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n".utf8) + body)
        client.shutdownWrite()
        return try client.readReply()
    }

    @Test func generateAnswersAHalfClosedClient() async throws {
        let server = try TestServer(router: Service.router(owner: tinyModelOwner()))
        for stream in [false, true] {
            let reply = try await onThread {
                try Self.halfClosedReply(server, "/generate", #"{"prompt": "Once upon a time", "max_tokens": 8, "temperature": 0, "stream": \#(stream)}"#)
            }
            #expect(reply.status == 200, "stream \(stream): \(reply.text)")
            #expect(stream ? reply.text.contains("[DONE]") : reply.text.contains(#""text""#), "\(reply.text)")
        }
    }

    @Test func rotateAnswersAHalfClosedClient() async throws {
        let server = try TestServer(router: Service.router(owner: tinyModelOwner()))
        for _ in 0..<5 {
            let reply = try await onThread { try Self.halfClosedReply(server, "/rotate", #"{"vectors": [[1, 0, 0, 1], [1, 0, 0, 1]], "positions": [0, 1]}"#) }
            #expect(reply.status == 200, "\(reply.text)")
            #expect(reply.text.contains(#""vectors""#), "\(reply.text)")
        }
    }
}
