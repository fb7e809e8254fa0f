import Foundation
import Glibc
import Testing
import RotaryHTTP
import RotaryService
import RotaryTestSupport

/// `/ready` follows the readiness (loading → ready → draining) while `/health` stays 200; the server that
/// listens while the model loads holds model requests until the model is there, then hands its socket
/// over; a drain keeps serving through its delay, with `/ready` 503 and `Connection: close`, then stops.
@Suite struct ReadinessTests {
    @Test func readyFollowsTheStatesAndHealthDoesNot() async throws {
        let readiness = Readiness(.loading)
        let policy = AccessPolicy(apiKey: "secret")
        let router = Service.router(policy: policy, readiness: readiness)
        func ask(_ path: String) async -> Response { await router.respond(to: Request(method: "GET", path: path)) }
        func errorType(_ response: Response) -> String? {
            ((try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: [String: Any]])?["error"]?["type"] as? String
        }
        var reply = await ask("/ready")
        #expect(reply.status == 503 && errorType(reply) == "loading", "while loading: \(reply.status)")
        #expect(reply.header("Retry-After") == "1")
        #expect(await ask("/health").status == 200)
        readiness.markReady()
        reply = await ask("/ready")
        #expect(reply.status == 200, "no API key needed, like /health: \(reply.status)")
        #expect(String(decoding: reply.body, as: UTF8.self) == #"{"status":"ready"}"#)
        readiness.markDraining()
        reply = await ask("/ready")
        #expect(reply.status == 503 && errorType(reply) == "draining", "while draining: \(reply.status)")
        #expect(await ask("/health").status == 200, "a draining server is alive")
        readiness.markReady()
        #expect(readiness.state == .draining, "a server that began to drain never becomes ready again")
        #expect(await ask("/ready").status == 503)
    }

    @Test func drainKeepsServingThroughItsDelayThenRefuses() async throws {
        try await onThread { try Self.drainThroughDelay() }
    }

    static func drainThroughDelay() throws {
        let readiness = Readiness()
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.drainDelaySeconds = 3
        let server = Server(configuration: configuration, router: Service.router(readiness: readiness), readiness: readiness)
        try server.start()
        let port = server.port
        let kept = try RawHTTPClient(port: port)   // a balancer's kept-alive connection
        let before = try kept.request("GET", "/ready")
        #expect(before.status == 200 && before.headers["connection"] != "close")
        let draining = Thread { server.drain() }
        draining.start()
        let started = monotonicSeconds()
        while readiness.state != .draining { usleep(1_000) }
        // During the delay: new connections are still accepted and served; /ready says 503; every answer
        // closes its connection, kept-alive ones included.
        let fresh = try RawHTTPClient(port: port).request("GET", "/health")
        #expect(fresh.status == 200 && fresh.headers["connection"] == "close")
        let ready = try RawHTTPClient(port: port).request("GET", "/ready")
        #expect(ready.status == 503, "draining, /ready answered \(ready.status)")
        let onKept = try kept.request("GET", "/health")
        #expect(onKept.status == 200 && onKept.headers["connection"] == "close")
        #expect(kept.isClosedByPeer(within: 1))
        #expect(monotonicSeconds() - started < 2.5, "the checks ran inside the delay (a loaded machine: retry)")
        // After it: refused.
        var refusedAfter: Double?
        while monotonicSeconds() - started < 8 {
            if (try? RawHTTPClient(port: port).request("GET", "/health")) == nil { refusedAfter = monotonicSeconds() - started; break }
            usleep(20_000)
        }
        #expect(refusedAfter != nil, "still accepting after the drain")
        #expect((refusedAfter ?? 0) >= 2.9, "stopped accepting \(refusedAfter ?? 0) s in, before the delay ran out")
    }

    @Test func loadingServerHoldsModelRequestsThenHandsOver() async throws {
        try await onThread { try Self.loadThenHandOver() }
    }

    static func loadThenHandOver() throws {
        var port = 0
        let readiness = Readiness(.loading)
        let pending = PendingRouter()
        var configuration = ServerConfiguration()
        configuration.port = 0
        // A parallel run on two cores can starve the cooperative pool that answers held requests for tens of
        // seconds: the hand-over's drain (and the clients) wait as long as that takes.
        configuration.drainTimeoutSeconds = 120
        func client() throws -> RawHTTPClient { try RawHTTPClient(port: port, timeoutSeconds: 120) }
        let loading = Server(configuration: configuration,
                             router: Service.loadingRouter(readiness: readiness, modelRouter: pending), readiness: readiness)
        try loading.start()
        port = loading.port
        #expect(try client().request("GET", "/ready").status == 503)
        #expect(try client().request("GET", "/health").status == 200)
        #expect(try client().request("GET", "/nowhere").status == 404)
        // A model request sent while loading waits: no answer until the model's router is set.
        let early = try client()
        try early.send("POST /tokenize HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"prompt\": \"in the\"}")
        usleep(300_000)
        #expect(early.peekStatus() == 0, "answered before the model was loaded")
        let loaded = Service.router(owner: tinyModelOwner(), readiness: readiness)
        let serving = Server(configuration: configuration, router: loaded, readiness: readiness)
        pending.set(loaded)
        readiness.markReady()
        try loading.handOver(to: serving)
        defer { serving.stop() }
        let answer = try early.readReply()
        #expect(answer.status == 200 && answer.text.contains("\"tokens\""), "held request: \(answer.status) \(answer.text)")
        #expect(serving.port == port)
        #expect(try client().request("GET", "/ready").status == 200)
        let after = try client().request("POST", "/tokenize", json: #"{"prompt": "in the"}"#)
        #expect(after.status == 200 && after.body == answer.body)
        #expect(readiness.state == .ready, "a hand-over is not a drain")
    }
}

private func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
