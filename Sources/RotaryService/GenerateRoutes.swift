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
        if decoded.stream { return try stream(job, request: request, owner: owner, model: model) }
        let candidateTokens = job.candidates.reduce(0) { $0 + $1.tokens.count }
        let candidateText = decoded.candidateTexts.reduce(0) { $0 + $1.utf8.count + 64 }
        try ResponseSize.check(ResponseSize.modelAnswer(generated: job.maxTokens, scored: (job.echo ? job.promptTokens.count : 0) + candidateTokens,
                                                        textBytes: candidateText, alternatives: job.alternatives, pieceBytes: owner.maxPieceBytes),
                               limits, what: "the answer (max_tokens, echo, candidates with logprobs)", param: "max_tokens")
        let connected = request.isConnected
        // A client that disconnects stops its generation at the next token and frees the model.
        let outcome = try await owner.generate(job, isConnected: connected) { _, _ in connected() }
        let tokenizer = model.tokenizer
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

    /// Server-Sent Events as the tokens come: one `data:` event per token with the text it releases (text
    /// that could begin a stop sequence is held back until it cannot), a last event with `finish_reason`
    /// and `usage`, then `[DONE]`. Queue and model errors arrive before the stream starts.
    static func stream(_ job: GenerationJob, request: Request, owner: ModelOwner, model: LlamaModel) throws(HTTPError) -> Response {
        let tokenizer = model.tokenizer
        return try eventStream(owner: owner) { stream throws(HTTPError) in
            let outcome = try await releasingGeneration(job, owner: owner, tokenizer: tokenizer, stream: stream,
                                                        isConnected: request.isConnected) { text, token in
                if let token {
                    stream.write(event(text, token, tokenizer))
                } else {
                    var writer = JSONWriter()
                    writer.raw("{"); writer.key("text"); writer.string(text); writer.raw("}")
                    stream.write(serverSentEvent(writer.bytes))
                }
            }
            var last = JSONWriter()
            last.raw("{"); last.key("finish_reason"); last.string(outcome.finishReason.rawValue); last.comma()
            writeUsage(outcome, promptCount: outcome.promptTokenCount, &last); last.raw("}")
            stream.write(serverSentEvent(last.bytes) + endOfEvents)
        }
    }

    /// A Server-Sent Events response whose events `produce` writes from a task. The stream's place in the
    /// model queue is reserved first (a full queue is a 429 before the stream starts) and held by its
    /// jobs until it ends; an error thrown later goes out as the last event.
    static func eventStream(owner: ModelOwner,
                            _ produce: @escaping @Sendable (ResponseStream) async throws(HTTPError) -> Void) throws(HTTPError) -> Response {
        let reservation = try owner.reserve()
        let stream = ResponseStream()
        Task {
            await ModelOwner.$heldReservation.withValue(reservation) {
                do throws(HTTPError) {
                    try await produce(stream)
                } catch {
                    stream.write(serverSentEvent(error.body))
                }
            }
            reservation.release()
            stream.finish()
        }
        return Response(status: 200, contentType: "text/event-stream", headers: [("Cache-Control", "no-cache")], stream: stream)
    }

    /// Runs `job` for a stream: `emit` gets each token's released text with the token as it comes (text
    /// that could begin a stop sequence waits until it cannot), then, with no token, the held-back rest
    /// that survived the stop sequences. Stops when the client or the stream goes away.
    static func releasingGeneration(_ job: GenerationJob, owner: ModelOwner, tokenizer: any Tokenizer,
                                    stream: ResponseStream, isConnected connected: @escaping @Sendable () -> Bool,
                                    emit: @escaping @Sendable (String, ScoredToken?) -> Void) async throws(HTTPError) -> GenerationOutcome {
        let release = TextRelease(holdBack: max(0, (job.stop.map(\.count).max() ?? 0) - 1))
        let outcome = try await owner.generate(job, isConnected: { !stream.isCancelled && connected() }) { token, _ in
            emit(release.add(tokenizer.pieceBytes(token.id)), token)
            return !stream.isCancelled
        }
        let released = release.released
        if outcome.text.hasPrefix(released), outcome.text.count > released.count {
            emit(String(outcome.text.dropFirst(released.count)), nil)
        }
        return outcome
    }

    /// The text a stream may send so far: all generated bytes as UTF-8, less the last `holdBack`
    /// characters, which could still begin a stop sequence. Used by one job at a time.
    /// The work per token is that token's bytes and the held-back tail, not the text so far.
    final class TextRelease: @unchecked Sendable {
        private var decoder = IncrementalUTF8()   // a character split across tokens waits for its last byte
        private var held = ""                     // decoded, not yet released: at most `holdBack` characters
        private(set) var released = ""
        let holdBack: Int
        init(holdBack: Int) { self.holdBack = holdBack }

        /// Adds a token's bytes; returns the newly released text (often the token's own piece).
        func add(_ bytes: [UInt8]) -> String {
            held += decoder.append(bytes)
            let excess = held.count - holdBack
            guard excess > 0 else { return "" }
            let cut = held.index(held.startIndex, offsetBy: excess)
            let piece = String(held[..<cut])
            held = String(held[cut...])
            released += piece
            return piece
        }
    }

    static func event(_ text: String, _ token: ScoredToken, _ tokenizer: any Tokenizer) -> [UInt8] {
        var writer = JSONWriter()
        writer.raw("{"); writer.key("text"); writer.string(text); writer.comma()
        writer.key("token"); writeToken(token, tokenizer, &writer); writer.raw("}")
        return serverSentEvent(writer.bytes)
    }

    /// One Server-Sent Event carrying a JSON payload.
    static func serverSentEvent(_ json: [UInt8]) -> [UInt8] {
        Array("data: ".utf8) + json + Array("\n\n".utf8)
    }

    /// The event that ends every stream (OpenAI's convention).
    static let endOfEvents = Array("data: [DONE]\n\n".utf8)

    static func writeUsage(_ outcome: GenerationOutcome, promptCount: Int, _ writer: inout JSONWriter) {
        writer.key("usage")
        writer.raw("{\"prompt_tokens\":\(promptCount),\"completion_tokens\":\(outcome.generated.count)}")
    }

    static func writeTokens(_ tokens: [ScoredToken], _ tokenizer: any Tokenizer, _ writer: inout JSONWriter) {
        writer.raw("[")
        for (i, token) in tokens.enumerated() {
            if i > 0 { writer.comma() }
            writeToken(token, tokenizer, &writer)
        }
        writer.raw("]")
    }

    static func writeToken(_ token: ScoredToken, _ tokenizer: any Tokenizer, _ writer: inout JSONWriter) {
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
