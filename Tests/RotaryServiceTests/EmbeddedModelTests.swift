import Foundation
import Testing
import RotaryModel
import RotaryService

/// The default model shipped in the package resources.
@Suite struct EmbeddedModelTests {
    @Test func shippedModelLoadsAndRecordsItsTraining() throws {
        let model = try #require(try EmbeddedModel.load(), "no default-model.gguf in the package resources")
        #expect(model.configuration.positionEncoding == .rope)
        #expect(model.tokenizer.vocabularySize == 1024)
        let bitsPerCharacter = try #require(model.file.value("rotary.training.validation_bits_per_character")?.double)
        #expect(bitsPerCharacter <= 1.6, "held-out bits per character \(bitsPerCharacter)")
        let command = try #require(model.file.value("rotary.training.command")?.string)
        #expect(command.contains("--vocabulary-size 1024") && command.contains("kjv.txt"))
        #expect(model.file.value("rotary.training.corpus_fnv1a64")?.string?.isEmpty == false)
        #expect(model.file.bytes.count <= 20_000_000)
    }

    @Test func itHasLearnedTheText() throws {
        let model = try #require(try EmbeddedModel.load())
        // After "In the beginning God created the heaven and the", the model expects "earth".
        var cache = model.makeCache()
        let logits = model.forward(model.tokenizer.encode("In the beginning God created the heaven and the"), cache: &cache)
        let best = logits.indices.max { logits[$0] < logits[$1] }!
        #expect(model.tokenizer.decodePiece(best).hasPrefix(" ear"), "predicted \(model.tokenizer.decodePiece(best))")
    }
}
