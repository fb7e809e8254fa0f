import Testing
import RotaryTestSupport
@testable import RotaryModel

@Suite struct TokenizerTests {
    static let model = try! LlamaModel(path: sharedDirectory().appendingPathComponent("golden/llama/tiny-seed1234.gguf").path)
    var tokenizer: SentencePieceTokenizer { Self.model.tokenizer as! SentencePieceTokenizer }

    @Test func readmeExamples() {
        #expect(tokenizer.encode("Hello world") == [1, 388, 391])
        #expect(tokenizer.encode("") == [1])
        #expect(tokenizer.encode("Hello world", addSpecial: false) == [388, 391])
        // ï is not a piece: its UTF-8 bytes C3 AF become byte tokens 3 + byte.
        let naive = tokenizer.encode("naïve", addSpecial: false)
        #expect(naive.contains(3 + 0xC3) && naive.contains(3 + 0xAF))
    }

    /// Leading, trailing and repeated spaces, newlines, tabs, Unicode, byte-fallback pieces, the empty string.
    static let roundTripTexts = [
        "", " ", "  ", "\n", "\t", "And I saw", " And I saw", "   three leading", "trailing  ", "a  b   c",
        "line one\nline two\n\n", "\ttab\tseparated\t", "Hello world", "Café au lait, naïve señor — 東京",
        "def add(a, b):\n\treturn a + b", "emoji 😀!", "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}", "naïve", "ñ", " 東",
        "\r\n", "<s> not a control token", "\u{0}nul",
    ]

    @Test(arguments: roundTripTexts)
    func decodeInvertsEncode(text: String) {
        // The space prefix encode adds is not part of the text; neither is BOS.
        #expect(tokenizer.decode(tokenizer.encode(text, addSpecial: false)) == text)
        #expect(tokenizer.decode(tokenizer.encode(text, addSpecial: true)) == text)
        // Per-token bytes from the start of a sequence concatenate to the text.
        let ids = tokenizer.encode(text, addSpecial: true)
        #expect(String(decoding: tokenizer.sequenceBytes(ids).joined(), as: UTF8.self) == text)
    }

    @Test func onlyTheSpacePrefixIsDropped() {
        // "Hello world" is ▁Hello ▁world: the first ▁ is the prefix, the second a real space.
        let ids = tokenizer.encode("Hello world", addSpecial: false)
        #expect(ids.count == 2 && tokenizer.pieceBytes(ids[1]).first == UInt8(ascii: " "))
        #expect(tokenizer.decode(ids) == "Hello world")
        #expect(tokenizer.decode([tokenizer.bosID!] + ids + [tokenizer.eosID!]) == "Hello world")
        // Decoding starts a sequence: ▁world alone is "world", as llama.cpp's detokenize gives.
        #expect(tokenizer.decode(Array(ids.dropFirst())) == "world")
        // Only one space goes: "▁▁" then "I" (two spaces before I in the text after the prefix).
        #expect(tokenizer.decode(tokenizer.encode(" I saw", addSpecial: false)) == " I saw")
        let noPrefix = SentencePieceTokenizer(pieces: tokenizer.pieces, scores: tokenizer.scores, types: tokenizer.types,
                                              bosID: tokenizer.bosID, eosID: tokenizer.eosID, unknownID: tokenizer.unknownID ?? 0,
                                              addBOS: true, addSpacePrefix: false)
        #expect(noPrefix.decode(noPrefix.encode(" x", addSpecial: false)) == " x")
        #expect(noPrefix.decode(ids) == " Hello world")
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
        #expect(tokenizer.decode(ids) == text)
    }
}
