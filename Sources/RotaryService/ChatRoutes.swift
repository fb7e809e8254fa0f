import RotaryHTTP
import RotaryJSON
import RotaryModel
import RotaryTemplates

/// `POST /v1/chat/completions` (OpenAI's shapes, on the model's own chat template) and `POST /apply-template`
/// (llama.cpp's name: the formatted prompt). Same queue, limits, `rope` override and metrics as
/// `/v1/completions`; generation ends at the template's end-of-turn token (the vocabulary's end-of-generation set).
enum ChatRoutes {
    static func routes(owner: ModelOwner, configuration: ServiceConfiguration) -> [Route] {
        // Parsed once, when the table is built: every request runs the same program.
        let template = owner.model.map { ChatPrompt.template(for: $0, limits: configuration) }
        @Sendable func chat() throws(HTTPError) -> (LlamaModel, ChatTemplate) {
            let model = try owner.requireModel()
            return (model, try template!.get())
        }
        return [
            Route("POST", "/v1/chat/completions", consumes: ["application/json"], handler: .worker { request in
                let (model, template) = try chat()
                return try await complete(request, model: model, template: template, owner: owner, limits: configuration)
            }),
            Route("POST", "/apply-template", consumes: ["application/json"], handler: .worker { request in
                let (model, template) = try chat()
                return try applyTemplate(request, model: model, template: template, limits: configuration)
            }),
        ]
    }

    static func applyTemplate(_ request: Request, model: LlamaModel, template: ChatTemplate, limits: ServiceConfiguration) throws(HTTPError) -> Response {
        var reader = try ObjectReader(try parseJSON(request.body, limits: limits), path: "")
        let messages = try ChatPrompt.messages(reader.value("messages"))
        let addGenerationPrompt = try reader.bool("add_generation_prompt") ?? true
        _ = try reader.string("model")
        try reader.finish()
        let prompt = try ChatPrompt.make(messages, addGenerationPrompt: addGenerationPrompt, template: template, tokenizer: model.tokenizer)
        var writer = JSONWriter()
        writer.raw("{"); writer.key("prompt"); writer.string(prompt.text)
        writer.raw(",\"tokens\":[" + prompt.tokens.map(String.init).joined(separator: ",") + "]}")
        return .json(writer.bytes)
    }

    struct ChatRequest {
        var job: GenerationJob
        var logprobs: Bool
        /// Alternatives listed per token (`top_logprobs`).
        var top: Int
        var stream: Bool
        var includeUsage: Bool
    }

    static func decode(_ request: Request, model: LlamaModel, template: ChatTemplate, limits: ServiceConfiguration) throws(HTTPError) -> ChatRequest {
        var reader = try ObjectReader(try parseJSON(request.body, limits: limits), path: "", nullable: ["max_tokens", "max_completion_tokens", "seed", "stop", "stream_options"])
        let messages = try ChatPrompt.messages(reader.value("messages"))
        _ = try reader.string("model")
        let newer = try reader.int("max_completion_tokens", in: 0...(1 << 30))
        let older = try reader.int("max_tokens", in: 0...(1 << 30))
        let maxTokens = newer ?? older
        let sampling = try OpenAIShapes.sampling(&reader)
        let stop = try OpenAIShapes.stop(reader.value("stop"))
        let logprobs = try reader.bool("logprobs") ?? false
        let top = try reader.int("top_logprobs", in: 0...GenerateRequest.maxAlternatives)
        if top != nil && !logprobs { throw .badRequest("top_logprobs needs logprobs: true", param: "top_logprobs") }
        let stream = try reader.bool("stream") ?? false
        var includeUsage = false
        if let value = reader.value("stream_options") {
            var options = try ObjectReader(value, path: "stream_options")
            includeUsage = try options.bool("include_usage") ?? false
            try options.finish()
        }
        let rope = try ModelRoPE.decode(reader.value("rope"), model: model, limits: limits)
        try reader.finish()
        let prompt = try ChatPrompt.make(messages, addGenerationPrompt: true, template: template, tokenizer: model.tokenizer)
        let context = ModelRoPE.positionLimit(rope, model: model, limits: limits)
        // Without max_tokens the reply may take the rest of the context (it ends at the end-of-turn token).
        let budget = maxTokens ?? max(0, context - prompt.tokens.count)
        try GenerateRequest.checkContext(prompt.tokens.count, budget, context: context, model: model, limits: limits, rope: rope)
        var job = GenerationJob(promptTokens: prompt.tokens, maxTokens: budget)
        job.sampling = sampling
        job.stop = stop
        job.alternatives = logprobs ? max(top ?? 0, 1) : 0
        job.configuration = rope
        return ChatRequest(job: job, logprobs: logprobs, top: top ?? 0, stream: stream, includeUsage: includeUsage)
    }

