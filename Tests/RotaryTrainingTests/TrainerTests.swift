import Foundation
import Testing
import RotaryModel
import RotaryNumerics
@testable import RotaryTraining

@Suite struct TrainerTests {
    static let text = String(repeating: """
        In the beginning God created the heaven and the earth. And the earth was without form, and void; \
        and darkness was upon the face of the deep. And God said, Let there be light: and there was light.

        """, count: 40)

    static func settings() -> TrainingSettings {
        var s = TrainingSettings()
        s.dim = 32; s.layers = 2; s.heads = 2; s.kvHeads = 2; s.feedForwardDim = 64; s.context = 32
        s.steps = 60; s.batchSize = 4; s.learningRate = 1e-2; s.minimumLearningRate = 1e-3; s.warmupSteps = 5
        s.seed = 7
        return s
    }

    /// Seeded: a small model learns a repetitive text — its loss (nats per character-token) falls from
    /// ln(354) ≈ 5.9 to below 3.0 within 60 steps (this seed reaches 2.75).
    @Test func lossFallsOnASmallText() throws {
        var trainer = try Trainer(settings: Self.settings(), corpus: Self.text)
        let first = trainer.trainStep()
        #expect(first > 5)
        var last = first
        for _ in 1..<60 { last = trainer.trainStep() }
        #expect(last < 3.0, "loss after 60 steps: \(last)")
        #expect(trainer.validationLoss() < 3.0)
    }

    /// Stopping at a checkpoint and resuming gives exactly the weights of an uninterrupted run.
    @Test func resumeContinuesExactly() throws {
        var straight = try Trainer(settings: Self.settings(), corpus: Self.text)
        for _ in 0..<6 { _ = straight.trainStep() }
        var first = try Trainer(settings: Self.settings(), corpus: Self.text)
        for _ in 0..<3 { _ = first.trainStep() }
        let checkpoint = ModelExport.gguf(first.parameters, tokenizer: first.tokenizer, name: "checkpoint", optimizer: first.optimizer)
        var resumed = try Trainer(settings: Self.settings(), corpus: Self.text)
        try resumed.resume(from: GGUFFile(bytes: GGUFBytes(checkpoint)))
        for _ in 0..<3 { _ = resumed.trainStep() }
        for name in straight.parameters.names {
            #expect(straight.parameters.tensors[name] == resumed.parameters.tensors[name], "\(name)")
        }
    }

    /// The written GGUF loads in the inference engine and computes what the trainer's forward computes,
    /// for every position encoding.
    @Test(arguments: PositionEncodingKind.allCases)
    func exportedModelRunsInTheEngine(encoding: PositionEncodingKind) throws {
        var settings = Self.settings()
        settings.positionEncoding = encoding
        var trainer = try Trainer(settings: settings, corpus: Self.text)
        for _ in 0..<5 { _ = trainer.trainStep() }
        let bytes = ModelExport.gguf(trainer.parameters, tokenizer: trainer.tokenizer, name: "test",
                                     extra: [("rotary.training.command", .string("test"))])
        let model = try LlamaModel(file: GGUFFile(bytes: GGUFBytes(bytes)))
        let tokens = Array(model.tokenizer.encode("And God said, Let there be light", addSpecial: false).prefix(24))
        var cache = model.makeCache()
        let engine = model.forward(tokens, cache: &cache, allLogits: true)
        let training = RowPass(parameters: trainer.parameters, tokens: tokens).forward().logits
        let worst = zip(engine, training).map { abs($0 - $1) }.max()!
        #expect(worst < 1e-4, "engine and trainer logits differ by \(worst)")
        #expect(model.file.value("rotary.training.command")?.string == "test")
        #expect(model.configuration.positionEncoding == encoding)
    }

