import ArgumentParser
import Foundation
import RotaryModel
import RotaryService

/// `rotary logits`: token ids and next-token logits of a model for a prompt, as JSON — what
/// `make crosscheck` compares with llama.cpp.
struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a model's tokens and last-position logits for a prompt (JSON).")

    @Option(help: "GGUF file (default: the embedded model).") var model: String?
    @Option(help: "Prompt text (BOS is added as the model says).") var prompt: String?
    @Option(help: "Token ids instead of a prompt, comma-separated (nothing added).") var tokens: String?
    @Flag(help: "Logits of every position ([tokens][vocab]), not only the last.") var allPositions = false
    @Flag(help: "Run the tokens one at a time, as decoding does (with --all-positions: every step's logits).") var oneAtATime = false
    @Flag(help: "Keep activations in float in every product (no 8-bit rounding in the quantized kernels).") var exactActivations = false

    func run() throws {
        _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
        let llama = try model.map { try LlamaModel(path: $0, exactActivations: exactActivations) } ?? EmbeddedModel.load()
        guard let llama else { throw ValidationError("no --model given and no embedded model is shipped") }
        let tokens: [Int]
        switch (prompt, self.tokens) {
        case (let text?, nil): tokens = llama.tokenizer.encode(text)
        case (nil, let list?):
            let ids = list.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !ids.isEmpty, ids.allSatisfy({ $0 != nil && $0! >= 0 && $0! < llama.configuration.vocabularySize }) else {
                throw ValidationError("--tokens must be comma-separated ids below \(llama.configuration.vocabularySize)")
            }
            tokens = ids.map { $0! }
        default: throw ValidationError("give --prompt or --tokens (one of them)")
        }
        guard tokens.count <= llama.configuration.contextLength else {
            throw ValidationError("\(tokens.count) tokens is over the context of \(llama.configuration.contextLength)")
        }
        var cache = llama.makeCache(capacity: tokens.count)
        var logits: [Float] = []
        if oneAtATime {
            for (i, token) in tokens.enumerated() {
                let step = llama.forward([token], cache: &cache)
                if allPositions || i == tokens.count - 1 { logits += step }
            }
        } else {
            logits = llama.forward(tokens, cache: &cache, allLogits: allPositions)
        }
        let object: [String: Any] = ["tokens": tokens, "logits": logits.map(Double.init)]
        FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: object))
        print()
    }
}
