import Foundation
import ArgumentParser
import RotaryModel

extension Bench {
    /// Encoding speed of a GGUF vocabulary's tokenizer on a text file (no BOS, written special tokens as
    /// text, as llama.cpp's tokenizer tests encode); scripts/bench/tokenizer.py runs llama.cpp beside it.
    struct TokenizerSpeed: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "tokenizer")
        @Option(help: "GGUF file (a vocabulary-only one will do).") var vocabulary: String
        @Option(help: "UTF-8 text file.") var text: String
        @Option var runs = 5
        @Option(help: "Write the ids here, one per line.") var ids: String?

        func run() throws {
            let tokenizer = try TokenizerFactory.make(gguf: GGUFFile(path: vocabulary))
            let data = try Data(contentsOf: URL(fileURLWithPath: text))
            let content = String(decoding: data, as: UTF8.self)
            var tokens: [Int] = []
            let seconds = bestTime(runs: runs) { tokens = tokenizer.encode(content, addSpecial: false, parseSpecial: false) }
            if let ids { try tokens.map(String.init).joined(separator: "\n").appending("\n").write(toFile: ids, atomically: true, encoding: .utf8) }
            let bytes = Double(content.utf8.count)
            print(String(format: "RESULT name=tokenizer_encode bytes=%d tokens=%d seconds=%.4f mb_per_second=%.2f",
                         content.utf8.count, tokens.count, seconds, bytes / seconds / 1e6))
        }
    }
}
