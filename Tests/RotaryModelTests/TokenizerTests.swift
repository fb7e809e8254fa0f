import Testing
import RotaryTestSupport
@testable import RotaryModel

@Suite struct TokenizerTests {
    static let model = try! LlamaModel(path: sharedDirectory().appendingPathComponent("golden/llama/tiny-seed1234.gguf").path)
    var tokenizer: SentencePieceTokenizer { Self.model.tokenizer }

    @Test func readmeExamples() {
        #expect(tokenizer.encode("Hello world") == [1, 388, 391])
        #expect(tokenizer.encode("") == [1])
        #expect(tokenizer.encode("Hello world", addSpecial: false) == [388, 391])
        // ï is not a piece: its UTF-8 bytes C3 AF become byte tokens 3 + byte.
        let naive = tokenizer.encode("naïve", addSpecial: false)
        #expect(naive.contains(3 + 0xC3) && naive.contains(3 + 0xAF))
    }

    @Test(arguments: ["Hello world", "Café au lait, naïve señor — 東京", "def add(a, b):\n\treturn a + b", "  two leading spaces", "emoji 😀!"])
    func decodeInvertsEncode(text: String) {
        // The added space prefix comes back as a leading space.
        #expect(tokenizer.decode(tokenizer.encode(text)) == " " + text)
    }

    @Test func invalidByteSequencesDecodeToReplacementCharacters() {
        // A lone continuation byte and a truncated 3-byte sequence.
        let ids = [3 + 0x80, 3 + 0x41, 3 + 0xE6, 3 + 0x9D]
        #expect(tokenizer.decode(ids) == "\u{FFFD}A\u{FFFD}")
        #expect(tokenizer.decode([-1, 99_999, 1, 2]) == "")
    }

    /// Long inputs stay fast: merging is a heap, not a rescan per merge.
    @Test func longTextTokenizes() {
        let text = String(repeating: "Once upon a time, there was a little robot who loved to read. ", count: 2000)
        let ids = tokenizer.encode(text)
        #expect(ids.count > 10_000)
        #expect(tokenizer.decode(ids) == " " + text)
    }
}
