import RotaryModel
import RotaryNumerics
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Settings of a training run, grouped, with their defaults.
public struct TrainingSettings: Sendable {
    // Model size.
    public var dim = 128
    public var layers = 4
    public var heads = 4
    public var kvHeads = 4
    public var feedForwardDim = 344
    public var context = 128
    public var ropeTheta = 10_000.0
    /// The RoPE trained under; nil: plain RoPE with `ropeTheta` (scalings GGUF records: linear, YaRN).
    public var rope: RoPEConfiguration?
    public var positionEncoding = PositionEncodingKind.rope
    /// Token embeddings are multiplied by this before the position encoding is added (Vaswani et al. use √dim
    /// with sinusoids); nil: not scaled.
    public var embeddingScale: Float?
    // Optimisation.
    public var steps = 200
    public var batchSize = 8
    public var learningRate = 3e-3
    public var minimumLearningRate = 3e-4
    public var warmupSteps = 20
    public var weightDecay = 0.1
    public var clipNorm = 1.0
    // Data and bookkeeping.
    public var validationFraction = 0.05
    public var evaluationInterval = 50
    /// Tokens of the held-out start scored at each evaluation: the same tokens at any context, so runs at
    /// different contexts compare (64 rows at the default 128).
    public var validationTokens = 8192
    public var seed: UInt64 = 1234

    public init() {}
}

/// One point of the training log.
public struct TrainingRecord: Sendable {
    public var step: Int
    public var trainLoss: Double
    /// nil between evaluations.
    public var validationLoss: Double?
    public var learningRate: Double
    public var tokensPerSecond: Double

    public init(step: Int, trainLoss: Double, validationLoss: Double?, learningRate: Double, tokensPerSecond: Double) {
        self.step = step
        self.trainLoss = trainLoss
        self.validationLoss = validationLoss
        self.learningRate = learningRate
        self.tokensPerSecond = tokensPerSecond
    }
}

/// The training loop: seeded initialisation and data order, AdamW with warm-up and cosine decay,
/// gradient clipping, periodic validation. Rows of a batch run on both cores.
public struct Trainer {
    public let settings: TrainingSettings
    public private(set) var parameters: TrainingParameters
    public private(set) var optimizer: AdamW
    public private(set) var dataset: TextDataset
    public let tokenizer: SentencePieceTokenizer
    public private(set) var step = 0

    public init(settings: TrainingSettings, corpus: String, tokenizer: SentencePieceTokenizer = CharacterVocabulary.tokenizer()) throws {
        let configuration = try Self.configuration(settings, vocabularySize: tokenizer.vocabularySize)
        self.init(settings: settings, parameters: TrainingParameters(configuration: configuration, tiedOutput: true, seed: settings.seed),
                  corpus: corpus, tokenizer: tokenizer)
    }

    /// The model a from-scratch run trains.
    public static func configuration(_ settings: TrainingSettings, vocabularySize: Int) throws -> ModelConfiguration {
        let plain = try RoPEConfiguration(headDim: settings.dim / settings.heads, theta: settings.ropeTheta, layout: .interleaved,
                                          maxPositionEmbeddings: settings.context)
        var c = ModelConfiguration(dim: settings.dim, layers: settings.layers, heads: settings.heads, kvHeads: settings.kvHeads,
                                   feedForwardDim: settings.feedForwardDim, contextLength: settings.context,
                                   vocabularySize: vocabularySize, rmsEpsilon: 1e-5, rope: settings.rope ?? plain,
                                   positionEncoding: settings.positionEncoding)
        c.embeddingScale = settings.embeddingScale
        return c
    }

    /// Fine-tunes a trained model (a `rotary train` GGUF, not a checkpoint): its sizes, tokenizer, position
    /// encoding and weights, with a fresh optimizer from step 0, and the settings' context, RoPE (the file's
    /// when `settings.rope` is nil) and optimisation. The sizes in `settings` are replaced by the file's.
    public init(fineTuning file: GGUFFile, settings: TrainingSettings, corpus: String) throws {
        let tokenizer = try SentencePieceTokenizer(gguf: file)
        var c = try ModelConfiguration(gguf: file, vocabularySize: tokenizer.vocabularySize)
        // The backward pass knows the blocks `rotary train` writes, nothing more.
        guard c.architecture == .llama, c.ropeFrequencyFactors == nil, c.queryScale == nil, c.headDim * c.heads == c.dim else {
            throw GGUFError("only models written by `rotary train` can be fine-tuned (a plain llama file without rope_freqs)")
        }
        c.contextLength = settings.context
        if let rope = settings.rope { c.rope = rope }
        var s = settings
        s.dim = c.dim; s.layers = c.layers; s.heads = c.heads; s.kvHeads = c.kvHeads; s.feedForwardDim = c.feedForwardDim
        s.ropeTheta = c.rope.theta; s.rope = c.rope; s.positionEncoding = c.positionEncoding; s.embeddingScale = c.embeddingScale
        self.init(settings: s, parameters: try TrainingParameters(file: file, configuration: c), corpus: corpus, tokenizer: tokenizer)
    }

