import RotaryHTTP
import RotaryModel
import Synchronization

/// The single owner of the loaded model. Generation jobs are batched continuously (`SequenceBatcher`: up to
/// `batchLimits.maxRunningSequences` decode together, each with the numbers it would get alone); other model work
/// runs alone between their steps. All of it on the batcher's own thread (so the cooperative pool and `/health`
/// stay free), with a bounded wait queue; past it, 429 with `Retry-After`.
public final class ModelOwner: Sendable {
    public let model: LlamaModel?
    /// The model's tokenizer, or a vocabulary-only file's (then `model` is nil and model routes answer 503).
    public let tokenizer: (any Tokenizer)?
    /// The context length a vocabulary-only file states (`<arch>.context_length`), for `max_model_len`.
    let statedContextLength: Int?
    /// Shown by `/v1/models` and in completions.
    public let name: String
    /// Requests that may wait while others run.
    public let queueLimit: Int
    /// How many sequences decode together, and the KV memory they may hold.
    public let batchLimits: SequenceBatcher.Limits
    private let admitted = Atomic<Int>(0)
    private let scoredTokens = Atomic<Int>(0)
    private let generatedTokens = Atomic<Int>(0)
    private let batcher: SequenceBatcher?
    let batchMetrics = BatchMetrics()

    /// The longest token piece in bytes: what bounds the answers' text (for `max_response_bytes`).
    let maxPieceBytes: Int

    public convenience init(model: LlamaModel?, name: String, queueLimit: Int,
                            batchLimits: SequenceBatcher.Limits = SequenceBatcher.Limits()) {
        self.init(model: model, tokenizer: model?.tokenizer, contextLength: model?.configuration.contextLength,
                  name: name, queueLimit: queueLimit, batchLimits: batchLimits)
    }

    /// A vocabulary-only GGUF: the tokenizer routes answer, the model routes answer 503.
    public convenience init(vocabularyOnly file: VocabularyFile, name: String, queueLimit: Int) {
        self.init(model: nil, tokenizer: file.tokenizer, contextLength: file.contextLength, name: name, queueLimit: queueLimit,
                  batchLimits: SequenceBatcher.Limits())
    }

    private init(model: LlamaModel?, tokenizer: (any Tokenizer)?, contextLength: Int?, name: String, queueLimit: Int,
                 batchLimits: SequenceBatcher.Limits) {
        self.model = model
        self.tokenizer = tokenizer
        self.statedContextLength = contextLength
        self.name = name
        self.queueLimit = queueLimit
        self.batchLimits = batchLimits
        let metrics = batchMetrics
        batcher = model.map { SequenceBatcher(model: $0, limits: batchLimits) { metrics.record($0) } }
        maxPieceBytes = tokenizer.map { t in (0..<t.vocabularySize).reduce(0) { max($0, t.pieceBytes($1).count) } } ?? 0
    }

    /// Requests running or waiting now.
    public var load: Int { admitted.load(ordering: .relaxed) }

    /// Requests that may be admitted at once: the running sequences and the wait queue.
    var capacity: Int { batchLimits.maxRunningSequences + queueLimit }

    /// A place in the queue, taken atomically; given back once, by `release` or when dropped.
    final class Reservation: Sendable {
        let owner: ModelOwner
        private let released = Atomic<Bool>(false)

        fileprivate init(owner: ModelOwner) { self.owner = owner }

        func release() {
            guard !released.exchange(true, ordering: .acquiringAndReleasing) else { return }
            owner.admitted.subtract(1, ordering: .relaxed)
        }

        deinit { release() }
    }

    /// The reservation a stream holds while it runs its jobs: `run` inside it uses that place rather
    /// than queueing again (a task-local, so the jobs' code need not pass it along).
    @TaskLocal static var heldReservation: Reservation?

    /// Takes a place (running or waiting) or throws 429: streams reserve before they answer 200, so a
    /// full queue is a plain 429 with Retry-After and never a stream that fails (check and take in one
    /// atomic step, or concurrent requests all see room).
    func reserve() throws(HTTPError) -> Reservation {
        guard admitted.add(1, ordering: .acquiringAndReleasing).newValue <= capacity else {
            admitted.subtract(1, ordering: .relaxed)
            throw queueFullError
        }
        return Reservation(owner: self)
    }

    /// A new place for a job, or nil when the stream it runs in already holds one (`heldReservation`): the caller
    /// releases what it gets.
    private func takePlace() throws(HTTPError) -> Reservation? {
        Self.heldReservation?.owner === self ? nil : try reserve()
    }

