import RotaryHTTP
import RotaryJSON
import RotaryModel

/// `POST /v1/completions`: the OpenAI-compatible subset that the `openai` package and
/// lm-evaluation-harness (`local-completions`) send.
enum CompletionsRoutes {
    static func routes(owner: ModelOwner, configuration: ServiceConfiguration) -> [Route] {
        [
            Route("POST", "/v1/completions", consumes: ["application/json"], handler: .worker { request in
                try await complete(request, owner: owner, limits: configuration)
            }),
        ]
    }

    struct Choice { var promptText: String?; var promptTokens: [Int]; var addedBOS: Bool; var outcome: GenerationOutcome }

    static func complete(_ request: Request, owner: ModelOwner, limits: ServiceConfiguration) async throws(HTTPError) -> Response {
        let model = try owner.requireModel()
        var reader = try ObjectReader(try parseJSON(request.body, limits: limits), path: "", nullable: ["logprobs"])
        _ = try reader.string("model")
        guard let promptValue = reader.value("prompt") else { throw .badRequest("prompt is required", param: "prompt") }
        let prompts = try decodePrompts(promptValue, model: model)
        let maxTokens = try reader.int("max_tokens", in: 0...(1 << 30)) ?? 16
        let sampling = try OpenAIShapes.sampling(&reader)
        if let bestOf = try reader.int("best_of", in: 1...1_000_000), bestOf != 1 { throw .badRequest("best_of must be 1", param: "best_of") }
        let stop = try OpenAIShapes.stop(reader.value("stop"))
        let logprobs = try reader.int("logprobs", in: 0...GenerateRequest.maxAlternatives)
        let echo = try reader.bool("echo") ?? false
        let stream = try reader.bool("stream") ?? false
        // Accepted for compatibility, with no effect at their neutral values.
        if let bias = reader.value("logit_bias"), bias != .object([]) { throw .badRequest("logit_bias is not supported", param: "logit_bias") }
        if let suffix = reader.value("suffix"), suffix != .string("") { throw .badRequest("suffix is not supported", param: "suffix") }
        // Rotary's extension: the model's RoPE changed for this request.
        let rope = try ModelRoPE.decode(reader.value("rope"), model: model, limits: limits)
        try reader.finish()
        let context = ModelRoPE.positionLimit(rope, model: model, limits: limits)
        var jobs: [GenerationJob] = []
        for (index, prompt) in prompts.enumerated() {
            do {
                try GenerateRequest.checkContext(prompt.tokens.count, maxTokens, context: context, model: model, limits: limits, rope: rope)
            } catch {
                throw HTTPError(status: error.status, type: error.type, message: error.message + (prompts.count > 1 ? " (prompt \(index))" : ""),
                                param: "max_tokens")
            }
            var job = GenerationJob(promptTokens: prompt.tokens, maxTokens: maxTokens)
            job.sampling = sampling
            job.stop = stop
            job.alternatives = logprobs ?? 0
            job.echo = echo
            job.configuration = rope
            jobs.append(job)
        }
        let header = OpenAIShapes.Header(prefix: "cmpl", model: owner.name)
        if stream {
            let echoed = echo ? prompts.map { echoedText($0.text, tokens: $0.tokens, tokenizer: model.tokenizer) } : []
            return try streamed(jobs, echoed: echoed, chunk: header, owner: owner, model: model, isConnected: request.isConnected)
        }
        let estimate = zip(prompts, jobs).reduce(ResponseSize.envelope) { total, pair in
            let (prompt, job) = pair
            let echoed = echo ? prompt.text?.utf8.count ?? prompt.tokens.count * owner.maxPieceBytes : 0
            return total + ResponseSize.modelAnswer(generated: job.maxTokens, scored: echo ? prompt.tokens.count : 0, textBytes: echoed,
                                                    alternatives: logprobs ?? 0, pieceBytes: owner.maxPieceBytes)
        }
        try ResponseSize.check(estimate, limits, what: "the answer (\(prompts.count) prompts × max_tokens, echo, logprobs)", param: "prompt")
        let outcomes = try await generateTogether(jobs, owner: owner, isConnected: request.isConnected)
        let choices = zip(prompts, outcomes).map { prompt, outcome in
            Choice(promptText: prompt.text, promptTokens: prompt.tokens, addedBOS: prompt.addedBOS, outcome: outcome)
        }
        var writer = JSONWriter(reservingCapacity: 4096)
        header.open("text_completion", &writer)
        writer.raw(",\"choices\":[")
        for (index, choice) in choices.enumerated() {
            if index > 0 { writer.comma() }
            writeChoice(choice, index: index, echo: echo, logprobs: logprobs != nil, model: model, &writer)
        }
        let promptTotal = choices.reduce(0) { $0 + $1.promptTokens.count }
        let completionTotal = choices.reduce(0) { $0 + $1.outcome.generated.count }
        writer.raw("],\"usage\":{\"prompt_tokens\":\(promptTotal),\"completion_tokens\":\(completionTotal),\"total_tokens\":\(promptTotal + completionTotal)}}")
        return .json(writer.bytes)
    }

