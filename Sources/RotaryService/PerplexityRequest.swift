import RotaryHTTP
import RotaryJSON
import RotaryModel

/// A decoded, checked `POST /perplexity`: a text of any length scored in windows under one or more RoPE settings.
struct PerplexityRequest {
    var tokens: [Int]
    /// The text scored (given, or the tokens decoded), for bits per byte and per character.
    var text: String
    var windows: ScoringWindows
    var context: Int
    var stride: Int
    /// One per setting; nil is the model's own RoPE.
    var settings: [ModelConfiguration?]
    var buckets: Int
    var tokenLogprobs: Bool
    var stream: Bool

    /// Most RoPE settings one request may compare.
    static let maxSettings = 8
    /// Most position buckets of the curve.
    static let maxBuckets = 1024

    static func decode(_ body: JSONValue, model: LlamaModel, limits: ServiceConfiguration) throws(HTTPError) -> PerplexityRequest {
        var reader = try ObjectReader(body, path: "")
        let c = model.configuration
        let textValue = try reader.string("text")
        let idsValue = reader.value("tokens")
        let tokens: [Int], text: String
        switch (textValue, idsValue) {
        case (let given?, nil):
            tokens = model.tokenizer.encode(given)
            text = given
        case (nil, let ids?):
            guard case .numbers(let numbers) = ids else {
                throw .badRequest("tokens must be a non-empty array of token ids", param: "tokens")
            }
            tokens = try Prompt.ids(numbers, field: "tokens", model: model)
            text = model.tokenizer.decode(tokens)
        case (nil, nil): throw .badRequest("text (or tokens) is required", param: "text")
        default: throw .badRequest("give text or tokens, not both", param: "tokens")
        }
        guard tokens.count >= 2 else {
            throw .badRequest("the text has \(tokens.count) token\(tokens.count == 1 ? "" : "s"): at least 2 are needed to score one",
                              param: textValue != nil ? "text" : "tokens")
        }
        let context = try reader.int("context", in: 1...Int(Int32.max)) ?? c.contextLength
        try ModelRoPE.checkEvalContext(context, model: model, limits: limits, param: "context")
        let stride = try reader.int("stride", in: 1...Int(Int32.max)) ?? context
        guard stride <= context else {
            throw .badRequest("stride (\(stride)) must not exceed context (\(context)): windows would skip tokens", param: "stride")
        }
        var settings: [ModelConfiguration?] = [nil]
        switch reader.value("rope") {
        case nil: break
        case .array(let items)?:
            guard !items.isEmpty, items.count <= maxSettings else {
                throw .badRequest("rope takes one object or a list of 1...\(maxSettings) of them, got \(items.count)", param: "rope")
            }
            settings = []
            for (i, item) in items.enumerated() {
                // `{}` in a list is the model's own RoPE (so a comparison can include it).
                settings.append(try ModelRoPE.decode(item, model: model, limits: limits, path: "rope[\(i)]"))
            }
        case let one?: settings = [try ModelRoPE.decode(one, model: model, limits: limits)]
        }
        let buckets = try reader.int("buckets", in: 1...maxBuckets) ?? min(16, context)
        guard buckets <= context else {
            throw .badRequest("buckets (\(buckets)) must not exceed context (\(context))", param: "buckets")
        }
        let tokenLogprobs = try reader.bool("logprobs") ?? false
        let stream = try reader.bool("stream") ?? false
        try reader.finish()
        return PerplexityRequest(tokens: tokens, text: text, windows: ScoringWindows(tokenCount: tokens.count, context: context, stride: stride),
                                 context: context, stride: stride, settings: settings, buckets: buckets,
                                 tokenLogprobs: tokenLogprobs, stream: stream)
    }

    /// The buckets' first positions, and one past the last: `[buckets + 1]`, even widths over `0..<context`.
    var bucketEdges: [Int] { (0...buckets).map { $0 * context / buckets } }
}

/// What one RoPE setting scored.
struct PerplexityResult {
    var scores: [WindowScore]

    var totalNLL: Double { scores.reduce(0) { $0 - $1.logprob } }
    var meanNLL: Double { totalNLL / Double(max(scores.count, 1)) }

    /// `[buckets]` mean NLL and count of the scores whose predicting position falls in each bucket.
    func byPosition(edges: [Int]) -> [(count: Int, meanNLL: Double?)] {
        let buckets = edges.count - 1
        var sums = [Double](repeating: 0, count: buckets), counts = [Int](repeating: 0, count: buckets)
        var bucketOf = [Int](repeating: 0, count: edges[buckets])   // position → bucket
        for b in 0..<buckets { for p in edges[b]..<edges[b + 1] { bucketOf[p] = b } }
        for s in scores {
            let b = bucketOf[s.position]
            sums[b] -= s.logprob
            counts[b] += 1
        }
        return (0..<buckets).map { (counts[$0], counts[$0] > 0 ? sums[$0] / Double(counts[$0]) : nil) }
    }
}
