import Foundation
import ArgumentParser
import RotaryModel
import RotaryNumerics
import RotaryTraining

extension Bench {
    /// Prompt processing and greedy decoding speed of a GGUF model.
    struct ModelSpeed: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "model")
        @Option(help: "GGUF file.") var model: String
        @Option var promptTokens = 128
        @Option var decodeTokens = 128
        @Option var runs = 3

        func run() throws {
            _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
            let llama = try LlamaModel(path: model)
            let c = llama.configuration
            guard promptTokens + decodeTokens <= c.contextLength else {
                throw ValidationError("prompt + decode tokens exceed the context length \(c.contextLength)")
            }
            // A fixed prompt any runner can reproduce (scripts/bench/llamacpp_speed.py uses the same ids).
            let prompt = (0..<promptTokens).map { 100 + ($0 * 7919) % (c.vocabularySize - 100) }
            var prefillTime = Double.infinity, decodeTime = Double.infinity
            var generated: [Int] = []
            for _ in 0..<runs {
                var cache = llama.makeCache(capacity: promptTokens + decodeTokens)
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
            let weightBytes = Double(llama.weights.storedBytes)
            let decodeRate = Double(decodeTokens) / decodeTime
            print(String(format: "RESULT name=rotary_prompt tokens=%d tokens_per_second=%.1f", prompt.count, Double(prompt.count) / prefillTime))
            print(String(format: "RESULT name=rotary_decode tokens=%d tokens_per_second=%.1f weight_gbps=%.2f parameters=%d",
                         decodeTokens, decodeRate, decodeRate * weightBytes / 1e9, llama.weights.parameterCount))
            print("RESULT name=rotary_greedy first_tokens=\(generated.prefix(8).map(String.init).joined(separator: ","))")
            print("RESULT name=rotary_memory peak_rss_kb=\(peakResidentKilobytes())")
        }
    }
}

extension Bench {
    /// Training throughput on issue 7's configuration: dim 256, 6 layers, 8 heads, vocabulary 1024,
    /// context 256, batch 16 (≈ 5.1M parameters), random tokens.
    struct TrainingSpeed: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "train")
        @Option var steps = 3

        func run() throws {
            _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
            LargeBlockMemory.keepLargeBlocks()   // as rotary train does
            let rope = try RoPEConfiguration(headDim: 32, theta: 10_000, layout: .interleaved, maxPositionEmbeddings: 256)
            let c = ModelConfiguration(dim: 256, layers: 6, heads: 8, kvHeads: 8, feedForwardDim: 688, contextLength: 256,
                                       vocabularySize: 1024, rmsEpsilon: 1e-5, rope: rope)
            var parameters = TrainingParameters(configuration: c, tiedOutput: true, seed: 1)
            var optimizer = AdamW(like: parameters)
            var generator = SplitMix64(seed: 2)
            func batch() -> TrainingBatch {
                let rows = (0..<16).map { _ in (0...256).map { _ in Int(generator.next() % 1024) } }
                return TrainingBatch(inputs: rows.map { Array($0.dropLast()) }, targets: rows.map { Array($0.dropFirst()) })
            }
            var best = Double.infinity
            for _ in 0..<steps {
                let b = batch()
                let seconds = bestTime(runs: 1) {
                    var (_, gradients) = Trainer.parallelLossAndGradients(parameters, b)
                    GradientClipping.clip(&gradients, maxNorm: 1)
                    optimizer.update(&parameters, gradients: gradients, learningRate: 1e-3)
                }
                best = min(best, seconds)
            }
            print(String(format: "RESULT name=rotary_train parameters=%d tokens_per_second=%.1f step_seconds=%.3f",
                         parameters.parameterCount, Double(16 * 256) / best, best))
        }
    }
}

extension Bench {
    /// The same `/generate` job as the HTTP benchmark sends, run in process: the baseline that the
    /// HTTP + JSON overhead is measured against.
    struct GenerateInProcess: ParsableCommand {
        static let configuration = CommandConfiguration(commandName: "generate")
        @Option(help: "GGUF file.") var model: String
        @Option var prompt = "In the beginning"
        @Option var tokens = 32
        @Option var requests = 50

        func run() throws {
            _ = try configureNumerics(threads: nil)   // ROTARY_COMPUTE_THREADS (else the CPUs this process may use), ROTARY_KERNELS
            let llama = try LlamaModel(path: model)
            var job = GenerationJob(promptTokens: llama.tokenizer.encode(prompt), maxTokens: tokens)
            job.sampling.temperature = 0
            let generator = TextGenerator(model: llama)
            var times: [Double] = []
            for _ in 0..<requests { times.append(bestTime(runs: 1) { _ = generator.run(job) }) }
            times.sort()
            print(String(format: "RESULT name=generate_in_process p50_ms=%.3f p99_ms=%.3f", times[times.count / 2] * 1e3,
                         times[min(times.count - 1, Int(Double(times.count) * 0.99))] * 1e3))
        }
    }
}

/// The process's peak resident set (VmHWM), in kB.
func peakResidentKilobytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return 0 }
    return Int(line.split(separator: " ")[1]) ?? 0
}
