import RotaryHTTP
import RotaryJSON
import RotaryModel

/// A decoded, checked `POST /generate`.
struct GenerateRequest {
    var job: GenerationJob
    var candidateTexts: [String]
    var stream: Bool

    static let maxAlternatives = 20
    /// Most stop sequences a request of `/generate` or `/v1/completions` may give.
    static let maxStopSequences = 8
    /// Longest stop sequence, in Unicode scalars (as JSON Schema's `maxLength` counts).
    static let maxStopSequenceLength = 1000

    /// One cap for both routes: at most `maxStopSequences` strings of at most `maxStopSequenceLength`.
    static func checkStop(_ stop: [String]) throws(HTTPError) {
        guard stop.count <= maxStopSequences else {
            throw .badRequest("stop takes at most \(maxStopSequences) strings, got \(stop.count)", param: "stop")
        }
        if let long = stop.firstIndex(where: { $0.unicodeScalars.count > maxStopSequenceLength }) {
            throw .badRequest("stop[\(long)] is longer than \(maxStopSequenceLength) characters", param: "stop[\(long)]")
        }
    }

    static func decode(_ body: JSONValue, model: LlamaModel, limits: ServiceConfiguration) throws(HTTPError) -> GenerateRequest {
        var reader = try ObjectReader(body, path: "")
        guard let promptValue = reader.value("prompt") else { throw .badRequest("prompt is required", param: "prompt") }
        let (promptText, promptTokens) = try Prompt.tokens(promptValue, field: "prompt", model: model)
        let maxTokens = try reader.int("max_tokens", in: 0...(1 << 30)) ?? 16
        var sampling = SamplingParameters()
        sampling.temperature = try number(&reader, "temperature", default: 0.8, valid: { $0 >= 0 && $0 <= 100 }, "a number in 0...100")
        // A top_k past the vocabulary keeps every token, as llama.cpp treats it.
        sampling.topK = min(try reader.int("top_k", in: 0...Int(Int32.max)) ?? 40, model.configuration.vocabularySize)
        sampling.topP = try number(&reader, "top_p", default: 0.95, valid: { $0 > 0 && $0 <= 1 }, "in (0, 1]")
        sampling.minP = try number(&reader, "min_p", default: 0.0, valid: { $0 >= 0 && $0 <= 1 }, "in [0, 1]")
        sampling.repeatPenalty = try number(&reader, "repeat_penalty", default: 1.0, valid: { $0 > 0 && $0 <= 10 }, "in (0, 10]")
        sampling.seed = UInt64(try reader.int("seed", in: 0...Int(Int32.max)) ?? 0)
        let stop = try reader.strings("stop") ?? []
        try checkStop(stop)
        if let empty = stop.firstIndex(where: \.isEmpty) { throw .badRequest("stop[\(empty)] is empty", param: "stop[\(empty)]") }
        let alternatives = try reader.int("logprobs", in: 0...maxAlternatives) ?? 0
        let echo = try reader.bool("echo") ?? false
        let candidateTexts = try reader.strings("candidates") ?? []
        guard candidateTexts.count <= 64 else { throw .badRequest("candidates takes at most 64 strings", param: "candidates") }
        let stream = try reader.bool("stream") ?? false
        let ignoreEOS = try reader.bool("ignore_eos") ?? false
        let rope = try ModelRoPE.decode(reader.value("rope"), model: model, limits: limits)
        try reader.finish()
        let context = ModelRoPE.positionLimit(rope, model: model, limits: limits)
        try checkContext(promptTokens.count, maxTokens, context: context, model: model, limits: limits, rope: rope)
        var job = GenerationJob(promptTokens: promptTokens, maxTokens: maxTokens)
        job.configuration = rope
        job.sampling = sampling
        job.stop = stop
        job.alternatives = alternatives
        job.echo = echo
        job.ignoresEndOfGeneration = ignoreEOS
        for (i, candidate) in candidateTexts.enumerated() {
            guard let text = promptText else {
                throw .badRequest("candidates need a text prompt", param: "candidates[\(i)]")
            }
            let scored = Prompt.continuation(of: text, promptTokens: promptTokens, with: candidate, model: model)
            guard scored.prefixLength + scored.tokens.count <= context else {
                throw .badRequest("candidates[\(i)] does not fit in the context of \(context) tokens", param: "candidates[\(i)]")
            }
            job.candidates.append(scored)
        }
        return GenerateRequest(job: job, candidateTexts: candidateTexts, stream: stream)
    }

    static func number(_ reader: inout ObjectReader, _ key: String, default fallback: Double, valid: (Double) -> Bool,
                       _ rule: String) throws(HTTPError) -> Double {
        guard let value = try reader.double(key) else { return fallback }
        guard valid(value) else { throw .badRequest("\(key) must be \(rule), got \(value)", param: key) }
        return value
    }

    /// 400 `context_length_exceeded` when prompt + max_tokens does not fit the model's context; with a `rope`
    /// override (which may read past it), 413 past `max_eval_context` instead.
    static func checkContext(_ promptCount: Int, _ maxTokens: Int, context: Int, model: LlamaModel,
                             limits: ServiceConfiguration, rope: ModelConfiguration?) throws(HTTPError) {
        if rope != nil {
            return try ModelRoPE.checkEvalContext(promptCount + maxTokens, model: model, limits: limits, param: "max_tokens")
        }
        guard promptCount + maxTokens <= context else {
            throw HTTPError(status: 400, type: "context_length_exceeded",
                            message: "the prompt has \(promptCount) tokens (n_prompt_tokens) and max_tokens is \(maxTokens), over the context of \(context) tokens (n_ctx); "
                                + "a `rope` override may read up to max_eval_context",
                            param: "max_tokens")
        }
    }
}

/// Prompts as text or token ids, tokenized exactly as `/tokenize` does.
enum Prompt {
    /// The text (nil for token ids) and its tokens.
    static func tokens(_ value: JSONValue, field: String, model: LlamaModel) throws(HTTPError) -> (String?, [Int]) {
        switch value {
        case .string(let text): return (text, model.tokenizer.encode(text))
        case .numbers(let numbers):
            return (nil, try ids(numbers, field: field, model: model))
        default:
            throw .badRequest("\(field) must be a string or an array of token ids", param: field)
        }
    }

    static func ids(_ numbers: [Double], field: String, model: LlamaModel) throws(HTTPError) -> [Int] {
        try ids(numbers, field: field, vocabularySize: model.configuration.vocabularySize)
    }

    static func ids(_ numbers: [Double], field: String, vocabularySize vocab: Int) throws(HTTPError) -> [Int] {
        var out: [Int] = []
        for (i, n) in numbers.enumerated() {
            guard n.rounded() == n, n >= 0, n < Double(vocab) else {
                throw .badRequest("\(field)[\(i)] is not a token id (0..<\(vocab)), got \(n)", param: "\(field)[\(i)]")
            }
            out.append(Int(n))
        }
        guard !out.isEmpty else { throw .badRequest("\(field) has no tokens", param: field) }
        return out
    }

    /// The tokens of `prompt + candidate` after the longest prefix shared with the prompt's own tokens
    /// (a merge across the boundary can change the prompt's last tokens).
    static func continuation(of prompt: String, promptTokens: [Int], with candidate: String,
                             model: LlamaModel) -> (prefixLength: Int, tokens: [Int]) {
        let whole = model.tokenizer.encode(prompt + candidate)
        var shared = 0
        while shared < min(whole.count, promptTokens.count) && whole[shared] == promptTokens[shared] { shared += 1 }
        return (max(shared, 1), Array(whole[max(shared, 1)...]))
    }
}
