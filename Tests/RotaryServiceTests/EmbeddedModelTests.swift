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
        #expect(model.file.value("rotary.training.validation_bits_per_character")?.double != nil)
        let command = try #require(model.file.value("rotary.training.command")?.string)
        #expect(command.contains("--vocabulary-size 1024") && command.contains("kjv.txt"))
        #expect(model.file.value("rotary.training.corpus_fnv1a64")?.string?.isEmpty == false)
        #expect(model.file.bytes.count <= 20_000_000)
    }

    /// Measured, not read from the file: bits per character on verses from the held-out end of the text
    /// (Revelation 21:1–5, never trained on), scored in context-sized windows that each start with BOS.
    @Test func heldOutVersesCostFewBitsPerCharacter() throws {
        let model = try #require(try EmbeddedModel.load())
        let verses = """
        And I saw a new heaven and a new earth: for the first heaven and the first earth were passed away; and there was no more sea.
        And I John saw the holy city, new Jerusalem, coming down from God out of heaven, prepared as a bride adorned for her husband.
        And I heard a great voice out of heaven saying, Behold, the tabernacle of God is with men, and he will dwell with them, and they shall be his people, and God himself shall be with them, and be their God.
        And God shall wipe away all tears from their eyes; and there shall be no more death, neither sorrow, nor crying, neither shall there be any more pain: for the former things are passed away.
        And he that sat upon the throne said, Behold, I make all things new. And he said unto me, Write: for these words are true and faithful.

        """
        let tokens = model.tokenizer.encode(verses, addSpecial: false)
        let bos = try #require(model.tokenizer.bosID)
        let window = model.configuration.contextLength - 1
        var bits = 0.0
        for start in stride(from: 0, to: tokens.count, by: window) {
            let chunk = Array(tokens[start..<min(tokens.count, start + window)])
            var cache = model.makeCache()
            let logits = model.forward([bos] + chunk, cache: &cache, allLogits: true)
            let vocab = model.configuration.vocabularySize
            for (i, token) in chunk.enumerated() {
                let row = logits[(i * vocab)..<((i + 1) * vocab)].map(Double.init)
                let top = row.max()!
                let logSum = top + log(row.reduce(0) { $0 + exp($1 - top) })
                bits += (logSum - row[token]) / log(2.0)
            }
        }
        let bitsPerCharacter = bits / Double(verses.unicodeScalars.count)
        // The whole held-out text scores 1.54 (README); uniform guessing over 1,024 pieces would cost ~3.
        #expect(bitsPerCharacter < 1.6, "held-out bits per character \(bitsPerCharacter)")
        #expect(bitsPerCharacter > 0.5, "implausibly low: \(bitsPerCharacter)")
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
