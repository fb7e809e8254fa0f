import Foundation
import Testing
import RotaryHTTP
import RotaryModel
import RotaryService

/// `detokenize(tokenize(s)) == s`, and what lm-evaluation-harness builds on it (`local-completions` with the
/// remote tokenizer: `/tokenize`, `/detokenize`, then `/v1/completions` with echo) agrees with the prompt,
/// on the shipped model and the tiny llama.cpp fixture.
@Suite struct TokenizerRoundTripTests {
    static let texts = [
        "", " ", "  ", "\n", "\t", "And I saw", " And I saw", "   three leading", "trailing  ", "a  b   c",
        "line one\nline two\n\n", "\ttab\tseparated\t", "In the beginning God created the heaven and the earth.",
        "Café au lait, naïve señor — 東京", "emoji 😀!", "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}", "ñ", " 東", "\r\n",
    ]
    /// Queues long enough for every test case at once (Swift Testing runs them in parallel).
    static let owners: [String: ModelOwner] = [
        "shipped": ModelOwner(model: try! EmbeddedModel.load()!, name: "shipped", queueLimit: 1_000),
        "tiny": tinyModelOwner(queueLimit: 1_000),
    ]

    func post(_ model: String, _ path: String, _ json: Any) async throws -> [String: Any] {
        let bytes = [UInt8](try JSONSerialization.data(withJSONObject: json))
        let request = Request(method: "POST", path: path, headers: [("Content-Type", "application/json")], body: bytes)
        let reply = await Service.router(owner: Self.owners[model]!).respond(to: request)
        #expect(reply.status == 200, "\(path): \(String(decoding: reply.body, as: UTF8.self))")
        return reply.object
    }

    @Test(arguments: ["shipped", "tiny"], texts)
    func detokenizeInvertsTokenize(model: String, text: String) async throws {
        for special in [false, true] {
            let ids = try await post(model, "/tokenize", ["prompt": text, "add_special_tokens": special])["tokens"] as? [Int] ?? []
            let back = try await post(model, "/detokenize", ["tokens": ids])["prompt"] as? String
            #expect(back == text, "add_special_tokens \(special): \(ids)")
        }
    }

    /// The lm-eval shape: the prompt's ids from `/tokenize`, back to text by `/detokenize`, scored by
    /// `/v1/completions` with echo — as ids and as that text: the echoed text is the prompt, its tokens
    /// concatenate to it, and each `text_offset` is where its token's text starts.
    @Test(arguments: ["shipped", "tiny"], texts.filter { !$0.isEmpty })
    func completionsEchoAgreesWithThePrompt(model: String, text: String) async throws {
        let ids = try await post(model, "/tokenize", ["prompt": text, "add_special_tokens": false])["tokens"] as? [Int] ?? []
        let detokenized = try await post(model, "/detokenize", ["tokens": ids])["prompt"] as? String ?? ""
        for prompt in [ids as Any, detokenized as Any] {
            let reply = try await post(model, "/v1/completions", ["prompt": prompt, "max_tokens": 0, "echo": true, "logprobs": 0])
            guard let choice = (reply["choices"] as? [[String: Any]])?.first, let logprobs = choice["logprobs"] as? [String: Any],
                  let tokens = logprobs["tokens"] as? [String], let offsets = logprobs["text_offset"] as? [Int] else {
                Issue.record("no echo logprobs: \(reply)")
                continue
            }
            #expect(choice["text"] as? String == text)
            #expect(tokens.joined() == text)
            var expected: [Int] = [], position = 0
            for token in tokens { expected.append(position); position += token.unicodeScalars.count }
            if !tokens.contains(where: { $0.contains("\u{FFFD}") }) { #expect(offsets == expected) }
            #expect(offsets.first == 0 && offsets == offsets.sorted())
        }
    }
}
