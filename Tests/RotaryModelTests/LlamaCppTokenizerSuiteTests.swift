import Foundation
import Testing
import RotaryTestSupport
@testable import RotaryModel

/// llama.cpp's own tokenizer answers (scripts/models/make_tokenizer_fixture.py, run against llama.cpp
/// through the xllamacpp wheel).
struct LlamaCppTokenizerFixture: @unchecked Sendable {
    struct Case { let text: String; let addSpecial: Bool; let parseSpecial: Bool; let ids: [Int]; let decoded: String }
    /// Per suite: its case count and, by case index, the text llama.cpp decodes where it is not the input.
    let suites: [String: (cases: Int, decodedOtherwise: [Int: String])]
    let special: [String: [Case]]
    let smollm2: [Case]

    static let shared = try! LlamaCppTokenizerFixture()

    init() throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/tokenizer-llamacpp.json")
        let root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        func cases(_ any: Any?) -> [Case] {
            (any as! [[String: Any]]).map {
                Case(text: $0["text"] as! String, addSpecial: $0["add_special"] as! Bool, parseSpecial: $0["parse_special"] as! Bool,
                     ids: $0["ids"] as! [Int], decoded: $0["decoded"] as! String)
            }
        }
        suites = (root["suites"] as! [String: [String: Any]]).mapValues { suite in
            (suite["cases"] as! Int, Dictionary(uniqueKeysWithValues: (suite["decoded_otherwise"] as! [String: String]).map { (Int($0.key)!, $0.value) }))
        }
        special = (root["special"] as! [String: Any]).mapValues(cases)
        smollm2 = cases(root["smollm2"])
    }
}

/// llama.cpp's tokenizer suites (`models/ggml-vocab-NAME.gguf` with `.inp` / `.out`): every string encodes
/// (no BOS, written special tokens as text) to exactly llama.cpp's ids, and decodes back to the input
/// wherever llama.cpp's decode does — everywhere except where a vocabulary cleans up spaces (Hugging Face's
/// `clean_up_tokenization_spaces`: ` ?` → `?`), where it must give llama.cpp's text.
@Suite(.serialized) struct LlamaCppTokenizerSuiteTests {
    static let vocabularies = ["llama-bpe", "qwen2", "gpt-2", "starcoder", "refact", "deepseek-llm", "deepseek-coder",
                               "falcon", "mpt", "command-r", "llama-spm", "phi-3"]

    static func tokenizer(_ name: String) throws -> any Tokenizer {
        try TokenizerFactory.make(gguf: GGUFFile(path: cachedModelFile("vocab/ggml-vocab-\(name).gguf").path))
    }

    /// The suite's strings ("\n__ggml_vocab_test__\n" after each) and id lines (one per string, ids
    /// space-separated, an empty line for no ids), as llama.cpp's test-tokenizer-0 reads them.
    static func suite(_ name: String) throws -> [(text: String, ids: [Int])] {
        let input = try String(contentsOf: cachedModelFile("vocab/ggml-vocab-\(name).gguf.inp"), encoding: .utf8)
        let output = try String(contentsOf: cachedModelFile("vocab/ggml-vocab-\(name).gguf.out"), encoding: .utf8)
        var texts = input.components(separatedBy: "\n__ggml_vocab_test__\n")
        if texts.last == "" { texts.removeLast() }
        let lines = output.components(separatedBy: "\n")
        return texts.enumerated().map { index, text in
            (text, lines[index].split(separator: " ").map { Int($0)! })
        }
    }

    @Test(arguments: vocabularies)
    func encodesAndDecodesAsLlamaCpp(name: String) throws {
        let tokenizer = try Self.tokenizer(name)
        let cases = try Self.suite(name)
        let expected = try #require(LlamaCppTokenizerFixture.shared.suites[name])
        #expect(cases.count == expected.cases && cases.count == 46)
        var encoded = 0, decoded = 0
        for (index, c) in cases.enumerated() {
            let ids = tokenizer.encode(c.text, addSpecial: false, parseSpecial: false)
            #expect(ids == c.ids, "\(name) case \(index) \(c.text.debugDescription): encoded")
            let text = tokenizer.decode(c.ids)
            let reference = expected.decodedOtherwise[index] ?? c.text
            #expect(text == reference, "\(name) case \(index): decoded")
            encoded += ids == c.ids ? 1 : 0
            decoded += text == reference ? 1 : 0
        }
        print("tokenizer suite \(name): \(encoded)/\(cases.count) encoded as llama.cpp, \(decoded)/\(cases.count) decoded as llama.cpp, "
              + "\(cases.count - expected.decodedOtherwise.count) round-trip")
    }

    /// Control and user-defined tokens written in the text: control ones become their ids only when
    /// parsing special tokens, user-defined ones always; BOS / EOS as the vocabulary's flags say.
    @Test(arguments: vocabularies)
    func specialTokensAsLlamaCpp(name: String) throws {
        let tokenizer = try Self.tokenizer(name)
        let cases = try #require(LlamaCppTokenizerFixture.shared.special[name])
        #expect(cases.count >= 8)
        for c in cases {
            let label = "\(name) \(c.text.debugDescription) add_special \(c.addSpecial) parse_special \(c.parseSpecial)"
            #expect(tokenizer.encode(c.text, addSpecial: c.addSpecial, parseSpecial: c.parseSpecial) == c.ids, "\(label): encoded")
            #expect(tokenizer.decode(c.ids) == Self.rotaryDecoding(c.decoded, ids: c.ids, tokenizer), "\(label): decoded")
        }
    }

    /// What Rotary's decode gives where llama.cpp's gives `text`. They differ in one place: a SentencePiece
    /// decode drops the space prefix its encoding added even when the ids start with a token that prints
    /// nothing (BOS, a control token), so `decode(encode(s, addSpecial: true)) == s`; llama.cpp strips
    /// only the first token's space, and keeps the prefix after BOS.
    static func rotaryDecoding(_ text: String, ids: [Int], _ tokenizer: any Tokenizer) -> String {
        guard tokenizer.model == "llama", let first = ids.first, tokenizer.pieceBytes(first).isEmpty, text.hasPrefix(" ") else { return text }
        return String(text.dropFirst())
    }
}
