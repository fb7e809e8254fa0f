import Testing
import RotaryModel
@testable import RotaryTraining

@Suite struct VocabularyTrainerTests {
    static let text = String(repeating: "And God said, Let there be light: and there was light.\nAnd God saw the light, that it was good.\n", count: 30)

    @Test func learnsMergesThatShortenTheText() {
        let tokenizer = VocabularyTrainer.train(text: Self.text, size: 320)
        #expect(tokenizer.vocabularySize <= 320 && tokenizer.vocabularySize > 259 + 20)
        #expect(tokenizer.pieces.contains("\u{2581}light"))
        let merged = tokenizer.encode(Self.text, addSpecial: false).count
        let characters = CharacterVocabulary.tokenizer().encode(Self.text, addSpecial: false).count
        #expect(merged * 3 < characters, "\(merged) tokens vs \(characters) characters")
        // Lossless, including newlines (byte fallback) and characters never seen in training.
        let probe = "And God saw Zürich.\nNew line"
        #expect(tokenizer.decode(tokenizer.encode(probe)) == probe)
    }

    @Test func isDeterministic() {
        let a = VocabularyTrainer.train(text: Self.text, size: 300), b = VocabularyTrainer.train(text: Self.text, size: 300)
        #expect(a.pieces == b.pieces && a.scores == b.scores)
    }
}
