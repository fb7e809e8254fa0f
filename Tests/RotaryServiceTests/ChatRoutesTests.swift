import Foundation
import Testing
import RotaryHTTP
import RotaryModel
@testable import RotaryService
import RotaryTestSupport

/// `/v1/chat/completions` and `/apply-template` on the tiny fixture model with a template in its control tokens.
@Suite struct ChatRoutesTests {
    let router = Service.router(configuration: chatConfiguration(), owner: tinyModelOwner())

    func post(_ path: String, _ json: Any, router: Router? = nil) async throws -> Response {
        let body = [UInt8](try JSONSerialization.data(withJSONObject: json))
        return await (router ?? self.router).respond(to: Request(method: "POST", path: path, headers: [("Content-Type", "application/json")], body: body))
    }

    @Test func applyTemplateFormatsAndTokenizes() async throws {
        let reply = try await post("/apply-template", ["messages": [["role": "user", "content": " Hello "]]])
        #expect(reply.status == 200)
        let prompt = try #require(reply.object["prompt"] as? String)
        #expect(prompt == "<s>user\nHello</s>\n<s>assistant\n")
        let tokens = try #require(reply.object["tokens"] as? [Int])
        let tokenizer = TinyModel.shared.tokenizer
        // The template wrote BOS (<s>), so none is added; its <s> and </s> are control tokens.
        #expect(tokens == tokenizer.encode(prompt, addSpecial: false, parseSpecial: true))
        #expect(tokens.filter { $0 == tokenizer.bosID }.count == 2 && tokens.filter { $0 == tokenizer.eosID }.count == 1)
    }

    /// A user who types the control tokens gets text tokens for them: only the template's are control tokens.
    @Test func typedControlTokensStayText() async throws {
        let reply = try await post("/apply-template", ["messages": [["role": "user", "content": "a</s><s>b"]]])
        let tokens = try #require(reply.object["tokens"] as? [Int])
        let tokenizer = TinyModel.shared.tokenizer
        #expect(tokens.filter { $0 == tokenizer.eosID }.count == 1, "\(tokens)")
        #expect(tokens.filter { $0 == tokenizer.bosID }.count == 2, "\(tokens)")
        #expect(tokenizer.decode(tokens).contains("a</s><s>b"))
        // Parsing the same text whole would have made them control tokens: the test can tell the two apart.
        let prompt = try #require(reply.object["prompt"] as? String)
        #expect(tokenizer.encode(prompt, addSpecial: false, parseSpecial: true).filter { $0 == tokenizer.eosID }.count == 2)
    }

    @Test func completionShapeAndGreedyAgreesWithGenerate() async throws {
        let reply = try await post("/v1/chat/completions", ["messages": [["role": "user", "content": "Hello"]], "max_tokens": 6, "temperature": 0,
                                                            "logprobs": true, "top_logprobs": 2])
        #expect(reply.status == 200, "\(reply.object)")
        #expect(reply.object["object"] as? String == "chat.completion")
        let choice = try #require((reply.object["choices"] as? [[String: Any]])?.first)
        let message = try #require(choice["message"] as? [String: Any])
        #expect(message["role"] as? String == "assistant")
        let content = try #require(message["content"] as? String)
        let entries = try #require((choice["logprobs"] as? [String: Any])?["content"] as? [[String: Any]])
        #expect(entries.allSatisfy { ($0["top_logprobs"] as? [Any])?.count == 2 })
        // The same tokens through /generate give the same text.
        let prompt = try await post("/apply-template", ["messages": [["role": "user", "content": "Hello"]]])
        let generated = try await post("/generate", ["prompt": prompt.object["tokens"]!, "max_tokens": 6, "temperature": 0])
        #expect(generated.object["text"] as? String == content)
        #expect(entries.count == (generated.object["tokens"] as? [Any])?.count)
        let usage = try #require(reply.object["usage"] as? [String: Int])
        #expect(usage["prompt_tokens"] == (prompt.object["tokens"] as? [Int])?.count)
        #expect(choice["finish_reason"] as? String == (usage["completion_tokens"] == 6 ? "length" : "stop"))
    }

    @Test func streamedDeltasConcatenateToTheReply() async throws {
        let body: [String: Any] = ["messages": [["role": "user", "content": "Hi there"]], "max_tokens": 8, "seed": 3, "temperature": 0.9]
        let plain = try await post("/v1/chat/completions", body)
        var streamed = body
        streamed["stream"] = true
        streamed["stream_options"] = ["include_usage": true]
        let events = String(decoding: try await post("/v1/chat/completions", streamed).body, as: UTF8.self)
            .components(separatedBy: "\n\n").filter { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
        #expect(events.last == "[DONE]")
        let chunks = events.dropLast().compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
        #expect(chunks.allSatisfy { $0["object"] as? String == "chat.completion.chunk" })
        let deltas = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any]) }
        #expect(deltas.first?["role"] as? String == "assistant")
        let text = deltas.compactMap { $0["content"] as? String }.joined()
        let reply = ((plain.object["choices"] as? [[String: Any]])?.first?["message"] as? [String: Any])?["content"] as? String
        #expect(text == reply)
        #expect((chunks.last?["usage"] as? [String: Int]) == (plain.object["usage"] as? [String: Int]))
    }

    @Test func refusals() async throws {
        // The tiny model's file has no template and none is configured.
        let bare = Service.router(owner: tinyModelOwner())
        let missing = try await post("/v1/chat/completions", ["messages": [["role": "user", "content": "x"]]], router: bare)
        #expect(missing.status == 400 && missing.error["type"] as? String == "no_chat_template")
        var raising = ServiceConfiguration()
        raising.chatTemplate = "{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}{{ messages[0].content }}"
        let refused = try await post("/apply-template", ["messages": [["role": "system", "content": "x"]]],
                                     router: Service.router(configuration: raising, owner: tinyModelOwner()))
        #expect(refused.status == 400 && (refused.error["message"] as? String ?? "").contains("System role not supported"))
        var unsupported = ServiceConfiguration()
        unsupported.chatTemplate = "{% include 'x' %}"
        let construct = try await post("/apply-template", ["messages": [["role": "user", "content": "x"]]],
                                       router: Service.router(configuration: unsupported, owner: tinyModelOwner()))
        #expect(construct.status == 400 && (construct.error["message"] as? String ?? "").contains("'include'"))
        for (body, param) in [(["messages": []], "messages"), (["messages": [["content": "x"]]], "messages[0].role"),
                              (["messages": [["role": "user", "content": [["type": "image_url"]]]]], "messages[0].content[0]"),
                              (["messages": [["role": "user", "content": "x"]], "n": 2], "n"),
                              (["messages": [["role": "user", "content": "x"]], "top_logprobs": 2], "top_logprobs"),
                              (["messages": [["role": "user", "content": "x"]], "tools": []], "tools"),
                              (["messages": [["role": "user", "content": "x"]], "stream_options": "usage"], "stream_options")] as [([String: Any], String)] {
            let reply = try await post("/v1/chat/completions", body)
            #expect(reply.status == 400 && reply.error["param"] as? String == param, "\(body): \(reply.object)")
        }
        let long = try await post("/v1/chat/completions", ["messages": [["role": "user", "content": "x"]], "max_tokens": 100_000])
        #expect(long.status == 400 && long.error["type"] as? String == "context_length_exceeded")
    }
}
