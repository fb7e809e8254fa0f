import ArgumentParser
import Foundation
import RotaryModel
import RotaryService
import RotaryTraining

/// `rotary evaluate`: a model's loss and bits per character on the held-out end of a corpus.
struct Evaluate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Held-out loss and bits per character of a GGUF model on a corpus.")

    @Option(help: "GGUF file (default: the embedded model).") var model: String?
    @Option(help: "UTF-8 text; its last --validation-fraction is scored.") var corpus: String
    @Option(help: "Held-out share (the end of the text).") var validationFraction = 0.05
    @Option(help: "Score at most this many windows of the model's context.") var maxWindows = 1_000_000

    func run() throws {
        _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
        guard let llama = try model.map({ try LlamaModel(path: $0) }) ?? EmbeddedModel.load() else {
            throw ValidationError("no --model given and no embedded model is shipped")
        }
        let text = try String(contentsOfFile: corpus, encoding: .utf8)
        let context = llama.configuration.contextLength, vocab = llama.configuration.vocabularySize
        let dataset = TextDataset(text: text, tokenizer: llama.tokenizer, context: context, validationFraction: validationFraction, seed: 0)
        // The inference forward pass (the one that serves requests), every position's logits per window.
        var total = 0.0, count = 0
        for batch in dataset.validationBatches(rows: 8, maxRows: maxWindows) {
            for (inputs, targets) in zip(batch.inputs, batch.targets) {
                var cache = llama.makeCache(capacity: inputs.count)
                let logits = llama.forward(inputs, cache: &cache, allLogits: true)
                for (t, target) in targets.enumerated() {
                    let row = logits[(t * vocab)..<((t + 1) * vocab)]
                    total += Sampler.logSumExp(row) - Double(row[row.startIndex + target])
                }
                count += targets.count
            }
        }
        let loss = total / Double(max(count, 1))
        // Characters per scored token on the held-out text, for bits per character.
        let bpc = loss * Double(dataset.validationTokens.count) / Double(dataset.validationCharacters) / log(2.0)
        print(String(format: "held-out: %d tokens scored, loss %.4f nats/token, %.4f bits/char", count, loss, bpc))
    }
}
