/// The windows that score a long token sequence with a model of bounded context: window k reads the
/// `context` tokens from `k·stride` and scores each token after its first that no earlier window scored,
/// from the tokens of the window before it. With `stride == context` the windows overlap by one token
/// (every token but the very first is scored, as `rotary evaluate` and training windows of `context + 1`
/// tokens do); with a smaller stride each scored token has at least `context − stride` tokens before it
/// (Hugging Face's sliding-window perplexity).
public struct ScoringWindows: Sendable, Equatable {
    public struct Window: Sendable, Equatable {
        /// Index of the window's first token.
        public var start: Int
        /// Tokens the window reads (its last row predicts nothing: it is the last scored token).
        public var length: Int
        /// Tokens it scores: the last `scored` of the window.
        public var scored: Int
    }

    public let windows: [Window]

    /// - Precondition: `1 <= stride <= context`.
    public init(tokenCount: Int, context: Int, stride: Int) {
        precondition(context >= 1 && stride >= 1 && stride <= context, "need 1 <= stride <= context")
        var windows: [Window] = []
        var scoredUpTo = 0   // tokens 1...scoredUpTo are scored
        var start = 0
        while scoredUpTo < tokenCount - 1 {
            let end = min(start + context, tokenCount - 1)   // last token scored by this window
            windows.append(Window(start: start, length: end - start + 1, scored: end - scoredUpTo))
            scoredUpTo = end
            start += stride
        }
        self.windows = windows
    }

    /// Some of another's windows (e.g. the first k).
    public init(_ windows: some Sequence<Window>) { self.windows = Array(windows) }

    /// Every token scored (all but the first).
    public var scoredTokens: Int { windows.reduce(0) { $0 + $1.scored } }
}

/// One scored token of a long text: its index in the sequence, its log-probability (natural log) and the
/// position in its window of the token that predicted it (the query's RoPE position, 0-based).
public struct WindowScore: Sendable, Equatable {
    public var index: Int
    public var logprob: Double
    public var position: Int
}

extension LlamaModel {
    /// Scores `tokens` window by window (see `ScoringWindows`) under `configuration` (nil: the model's own).
    /// - Parameter progress: after each window, with the windows done; return false to stop (nil is returned).
    /// - Returns: one score per scored token, in sequence order.
    /// - Parameter logitBytes: how many bytes of logits one chunk of a window may hold.
    public func scoreWindows(_ tokens: [Int], windows: ScoringWindows, configuration override: ModelConfiguration? = nil,
                             logitBytes: Int = 16 << 20, progress: (Int) -> Bool = { _ in true }) -> [WindowScore]? {
        let c = override ?? configuration, vocab = c.vocabularySize
        let chunkRows = max(16, logitBytes / (vocab * MemoryLayout<Float>.stride))
        var scores: [WindowScore] = []
        scores.reserveCapacity(windows.scoredTokens)
        for (done, window) in windows.windows.enumerated() {
            // The window's rows but its last predict the next token; only the last `scored` predictions count. The
            // window runs in chunks of rows so that its logits (`[rows][vocab]`) stay within `logitBytes`.
            let inputs = Array(tokens[window.start..<(window.start + window.length - 1)])
            let firstScoredRow = inputs.count - window.scored
            var cache = makeCache(capacity: inputs.count)
            var row0 = 0
            while row0 < inputs.count {
                let rows = min(chunkRows, inputs.count - row0)
                let scoredHere = max(0, row0 + rows - max(firstScoredRow, row0))
                let logits = TransformerForward.run(c, weights: weights, tokens: Array(inputs[row0..<(row0 + rows)]), cache: &cache,
                                                    logitRows: max(scoredHere, 1), tables: ropeTables,
                                                    ropeSequenceLength: inputs.count).logits   // [max(scoredHere, 1)][vocab]
                for r in 0..<scoredHere {
                    let position = row0 + rows - scoredHere + r
                    let logitRow = logits[(r * vocab)..<((r + 1) * vocab)]
                    let target = window.start + position + 1
                    scores.append(WindowScore(index: target, logprob: Double(logitRow[logitRow.startIndex + tokens[target]])
                                                  - Sampler.logSumExp(logitRow), position: position))
                }
                row0 += rows
            }
            guard progress(done + 1) else { return nil }
        }
        return scores
    }
}
