import Dispatch
import RotaryLocking

/// Continuous batching on one model: generation jobs join a running batch as soon as there is room and leave it
/// the step they finish. Every step reads a chunk of the prompts still being read (the one with the fewest tokens
/// left first, `promptChunkTokens` at most, so a long prompt does not hold back everyone's next token), then
/// decodes one token of each sequence past its prompt in a single pass over the weights
/// (`TransformerForward.decodeBatch`). Prompt blocks already read come from the prefix cache. Other work
/// (scoring windows, attention maps) runs exclusively, between steps, in arrival order with the generation jobs.
///
/// One thread does all of it, started when work arrives and gone when none is left. A sequence's numbers do not
/// depend on the batch or the cache: its prompt is read in the same chunks alone, kept blocks hold what those chunks
/// computed, and its decode rows are computed as they would be alone.
public final class SequenceBatcher: Sendable {
    public struct Limits: Sendable, Equatable {
        /// Sequences decoded together at most; more wait their turn.
        public var maxRunningSequences: Int
        /// Most bytes the running sequences' KV caches may take together: a job that would pass it waits until
        /// enough finish (one alone always runs; requests bound its own cache).
        public var kvCacheBytes: Int
        /// Prompt tokens a step reads at most (one chunk at least), and the size of the prefix cache's blocks.
        public var promptChunkTokens: Int
        /// Keep read prompt blocks for later prompts that begin alike, in the KV budget the sequences leave.
        public var prefixCache: Bool

        public static let defaultPromptChunkTokens = 8

        public init(maxRunningSequences: Int = 8, kvCacheBytes: Int = 1 << 30,
                    promptChunkTokens: Int = defaultPromptChunkTokens, prefixCache: Bool = true) {
            self.maxRunningSequences = maxRunningSequences
            self.kvCacheBytes = kvCacheBytes
            self.promptChunkTokens = promptChunkTokens
            self.prefixCache = prefixCache
        }
    }

    /// What one step did, for metrics.
    public struct Step: Sendable {
        /// Sequences decoded together.
        public var sequences: Int
        /// Prompt tokens computed (not taken from the prefix cache).
        public var promptTokens: Int
        /// KV cache bytes the running sequences hold after the step.
        public var kvCacheBytes: Int
        /// Bytes of the prefix cache's blocks after the step (with `kvCacheBytes`, within the limit).
        public var prefixCacheBytes: Int
    }

    /// A generation job and where its tokens and end go.
    private struct Submission: Sendable {
        var job: GenerationJob
        var isConnected: @Sendable () -> Bool
        var onToken: @Sendable (ScoredToken, String) -> Bool
        var finished: @Sendable (GenerationOutcome?) -> Void
        var kvBytes: Int
    }

    private enum Work: Sendable {
        case generation(Submission)
        case exclusive(@Sendable () -> Void)
    }

    private struct State {
        var waiting: [Work] = []
        var running = false
        var runningSequences = 0
        var kvBytesInUse = 0
    }

    public let model: LlamaModel
    public let limits: Limits
    /// The kept prompt blocks (nil when `limits.prefixCache` is off).
    public let prefixCache: PrefixCache?
    private let state = PthreadLocked(State())
    private let queue = DispatchQueue(label: "rotary.sequence-batcher")
    private let onStep: @Sendable (Step) -> Void

    public init(model: LlamaModel, limits: Limits = Limits(), onStep: @escaping @Sendable (Step) -> Void = { _ in }) {
        precondition(limits.maxRunningSequences >= 1, "at least one running sequence")
        precondition(limits.promptChunkTokens >= 1, "at least one prompt token per step")
        self.model = model
        self.limits = limits
        prefixCache = limits.prefixCache ? PrefixCache(blockTokens: limits.promptChunkTokens) : nil
        self.onStep = onStep
    }

    /// Sequences decoding now, and jobs waiting (generation or exclusive).
    public var counts: (running: Int, waiting: Int, kvCacheBytes: Int) {
        state.withLock { ($0.runningSequences, $0.waiting.count, $0.kvBytesInUse) }
    }

    /// The KV cache bytes a job's sequence holds: `[layers][capacity][kvDim]` keys and values in float.
    public func kvCacheBytes(of job: GenerationJob) -> Int {
        let c = model.configuration
        let capacity = job.promptTokens.count + max(job.maxTokens, 0) + (job.candidates.map(\.tokens.count).max() ?? 0)
        return 2 * c.layers * capacity * c.kvDim * MemoryLayout<Float>.stride
    }

    /// Adds `job` to the batch when its turn comes. `isConnected` is asked before its prompt is read (false: it is
    /// dropped unrun and `finished` gets nil); `onToken` gets each token on the batcher's thread (false: the
    /// sequence ends, cancelled); `finished` gets the outcome.
    public func submit(_ job: GenerationJob, isConnected: @escaping @Sendable () -> Bool,
                       onToken: @escaping @Sendable (ScoredToken, String) -> Bool,
                       finished: @escaping @Sendable (GenerationOutcome?) -> Void) {
        enqueue(.generation(Submission(job: job, isConnected: isConnected, onToken: onToken, finished: finished,
                                       kvBytes: kvCacheBytes(of: job))))
    }

    /// Runs `body` alone, between two steps, when its turn comes.
    public func exclusive(_ body: @escaping @Sendable () -> Void) { enqueue(.exclusive(body)) }

    private func enqueue(_ work: Work) {
        let start = state.withLock { s in
            s.waiting.append(work)
            defer { s.running = true }
            return !s.running
        }
        if start { queue.async { self.loop() } }
    }

