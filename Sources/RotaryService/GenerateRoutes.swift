import RotaryHTTP
import RotaryJSON
import RotaryModel

/// `POST /generate`: scoring, ranking and sampled generation on the loaded model.
enum GenerateRoutes {
    static func routes(owner: ModelOwner, configuration: ServiceConfiguration) -> [Route] {
        [
            Route("POST", "/generate", consumes: ["application/json"], handler: .worker { request in
                try await generate(request, owner: owner, limits: configuration)
            }),
        ]
    }

    static func generate(_ request: Request, owner: ModelOwner, limits: ServiceConfiguration) async throws(HTTPError) -> Response {
        let model = try owner.requireModel()
        let decoded = try GenerateRequest.decode(try parseJSON(request.body, limits: limits), model: model, limits: limits)
        let job = decoded.job
        let connected = request.isConnected
        // A client that disconnects stops its generation at the next token and frees the model.
        let outcome = try await owner.run(isConnected: connected) { model in
            TextGenerator(model: model).run(job) { _, _ in connected() }
        }
        owner.count(outcome)
        let tokenizer = model.tokenizer
        if decoded.stream {
            return Response(status: 200, headers: [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")],
                            body: events(outcome, tokenizer: tokenizer))
        }
        var writer = JSONWriter(reservingCapacity: 4096)
        writer.raw("{")
        writer.key("text"); writer.string(outcome.text); writer.comma()
        writer.key("tokens"); writeTokens(outcome.generated, tokenizer, &writer); writer.comma()
        if job.echo { writer.key("prompt_tokens"); writeTokens(outcome.promptScores, tokenizer, &writer); writer.comma() }
        if !decoded.candidateTexts.isEmpty {
            writer.key("candidates"); writer.raw("[")
            for (i, (text, scores)) in zip(decoded.candidateTexts, outcome.candidateScores).enumerated() {
                if i > 0 { writer.comma() }
                writer.raw("{"); writer.key("text"); writer.string(text); writer.comma()
                writer.key("logprob"); writeLogprob(scores.reduce(0.0) { $0 + ($1.logprob ?? 0) }, &writer); writer.comma()
                writer.key("tokens"); writeTokens(scores, tokenizer, &writer); writer.raw("}")
            }
            writer.raw("]"); writer.comma()
        }
        writer.key("finish_reason"); writer.string(outcome.finishReason.rawValue); writer.comma()
        writeUsage(outcome, promptCount: job.promptTokens.count, &writer); writer.comma()
        writer.key("timings"); writer.raw("{")
        writer.key("prompt_ms"); writer.double(outcome.promptSeconds * 1000); writer.comma()
        writer.key("generate_ms"); writer.double(outcome.generateSeconds * 1000); writer.comma()
        writer.key("tokens_per_second")
        writer.double(outcome.generateSeconds > 0 ? Double(outcome.generated.count) / outcome.generateSeconds : 0)
        writer.raw("}}")
        return .json(writer.bytes)
    }

    /// Server-Sent Events: one `data:` event per token, a last one with `finish_reason` and `usage`, then `[DONE]`.
    static func events(_ outcome: GenerationOutcome, tokenizer: SentencePieceTokenizer) -> [UInt8] {
        var out: [UInt8] = []
        var emitted = ""
        for token in outcome.generated {
            var writer = JSONWriter()
            // The piece's text, clipped so the events concatenate to the final text (stop sequences cut it).
            var piece = tokenizer.decodePiece(token.id)
            if !outcome.text.hasPrefix(emitted + piece) { piece = String(outcome.text.dropFirst(emitted.count)) }
            emitted += piece
            writer.raw("{"); writer.key("text"); writer.string(piece); writer.comma()
            writer.key("token"); writeToken(token, tokenizer, &writer); writer.raw("}")
            out += Array("data: ".utf8) + writer.bytes + Array("\n\n".utf8)
        }
        var last = JSONWriter()
        last.raw("{"); last.key("finish_reason"); last.string(outcome.finishReason.rawValue); last.comma()
        writeUsage(outcome, promptCount: outcome.promptTokenCount, &last); last.raw("}")
        out += Array("data: ".utf8) + last.bytes + Array("\n\ndata: [DONE]\n\n".utf8)
        return out
    }

    static func writeUsage(_ outcome: GenerationOutcome, promptCount: Int, _ writer: inout JSONWriter) {
        writer.key("usage")
        writer.raw("{\"prompt_tokens\":\(promptCount),\"completion_tokens\":\(outcome.generated.count)}")
    }

    static func writeTokens(_ tokens: [ScoredToken], _ tokenizer: SentencePieceTokenizer, _ writer: inout JSONWriter) {
        writer.raw("[")
        for (i, token) in tokens.enumerated() {
            if i > 0 { writer.comma() }
            writeToken(token, tokenizer, &writer)
        }
        writer.raw("]")
    }

    static func writeToken(_ token: ScoredToken, _ tokenizer: SentencePieceTokenizer, _ writer: inout JSONWriter) {
        writer.raw("{")
        writer.key("id"); writer.int(token.id); writer.comma()
        writer.key("text"); writer.string(tokenizer.decodePiece(token.id)); writer.comma()
        writer.key("logprob"); writeLogprob(token.logprob, &writer)
        if !token.alternatives.isEmpty {
            writer.comma(); writer.key("top_logprobs"); writer.raw("[")
            for (i, alternative) in token.alternatives.enumerated() {
                if i > 0 { writer.comma() }
                writer.raw("{"); writer.key("id"); writer.int(alternative.id); writer.comma()
                writer.key("text"); writer.string(tokenizer.decodePiece(alternative.id)); writer.comma()
                writer.key("logprob"); writeLogprob(alternative.logprob, &writer); writer.raw("}")
            }
            writer.raw("]")
        }
        writer.raw("}")
    }

    /// A log-probability; −∞ (and a missing one) is written as null, since JSON has no infinities.
    static func writeLogprob(_ value: Double?, _ writer: inout JSONWriter) {
        guard let value, value.isFinite else { return writer.null() }
        writer.double(value)
    }
}