    var queueFullError: HTTPError {
        HTTPError(status: 429, type: "queue_full",
                  message: "the model is busy and \(queueLimit) requests are already waiting (model_queue_size); retry shortly",
                  headers: [("Retry-After", "1")])
    }

    /// Runs `body` when its turn comes (in the place `heldReservation` holds, if any, else in a new one);
    /// a job whose client has gone by then is dropped unrun.
    func run<T: Sendable>(isConnected: @escaping @Sendable () -> Bool = { true },
                          _ body: @escaping @Sendable (LlamaModel) -> T) async throws(HTTPError) -> T {
        let model = try requireModel()
        let place = try takePlace()
        defer { place?.release() }
        let result: T? = await withCheckedContinuation { continuation in
            batcher!.exclusive { continuation.resume(returning: isConnected() ? body(model) : nil) }
        }
        guard let result else {
            throw HTTPError(status: 499, type: "client_closed_request", message: "the client disconnected before its turn")
        }
        return result
    }

    /// Runs `job` in the batch when its turn comes (in the place `heldReservation` holds, if any); a job whose
    /// client has gone by then is dropped unrun (499).
    /// - Parameter onToken: each generated token and its text, on the batcher's thread; false ends the job (cancelled).
    func generate(_ job: GenerationJob, isConnected: @escaping @Sendable () -> Bool = { true },
                  onToken: @escaping @Sendable (ScoredToken, String) -> Bool) async throws(HTTPError) -> GenerationOutcome {
        _ = try requireModel()
        let place = try takePlace()
        defer { place?.release() }
        let outcome: GenerationOutcome? = await withCheckedContinuation { continuation in
            batcher!.submit(job, isConnected: isConnected, onToken: onToken) { continuation.resume(returning: $0) }
        }
        guard let outcome else {
            throw HTTPError(status: 499, type: "client_closed_request", message: "the client disconnected before its turn")
        }
        count(outcome)
        return outcome
    }

    /// Counts what a finished job did, for `/metrics`.
    func count(_ outcome: GenerationOutcome) {
        let candidates = outcome.candidateScores.reduce(0) { $0 + $1.count }
        scoredTokens.add(outcome.promptTokenCount + candidates, ordering: .relaxed)
        generatedTokens.add(outcome.generated.count, ordering: .relaxed)
    }

    /// Tokens generated and scored by jobs so far (the counters of `/metrics`).
    var generatedTokenCount: Int { generatedTokens.load(ordering: .relaxed) }
    var scoredTokenCount: Int { scoredTokens.load(ordering: .relaxed) }

    /// Counts tokens a `/perplexity` job scored, for `/metrics`.
    func countScored(_ tokens: Int) { scoredTokens.add(tokens, ordering: .relaxed) }

    /// Model lines for the Prometheus exposition.
    var exposition: String {
        """
        # HELP rotary_model_queue_depth Model requests running or waiting.
        # TYPE rotary_model_queue_depth gauge
        rotary_model_queue_depth \(load)
        # HELP rotary_model_tokens_total Tokens the model scored (prompts, candidates) and generated.
        # TYPE rotary_model_tokens_total counter
        rotary_model_tokens_total{kind="scored"} \(scoredTokenCount)
        rotary_model_tokens_total{kind="generated"} \(generatedTokenCount)

        """ + batchMetrics.exposition(batcher?.counts ?? (0, 0, 0), prefixCache: batcher?.prefixCache?.counts)
    }

    /// The model, for cheap read-only work that need not queue.
    func requireModel() throws(HTTPError) -> LlamaModel {
        guard let model else {
            if tokenizer != nil {
                throw HTTPError(status: 503, type: "model_not_loaded",
                                message: "the loaded file \(name) is vocabulary-only (it has no weights): /tokenize, /detokenize and "
                                    + "/tokenizer_info answer; model routes need a GGUF with weights (--model PATH.gguf)")
            }
            throw HTTPError(status: 503, type: "model_not_loaded",
                            message: "no model is loaded: start the server with --model PATH.gguf (or ship the embedded model)")
        }
        return model
    }

    /// The tokenizer, of a model or of a vocabulary-only file.
    func requireTokenizer() throws(HTTPError) -> any Tokenizer {
        guard let tokenizer else { return try requireModel().tokenizer }
        return tokenizer
    }
}

extension ServiceConfiguration {
    /// The batcher's limits these settings make (here, not beside the settings: that file also builds without the model).
    public var batchLimits: SequenceBatcher.Limits {
        SequenceBatcher.Limits(maxRunningSequences: maxBatchSequences, kvCacheBytes: kvCacheBytes,
                               promptChunkTokens: promptChunkTokens, prefixCache: prefixCache)
    }
}
