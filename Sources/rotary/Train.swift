import ArgumentParser
import Foundation
import RotaryModel
import RotaryTraining

/// `rotary train`: trains a Llama model with RoPE on a text file and writes it as GGUF.
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Train a rotary language model on a text corpus; writes GGUF.")

    @Option(help: "UTF-8 text to train on (its last --validation-fraction is held out).") var corpus: String
    @Option(help: "Where to write the trained model (.gguf).") var out: String
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
    @Option(help: "Held-out share of the corpus.") var validationFraction = 0.05
    @Option(help: "CSV log of step, train loss, validation loss, learning rate, tokens/s.") var log: String?
    @Option(help: "Write a resumable checkpoint here at every evaluation.") var checkpoint: String?
    @Option(help: "Resume from a checkpoint written by --checkpoint.") var resume: String?

    func run() throws {
        var settings = TrainingSettings()
        settings.steps = steps
        settings.batchSize = batch
        settings.context = context
        settings.dim = dim
        settings.layers = layers
        settings.heads = heads
        settings.kvHeads = heads
        settings.feedForwardDim = ffn
        settings.learningRate = learningRate
        settings.minimumLearningRate = learningRate / 10
        settings.warmupSteps = warmup
        settings.seed = seed
        settings.evaluationInterval = evalInterval
        settings.validationFraction = validationFraction
        guard dim % heads == 0, (dim / heads) % 2 == 0 else { throw ValidationError("dim must be a multiple of heads with an even head size") }
        let text = try String(contentsOfFile: corpus, encoding: .utf8)
        var trainer = try Trainer(settings: settings, corpus: text)
        if let resume { try trainer.resume(from: GGUFFile(path: resume)) }
        let command = CommandLine.arguments.joined(separator: " ")
        var csv = "step,train_loss,validation_loss,learning_rate,tokens_per_second\n"
        let interactive = isatty(1) == 1
        let tokensPerStep = Double(batch * context)
        var window: [Double] = []
        let started = Date()
        var stepStart = Date()
        print("training \(trainer.parameters.parameterCount) parameters on \(trainer.dataset.trainTokens.count) tokens "
              + "(held out: \(trainer.dataset.validationTokens.count)); \(steps) steps of \(batch)×\(context)")
        while trainer.step < steps {
            let loss = trainer.trainStep()
            window.append(loss)
            let rate = tokensPerStep / Date().timeIntervalSince(stepStart)
            stepStart = Date()
            let lr = RotaryTraining.learningRate(step: trainer.step - 1, peak: settings.learningRate, minimum: settings.minimumLearningRate,
                                  warmup: settings.warmupSteps, total: steps)
            var validation = ""
            if trainer.step % evalInterval == 0 || trainer.step == steps {
                let v = trainer.validationLoss()
                validation = String(format: "%.4f", v)
                let mean = window.reduce(0, +) / Double(window.count)
                window = []
                let line = String(format: "step %d/%d  train %.4f  validation %.4f (%.3f bits/char)  lr %.2e  %.0f tok/s",
                                  trainer.step, steps, mean, v, trainer.bitsPerCharacter(loss: v), lr, rate)
                print(interactive ? "\r\u{1B}[K" + line : line)
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
        let finalLoss = trainer.validationLoss()
        let bpc = trainer.bitsPerCharacter(loss: finalLoss)
        let bytes = ModelExport.gguf(trainer.parameters, tokenizer: trainer.tokenizer, name: URL(fileURLWithPath: out).deletingPathExtension().lastPathComponent,
                                     extra: [("rotary.training.command", .string(command)),
                                             ("rotary.training.corpus_fnv1a64", .string(fnv1a64(text))),
                                             ("rotary.training.validation_bits_per_character", .float64(bpc))])
        try Data(bytes).write(to: URL(fileURLWithPath: out))
        if let log { try csv.write(toFile: log, atomically: true, encoding: .utf8) }
        print(String(format: "wrote %@: held-out loss %.4f nats/token, %.4f bits/char", out, finalLoss, bpc))
    }

    /// FNV-1a 64 of the corpus bytes, to record which text a model was trained on.
    func fnv1a64(_ text: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }
}
