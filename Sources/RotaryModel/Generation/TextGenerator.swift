#if canImport(Glibc)
import Glibc
#endif

/// One token with its log-probability under the model (natural log; nil for a first token that
/// nothing precedes) and, when asked, the most likely alternatives at that position.
public struct ScoredToken: Sendable, Equatable {
    public var id: Int
    public var logprob: Double?
    /// Highest first.
    public var alternatives: [(id: Int, logprob: Double)]

    /// The same score with its first `count` alternatives (which, ranked as `scoreToken` ranks them, are the
    /// `count` most likely).
    func keeping(_ count: Int) -> ScoredToken {
        ScoredToken(id: id, logprob: logprob, alternatives: Array(alternatives.prefix(count)))
    }

    public static func == (a: ScoredToken, b: ScoredToken) -> Bool {
        a.id == b.id && a.logprob == b.logprob && a.alternatives.map(\.id) == b.alternatives.map(\.id)
    }
}

/// What to do with a prompt: score it, score candidate continuations, generate.
public struct GenerationJob: Sendable {
    /// As tokenized (BOS first when the model adds it).
    public var promptTokens: [Int]
    public var maxTokens: Int
    public var sampling = SamplingParameters()
    public var stop: [String] = []
    /// Alternatives to list per scored position (0…20).
    public var alternatives = 0
    /// Score every prompt token given its prefix.
    public var echo = false
    /// Each candidate continues the first `prefixLength` prompt tokens with `tokens`.
    public var candidates: [(prefixLength: Int, tokens: [Int])] = []
    /// Go on past EOS and the other end-of-generation tokens (as llama.cpp's and vLLM's `ignore_eos`): they are
    /// sampled and kept like any other token, and only `maxTokens` or a stop sequence ends the job.
    public var ignoresEndOfGeneration = false
    /// The model with the request's RoPE (`ModelConfiguration.with(rope:)`); nil runs the model's own.
    public var configuration: ModelConfiguration?

    public init(promptTokens: [Int], maxTokens: Int) {
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
    }
}

public enum FinishReason: String, Sendable { case length, stop, eos, cancelled }

public struct GenerationOutcome: Sendable {
    public var promptScores: [ScoredToken] = []
    public var generated: [ScoredToken] = []
    public var text = ""
    public var finishReason = FinishReason.length
    public var candidateScores: [[ScoredToken]] = []
    public var promptTokenCount = 0
    public var promptSeconds = 0.0
    public var generateSeconds = 0.0
}

/// Runs jobs on a model: the model module's scoring and sampling, with no HTTP or JSON.
public struct TextGenerator: Sendable {
    public let model: LlamaModel

    public init(model: LlamaModel) { self.model = model }

    /// Runs `job` alone: the prompt in chunks of `promptChunkTokens` (as the batcher reads it), then one decode
    /// step per token.
    /// - Parameter onToken: called with each generated token and its text; return false to stop (cancelled).
    public func run(_ job: GenerationJob, promptChunkTokens: Int = SequenceBatcher.Limits.defaultPromptChunkTokens,
                    onToken: (ScoredToken, String) -> Bool = { _, _ in true }) -> GenerationOutcome {
        var sequence = GenerationSequence(model: model, job: job)
        while sequence.isReadingPrompt { sequence.readPrompt(model, chunkTokens: promptChunkTokens) }
        while let token = sequence.advance(onToken: onToken) {
            sequence.accept(model.forward([token], cache: &sequence.cache, configuration: job.configuration))
        }
        return sequence.outcome
    }

    /// The token's log-probability and the `alternatives` most likely tokens: one log-sum-exp over the
    /// vocabulary and a bounded top-k scan (no full softmax, no sort), since this runs for every token.
    /// Alternatives rank by logit, then the lower id first: so k alternatives are the first k of any more.
    static func scoreToken(_ token: Int, _ logits: ArraySlice<Float>, alternatives: Int) -> ScoredToken {
        let logSum = Sampler.logSumExp(logits)
        let base = logits.startIndex
        var top: [(id: Int, logprob: Double)] = []
        if alternatives > 0 {
            var best: [(id: Int, logit: Float)] = []   // ascending by logit, at most `alternatives`
            for (offset, logit) in logits.enumerated() where best.count < alternatives || logit > best[0].logit {
                if best.count == alternatives { best.removeFirst() }
                let at = best.firstIndex { $0.logit >= logit } ?? best.count   // below equal logits of lower ids
                best.insert((offset, logit), at: at)
            }
            top = best.reversed().map { ($0.id, Double($0.logit) - logSum) }
        }
        return ScoredToken(id: token, logprob: Double(logits[base + token]) - logSum, alternatives: top)
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}
