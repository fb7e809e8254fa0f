import ArgumentParser
import Foundation
import RotaryModel
import RotaryService

/// `rotary logits`: token ids and next-token logits of a model for a prompt, as JSON — what
/// `make crosscheck` compares with llama.cpp.
struct Logits: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a model's tokens and last-position logits for a prompt (JSON).")

    @Option(help: "GGUF file (default: the embedded model).") var model: String?
    @Option(help: "Prompt text (BOS is added as the model says).") var prompt: String

    func run() throws {
        _ = try configureComputeThreads(nil)   // ROTARY_COMPUTE_THREADS, else the CPUs this process may use
        let llama = try model.map { try LlamaModel(path: $0) } ?? EmbeddedModel.load()
        guard let llama else { throw ValidationError("no --model given and no embedded model is shipped") }
        let tokens = llama.tokenizer.encode(prompt)
        var cache = llama.makeCache()
        let logits = llama.forward(tokens, cache: &cache)
        let object: [String: Any] = ["tokens": tokens, "logits": logits.map(Double.init)]
        FileHandle.standardOutput.write(try JSONSerialization.data(withJSONObject: object))
        print()
    }
}
