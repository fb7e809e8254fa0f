import Foundation
import Testing
import RotaryHTTP
@testable import RotaryService
import RotaryTestSupport

/// Continuous batching over HTTP: requests that run together get the answers they get alone, byte for byte.
@Suite struct BatchingTests {
    /// Mixed lengths, greedy and seeded sampling, a stop sequence, log-probabilities, a RoPE override, candidates.
    static let bodies: [String] = [
        #"{"prompt": "Once upon a time", "max_tokens": 48, "temperature": 0, "logprobs": 3}"#,
        #"{"prompt": "The quick brown fox jumps over the lazy dog, and then", "max_tokens": 20, "temperature": 0.9, "seed": 7}"#,
        #"{"prompt": "In the beginning", "max_tokens": 64, "temperature": 0.7, "top_k": 5, "seed": 11, "stop": ["and"]}"#,
        #"{"prompt": "Hello", "max_tokens": 5, "temperature": 0, "echo": true, "logprobs": 1}"#,
        #"{"prompt": "A long time ago in a galaxy far, far away", "max_tokens": 30, "temperature": 0, "rope": {"rope_type": "linear", "factor": 2}}"#,
        #"{"prompt": "Tell me", "max_tokens": 12, "temperature": 1.2, "seed": 3, "repeat_penalty": 1.3}"#,
    ]
    /// Streamed alone and in the batch.
    static let streamed = #"{"prompt": "Once upon a time there was", "max_tokens": 40, "temperature": 0.8, "seed": 5, "stream": true}"#
    /// Closed mid-way in the batch.
    static let abandoned = #"{"prompt": "Far away", "max_tokens": 240, "temperature": 0}"#