    private init(settings: TrainingSettings, parameters: TrainingParameters, corpus: String, tokenizer: SentencePieceTokenizer) {
        self.settings = settings
        self.tokenizer = tokenizer
        self.parameters = parameters
        optimizer = AdamW(like: parameters)
        optimizer.weightDecay = Float(settings.weightDecay)
        dataset = TextDataset(text: corpus, tokenizer: tokenizer, context: settings.context,
                              validationFraction: settings.validationFraction, seed: settings.seed &+ 1)
    }

    /// Continues from a checkpoint written by `ModelExport.gguf(..., optimizer:)`: weights, moments and
    /// step; the data order is replayed to the same point.
    public mutating func resume(from file: GGUFFile) throws(GGUFError) {
        guard let saved = file.value("rotary.checkpoint.step")?.int else { throw GGUFError("not a checkpoint (rotary.checkpoint.step missing)") }
        var weights = parameters, m = TrainingParameters(zerosLike: parameters), v = m
        for name in parameters.names {
            for (prefix, target) in [("", 0), ("rotary.adam.m.", 1), ("rotary.adam.v.", 2)] {
                guard let info = file.tensor(prefix + name), info.elementCount == parameters.tensors[name]!.count else {
                    throw GGUFError("checkpoint tensor \(prefix + name) is missing or has another shape")
                }
                let values = file.floats(info)
                switch target {
                case 0: weights.tensors[name] = values
                case 1: m.tensors[name] = values
                default: v.tensors[name] = values
                }
            }
        }
        parameters = weights
        optimizer.restore(m: m, v: v, step: saved)
        step = saved
        for _ in 0..<saved { _ = dataset.nextBatch(rows: settings.batchSize) }
    }

    /// One optimizer step on the next batch; returns the batch's mean loss before the update.
    public mutating func trainStep() -> Double {
        let batch = dataset.nextBatch(rows: settings.batchSize)
        var (loss, gradients) = Self.parallelLossAndGradients(parameters, batch)
        GradientClipping.clip(&gradients, maxNorm: settings.clipNorm)
        let rate = RotaryTraining.learningRate(step: step, peak: settings.learningRate, minimum: settings.minimumLearningRate,
                                               warmup: settings.warmupSteps, total: settings.steps)
        optimizer.update(&parameters, gradients: gradients, learningRate: Float(rate))
        step += 1
        return loss
    }

    /// Mean loss (nats per token) over the held-out windows (those covering the first `validationTokens`, or all).
    public func validationLoss(all: Bool = false) -> Double {
        let batches = dataset.validationBatches(rows: settings.batchSize, maxRows: all ? Int.max : max(1, settings.validationTokens / settings.context))
        guard !batches.isEmpty else { return .nan }
        var total = 0.0, count = 0
        for batch in batches {
            let rows = batch.inputs.count * batch.inputs[0].count
            total += LlamaTrainer.loss(parameters, batch) * Double(rows)
            count += rows
        }
        return total / Double(count)
    }

    /// Bits per character of the held-out text implied by a loss in nats per token.
    public func bitsPerCharacter(loss: Double) -> Double {
        loss * Double(dataset.validationTokens.count) / Double(max(1, dataset.validationCharacters)) / log(2.0)
    }

    /// Rows split over the cores, each with its own gradient buffer, summed at the end.
    public static func parallelLossAndGradients(_ p: TrainingParameters, _ batch: TrainingBatch) -> (Double, TrainingParameters) {
        let rows = batch.inputs.count
        let parts = min(rows, Parallel.threadCount)
        let results = Mutex<[LlamaTrainer.Result?]>(Array(repeating: nil, count: parts))
        let count = batch.inputs.reduce(0) { $0 + $1.count }
        Parallel.forEachRange(parts, minimumWork: 0) { range in
            for part in range {
                let slice = (rows * part / parts)..<(rows * (part + 1) / parts)
                let sub = TrainingBatch(inputs: Array(batch.inputs[slice]), targets: Array(batch.targets[slice]))
                var result = LlamaTrainer.lossAndGradients(p, sub)
                // Rescale from the part's mean to its share of the whole batch's mean.
                let share = Float(sub.inputs.reduce(0) { $0 + $1.count }) / Float(count)
                for name in result.gradients.names { result.gradients.tensors[name] = result.gradients.tensors[name]!.map { $0 * share } }
                result.loss *= Double(share)
                results.withLock { $0[part] = result }
            }
        }
        let all = results.withLock { $0.compactMap { $0 } }
        var gradients = all[0].gradients
        for other in all.dropFirst() {
            for name in gradients.names {
                let add = other.gradients.tensors[name]!
                gradients.tensors[name] = zip(gradients.tensors[name]!, add).map { $0 + $1 }
            }
        }
        return (all.reduce(0) { $0 + $1.loss }, gradients)
    }
}
