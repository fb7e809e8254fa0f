import Foundation
import Testing
import RotaryTestSupport
@testable import RotaryModel

/// The byte-level BPE tokenizer on a real model's vocabulary (SmolLM2, pre-tokenizer `smollm`) against
/// llama.cpp, on small vocabularies built here (merge order, `ignore_merges`), and on bad files.
@Suite struct BytePairTokenizerTests {
    static func smolLM2() throws -> BytePairTokenizer {
        try BytePairTokenizer(gguf: GGUFFile(path: cachedModelFile("SmolLM2-135M-Instruct.Q4_1.gguf").path))
    }

    @Test func smolLM2MatchesLlamaCpp() throws {
        let tokenizer = try Self.smolLM2()
        #expect(tokenizer.preTokenizerName == "smollm" && tokenizer.vocabularySize == 49152)
        let cases = LlamaCppTokenizerFixture.shared.smollm2
        #expect(cases.count >= 40)
        for c in cases {
            let label = "\(c.text.debugDescription) add_special \(c.addSpecial) parse_special \(c.parseSpecial)"
            #expect(tokenizer.encode(c.text, addSpecial: c.addSpecial, parseSpecial: c.parseSpecial) == c.ids, "\(label): encoded")
            #expect(tokenizer.decode(c.ids) == c.decoded, "\(label): decoded")
        }
    }

    @Test func chatMarkersAreOneTokenOnlyWhenParsed() throws {
        let tokenizer = try Self.smolLM2()
        let start = try #require(tokenizer.pieces.firstIndex(of: "<|im_start|>"))
        #expect(tokenizer.tokenType(start) == .control)
        let parsed = tokenizer.encode("<|im_start|>user", addSpecial: false, parseSpecial: true)
        #expect(parsed == [start] + tokenizer.encode("user", addSpecial: false, parseSpecial: false))
        let plain = tokenizer.encode("<|im_start|>user", addSpecial: false, parseSpecial: false)
        #expect(plain.count > 3 && !plain.contains(start))
        #expect(tokenizer.decode(plain) == "<|im_start|>user")
        // A control token prints nothing; its piece is still the vocabulary entry.
        #expect(tokenizer.decode(parsed) == "user" && tokenizer.piece(start) == "<|im_start|>")
        #expect(tokenizer.special.eos == 2 && tokenizer.special.endOfGeneration.contains(2) && !tokenizer.addBOS)
        #expect(tokenizer.piece(tokenizer.encode(" Hello", addSpecial: false)[0]) == "ĠHello")
    }

    /// Byte-level BPE loses nothing: any text comes back (SmolLM2 does not clean up spaces).
    @Test func anyTextRoundTrips() throws {
        let tokenizer = try Self.smolLM2()
        var generator = SystemRandomNumberGenerator()
        let alphabet: [ClosedRange<UInt32>] = [0x20...0x7E, 0x09...0x0D, 0xA0...0x17F, 0x391...0x3C9, 0x4E00...0x4E80,
                                               0x1F600...0x1F64F, 0x2000...0x200D, 0x0300...0x036F, 0x0660...0x0669]
        for _ in 0..<200 {
            var scalars = String.UnicodeScalarView()
            for _ in 0..<Int.random(in: 0...40, using: &generator) {
                let range = alphabet.randomElement(using: &generator)!
                scalars.append(Unicode.Scalar(UInt32.random(in: range, using: &generator))!)
            }
            let text = String(scalars)
            #expect(tokenizer.decode(tokenizer.encode(text, addSpecial: false)) == text, "\(text.debugDescription)")
            #expect(String(decoding: tokenizer.sequenceBytes(tokenizer.encode(text)).joined(), as: UTF8.self) == text)
        }
    }

    /// The merger's scan (short words) and heap (long words) merge alike.
    @Test func scanAndHeapMergeAlike() throws {
        let tokenizer = try Self.smolLM2()
        let words = ["internationalization", "aaaaaaaaaaaaaaaaaaaaaaaaa", "ĠĠĠĠĠĠĠĠ", "Mississippi", "abababababababab",
                     String(repeating: "the", count: 30), "😀😀😀😀😀", "x", "reallyreallyreallylongword"]
        for word in words {
            let bytes = Array(word.utf8)
            var scanning = BytePairMerger(), heaping = BytePairMerger()
            scanning.scanLimit = .max
            heaping.scanLimit = 0
            var a: [Int] = [], b: [Int] = []
            bytes.withUnsafeBufferPointer { w in
                tokenizer.byteIDs.withUnsafeBufferPointer { ids in
                    scanning.merge(w, byteIDs: ids, rules: tokenizer.rules, into: &a) { _, _ in }
                    heaping.merge(w, byteIDs: ids, rules: tokenizer.rules, into: &b) { _, _ in }
                }
            }
            #expect(a == b, "\(word)")
            #expect(a.flatMap(tokenizer.pieceBytes) == bytes)
        }
    }

    // MARK: Small vocabularies

