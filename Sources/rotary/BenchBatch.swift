import ArgumentParser
import RotaryModel
import RotaryNumerics
import RotaryService

extension Bench {
    /// Batched decoding without HTTP: decode steps of `batch` sequences at once (`TransformerForward.decodeBatch`),
    /// each after its own short prompt, for every batch size asked; tokens per second over all sequences.
    struct BatchedDecode: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "batch")
        @Option(help: "GGUF file (default: the shipped model).") var model: String?
        @Option(help: "Batch sizes, comma-separated.") var batches = "1,2,4,8"
        @Option var promptTokens = 32
        @Option var decodeTokens = 32
        @Option var runs = 3

        func run() throws {
            _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
            guard let llama = try model.map({ try LlamaModel(path: $0) }) ?? EmbeddedModel.load() else {
                throw ValidationError("no --model and no shipped model")
            }
            let c = llama.configuration
            let sizes = batches.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
            guard !sizes.isEmpty else { throw ValidationError("--batches: positive sizes, comma-separated") }
            for size in sizes {
                // Prompts differing per sequence, as clients' do.
                let prompts = (0..<size).map { s in (0..<promptTokens).map { 100 + ($0 * 7919 + s * 104_729) % (c.vocabularySize - 100) } }
                var best = Double.infinity
                for _ in 0..<runs {
                    var caches = prompts.map { _ in llama.makeCache(capacity: promptTokens + decodeTokens) }
                    for s in 0..<size { _ = llama.forward(prompts[s], cache: &caches[s]) }
                    let tokens = (0..<size).map { 100 + $0 }
                    let configurations = [ModelConfiguration](repeating: c, count: size)
                    best = min(best, bestTime(runs: 1) {
                        for _ in 0..<decodeTokens {
                            _ = TransformerForward.decodeBatch(configurations, weights: llama.weights, tokens: tokens, caches: &caches)
                        }
                    })
                }
                print(String(format: "RESULT name=batched_decode batch=%d tokens_per_second=%.1f step_ms=%.3f",
                             size, Double(size * decodeTokens) / best, best / Double(decodeTokens) * 1e3))
            }
        }
    }
}
