import ArgumentParser
import RotaryModel

extension Bench {
    /// Prompt processing and greedy decoding speed of a GGUF model.
    struct ModelSpeed: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "model")
        @Option(help: "GGUF file.") var model: String
        @Option var promptTokens = 128
        @Option var decodeTokens = 128
        @Option var runs = 3

        func run() throws {
            let llama = try LlamaModel(path: model)
            let c = llama.configuration
            guard promptTokens + decodeTokens <= c.contextLength else {
                throw ValidationError("prompt + decode tokens exceed the context length \(c.contextLength)")
            }
            // A fixed, valid prompt: the tokenizer's own ids for repeated text, cut to length.
            var prompt = llama.tokenizer.encode(String(repeating: "Once upon a time, there was a little robot who loved to read. ", count: 64))
            prompt = Array(prompt.prefix(promptTokens))
            var prefillTime = Double.infinity, decodeTime = Double.infinity
            var generated: [Int] = []
            for _ in 0..<runs {
                var cache = llama.makeCache()
                var logits: [Float] = []
                prefillTime = min(prefillTime, bestTime(runs: 1) { logits = llama.forward(prompt, cache: &cache) })
                generated = []
                decodeTime = min(decodeTime, bestTime(runs: 1) {
                    for _ in 0..<decodeTokens {
                        let next = logits.indices.max { logits[$0] < logits[$1] }!
                        generated.append(next)
                        logits = llama.forward([next], cache: &cache)
                    }
                })
            }
            let weightBytes = Double(llama.weights.parameterCount * 4)
            let decodeRate = Double(decodeTokens) / decodeTime
            print(String(format: "RESULT name=rotary_prompt tokens=%d tokens_per_second=%.1f", prompt.count, Double(prompt.count) / prefillTime))
            print(String(format: "RESULT name=rotary_decode tokens=%d tokens_per_second=%.1f weight_gbps=%.2f parameters=%d",
                         decodeTokens, decodeRate, decodeRate * weightBytes / 1e9, llama.weights.parameterCount))
            print("RESULT name=rotary_greedy first_tokens=\(generated.prefix(8).map(String.init).joined(separator: ","))")
        }
    }
}
