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

    /// - Parameter onToken: called with each generated token and its text; return false to stop (cancelled).
    public func run(_ job: GenerationJob, onToken: (ScoredToken, String) -> Bool = { _, _ in true }) -> GenerationOutcome {
        var outcome = GenerationOutcome()
        outcome.promptTokenCount = job.promptTokens.count
        let vocab = model.configuration.vocabularySize
        let prompt = job.promptTokens
        var cache = model.makeCache(capacity: prompt.count + max(job.maxTokens, 0) + (job.candidates.map(\.tokens.count).max() ?? 0))
        let started = Self.now()
        // Every position's logits are needed to score the prompt or a candidate that starts inside it.
        let needAll = job.echo || job.candidates.contains { $0.prefixLength < prompt.count }
        let promptLogits = model.forward(prompt, cache: &cache, allLogits: needAll)
        func logitsAfter(_ position: Int) -> ArraySlice<Float> {   // position: index of the last token seen
            needAll ? promptLogits[(position * vocab)..<((position + 1) * vocab)] : promptLogits[...]
        }
        if job.echo {
            outcome.promptScores = prompt.enumerated().map { index, token in
                index == 0 ? ScoredToken(id: token, logprob: nil, alternatives: [])
                    : score(token, logitsAfter(index - 1), alternatives: job.alternatives)
            }
        }
        let last = logitsAfter(prompt.count - 1)
        for candidate in job.candidates {
            let prefix = max(1, min(candidate.prefixLength, prompt.count))
            guard !candidate.tokens.isEmpty else { outcome.candidateScores.append([]); continue }
            cache.truncate(to: prefix)
            let rows = model.forward(candidate.tokens, cache: &cache, allLogits: true)
            var scores: [ScoredToken] = []
            for (i, token) in candidate.tokens.enumerated() {
                let before = i == 0 ? logitsAfter(prefix - 1) : rows[((i - 1) * vocab)..<(i * vocab)]
                scores.append(score(token, before, alternatives: job.alternatives))
            }
            outcome.candidateScores.append(scores)
        }
        cache.truncate(to: prompt.count)
        outcome.promptSeconds = Self.now() - started
        let generationStart = Self.now()
        var sampler = Sampler(job.sampling)
        var history = prompt
        var logits = Array(last)
        var bytes: [UInt8] = []
        var stops = StopSequenceMatcher(job.stop)
        for step in 0..<max(job.maxTokens, 0) {
            let token = sampler.next(logits, history: history)
            if token == model.tokenizer.eosID {
                outcome.finishReason = .eos
                break
            }
            let scored = score(token, logits[...], alternatives: job.alternatives)
            bytes += model.tokenizer.pieceBytes(token)
            let text = String(decoding: bytes, as: UTF8.self)
            if let cut = stops.match(model.tokenizer.pieceBytes(token)) {
                outcome.text = String(decoding: bytes[..<cut], as: UTF8.self)
                outcome.generated.append(scored)
                outcome.finishReason = .stop
                break
            }
            outcome.generated.append(scored)
            outcome.text = text
            guard onToken(scored, String(decoding: model.tokenizer.pieceBytes(token), as: UTF8.self)) else {
                outcome.finishReason = .cancelled
                break
            }
            history.append(token)
            if step + 1 < job.maxTokens { logits = model.forward([token], cache: &cache) }
        }
        outcome.generateSeconds = Self.now() - generationStart
        return outcome
    }

    /// The token's log-probability and the `alternatives` most likely tokens: one log-sum-exp over the
    /// vocabulary and a bounded top-k scan (no full softmax, no sort), since this runs for every token.
    func score(_ token: Int, _ logits: ArraySlice<Float>, alternatives: Int) -> ScoredToken {
        let logSum = Sampler.logSumExp(logits)
        let base = logits.startIndex
        var top: [(id: Int, logprob: Double)] = []
        if alternatives > 0 {
            var best: [(id: Int, logit: Float)] = []   // ascending by logit, at most `alternatives`
            for (offset, logit) in logits.enumerated() where best.count < alternatives || logit > best[0].logit {
                if best.count == alternatives { best.removeFirst() }
                let at = best.firstIndex { $0.logit > logit } ?? best.count
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