    /// Each prompt's text (nil for token ids), its tokens, and whether BOS was added to them.
    static func decodePrompts(_ value: JSONValue, model: LlamaModel) throws(HTTPError) -> [(text: String?, tokens: [Int], addedBOS: Bool)] {
        func one(_ item: JSONValue, field: String) throws(HTTPError) -> (String?, [Int], Bool) {
            let (text, tokens) = try Prompt.tokens(item, field: field, model: model)
            return (text, tokens, text != nil && tokens.first == model.tokenizer.bosID && model.tokenizer.addBOS)
        }
        switch value {
        case .string, .numbers: return [try one(value, field: "prompt")]
        case .array(let items) where !items.isEmpty:
            return try items.enumerated().map { (i, item) throws(HTTPError) in try one(item, field: "prompt[\(i)]") }
        default:
            throw .badRequest("prompt must be a string, a list of strings, a list of token ids or a list of token-id lists", param: "prompt")
        }
    }

    /// The prompt as `echo` shows it: its own text, or its tokens decoded as the start of a sequence
    /// (without BOS and without the space prefix the tokenizer adds, as `/detokenize` gives them).
    static func echoedText(_ text: String?, tokens: [Int], tokenizer: any Tokenizer) -> String {
        text ?? tokenizer.decode(tokens)
    }

    static func writeChoice(_ choice: Choice, index: Int, echo: Bool, logprobs: Bool, model: LlamaModel, _ writer: inout JSONWriter) {
        let tokenizer = model.tokenizer
        let outcome = choice.outcome
        // The prompt's own tokens: without the BOS this server added.
        let own = echo ? Array(outcome.promptScores.dropFirst(choice.addedBOS ? 1 : 0)) : []
        let promptText = echoedText(choice.promptText, tokens: choice.promptTokens, tokenizer: tokenizer)
        writer.raw("{\"index\":\(index),"); writer.key("text"); writer.string((echo ? promptText : "") + outcome.text)
        writer.comma(); writer.key("logprobs")
        if logprobs {
            let scored = own + outcome.generated
            // The prompt's tokens read as the start of a sequence (the space prefix is not the prompt's
            // text), the generated ones as its continuation: their texts concatenate to the choice's text.
            // A character split over byte tokens is the text of the token that completes it.
            let texts = tokenizer.sequenceTexts(own.map(\.id))
                + IncrementalUTF8.texts(of: outcome.generated.map { tokenizer.pieceBytes($0.id) })   // a continuation
            var offsets: [Int] = [], position = echo ? 0 : promptText.unicodeScalars.count
            for text in texts { offsets.append(position); position += text.unicodeScalars.count }
            writer.raw("{\"tokens\":[")
            for (i, text) in texts.enumerated() { if i > 0 { writer.comma() }; writer.string(text) }
            writer.raw("],\"token_logprobs\":[")
            for (i, token) in scored.enumerated() { if i > 0 { writer.comma() }; GenerateRoutes.writeLogprob(token.logprob, &writer) }
            writer.raw("],\"top_logprobs\":[")
            for (i, token) in scored.enumerated() {
                if i > 0 { writer.comma() }
                if token.logprob == nil { writer.null(); continue }
                writer.raw("{")
                var seen = Set<String>()
                for alternative in token.alternatives {
                    let piece = tokenizer.decodePiece(alternative.id)
                    guard seen.insert(piece).inserted else { continue }
                    if seen.count > 1 { writer.comma() }
                    writer.key(piece); GenerateRoutes.writeLogprob(alternative.logprob, &writer)
                }
                writer.raw("}")
            }
            writer.raw("],\"text_offset\":[" + offsets.map(String.init).joined(separator: ",") + "]}")
        } else {
            writer.null()
        }
        writer.comma(); writer.key("finish_reason"); writer.string(OpenAIShapes.finishReason(outcome))
        writer.raw("}")
    }