    /// The answer without its timings (the only part that may differ), keys sorted.
    static func canonical(_ body: [UInt8]) throws -> String {
        var object = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
        object["timings"] = nil
        return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    /// The events of a streamed answer, each without timings.
    static func streamEvents(_ server: TestServer) throws -> [String] {
        let client = try server.client()
        let body = Array(streamed.utf8)
        try client.send("POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n")
        try client.send(body)
        let head = try client.readHead()
        #expect(head.status == 200)
        var chunks: [UInt8] = []
        while let chunk = try client.readChunk() { chunks += chunk }
        return try String(decoding: chunks, as: UTF8.self).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: {") }
            .map { try canonical(Array($0.dropFirst(6).utf8)) }
    }

    static func post(_ server: TestServer, _ body: String) throws -> [UInt8] {
        let reply = try server.client().request("POST", "/generate", json: body)
        #expect(reply.status == 200, "\(reply.text)")
        return reply.body
    }

    @Test func requestsInABatchGetTheirAnswersAlone() async throws {
        let owner = tinyModelOwner()
        let metrics = RequestMetrics()
        let server = try TestServer(router: Service.router(owner: owner, metrics: metrics), metrics: metrics)
        // Alone: one after another.
        let alone = try await onThread { () throws -> ([String], [String]) in
            (try Self.bodies.map { try Self.canonical(try Self.post(server, $0)) }, try Self.streamEvents(server))
        }
        // Together: every request at once, with one more that goes away after its first bytes.
        async let abandoned: Void = onThread {
            let client = try server.client()
            let body = Array(Self.abandoned.utf8)
            try client.send("POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n")
            try client.send(body)
            let sent = Date()
            while owner.load < 2 && Date().timeIntervalSince(sent) < 30 { usleep(1_000) }
            usleep(50_000)
        }   // closed here, while the others run
        let together = try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for (i, body) in Self.bodies.enumerated() {
                group.addTask { (i, [try await onThread { try Self.canonical(try Self.post(server, body)) }]) }
            }
            group.addTask { (Self.bodies.count, try await onThread { try Self.streamEvents(server) }) }
            var answers = [[String]](repeating: [], count: Self.bodies.count + 1)
            for try await (i, answer) in group { answers[i] = answer }
            return answers
        }
        try await abandoned
        for (i, answer) in alone.0.enumerated() { #expect(together[i] == [answer], "request \(i): \(Self.bodies[i])") }
        #expect(together.last == alone.1, "the streamed request")
        #expect(alone.1.count > 10)
        // They did share steps, and everything they held is given back.
        let exposition = try await onThread { () throws -> String in
            let deadline = Date().addingTimeInterval(60)
            while owner.load > 0 && Date() < deadline { usleep(2_000) }
            return try server.client().request("GET", "/metrics").text
        }
        #expect(owner.load == 0)
        let steps = try #require(Self.value(exposition, "rotary_model_batch_sequences_count"))
        let single = try #require(Self.value(exposition, #"rotary_model_batch_sequences_bucket{le="1"}"#))
        #expect(steps > single, "every step decoded one sequence: nothing was batched")
        #expect(Self.value(exposition, "rotary_model_kv_cache_bytes") == 0)
        #expect(Self.value(exposition, #"rotary_model_sequences{state="running"}"#) == 0)
        #expect(Self.value(exposition, #"rotary_model_sequences{state="waiting"}"#) == 0)
    }

    /// The prompts of one `/v1/completions` request share the batch: the same choices as one request per prompt.
    @Test func promptsOfOneCompletionsRequestRunTogether() async throws {
        let owner = tinyModelOwner()
        let metrics = RequestMetrics()
        let server = try TestServer(router: Service.router(owner: owner, metrics: metrics), metrics: metrics)
        let prompts = ["Once upon a time", "The king", "In the beginning God created", "Hello"]
        @Sendable func body(_ prompt: Any) -> String {
            let object: [String: Any] = ["prompt": prompt, "max_tokens": 12, "temperature": 0.8, "seed": 9, "logprobs": 2, "echo": true]
            return String(decoding: try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
        }
        @Sendable func choices(_ reply: RawHTTPClient.Reply) throws -> [String] {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
            let list = try #require(object["choices"] as? [[String: Any]])
            return try list.map { choice in
                var choice = choice
                choice["index"] = nil
                return String(decoding: try JSONSerialization.data(withJSONObject: choice, options: [.sortedKeys]), as: UTF8.self)
            }
        }
        let (one, each, exposition) = try await onThread { () throws -> ([String], [String], String) in
            let client = try server.client()
            let one = try choices(try client.request("POST", "/v1/completions", json: body(prompts)))
            let each = try prompts.flatMap { try choices(try client.request("POST", "/v1/completions", json: body($0))) }
            return (one, each, try client.request("GET", "/metrics").text)
        }
        #expect(one.count == prompts.count && one == each)
        let steps = try #require(Self.value(exposition, "rotary_model_batch_sequences_count"))
        let single = try #require(Self.value(exposition, #"rotary_model_batch_sequences_bucket{le="1"}"#))
        #expect(steps - single >= 10, "the four prompts shared \(steps - single) steps")
    }

    /// lm-evaluation-harness's multiple-choice shape — one context, four continuations, each scored by an echoed
    /// `/v1/completions` with `max_tokens` 0 — and a generation after the same context: byte for byte the answers of a
    /// server without the prefix cache, cold and warm, one by one and all at once; the cache's metrics say it was used.
    @Test func prefixCacheAnswersAreTheAnswersWithoutIt() async throws {
        let context = "And God said, Let there be light: and there was light. And God saw the light, that it was good: "
            + "and God divided the light from the darkness. And God called the light Day, and the darkness he called Night."
        let choices = [" And the evening", " And the morning", " Then the sea", " So it was"]
        let bodies = choices.map { #"{"prompt": "\#(context)\#($0)", "max_tokens": 0, "echo": true, "logprobs": 2}"# }
            + [#"{"prompt": "\#(context) And", "max_tokens": 16, "temperature": 0.7, "seed": 4, "logprobs": 1}"#]
        @Sendable func answers(_ server: TestServer, together: Bool) async throws -> [String] {
            @Sendable func one(_ body: String) throws -> String {
                let reply = try server.client().request("POST", "/v1/completions", json: body)
                #expect(reply.status == 200, "\(reply.text)")
                var object = try #require(try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any])
                for key in ["id", "created", "timings"] { object[key] = nil }
                return String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
            }
            guard together else { return try await onThread { try bodies.map(one) } }
            return try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for (i, body) in bodies.enumerated() { group.addTask { (i, try await onThread { try one(body) }) } }
                var all = [String](repeating: "", count: bodies.count)
                for try await (i, answer) in group { all[i] = answer }
                return all
            }
        }
        func server(_ owner: ModelOwner) throws -> TestServer {
            let metrics = RequestMetrics()
            return try TestServer(router: Service.router(owner: owner, metrics: metrics), metrics: metrics)
        }
        let plainOwner = tinyModelOwner(prefixCache: false), cachedOwner = tinyModelOwner()
        let plain = try server(plainOwner), cached = try server(cachedOwner)
        let expected = try await answers(plain, together: false)
        #expect(try await answers(cached, together: false) == expected, "cold, then warm one by one")
        #expect(try await answers(cached, together: true) == expected, "warm, all at once")
        #expect(try await answers(plain, together: true) == expected, "without the cache, all at once")
        let (withCache, without) = try await onThread {
            (try cached.client().request("GET", "/metrics").text, try plain.client().request("GET", "/metrics").text)
        }
        let hits = try #require(Self.value(withCache, #"rotary_model_prefix_cache_tokens_total{result="hit"}"#))
        let misses = try #require(Self.value(withCache, #"rotary_model_prefix_cache_tokens_total{result="miss"}"#))
        #expect(hits > misses, "hits \(hits), misses \(misses)")
        #expect(try #require(Self.value(withCache, "rotary_model_prefix_cache_bytes")) > 0)
        #expect(Self.value(withCache, "rotary_model_kv_cache_bytes") == 0, "the sequences gave their caches back")
        #expect(Self.value(without, #"rotary_model_prefix_cache_tokens_total{result="hit"}"#) == 0)
        #expect(Self.value(without, "rotary_model_prefix_cache_bytes") == 0)
        let prompted = try #require(Self.value(withCache, "rotary_model_step_tokens_sum"))
        #expect(prompted > 0)
    }

    /// openapi.yaml's `/metrics` description names exactly the families the exposition has.
    @Test func metricsFamiliesAreTheOnesOpenAPINames() async throws {
        let owner = tinyModelOwner()
        let metrics = RequestMetrics()
        let server = try TestServer(router: Service.router(owner: owner, metrics: metrics), metrics: metrics)
        let exposition = try await onThread { () throws -> String in
            _ = try Self.post(server, #"{"prompt": "Hello", "max_tokens": 2, "temperature": 0}"#)
            return try server.client().request("GET", "/metrics").text
        }
        let served = Set(exposition.split(separator: "\n").filter { $0.hasPrefix("# TYPE ") }.map { String($0.split(separator: " ")[2]) })
        let spec = try String(contentsOf: repositoryRoot().appendingPathComponent("openapi.yaml"), encoding: .utf8)
        let start = try #require(spec.range(of: "operationId: metrics")), end = try #require(spec.range(of: "responses:", range: start.upperBound..<spec.endIndex))
        let named = Set(spec[start.upperBound..<end.lowerBound].matches(of: /`(rotary_[a-z_]+)/).map { String($0.1) })
        #expect(served.count >= 10)
        #expect(named == served, "named only: \(named.subtracting(served).sorted()); served only: \(served.subtracting(named).sorted())")
    }

    /// The value of one series in a Prometheus exposition.
    static func value(_ exposition: String, _ series: String) -> Int? {
        exposition.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Int($0.split(separator: " ").last!) }
    }
}
