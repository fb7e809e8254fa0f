import Foundation
import Testing
import RotaryHTTP
import RotaryModel
@testable import RotaryService
import RotaryTestSupport

/// `rope` on the model routes: the loaded model with another RoPE for one request — against llama.cpp's
/// own scaled file, against `/rotate`'s tables (held to Hugging Face by `RotateGoldenTests`), side by side
/// with other settings, and bounded by `max_eval_context`.
@Suite struct ModelRoPETests {
    static func post(_ path: String, _ json: Any, owner: ModelOwner = tinyModelOwner(),
                     configuration: ServiceConfiguration = ServiceConfiguration()) async throws -> Response {
        let request = Request(method: "POST", path: path, headers: [("Content-Type", "application/json")],
                              body: [UInt8](try JSONSerialization.data(withJSONObject: json)))
        return await Service.router(configuration: configuration, owner: owner).respond(to: request)
    }

    /// The tiny fixture with `{"rope_type": "linear", "factor": 2}` is llama.cpp's `tiny-rope-linear2` file
    /// (the same weights with `rope.scaling.type = linear`): its next-token log-probabilities, every prompt.
    @Test func linearOverrideEqualsLlamaCppOnTheScaledFile() async throws {
        let url = sharedDirectory().appendingPathComponent("golden/llama/tiny-rope-linear2-seed1234.json")
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
        for c in try #require(root["cases"] as? [[String: Any]]) {
            let tokens = try #require(c["tokens"] as? [Int]), logits = try #require(c["last_logits"] as? [Double])
            let top = logits.max()!, logSum = top + log(logits.reduce(0) { $0 + exp($1 - top) })
            for rope: [String: Any]? in [["rope_type": "linear", "factor": 2], nil] {
                var body: [String: Any] = ["prompt": tokens, "max_tokens": 1, "temperature": 0, "logprobs": 20]
                if let rope { body["rope"] = rope }
                let response = try await Self.post("/generate", body)
                let token = try #require((response.object["tokens"] as? [[String: Any]])?.first, "\(response.error)")
                let alternatives = try #require(token["top_logprobs"] as? [[String: Any]])
                let worst = alternatives.map { abs(($0["logprob"] as! Double) - (logits[$0["id"] as! Int] - logSum)) }.max()!
                if rope != nil {
                    #expect(worst <= 1e-3, "\(c["id"]!): off llama.cpp's linear-2 file by \(worst)")
                } else if tokens.count > 1 {
                    #expect(worst > 1e-3, "\(c["id"]!): the model's own RoPE should differ from the scaled file")
                }
            }
        }
    }

    /// Text-mode `/rotate` with an override equals `/rotate` on the model's own unrotated embeddings with the
    /// same (echoed) `rope`: the model rotates by the tables that `/rotate` serves.
    @Test(arguments: [
        #"{"rope_type": "dynamic", "factor": 4}"#,
        #"{"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 64}"#,
        #"{"rope_type": "llama3", "factor": 8, "low_freq_factor": 1, "high_freq_factor": 4, "original_max_position_embeddings": 64}"#,
        #"{"rope_type": "longrope", "short_factor": [1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5], "long_factor": [2, 3, 4, 5, 6, 7, 8, 9], "original_max_position_embeddings": 64}"#,
        #"{"rope_theta": 500000}"#,
    ])
    func textModeRotatesByTheTablesRotateServes(ropeJSON: String) async throws {
        let rope = try JSONSerialization.jsonObject(with: Data(ropeJSON.utf8))
        let text = "In the beginning God created the heaven and the earth, and the earth was without form, and void."
        let own = try await Self.post("/rotate", ["text": text, "offset": 300, "rope": [String: Any]()])
        let changed = try await Self.post("/rotate", ["text": text, "offset": 300, "rope": rope])
        #expect(own.status == 200 && changed.status == 200, "\(changed.error)")
        let echoed = try #require(changed.object["rope"] as? [String: Any]).filter { $0.key != "heads" && $0.key != "head_dim" }
        // The echo is the request's keys over the model's own.
        for (key, value) in try #require(rope as? [String: Any]) {
            #expect(echoed[key] as? NSObject == value as? NSObject, "\(key): echoed \(echoed[key] ?? "missing"), asked \(value)")
        }
        let ownRope = try #require(own.object["rope"] as? [String: Any]).filter { $0.key != "heads" && $0.key != "head_dim" }
        let heads = try #require(own.object["rope"] as? [String: Any])["heads"] as! Int
        let positions = try #require(own.object["positions"] as? [Int])
        func perHead(_ rows: [[Float]]) -> [[[Float]]] {   // [seq][heads·hd] → [heads][seq][hd]
            let hd = rows[0].count / heads
            return (0..<heads).map { h in rows.map { Array($0[(h * hd)..<((h + 1) * hd)]) } }
        }
        let raw = try await Self.post("/rotate", ["vectors": perHead(matrix(own.object["vectors"])), "positions": positions,
                                                  "rope": ownRope, "inverse": true])
        let expected = try await Self.post("/rotate", ["vectors": raw.object["vectors"]!, "positions": positions, "rope": echoed])
        #expect(expected.status == 200, "\(expected.error)")
        let want = (expected.object["vectors"] as? [[[NSNumber]]] ?? []).map { $0.map { $0.map { Float(truncating: $0) } } }
        let got = perHead(matrix(changed.object["vectors"]))
        #expect(want.count == heads)
        let worst = zip(got.joined().joined(), want.joined().joined()).map { abs($0 - $1) }.max() ?? .infinity
        #expect(worst <= 1e-5, "\(rope): off by \(worst)")
    }

    /// Two settings at once, each with its own answer: equal to the same requests run one after another.
    @Test func concurrentRequestsWithDifferentRoPEGetTheirOwnAnswers() async throws {
        let owner = tinyModelOwner()
        let ropes = [#"{"rope_type": "linear", "factor": 2}"#, #"{"rope_theta": 1000}"#, #"{"rope_type": "dynamic", "factor": 3}"#]
        @Sendable func body(_ rope: String) -> [String: Any] {
            ["prompt": "The quick brown fox jumps over the lazy dog", "max_tokens": 0, "echo": true, "logprobs": 0,
             "rope": try! JSONSerialization.jsonObject(with: Data(rope.utf8))]
        }
        @Sendable func logprobs(_ r: Response) -> [Double] {
            (((r.object["choices"] as? [[String: Any]])?.first?["logprobs"] as? [String: Any])?["token_logprobs"] as? [Any] ?? [])
                .compactMap { $0 as? Double }
        }
        var alone: [[Double]] = []
        for rope in ropes { alone.append(logprobs(try await Self.post("/v1/completions", body(rope), owner: owner))) }
        let distinct = Set(alone.map { answer in answer.map { String($0) }.joined(separator: ",") })
        #expect(distinct.count == ropes.count, "the settings give different answers")
        let together = try await withThrowingTaskGroup(of: (Int, [Double]).self) { group in
            for _ in 0..<4 {
                for (i, rope) in ropes.enumerated() {
                    group.addTask { (i, logprobs(try await Self.post("/v1/completions", body(rope), owner: owner))) }
                }
            }
            var out: [(Int, [Double])] = []
            for try await answer in group { out.append(answer) }
            return out
        }
        #expect(together.count == 12)
        for (i, answer) in together { #expect(answer == alone[i], "setting \(i) changed under concurrency") }
    }

    /// Past the model's context only with `rope`, up to `max_eval_context`; `/v1/model` shows both.
    @Test func positionsPastTheContextAreBoundedByMaxEvalContext() async throws {
        let owner = tinyModelOwner()   // context 256
        var limits = ServiceConfiguration()
        limits.maxEvalContext = 400
        let prompt = Array(repeating: 388, count: 300)
        let plain = try await Self.post("/generate", ["prompt": prompt, "max_tokens": 1], owner: owner, configuration: limits)
        #expect(plain.status == 400 && plain.error["type"] as? String == "context_length_exceeded")
        let extended = try await Self.post("/generate", ["prompt": prompt, "max_tokens": 1, "rope": ["rope_type": "linear", "factor": 2]],
                                           owner: owner, configuration: limits)
        #expect(extended.status == 200, "\(extended.error)")
        let over = try await Self.post("/generate", ["prompt": prompt, "max_tokens": 101, "rope": [:]], owner: owner, configuration: limits)
        #expect(over.status == 413 && over.error["message"].map { "\($0)".contains("max_eval_context") } == true, "\(over.error)")
        let request = Request(method: "GET", path: "/v1/model")
        let model = await Service.router(configuration: limits, owner: owner).respond(to: request).object
        #expect(model["max_eval_context"] as? Int == 400)
        let rope = try #require(model["rope"] as? [String: Any])
        #expect(rope["rope_type"] as? String == "default" && rope["rope_theta"] as? Int == 10_000 && rope["rotary_dim"] as? Int == 16
                && rope["layout"] as? String == "interleaved" && rope["max_position_embeddings"] as? Int == 256, "\(rope)")
    }
}