    /// Fine-tuning a trained file at a longer context under linear or YaRN scaling starts from the file's
    /// weights, and the file it writes reads back with that RoPE and computes what the trainer computes —
    /// at positions past the original context, where the scaling matters.
    @Test(arguments: ["linear", "yarn"])
    func fineTuneUnderScaledRoPERoundTrips(type: String) throws {
        var base = try Trainer(settings: Self.settings(), corpus: Self.text)
        for _ in 0..<3 { _ = base.trainStep() }
        let file = try GGUFFile(bytes: GGUFBytes(ModelExport.gguf(base.parameters, tokenizer: base.tokenizer, name: "base")))
        var settings = Self.settings()
        settings.context = 64
        let scaling: RoPEScaling = type == "linear" ? .linear(factor: 2) : .yarn(YaRNParameters(factor: 2, originalMaxPositionEmbeddings: 32))
        settings.rope = try RoPEConfiguration(headDim: 16, layout: .interleaved, scaling: scaling, maxPositionEmbeddings: 64)
        #expect(ModelExport.recordableScaling(settings.rope!) == nil)
        var tuned = try Trainer(fineTuning: file, settings: settings, corpus: Self.text)
        for name in base.parameters.names {
            #expect(tuned.parameters.tensors[name] == base.parameters.tensors[name], "\(name) is not the file's")
        }
        _ = tuned.trainStep()
        let model = try LlamaModel(file: GGUFFile(bytes: GGUFBytes(ModelExport.gguf(tuned.parameters, tokenizer: tuned.tokenizer, name: "tuned"))))
        #expect(model.configuration.rope == settings.rope)
        #expect(model.configuration.contextLength == 64)
        let tokens = Array(model.tokenizer.encode(String(Self.text.prefix(200)), addSpecial: false).prefix(60))
        try #require(tokens.count == 60)
        #expect(Self.engineDifference(model, tuned.parameters, tokens) < 1e-4)
    }

    /// Vaswani et al.'s × √dim: trained with it, written as `rotary.embedding_scale`, read and used by the engine.
    @Test func embeddingScaleRoundTrips() throws {
        var settings = Self.settings()
        settings.positionEncoding = .sinusoidal
        settings.embeddingScale = Float(32).squareRoot()
        var trainer = try Trainer(settings: settings, corpus: Self.text)
        for _ in 0..<3 { _ = trainer.trainStep() }
        let model = try LlamaModel(file: GGUFFile(bytes: GGUFBytes(ModelExport.gguf(trainer.parameters, tokenizer: trainer.tokenizer, name: "scaled"))))
        #expect(model.configuration.embeddingScale == settings.embeddingScale)
        let tokens = Array(model.tokenizer.encode("And God said, Let there be light", addSpecial: false).prefix(24))
        #expect(Self.engineDifference(model, trainer.parameters, tokens) < 1e-4)
    }

    /// Scalings a GGUF file cannot record are refused before any training.
    @Test func unrecordableScalingsAreRefused() throws {
        let dynamic = try RoPEConfiguration(headDim: 16, scaling: .dynamic(factor: 2), maxPositionEmbeddings: 64)
        #expect(ModelExport.recordableScaling(dynamic)?.contains("dynamic") == true)
        let steep = try RoPEConfiguration(headDim: 16, scaling: .yarn(YaRNParameters(factor: 2, originalMaxPositionEmbeddings: 32, betaFast: 16)),
                                          maxPositionEmbeddings: 64)
        #expect(ModelExport.recordableScaling(steep)?.contains("beta_fast") == true)
        #expect(ModelExport.recordableScaling(try RoPEConfiguration(headDim: 16)) == nil)
    }

    /// The largest difference between the engine's logits and the trainer's forward on the same tokens.
    static func engineDifference(_ model: LlamaModel, _ parameters: TrainingParameters, _ tokens: [Int]) -> Float {
        var cache = model.makeCache()
        let engine = model.forward(tokens, cache: &cache, allLogits: true)
        let training = RowPass(parameters: parameters, tokens: tokens).forward().logits
        return zip(engine, training).map { abs($0 - $1) }.max()!
    }

    @Test func learningRateScheduleIsWarmupThenCosine() {
        #expect(learningRate(step: 0, peak: 1, minimum: 0.1, warmup: 10, total: 100) == 0.1)
        #expect(learningRate(step: 9, peak: 1, minimum: 0.1, warmup: 10, total: 100) == 1)
        #expect(abs(learningRate(step: 10, peak: 1, minimum: 0.1, warmup: 10, total: 100) - 1) < 1e-12)
        #expect(abs(learningRate(step: 55, peak: 1, minimum: 0.1, warmup: 10, total: 100) - 0.55) < 1e-12)
        #expect(abs(learningRate(step: 100, peak: 1, minimum: 0.1, warmup: 10, total: 100) - 0.1) < 1e-12)
    }
}