    /// A sequence in the batch and where its tokens go.
    private struct Running {
        var sequence: GenerationSequence
        let submission: Submission
        /// Steps in a row this sequence's prompt waited while others' were read.
        var stepsPassedOver = 0
    }

    /// Steps a prompt may be passed over for prompts with fewer tokens left before it goes first: a steady stream of
    /// short requests does not hold a long prompt back for ever.
    static let maxStepsPassedOver = 8

    private enum Taken {
        case stop
        case exclusive(@Sendable () -> Void)
        case admitted([Submission])
    }

    private func loop() {
        var batch: [Running] = []
        while true {
            switch take(running: batch) {
            case .stop: return
            case .exclusive(let body): body()
            case .admitted(let submissions):
                for submission in submissions {
                    guard submission.isConnected() else {
                        release(submission.kvBytes)
                        submission.finished(nil)
                        continue
                    }
                    batch.append(Running(sequence: GenerationSequence(model: model, job: submission.job), submission: submission))
                }
                step(&batch)
            }
        }
    }

    /// What to do next, under the lock: stop when nothing runs or waits; an exclusive job at the front of the queue;
    /// else the generation jobs at the front that fit (the running count and the KV budget), then a step.
    private func take(running batch: [Running]) -> Taken {
        state.withLock { s in
            if s.waiting.isEmpty && batch.isEmpty {
                s.running = false
                return .stop
            }
            if case .exclusive(let body) = s.waiting.first {
                s.waiting.removeFirst()
                return .exclusive(body)
            }
            var admitted: [Submission] = []
            while case .generation(let submission) = s.waiting.first,
                  s.runningSequences < limits.maxRunningSequences,
                  s.runningSequences == 0 || s.kvBytesInUse + submission.kvBytes <= limits.kvCacheBytes {
                s.waiting.removeFirst()
                s.runningSequences += 1
                s.kvBytesInUse += submission.kvBytes
                admitted.append(submission)
                // Kept blocks give way to running sequences.
                prefixCache?.shrink(to: limits.kvCacheBytes - s.kvBytesInUse)
            }
            return .admitted(admitted)
        }
    }

    private func release(_ kvBytes: Int) {
        state.withLock { s in
            s.runningSequences -= 1
            s.kvBytesInUse -= kvBytes
        }
    }

    /// A chunk of the prompts being read, then one token of every sequence past its prompt: each samples from its
    /// latest logits; those that go on are decoded together; those that ended leave the batch and get their outcome.
    private func step(_ batch: inout [Running]) {
        let promptTokens = readPrompts(&batch)
        var fed: [Int] = [], tokens: [Int] = []
        for i in batch.indices where !batch[i].sequence.isReadingPrompt {
            if let token = batch[i].sequence.advance(onToken: batch[i].submission.onToken) {
                fed.append(i)
                tokens.append(token)
            }
        }
        if !tokens.isEmpty {
            // The caches move out of the sequences and back, so that none is copied.
            var caches = fed.map { i in
                defer { batch[i].sequence.cache = .empty }
                return batch[i].sequence.cache
            }
            let configurations = fed.map { batch[$0].submission.job.configuration ?? model.configuration }
            let logits = TransformerForward.decodeBatch(configurations, weights: model.weights, tokens: tokens, caches: &caches)
            let vocab = model.configuration.vocabularySize
            for (row, i) in fed.enumerated() {
                batch[i].sequence.cache = caches[row]
                batch[i].sequence.accept(Array(logits[(row * vocab)..<((row + 1) * vocab)]))
            }
        }
        for running in batch where running.sequence.isFinished {
            release(running.submission.kvBytes)
            running.submission.finished(running.sequence.outcome)
        }
        batch.removeAll { $0.sequence.isFinished }
        if !tokens.isEmpty || promptTokens > 0 {
            onStep(Step(sequences: tokens.count, promptTokens: promptTokens, kvCacheBytes: state.withLock { $0.kvBytesInUse },
                        prefixCacheBytes: prefixCache?.counts.bytes ?? 0))
        }
    }

    /// Reads the prompts not yet read, the one with the fewest tokens left first (one passed over for
    /// `maxStepsPassedOver` steps before all), a chunk each while the step's `promptChunkTokens` last (one chunk at
    /// least); a sequence whose client has gone is cancelled.
    /// - Returns: the prompt tokens computed.
    private func readPrompts(_ batch: inout [Running]) -> Int {
        for i in batch.indices where batch[i].sequence.isReadingPrompt && !batch[i].submission.isConnected() {
            batch[i].sequence.cancel()
        }
        func rank(_ i: Int) -> (Int, Int, Int) {
            let overdue = batch[i].stepsPassedOver >= Self.maxStepsPassedOver
            return (overdue ? 0 : 1, overdue ? 0 : batch[i].sequence.promptTokensLeft, i)
        }
        let order = batch.indices.filter { batch[$0].sequence.isReadingPrompt && !batch[$0].sequence.isFinished }
            .sorted { rank($0) < rank($1) }
        let budget = limits.promptChunkTokens
        var spent = 0
        for i in order {
            guard spent == 0 || spent + min(budget, batch[i].sequence.promptTokensLeft) <= budget else {
                batch[i].stepsPassedOver += 1
                continue
            }
            batch[i].stepsPassedOver = 0
            spent += batch[i].sequence.readPrompt(model, chunkTokens: budget, prefixCache: prefixCache) {
                self.limits.kvCacheBytes - self.state.withLock { $0.kvBytesInUse }
            }
        }
        return spent
    }
}