    static func complete(_ request: Request, model: LlamaModel, template: ChatTemplate, owner: ModelOwner,
                         limits: ServiceConfiguration) async throws(HTTPError) -> Response {
        let chat = try decode(request, model: model, template: template, limits: limits)
        let header = OpenAIShapes.Header(prefix: "chatcmpl", model: owner.name)
        if chat.stream {
            return try streamed(chat, header: header, owner: owner, model: model, isConnected: request.isConnected)
        }
        // A logprobs entry writes each piece three times over: as `token`, and as `bytes`, up to four characters a byte.
        let estimate = ResponseSize.envelope + ResponseSize.modelAnswer(generated: chat.job.maxTokens, scored: 0, textBytes: 0,
                                                                        alternatives: chat.job.alternatives, pieceBytes: owner.maxPieceBytes) * (chat.logprobs ? 3 : 1)
        try ResponseSize.check(estimate, limits, what: "the answer (max_tokens with logprobs)", param: "max_tokens")
        let connected = request.isConnected
        let job = chat.job
        let outcome = try await owner.generate(job, isConnected: connected) { _, _ in connected() }
        var writer = JSONWriter(reservingCapacity: 4096)
        header.open("chat.completion", &writer)
        writer.raw(",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","); writer.key("content"); writer.string(outcome.text)
        writer.raw("},\"logprobs\":")
        if chat.logprobs { writeLogprobs(outcome.generated, top: chat.top, tokenizer: model.tokenizer, &writer) } else { writer.null() }
        writer.comma(); writer.key("finish_reason"); writer.string(OpenAIShapes.finishReason(outcome))
        let completion = outcome.generated.count
        writer.raw("}],\"usage\":{\"prompt_tokens\":\(job.promptTokens.count),\"completion_tokens\":\(completion),\"total_tokens\":\(job.promptTokens.count + completion)}}")
        return .json(writer.bytes)
    }

    /// OpenAI's `logprobs.content`: per generated token its text, log-probability, UTF-8 bytes and the `top`
    /// most likely tokens at that step.
    static func writeLogprobs(_ tokens: [ScoredToken], top: Int, tokenizer: any Tokenizer, _ writer: inout JSONWriter) {
        func entry(_ id: Int, _ logprob: Double?, _ writer: inout JSONWriter) {
            let bytes = tokenizer.pieceBytes(id)
            writer.key("token"); writer.string(String(decoding: bytes, as: UTF8.self)); writer.comma()
            writer.key("logprob"); GenerateRoutes.writeLogprob(logprob, &writer); writer.comma()
            writer.raw("\"bytes\":[" + bytes.map(String.init).joined(separator: ",") + "]")
        }
        writer.raw("{\"content\":[")
        for (i, token) in tokens.enumerated() {
            if i > 0 { writer.comma() }
            writer.raw("{"); entry(token.id, token.logprob, &writer); writer.raw(",\"top_logprobs\":[")
            for (k, alternative) in token.alternatives.prefix(top).enumerated() {
                if k > 0 { writer.comma() }
                writer.raw("{"); entry(alternative.id, alternative.logprob, &writer); writer.raw("}")
            }
            writer.raw("]}")
        }
        writer.raw("]}")
    }

    /// `chat.completion.chunk` events: the role first, then the text as it is released (held back while it
    /// could begin a stop sequence), a last chunk with `finish_reason`, the usage when asked, `[DONE]`.
    static func streamed(_ chat: ChatRequest, header: OpenAIShapes.Header, owner: ModelOwner, model: LlamaModel,
                         isConnected connected: @escaping @Sendable () -> Bool) throws(HTTPError) -> Response {
        let tokenizer = model.tokenizer
        return try GenerateRoutes.eventStream(owner: owner) { stream throws(HTTPError) in
            stream.write(chunk(header, delta: #"{"role":"assistant","content":""}"#, logprobs: nil, finish: nil))
            let outcome = try await GenerateRoutes.releasingGeneration(chat.job, owner: owner, tokenizer: tokenizer, stream: stream,
                                                                       isConnected: connected) { text, token in
                var logprobs: [UInt8]? = nil
                if chat.logprobs, let token {
                    var writer = JSONWriter()
                    writeLogprobs([token], top: chat.top, tokenizer: tokenizer, &writer)
                    logprobs = writer.bytes
                }
                guard !text.isEmpty || logprobs != nil else { return }
                var delta = JSONWriter()
                delta.raw("{"); delta.key("content"); delta.string(text); delta.raw("}")
                stream.write(chunk(header, delta: String(decoding: delta.bytes, as: UTF8.self), logprobs: logprobs, finish: nil))
            }
            stream.write(chunk(header, delta: "{}", logprobs: nil, finish: OpenAIShapes.finishReason(outcome)))
            if chat.includeUsage {
                let prompt = chat.job.promptTokens.count, completion = outcome.generated.count
                var writer = JSONWriter()
                header.open("chat.completion.chunk", &writer)
                writer.raw(",\"choices\":[],\"usage\":{\"prompt_tokens\":\(prompt),\"completion_tokens\":\(completion),\"total_tokens\":\(prompt + completion)}}")
                stream.write(GenerateRoutes.serverSentEvent(writer.bytes))
            }
            stream.write(GenerateRoutes.endOfEvents)
        }
    }

    static func chunk(_ header: OpenAIShapes.Header, delta: String, logprobs: [UInt8]?, finish: String?) -> [UInt8] {
        var writer = JSONWriter()
        header.open("chat.completion.chunk", &writer)
        writer.raw(",\"choices\":[{\"index\":0,\"delta\":" + delta + ",\"logprobs\":")
        if let logprobs { writer.raw(String(decoding: logprobs, as: UTF8.self)) } else { writer.null() }
        writer.raw(",\"finish_reason\":")
        if let finish { writer.string(finish) } else { writer.null() }
        writer.raw("}]}")
        return GenerateRoutes.serverSentEvent(writer.bytes)
    }
}
