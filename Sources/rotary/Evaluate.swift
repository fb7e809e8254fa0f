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
        let context = llama.configuration.contextLength
        let dataset = TextDataset(text: text, tokenizer: llama.tokenizer, context: context, validationFraction: validationFraction, seed: 0)
        // The windows of /perplexity at the model's context (overlapping by one token, so every held-out token but
        // the first is scored) and the inference forward pass that serves requests.
        let all = ScoringWindows(tokenCount: dataset.validationTokens.count, context: context, stride: context)
        let windows = ScoringWindows(all.windows.prefix(maxWindows))
        let scores = llama.scoreWindows(dataset.validationTokens, windows: windows)!
        let total = scores.reduce(0.0) { $0 - $1.logprob }
        let loss = total / Double(max(scores.count, 1))
        // Characters of the scored part (all of it unless --max-windows cut it), for bits per character.
        let scoredShare = Double(windows.scoredTokens) / Double(max(all.scoredTokens, 1))
        let bpc = total / (Double(dataset.validationCharacters) * scoredShare) / log(2.0)
        print(String(format: "held-out: %d tokens scored, loss %.4f nats/token, %.4f bits/char", scores.count, loss, bpc))
    }
}