    /// A gpt2 vocabulary: tokens are strings of GPT-2's byte alphabet.
    static func vocabulary(tokens: [String], merges: [String]?, pre: String? = "gpt-2", model: String = "gpt2",
                           types: [Int32]? = nil, bos: Int? = nil) throws(GGUFError) -> GGUFFile {
        var writer = GGUFWriter()
        if let bos { writer.add("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos))) }
        writer.add("tokenizer.ggml.model", .string(model))
        if let pre { writer.add("tokenizer.ggml.pre", .string(pre)) }
        writer.add("tokenizer.ggml.tokens", .array(elementType: .string, tokens.map(GGUFValue.string)))
        if let types { writer.add("tokenizer.ggml.token_type", .array(elementType: .int32, types.map(GGUFValue.int32))) }
        if let merges { writer.add("tokenizer.ggml.merges", .array(elementType: .string, merges.map(GGUFValue.string))) }
        return try GGUFFile(bytes: GGUFBytes(writer.bytes()))
    }

    static func make(_ tokens: [String], _ merges: [String]?, pre: String? = "gpt-2", types: [Int32]? = nil,
                     bos: Int? = nil) throws -> any Tokenizer {
        try TokenizerFactory.make(gguf: vocabulary(tokens: tokens, merges: merges, pre: pre, types: types, bos: bos))
    }

    @Test func lowestRankMergesFirst() throws {
        let tokens = ["a", "b", "c", "ab", "bc", "abc"]
        // "b c" before "a b": abc is a + bc, then abc.
        #expect(try Self.make(tokens, ["b c", "a b", "a bc"]).encode("abc", addSpecial: false) == [5])
        // "a b" first: ab + c, and no rule joins them.
        #expect(try Self.make(tokens, ["a b", "b c", "a bc"]).encode("abc", addSpecial: false) == [3, 2])
        // Equal pairs: the leftmost merges first.
        let repeated = try Self.make(["a", "aa"], ["a a"])
        #expect(repeated.encode("aaa", addSpecial: false) == [1, 0])
        #expect(repeated.encode("aaaa", addSpecial: false) == [1, 1])
    }

    /// Llama 3's `ignore_merges`: a word that is a token is that token, whatever the merges say.
    @Test func ignoreMergesTakesWholeWords() throws {
        let tokens = ["a", "b", "c", "abc", "<|begin_of_text|>"]
        let llama3 = try Self.make(tokens, ["a b"], pre: "llama-bpe", bos: 4)
        #expect(llama3.encode("abc", addSpecial: false) == [3])
        #expect(try Self.make(tokens, ["a b"], pre: "gpt-2").encode("abc", addSpecial: false) == [0, 1, 2])
        // Llama 3 adds BOS by default, so it must have one.
        #expect(llama3.encode("abc") == [4, 3] && llama3.addBOS)
        let error = #expect(throws: GGUFError.self) { try Self.make(tokens, ["a b"], pre: "llama-bpe") }
        #expect(error?.message.contains("tokenizer.ggml.add_bos_token") == true)
    }

    @Test func userDefinedTokensAreAlwaysWhole() throws {
        // "ab" is user-defined (4), "<c>" control (3).
        let tokenizer = try Self.make(["a", "b", "ab", "<", "c", ">", "<c>"], [], types: [1, 1, 4, 1, 1, 1, 3])
        #expect(tokenizer.encode("bab", addSpecial: false) == [1, 2])
        #expect(tokenizer.encode("<c>", addSpecial: false, parseSpecial: false) == [3, 4, 5])
        #expect(tokenizer.encode("<c>", addSpecial: false, parseSpecial: true) == [6])
        #expect(tokenizer.decode([2, 6, 0]) == "aba")
    }

    // MARK: Bad files

    @Test func unknownTokenizerModelIsNamed() throws {
        let error = #expect(throws: GGUFError.self) {
            try TokenizerFactory.make(gguf: Self.vocabulary(tokens: ["a"], merges: [], model: "bert"))
        }
        #expect(error?.message.contains("tokenizer.ggml.model 'bert'") == true, "\(String(describing: error))")
    }

    @Test func unknownPreTokenizerIsNamed() throws {
        let error = #expect(throws: GGUFError.self) { try Self.make(["a", "b"], ["a b"], pre: "no-such-pre") }
        #expect(error?.message.contains("tokenizer.ggml.pre 'no-such-pre'") == true, "\(String(describing: error))")
        // No key at all is llama.cpp's `default`.
        #expect(try Self.make(["a", "b", "ab"], ["a b"], pre: nil).encode("ab", addSpecial: false) == [2])
    }

    @Test func missingMergesAreNamed() throws {
        let error = #expect(throws: GGUFError.self) { try Self.make(["a", "b"], nil) }
        #expect(error?.message == "tokenizer.ggml.merges is missing")
    }

    @Test func mergeOfAnUnknownTokenIsNamed() throws {
        let error = #expect(throws: GGUFError.self) { try Self.make(["a", "b", "ab"], ["a b", "a z"]) }
        #expect(error?.message.contains("tokenizer.ggml.merges[1] 'a z' names 'z'") == true, "\(String(describing: error))")
        let malformed = #expect(throws: GGUFError.self) { try Self.make(["a", "b", "ab"], ["ab"]) }
        #expect(malformed?.message.contains("tokenizer.ggml.merges[0] 'ab' is not two tokens") == true)
    }

    @Test func badTokenTypesAndIdsAreNamed() throws {
        let types = #expect(throws: GGUFError.self) { try Self.make(["a", "b"], [], types: [1]) }
        #expect(types?.message.contains("tokenizer.ggml.token_type has 1 entries for 2 tokens") == true)
        var writer = GGUFWriter()
        writer.add("tokenizer.ggml.model", .string("gpt2"))
        writer.add("tokenizer.ggml.tokens", .array(elementType: .string, [.string("a")]))
        writer.add("tokenizer.ggml.merges", .array(elementType: .string, []))
        writer.add("tokenizer.ggml.eos_token_id", .uint32(7))
        let id = #expect(throws: GGUFError.self) { try TokenizerFactory.make(gguf: GGUFFile(bytes: GGUFBytes(writer.bytes()))) }
        #expect(id?.message == "tokenizer.ggml.eos_token_id is not a token id")
    }
}
