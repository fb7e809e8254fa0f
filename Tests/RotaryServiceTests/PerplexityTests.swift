import Foundation
import Testing
import RotaryHTTP
import RotaryModel
@testable import RotaryService
import RotaryTestSupport

/// `POST /perplexity` on the shipped model: the same numbers as `rotary evaluate`, the context-extension
/// finding it was measured to show, the windows' arithmetic against lm-evaluation-harness-style rolling
/// scoring through `/v1/completions`, its other answers (`.npy`, SVG, a stream) and its bad input.
@Suite struct PerplexityTests {
    static let embedded: ModelOwner = ModelOwner(model: try! EmbeddedModel.load()!, name: "default-model", queueLimit: 16)
    static let revelation = try! String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
                                            .appendingPathComponent("Fixtures/revelation-21-22.txt"), encoding: .utf8)

    static func post(_ path: String, _ json: Any, owner: ModelOwner = embedded, accept: String? = nil) async throws -> Response {
        var headers: [(name: String, value: String)] = [("Content-Type", "application/json")]
        if let accept { headers.append(("Accept", accept)) }
        let request = Request(method: "POST", path: path, headers: headers, body: [UInt8](try JSONSerialization.data(withJSONObject: json)))
        return await Service.router(owner: owner).respond(to: request)
    }

    static func results(_ response: Response) -> [[String: Any]] { response.object["results"] as? [[String: Any]] ?? [] }

    /// Revelation 21–22 at the model's own context: bits per character as `rotary evaluate` reports them for
    /// the same text (its held-out part made the whole file), within 0.01.
    @Test func bitsPerCharacterEqualRotaryEvaluate() async throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let binary = root.appendingPathComponent(".build/debug/rotary").path
        try #require(FileManager.default.isExecutableFile(atPath: binary), "no \(binary): run swift build first")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/revelation-21-22.txt").path
        process.arguments = ["evaluate", "--corpus", fixture, "--validation-fraction", "1"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        let printed = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let match = try #require(printed.firstMatch(of: /([0-9.]+) bits\/char/), "evaluate printed: \(printed)")
        let evaluated = try #require(Double(match.1))
        let response = try await Self.post("/perplexity", ["text": Self.revelation])
        #expect(response.status == 200, "\(response.error)")
        let result = try #require(Self.results(response).first)
        let bpc = try #require(result["bits_per_character"] as? Double)
        #expect(abs(bpc - evaluated) <= 0.01, "/perplexity \(bpc) bits/char, rotary evaluate \(evaluated)")
        #expect(response.object["windows"] as? Int == (2254 - 2) / 128 + 1)
        #expect(result["tokens_scored"] as? Int == (response.object["tokens"] as? Int ?? 0) - 1)
        let curve = try #require(result["nll_by_position"] as? [[String: Any]])
        #expect(curve.count == 16 && curve.reduce(0) { $0 + ($1["count"] as? Int ?? 0) } == result["tokens_scored"] as? Int)
    }

    /// Windows of 4 × n_ctx (512) on the shipped model (trained at 128). Measured on this text (4 buckets):
    /// plain RoPE 3.11 / 3.10 / 3.93 / 4.50 nats, YaRN ×4 3.27 / 2.99 / 3.09 / 3.48 — plain RoPE fails past the
    /// trained length and YaRN does not. The test holds the last quarter to a 0.5-nat margin.
    @Test func plainRoPEFailsPastTheTrainedContextWhereYaRNDoesNot() async throws {
        let response = try await Self.post("/perplexity", [
            "text": Self.revelation, "context": 512, "buckets": 4,
            "rope": [[:], ["rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 128]],
        ])
        #expect(response.status == 200, "\(response.error)")
        let curves = Self.results(response).map { ($0["nll_by_position"] as? [[String: Any]] ?? []).map { $0["mean_nll"] as? Double ?? .nan } }
        try #require(curves.count == 2 && curves.allSatisfy { $0.count == 4 })
        #expect(curves[0][3] > curves[1][3] + 0.5, "last quarter: plain \(curves[0][3]), yarn \(curves[1][3])")
        // Within the trained 128 positions (the first quarter) plain RoPE is the model as trained: no worse.
        #expect(curves[0][0] <= curves[1][0] + 0.05, "first quarter: plain \(curves[0][0]), yarn \(curves[1][0])")
        let ropes = Self.results(response).map { $0["rope"] as? [String: Any] ?? [:] }
        #expect(ropes[0]["rope_type"] as? String == "default" && ropes[1]["rope_type"] as? String == "yarn")
        #expect(ropes[1]["rope_theta"] as? Double == 10_000 && ropes[1]["layout"] as? String == "interleaved", "model keys kept: \(ropes[1])")
    }

    /// Rolling log-likelihood as lm-evaluation-harness computes it through an OpenAI server: one
    /// `/v1/completions` echo per window, summing the log-probabilities of the tokens the window scores.
    /// Sliding windows (stride < context) on the tiny fixture model give the same total as `/perplexity`.
    @Test func rollingLogLikelihoodThroughCompletionsGivesTheSameTotal() async throws {
        let owner = tinyModelOwner()
        let text = String(Self.revelation.prefix(900))
        let tokens = TinyModel.shared.tokenizer.encode(text)
        let (context, stride) = (64, 40)
        let windows = ScoringWindows(tokenCount: tokens.count, context: context, stride: stride)
        var rolling = 0.0
        for window in windows.windows {
            let prompt = Array(tokens[window.start..<(window.start + window.length)])
            let response = try await Self.post("/v1/completions", ["prompt": prompt, "max_tokens": 0, "echo": true, "logprobs": 0], owner: owner)
            let choice = try #require((response.object["choices"] as? [[String: Any]])?.first, "\(response.error)")
            let logprobs = try #require((choice["logprobs"] as? [String: Any])?["token_logprobs"] as? [Any])
            rolling += logprobs.suffix(window.scored).reduce(0.0) { $0 + (($1 as? Double) ?? .nan) }
        }
        let response = try await Self.post("/perplexity", ["tokens": tokens, "context": context, "stride": stride, "logprobs": true], owner: owner)
        let result = try #require(Self.results(response).first, "\(response.error)")
        let scored = try #require(result["token_logprobs"] as? [Double])
        #expect(scored.count == tokens.count - 1)
        let total = scored.reduce(0, +)
        #expect(abs(total - rolling) <= 1e-4 * abs(rolling), "perplexity \(total), rolling \(rolling)")
        #expect(abs((result["mean_nll"] as? Double ?? 0) + total / Double(scored.count)) < 1e-9)
    }

    @Test func answersNPYSVGAndAStreamOfProgress() async throws {
        let owner = tinyModelOwner()
        let body: [String: Any] = ["text": String(Self.revelation.prefix(1500)), "context": 96,
                                   "rope": [[:], ["rope_type": "linear", "factor": 2]], "logprobs": true]
        let json = try await Self.post("/perplexity", body, owner: owner)
        let expected = Self.results(json).map { $0["token_logprobs"] as? [Double] ?? [] }
        let npy = try await Self.post("/perplexity", body, owner: owner, accept: "application/x-npy")
        #expect(npy.status == 200 && npy.contentType == "application/x-npy")
        let header = String(decoding: npy.body.prefix(128), as: UTF8.self)
        #expect(header.contains("'shape': (2, \(expected[0].count))"), "\(header)")
        let svg = try await Self.post("/perplexity", body, owner: owner, accept: "image/svg+xml")
        let drawing = String(decoding: svg.body, as: UTF8.self)
        #expect(svg.status == 200 && drawing.components(separatedBy: "<polyline").count - 1 == 2 && drawing.contains("linear ×2"))
        #expect(!drawing.contains("training context"), "96 is inside the tiny model's context of 256: no marker")
        var streamed = body
        streamed["stream"] = true
        let stream = try await Self.post("/perplexity", streamed, owner: owner)
        let events = String(decoding: stream.body, as: UTF8.self).components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }
            .map { String($0.dropFirst(6)) }
        let windows = json.object["windows"] as? Int ?? 0
        let progress = events.compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }.filter { $0["type"] as? String == "progress" }
        #expect(progress.map { $0["windows_done"] as? Int ?? 0 } == Array(1...(2 * windows)), "one event per window and setting")
        #expect(events.last == "[DONE]")
        let last = try #require(events.dropLast().last.flatMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
        #expect(last["type"] as? String == "result")
        #expect((last["results"] as? [[String: Any]])?.map { $0["token_logprobs"] as? [Double] ?? [] } == expected)
    }

    @Test(arguments: [
        (#"{"text": "In the beginning", "context": 64, "stride": 65}"#, 400, "stride"),
        (#"{"text": "In the beginning", "context": 1048576}"#, 413, "context"),
        (#"{"text": ""}"#, 400, "text"),
        (#"{}"#, 400, "text"),
        (#"{"text": "In the beginning", "rope": {"rope_type": "linear", "factor": 2, "beta_fast": 3}}"#, 400, "rope.beta_fast"),
        (#"{"text": "In the beginning", "rope": [{"rope_type": "yarn", "factor": 2}, {"rope_type": "linear"}]}"#, 400, "rope[1].factor"),
        (#"{"text": "In the beginning", "rope": {"rope_type": "xpos"}}"#, 400, "rope.rope_type"),
        (#"{"text": "In the beginning", "tokens": [1, 2]}"#, 400, "tokens"),
        (#"{"text": "In the beginning", "buckets": 0}"#, 400, "buckets"),
    ])
    func badInputIsNamed(bodyJSON: String, status: Int, param: String) async throws {
        let body = try JSONSerialization.jsonObject(with: Data(bodyJSON.utf8))
        let response = try await Self.post("/perplexity", body, owner: tinyModelOwner())
        #expect(response.status == status && response.error["param"] as? String == param, "\(bodyJSON): \(response.status) \(response.error)")
    }

    @Test func windowsScoreEveryTokenOnce() {
        for (count, context, stride) in [(2, 1, 1), (10, 4, 4), (10, 4, 1), (100, 16, 5), (17, 16, 16), (18, 16, 16), (5, 64, 64)] {
            let windows = ScoringWindows(tokenCount: count, context: context, stride: stride)
            var scored: [Int] = []
            for w in windows.windows {
                #expect(w.length - 1 <= context && w.scored <= w.length - 1)
                scored += ((w.start + w.length - w.scored)..<(w.start + w.length))
                // Each scored token but in the first window has at least context − stride tokens before it.
                if w.start > 0 { #expect(w.length - 1 - w.scored >= context - stride) }
            }
            #expect(scored == Array(1..<count), "\(count) tokens, context \(context), stride \(stride)")
        }
    }
}
