import Foundation
import Testing
import RotaryHTTP
import RotaryTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// The header and body deadlines (slowloris): a client that trickles its request a byte at a time keeps
/// resetting the idle timeout, so only a deadline for the whole header block (or body) frees its connection.
@Suite(.serialized) struct ConnectionDeadlineTests {
    /// Both ends of every test connection live in this process: make room for them.
    static func raiseDescriptorLimit(to wanted: rlim_t) {
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        if limit.rlim_cur < wanted {
            limit.rlim_cur = min(wanted, limit.rlim_max)
            setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        }
    }

    /// 500 slow connections take every connection the server allows; once the header deadline has passed
    /// they are answered 408 and closed, and `/health` from another loopback address answers within a second.
    @Test func healthAnswersFromAnotherAddressWhileFiveHundredClientsTrickleHeaders() async throws {
        Self.raiseDescriptorLimit(to: 4096)
        let slowCount = 500
        let server = try TestServer(router: LoopbackServerTests.router()) {
            $0.connectionLimit = slowCount
            $0.perIPConnectionLimit = 0
            $0.headerTimeoutSeconds = 1
        }
        let port = server.port
        let (healthStatus, healthSeconds, timedOut, closed) = try await onThread { () throws -> (Int, Double, Int, Int) in
            var slow: [RawHTTPClient] = []
            for _ in 0..<slowCount { slow.append(try RawHTTPClient(port: port, timeoutSeconds: 5)) }
            let head = Array("GET /health HTTP/1.1\r\nHost: x\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaa\r\n".utf8)
            // One byte per connection every 100 ms, for 1.5 s: past the 1 s deadline, never a whole head.
            let started = Date()
            var round = 0
            while Date().timeIntervalSince(started) < 1.5 && round < head.count {
                for client in slow { try? client.send([head[round]]) }
                round += 1
                usleep(100_000)
            }
            let asked = Date()
            var status = 0
            if let client = try? RawHTTPClient(port: port, timeoutSeconds: 1, sourceAddress: "127.0.0.2"),
               let reply = try? client.request("GET", "/health") {
                status = reply.status
            }
            let seconds = Date().timeIntervalSince(asked)
            var timedOut = 0, closed = 0
            for client in slow {
                let (bytes, isClosed) = client.readToEnd(idleSeconds: 1)
                if String(decoding: bytes, as: UTF8.self).hasPrefix("HTTP/1.1 408 ") { timedOut += 1 }
                if isClosed { closed += 1 }
            }
            return (status, seconds, timedOut, closed)
        }
        #expect(healthStatus == 200, "/health from 127.0.0.2 got no answer")
        #expect(healthSeconds < 1.0, "/health took \(healthSeconds) s")
        #expect(timedOut == slowCount, "\(timedOut) of \(slowCount) slow clients got a 408")
        #expect(closed == slowCount, "\(closed) of \(slowCount) slow clients were closed")
    }

    @Test func aBodyTricklingPastTheBodyTimeoutIs408() async throws {
        let server = try TestServer(router: LoopbackServerTests.router()) { $0.bodyTimeoutSeconds = 0.5 }
        let (text, closed) = try await onThread { () throws -> (String, Bool) in
            let client = try server.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n[")
            for _ in 0..<12 {   // 1.2 s of a byte every 100 ms: the idle timeout never fires
                try? client.send("1")
                usleep(100_000)
            }
            let (bytes, closed) = client.readToEnd(idleSeconds: 2)
            return (String(decoding: bytes, as: UTF8.self), closed)
        }
        #expect(text.hasPrefix("HTTP/1.1 408 "), "\(text)")
        #expect(text.contains(#""type":"request_timeout""#), "\(text)")
        #expect(closed)
    }

    @Test func anIdleKeepAliveConnectionIsLeftToTheIdleTimeout() async throws {
        let server = try TestServer(router: LoopbackServerTests.router()) { $0.headerTimeoutSeconds = 0.3 }
        let statuses = try await onThread { () throws -> [Int] in
            let client = try server.client()
            let first = try client.request("GET", "/health").status
            usleep(900_000)   // idle, no byte of a next request: three header timeouts, well within the idle one
            let second = try client.request("GET", "/health").status
            return [first, second]
        }
        #expect(statuses == [200, 200])
    }

    @Test func timeoutsAreValidated() {
        var configuration = ServerConfiguration()
        configuration.headerTimeoutSeconds = -1
        #expect(throws: ServerError.self) { try configuration.validate() }
        configuration = ServerConfiguration()
        configuration.bodyTimeoutSeconds = -1
        #expect(throws: ServerError.self) { try configuration.validate() }
    }
}
