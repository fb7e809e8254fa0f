import Foundation
import Testing
import RotaryHTTP
import RotaryTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The process-wide budget for buffered response bytes: clients that ask for large answers and never read
/// them cannot make the server hold more than the budget, and everyone else is still answered.
@Suite(.serialized) struct ResponseBudgetTests {
    /// More than the server's socket send buffer can grow to (`tcp_wmem`'s maximum), so that an unread
    /// answer stays with the server: the client's receive window is pinned small.
    static let bigBytes: Int = {
        let wmem = (try? String(contentsOfFile: "/proc/sys/net/ipv4/tcp_wmem", encoding: .utf8)) ?? ""
        let maximum = wmem.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).last.flatMap { Int($0) } ?? 0
        return max(6 << 20, maximum + (2 << 20))
    }()

    static func router() -> Router {
        var router = LoopbackServerTests.router()
        router.add(Route("GET", "/big", handler: .worker { _ in
            .json(Array(repeating: UInt8(ascii: " "), count: bigBytes - 2) + Array("{}".utf8))
        }))
        return router
    }

    @Test func nonReadingClientsCannotPushTheBufferedTotalPastTheBudget() async throws {
        let budget = 2 * Self.bigBytes + Self.bigBytes / 2
        // A long idle timeout: under load the waits below can pass 30 s, and the idle reaper would free a stalled answer.
        let server = try TestServer(router: Self.router()) { $0.maxBufferedResponseBytes = budget; $0.idleTimeoutSeconds = 600 }
        let port = server.port
        let (heads, peak, healthStatus, echo) = try await onThread { () throws -> ([Int], Int, Int, String) in
            var stalled: [RawHTTPClient] = []
            var heads: [Int] = []
            var peak = 0
            for _ in 0..<4 {   // four large answers asked for, none of them read: two fit in the budget
                let client = try RawHTTPClient(port: port, receiveBufferBytes: 4096)
                try client.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
                stalled.append(client)
                var status = 0
                let asked = Date()   // the worker answers and the server starts sending: a bounded wait (long: the
                // cooperative pool the worker needs is shared with every other suite in a full run)
                while status == 0 && Date().timeIntervalSince(asked) < 150 { usleep(10_000); status = client.peekStatus() }
                peak = max(peak, server.server.bufferedResponseBytes)
                heads.append(status)
            }
            let health = try RawHTTPClient(port: port, timeoutSeconds: 2).request("GET", "/health").status
            let echo = try RawHTTPClient(port: port, timeoutSeconds: 2).request("POST", "/echo", json: "[1,2,3]").text
            withExtendedLifetime(stalled) {}
            return (heads, peak, health, echo)
        }
        #expect(peak <= budget, "buffered \(peak) bytes, budget \(budget)")
        #expect(peak >= 2 * Self.bigBytes, "the two that fit were not held: \(peak)")
        #expect(heads.filter { $0 == 200 }.count == 2, "\(heads)")
        #expect(heads.filter { $0 == 503 }.count == 2, "\(heads)")
        #expect(healthStatus == 200)
        #expect(echo == "[1,2,3]")
        // The stalled clients are gone: their bodies are released, and a large answer fits again.
        var waited = 0
        while server.server.bufferedResponseBytes > 0 && waited < 200 { try await Task.sleep(for: .milliseconds(10)); waited += 1 }
        #expect(server.server.bufferedResponseBytes == 0)
        let reply = try await onThread { try RawHTTPClient(port: port).request("GET", "/big") }
        #expect(reply.status == 200 && reply.body.count == Self.bigBytes)
    }

    @Test func theRefusalIsJSONWithRetryAfter() async throws {
        let server = try TestServer(router: Self.router()) { $0.maxBufferedResponseBytes = Self.bigBytes - 1 }
        let reply = try await onThread { try server.client().request("GET", "/big") }
        let text = reply.body.count < 4096 ? reply.text : "<\(reply.body.count) bytes>"
        #expect(reply.status == 503)
        #expect(reply.headers["retry-after"] == "1")
        #expect(text.contains(#""type":"response_budget_exceeded""#), "\(text)")
        #expect(text.contains("max_buffered_response_bytes"), "\(text)")
    }
}
