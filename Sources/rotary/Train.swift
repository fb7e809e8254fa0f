import ArgumentParser
import Foundation
import RotaryJSON
import RotaryModel
import RotaryNumerics
import RotaryService
import RotaryTraining

extension PositionEncodingKind: ExpressibleByArgument {}

/// `rotary train`: trains a Llama-architecture model on a text file and writes it as GGUF; with
/// `--compare`, trains one model per position encoding on the same budget and charts them.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a rotary language model on a text corpus; writes GGUF.")

    @Option(help: "UTF-8 text to train on (its last --validation-fraction is held out).") var corpus: String
    @Option(help: "Where to write the trained model (.gguf).") var out: String?
    @Option(help: "Position encoding: rope, sinusoidal, learned or none.") var position: PositionEncodingKind = .rope
    @Option(help: "Train every position encoding with the same budget; write DIR/position-encodings.{svg,md}.") var compare: String?
    @Option(help: "Learn a SentencePiece-style vocabulary of this many pieces on the training split (0: characters).") var vocabularySize = 0
    @Option(help: "Optimizer steps.") var steps = 200
    @Option(help: "Rows per batch.") var batch = 8
    @Option(help: "Tokens per row (the model's context length).") var context = 128
    @Option(help: "Embedding width.") var dim = 128
    @Option(help: "Transformer blocks.") var layers = 4
    @Option(help: "Attention heads.") var heads = 4
    @Option(help: "Feed-forward width.") var ffn = 344
    @Option(help: "Peak learning rate (after linear warm-up, cosine decay to a tenth).") var learningRate = 3e-3
    @Option(help: "Warm-up steps.") var warmup = 20
    @Option(help: "Seed of the initialisation and the data order.") var seed: UInt64 = 1234
    @Option(help: "Steps between validation evaluations.") var evalInterval = 50
    @Option(help: "Held-out share of the corpus (its end).") var validationFraction = 0.05
    @Option(help: "Held-out tokens scored at each evaluation (its start; the same tokens at any --context).") var validationTokens = 8192
    @Option(help: "CSV log of step, train loss, validation loss, learning rate, tokens/s.") var log: String?
    @Option(help: "Write a resumable checkpoint here at every evaluation.") var checkpoint: String?
    @Option(help: "Resume from a checkpoint written by --checkpoint, or fine-tune a model written by `rotary train` (its sizes, vocabulary and weights; a fresh optimizer).") var resume: String?
    @Option(help: "RoPE to train under, the JSON object of /rotate's rope, laid over the model's own (e.g. '{\"rope_type\":\"yarn\",\"factor\":4}'); types GGUF records: default, linear, yarn.") var rope: String?
    @Option(help: "Multiply token embeddings by this (default: √dim for sinusoidal, as Vaswani et al.; 1 otherwise).") var embeddingScale: Double?
    @Option(help: "With --compare: seeds per encoding (seed, seed+1, ...), to show the spread.") var seeds = 1
    @Option(help: "With --compare: validation losses (nats/token) whose first step is reported.") var targets = "2.0,1.8,1.6,1.5"

    func settings(_ encoding: PositionEncodingKind, seed: UInt64? = nil) -> TrainingSettings {
        var s = TrainingSettings()
        s.steps = steps; s.batchSize = batch; s.context = context
        s.dim = dim; s.layers = layers; s.heads = heads; s.kvHeads = heads; s.feedForwardDim = ffn
        s.learningRate = learningRate; s.minimumLearningRate = learningRate / 10; s.warmupSteps = warmup
        s.seed = seed ?? self.seed; s.evaluationInterval = evalInterval; s.validationFraction = validationFraction
        s.validationTokens = validationTokens
        s.positionEncoding = encoding
        s.embeddingScale = embeddingScale.map(Float.init) ?? (encoding == .sinusoidal ? Float(dim).squareRoot() : nil)
        if s.embeddingScale == 1 { s.embeddingScale = nil }
        return s
    }

    /// `--rope` laid over `base` as a request's `rope` is over the served model's.
    func trainingRoPE(over base: ModelConfiguration) throws -> RoPEConfiguration? {
        guard let rope else { return nil }
        let value: JSONValue
        do { value = try JSONParser().parse(rope) } catch { throw ValidationError("--rope is not JSON: \(error)") }
        let configured: ModelConfiguration
        do { configured = try ModelRoPE.apply(value, to: base, positionLimit: context, path: "--rope") } catch {
            throw ValidationError(error.message)
        }
        if let refusal = ModelExport.recordableScaling(configured.rope) { throw ValidationError("--rope: \(refusal)") }
        return configured.rope
    }

    /// A trainer from scratch, from a checkpoint, or fine-tuning a trained model (`--resume` of a file that is not a checkpoint).
    func makeTrainer(_ text: String) throws -> Trainer {
        var s = settings(position)
        if let resume {
            let file = try GGUFFile(path: resume)
            if file.value("rotary.checkpoint.step") == nil {
                // The file's own scale is kept: a different one would change what its weights were trained for.
                guard embeddingScale == nil else { throw ValidationError("--embedding-scale: a fine-tune keeps the model's own embedding scale") }
                let own = try ModelConfiguration(gguf: file, vocabularySize: 1)
                s.rope = try trainingRoPE(over: own)
                return try Trainer(fineTuning: file, settings: s, corpus: text)
            }
            s.rope = try trainingRoPE(over: Trainer.configuration(s, vocabularySize: 1))
            var trainer = try Trainer(settings: s, corpus: text, tokenizer: tokenizer(for: text))
            try trainer.resume(from: file)
            return trainer
        }
        s.rope = try trainingRoPE(over: Trainer.configuration(s, vocabularySize: 1))
        return try Trainer(settings: s, corpus: text, tokenizer: tokenizer(for: text))
    }

    func run() throws {
        _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
        guard dim % heads == 0, (dim / heads) % 2 == 0 else { throw ValidationError("dim must be a multiple of heads with an even head size") }
        guard validationTokens >= 1 else { throw ValidationError("--validation-tokens must be at least 1") }
        LargeBlockMemory.keepLargeBlocks()   // activations are large arrays freed and reallocated every step
        let text = try String(contentsOfFile: corpus, encoding: .utf8)
        if let compare {
            // Every encoding is trained from scratch under plain RoPE: these would be silently dropped.
            guard rope == nil, resume == nil else { throw ValidationError("--compare trains from scratch: it takes neither --rope nor --resume") }
            return try runComparison(text, directory: compare)
        }
        guard let out else { throw ValidationError("--out is required (or --compare DIR)") }
        var trainer = try makeTrainer(text)
        let (_, csv) = try loop(&trainer)   // the CSV log; the records serve --compare
        // The recorded score covers the whole held-out text, not the sample the progress lines use.
        let finalLoss = trainer.validationLoss(all: true)
        let bpc = trainer.bitsPerCharacter(loss: finalLoss)
        let bytes = ModelExport.gguf(trainer.parameters, tokenizer: trainer.tokenizer,
                                     name: URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent,
                                     extra: [("rotary.training.command", .string(CommandLine.arguments.joined(separator: " "))),
                                             ("rotary.training.corpus_fnv1a64", .string(fnv1a64(text))),
                                             ("rotary.training.validation_bits_per_character", .float64(bpc))])
        try Data(bytes).write(to: URL(fileURLWithPath: out))
        if let log { try csv.write(toFile: log, atomically: true, encoding: .utf8) }
        print(String(format: "wrote %@: held-out loss %.4f nats/token, %.4f bits/char", out, finalLoss, bpc))
    }

    /// Characters, or a vocabulary learned on the training split only (the held-out end is never seen).
    func tokenizer(for text: String) -> SentencePieceTokenizer {
        guard vocabularySize > 0 else { return CharacterVocabulary.tokenizer() }
        let scalars = Array(text.unicodeScalars)
        let training = String(String.UnicodeScalarView(scalars[..<Int(Double(scalars.count) * (1 - validationFraction))]))
        let started = Date()
        let tokenizer = VocabularyTrainer.train(text: training, size: vocabularySize)
        print(String(format: "vocabulary: %d pieces learned in %.1f s", tokenizer.vocabularySize, Date().timeIntervalSince(started)))
        return tokenizer
    }

    /// Trains to `steps`, printing progress; returns the validation points and the CSV log.
    func loop(_ trainer: inout Trainer) throws -> ([TrainingRecord], String) {
        var csv = "step,train_loss,validation_loss,learning_rate,tokens_per_second\n"
        var records: [TrainingRecord] = []
        let interactive = isatty(1) == 1
        let tokensPerStep = Double(batch * context)
        var window: [Double] = []
        let started = Date()
        var stepStart = Date()
        print("training \(trainer.settings.positionEncoding.rawValue): \(trainer.parameters.parameterCount) parameters on "
              + "\(trainer.dataset.trainTokens.count) tokens (held out: \(trainer.dataset.validationTokens.count)); \(steps) steps of \(batch)×\(context)")
        if trainer.step == 0 {   // where training starts from (a fine-tune's starting point matters)
            let v = trainer.validationLoss()
            records.append(TrainingRecord(step: 0, trainLoss: .nan, validationLoss: v, learningRate: 0, tokensPerSecond: 0))
            csv += "0,,\(v),0,0\n"
            print(String(format: "step 0/%d  validation %.4f (%.3f bits/char)", steps, v, trainer.bitsPerCharacter(loss: v)))
        }
        while trainer.step < steps {
            let loss = trainer.trainStep()
            window.append(loss)
            let rate = tokensPerStep / Date().timeIntervalSince(stepStart)
            stepStart = Date()
            let s = trainer.settings
            let lr = RotaryTraining.learningRate(step: trainer.step - 1, peak: s.learningRate, minimum: s.minimumLearningRate,
                                                 warmup: s.warmupSteps, total: steps)
            var validation = ""
            if trainer.step % evalInterval == 0 || trainer.step == steps {
                let v = trainer.validationLoss()
                validation = String(v)
                let mean = window.reduce(0, +) / Double(window.count)
                window = []
                records.append(TrainingRecord(step: trainer.step, trainLoss: mean, validationLoss: v, learningRate: lr, tokensPerSecond: rate))
                let line = String(format: "step %d/%d  train %.4f  validation %.4f (%.3f bits/char)  lr %.2e  %.0f tok/s",
                                  trainer.step, steps, mean, v, trainer.bitsPerCharacter(loss: v), lr, rate)
                print(interactive ? "\r\u{1B}[K" + line : line)
                fflush(nil)   // progress lines must reach a log file as they happen
                if let checkpoint {
                    try Data(ModelExport.gguf(trainer.parameters, tokenizer: trainer.tokenizer, name: "rotary-checkpoint",
                                              optimizer: trainer.optimizer)).write(to: URL(fileURLWithPath: checkpoint))
                }
            } else if interactive {
                let elapsed = Date().timeIntervalSince(started)
                let eta = elapsed / Double(trainer.step) * Double(steps - trainer.step)
                let filled = 30 * trainer.step / steps
                let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: 30 - filled)
                print(String(format: "\r%@ %d/%d  loss %.4f  %.0f tok/s  ETA %.0fs", bar, trainer.step, steps, loss, rate, eta),
                      terminator: "")
                fflush(nil)
            }
            csv += "\(trainer.step),\(loss),\(validation),\(lr),\(rate)\n"
        }
        return (records, csv)
    }

    /// FNV-1a 64 of the corpus bytes, to record which text a model was trained on.
    func fnv1a64(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }
}