    /// OpenAI's streaming shape, sent as the tokens come: per prompt in order, the echoed prompt (when
    /// asked), chunks of generated text (text that could begin a stop sequence is held back until it
    /// cannot), a chunk with `finish_reason`; then `[DONE]`. The texts of one prompt's chunks concatenate to
    /// its non-streamed `text`. A queue-full answer (429) comes before the stream; a later error arrives as
    /// an event.
    static func streamed(_ jobs: [GenerationJob], echoed: [String], chunk header: OpenAIShapes.Header, owner: ModelOwner,
                         model: LlamaModel, isConnected connected: @escaping @Sendable () -> Bool) throws(HTTPError) -> Response {
        let tokenizer = model.tokenizer
        return try GenerateRoutes.eventStream(owner: owner) { stream throws(HTTPError) in
            for (index, job) in jobs.enumerated() {
                if index < echoed.count, !echoed[index].isEmpty {
                    stream.write(chunk(header, index: index, text: echoed[index], finish: nil))
                }
                let outcome = try await GenerateRoutes.releasingGeneration(job, owner: owner, tokenizer: tokenizer, stream: stream,
                                                                           isConnected: connected) { text, _ in
                    if !text.isEmpty { stream.write(chunk(header, index: index, text: text, finish: nil)) }
                }
                stream.write(chunk(header, index: index, text: "", finish: OpenAIShapes.finishReason(outcome)))
            }
            stream.write(GenerateRoutes.endOfEvents)
        }
    }

    /// One `text_completion` chunk as a Server-Sent Event.
    static func chunk(_ header: OpenAIShapes.Header, index: Int, text: String, finish: String?) -> [UInt8] {
        var writer = JSONWriter()
        header.open("text_completion", &writer)
        writer.raw(",\"choices\":[{\"index\":\(index),"); writer.key("text"); writer.string(text)
        writer.raw(",\"logprobs\":null,\"finish_reason\":")
        if let finish { writer.string(finish) } else { writer.null() }
        writer.raw("}]}")
        return GenerateRoutes.serverSentEvent(writer.bytes)
    }

    /// The prompts of one request in the batch together, in one place of the queue (the request's): they share
    /// decode steps as separate requests would (an lm-evaluation-harness batch, the choices of one question).
    /// - Returns: the outcomes in the order of `jobs`.
    static func generateTogether(_ jobs: [GenerationJob], owner: ModelOwner,
                                 isConnected connected: @escaping @Sendable () -> Bool) async throws(HTTPError) -> [GenerationOutcome] {
        let reservation = try owner.reserve()
        defer { reservation.release() }
        do {
            return try await ModelOwner.$heldReservation.withValue(reservation) {
                try await withThrowingTaskGroup(of: (Int, GenerationOutcome).self) { group in
                    for (index, job) in jobs.enumerated() {
                        group.addTask { (index, try await owner.generate(job, isConnected: connected) { _, _ in connected() }) }
                    }
                    var outcomes = [GenerationOutcome?](repeating: nil, count: jobs.count)
                    for try await (index, outcome) in group { outcomes[index] = outcome }
                    return outcomes.map { $0! }
                }
            }
        } catch let error as HTTPError {
            throw error
        } catch {
            throw .internalError("\(error)")
        }
    }
}
