import Foundation
import Testing
import RotaryHTTP
import RotaryTestSupport
import Synchronization

/// Set by the disconnect route when it notices its client is gone.
let disconnectSeen = Atomic<Bool>(false)

/// The real server on an ephemeral loopback port.
@Suite(.serialized) struct LoopbackServerTests {
    static func router() -> Router {
        Router(routes: [
            Route("GET", "/health", handler: .inline { _ in .json(Array(#"{"status":"ok"}"#.utf8)) }),
            Route("POST", "/echo", consumes: ["application/json"], handler: .inline { .json($0.body) }),
            Route("POST", "/slow", handler: .worker { request in
                try await Task.sleep(for: .milliseconds(Int(request.queryValue("ms") ?? "800") ?? 800))
                return .json(Array(#"{"slept":true}"#.utf8))
            }),
            Route("POST", "/wait-for-disconnect", handler: .worker { request in
                // Long work that checks the client between steps, as model generation does.
                for _ in 0..<300 {
                    if !request.isConnected() { disconnectSeen.store(true, ordering: .relaxed); break }
                    try await Task.sleep(for: .milliseconds(10))
                }
                return .json(Array("{}".utf8))
            }),
            Route("GET", "/query", handler: .inline { request in
                .json(Array("\(request.query.map { "\($0.name)=\($0.value)" })".utf8))
            }),
        ])
    }

    @Test func healthOnEphemeralPort() throws {
        let server = try TestServer(router: Self.router())
        #expect(server.port > 0)
        let reply = try server.client().request("GET", "/health")
        #expect(reply.status == 200)
        #expect(reply.text == #"{"status":"ok"}"#)
        #expect(reply.headers["x-request-id"]?.isEmpty == false)
    }

    @Test func errorsAreJSON() throws {
        let server = try TestServer(router: Self.router())
        let client = try server.client()
        let missing = try client.request("GET", "/missing")
        #expect(missing.status == 404)
        #expect((missing.json as? [String: Any])?["error"] != nil)
        let wrongMethod = try client.request("DELETE", "/health")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.headers["allow"] == "GET")
        let wrongType = try client.request("POST", "/echo", body: Array("{}".utf8), headers: ["Content-Type": "text/plain"])
        #expect(wrongType.status == 415)
    }

    @Test func requestIDIsEchoedOrGenerated() throws {
        let server = try TestServer(router: Self.router())
        let client = try server.client()
        #expect(try client.request("GET", "/health", headers: ["X-Request-Id": "trace-42"]).headers["x-request-id"] == "trace-42")
        let a = try client.request("GET", "/health").headers["x-request-id"]
        let b = try client.request("GET", "/health").headers["x-request-id"]
        #expect(a != nil && a != b)
    }

    @Test func queryItemsAreDecoded() throws {
        let server = try TestServer(router: Self.router())
        let reply = try server.client().request("GET", "/query?a=1&b=x%20y")
        #expect(reply.text == #"["a=1", "b=x y"]"#)
    }

    @Test func oversizedContentLengthIs413WithoutReadingTheBody() throws {
        let server = try TestServer(router: Self.router()) { $0.maxBodyBytes = 1000 }
        let client = try server.client()
        // Only the head is sent: the answer must come without the body.
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n")
        let reply = try client.readReply()
        #expect(reply.status == 413)
        #expect(reply.text.contains("payload_too_large"))
    }

    @Test func oversizedChunkedBodyIs413() throws {
        let server = try TestServer(router: Self.router()) { $0.maxBodyBytes = 1000 }
        let client = try server.client()
        var upload = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        for _ in 0..<5 { upload += "190\r\n" + String(repeating: "a", count: 400) + "\r\n" }
        upload += "0\r\n\r\n"
        try client.send(upload)
        #expect(try client.readReply().status == 413)
        // Within the limit, a chunked body is assembled whole.
        let small = try server.client()
        try small.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n")
        let echoed = try small.readReply()
        #expect(echoed.status == 200 && echoed.text == "[1,2]")
    }

    @Test func headersPastTheConnectionMemoryLimitAre431() throws {
        let server = try TestServer(router: Self.router()) { $0.connectionMemoryLimit = 16_384 }
        let reply = try server.client().request("GET", "/health", headers: ["X-Padding": String(repeating: "a", count: 40_000)])
        // libmicrohttpd answers this itself, before any handler runs; the server keeps serving.
        #expect(reply.status == 431)
        #expect(try server.client().request("GET", "/health").status == 200)
    }

    @Test func bodiesAbandonedHalfWayFreeTheirConnections() async throws {
        // When the client's FIN arrives together with the partial body, libmicrohttpd 0.9.75 (epoll) does not
        // notice the close; the idle timeout is what frees such connections, so it is short here.
        let server = try TestServer(router: Self.router()) { $0.idleTimeoutSeconds = 1 }
        for _ in 0..<50 {
            let client = try server.client()
            try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n[1,2,")
        }   // each client closes its socket here, 995 bytes short
        var waited = 0
        // First every connection is accepted and starts a request (some may already be freed by then)...
        while server.server.requestsStarted < 50 && waited < 250 { try await Task.sleep(for: .milliseconds(20)); waited += 1 }
        #expect(server.server.requestsStarted == 50)
        // ...then all are let go.
        waited = 0
        repeat { try await Task.sleep(for: .milliseconds(20)); waited += 1 }
        while (server.server.openConnections > 0 || server.server.requestsInFlight > 0) && waited < 250
        #expect(server.server.openConnections == 0)
        #expect(server.server.requestsInFlight == 0)
        #expect(try await onThread { try server.client().request("GET", "/health").status } == 200)
    }

    @Test func bodyArrivingInPiecesIsAssembled() throws {
        let server = try TestServer(router: Self.router())
        let client = try server.client()
        let body = "[" + (0..<20000).map(String.init).joined(separator: ",") + "]"
        try client.send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n\r\n")
        let bytes = Array(body.utf8)
        for start in stride(from: 0, to: bytes.count, by: 7000) {
            try client.send(Array(bytes[start..<min(start + 7000, bytes.count)]))
            usleep(5_000)
        }
        let reply = try client.readReply()
        #expect(reply.status == 200 && reply.body == bytes)
    }

    @Test func twoHundredRequestsOverSixteenKeepAliveConnections() async throws {
        let server = try TestServer(router: Self.router())
        let port = server.port
        let results = try await withThrowingTaskGroup(of: Int.self) { group in
            for connection in 0..<16 {
                group.addTask {
                    let client = try RawHTTPClient(port: port)
                    var good = 0
                    for i in 0..<(200 / 16 + (connection < 200 % 16 ? 1 : 0)) {
                        let payload = "{\"c\":\(connection),\"i\":\(i)}"
                        let reply = try client.request("POST", "/echo", json: payload)
                        if reply.status == 200 && reply.text == payload && reply.headers["connection"] != "close" { good += 1 }
                    }
                    return good
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(results == 200)
    }

    @Test func healthAnswersWhileASlowRequestIsInFlight() async throws {
        let server = try TestServer(router: Self.router())
        let port = server.port
        async let slow = onThread { try RawHTTPClient(port: port).request("POST", "/slow?ms=1500", body: []) }
        try await Task.sleep(for: .milliseconds(150))
        let started = Date()
        let health = try server.client().request("GET", "/health")
        #expect(health.status == 200)
        #expect(Date().timeIntervalSince(started) < 1.0, "health waited for the slow request")
        #expect(try await slow.status == 200)
    }

    @Test func gracefulStopCompletesTheRequestInFlight() async throws {
        let server = try TestServer(router: Self.router())
        let port = server.port
        async let slow = onThread { try RawHTTPClient(port: port).request("POST", "/slow?ms=600", body: []) }
        try await Task.sleep(for: .milliseconds(150))
        #expect(server.server.requestsInFlight == 1)
        try await onThread { server.server.stop() }
        let reply = try await slow
        #expect(reply.status == 200)
        #expect(reply.text == #"{"slept":true}"#)
        #expect(throws: (any Error).self) { _ = try RawHTTPClient(port: port).request("GET", "/health") }
    }

    @Test func workerNoticesAClientThatDisconnects() async throws {
        let server = try TestServer(router: Self.router())
        disconnectSeen.store(false, ordering: .relaxed)
        try await onThread {
            let client = try server.client()
            try client.send("POST /wait-for-disconnect HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            usleep(100_000)
        }   // the client is released here: its socket closes
        let deadline = Date().addingTimeInterval(1.5)
        while !disconnectSeen.load(ordering: .relaxed) && Date() < deadline { try await Task.sleep(for: .milliseconds(10)) }
        let seen = disconnectSeen.load(ordering: .relaxed)
        #expect(seen, "the handler never saw the disconnect")
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.server.requestsInFlight == 0)
    }

    @Test func workerDoesNotTakeAHalfCloseForADisconnect() async throws {
        let server = try TestServer(router: Self.router())
        disconnectSeen.store(false, ordering: .relaxed)
        let reply = try await onThread {
            let client = try server.client()
            try client.send("POST /wait-for-disconnect HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
            client.shutdownWrite()   // still reading
            return try client.readReply()
        }
        #expect(reply.status == 200)
        let seen = disconnectSeen.load(ordering: .relaxed)
        #expect(!seen, "a half-closed client was taken for gone")
    }

    @Test func stopPastTheDrainTimeoutAnswers503() async throws {
        let server = try TestServer(router: Self.router()) { $0.drainTimeoutSeconds = 0.2 }
        let port = server.port
        async let slow = onThread { try RawHTTPClient(port: port).request("POST", "/slow?ms=3000", body: []) }
        try await Task.sleep(for: .milliseconds(150))
        try await onThread { server.server.stop() }
        let reply = try await slow
        #expect(reply.status == 503)
    }
}

/// Slow clients (slowloris): 200 connections that send one header byte every 2 s do not stop `/health`
/// from answering. Bounded: about 5 s, loopback only.
@Suite struct SlowClientTests {
    @Test func healthAnswersUnderSlowloris() async throws {
        // All 200 from one address: past the per-IP default (128), which is for many clients, not this test.
        let server = try TestServer(router: LoopbackServerTests.router()) { $0.perIPConnectionLimit = 256 }
        let port = server.port
        try await onThread {
            var slow: [RawHTTPClient] = []
            for _ in 0..<200 { slow.append(try RawHTTPClient(port: port)) }
            let request = Array("GET /health HTTP/1.1\r\nHost: x\r\n".utf8)
            for round in 0..<3 {
                for client in slow { try client.send([request[round]]) }
                let started = Date()
                for _ in 0..<5 {
                    let reply = try RawHTTPClient(port: port, timeoutSeconds: 2).request("GET", "/health")
                    #expect(reply.status == 200)
                }
                #expect(Date().timeIntervalSince(started) < 1.5, "health slowed to \(Date().timeIntervalSince(started)) s for 5 requests")
                if round < 2 { sleep(2) }
            }
        }
    }
}
