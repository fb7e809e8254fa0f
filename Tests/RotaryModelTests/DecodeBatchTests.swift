import Foundation
import Synchronization
import Testing
import RotaryNumerics
@testable import RotaryModel
import RotaryTestSupport

/// Batched decoding gives every sequence the numbers it gets alone: `TransformerForward.decodeBatch` against one
/// decode step at a time, and `SequenceBatcher` against `TextGenerator.run`, bit for bit.
@Suite struct DecodeBatchTests {
    static let model = try! LlamaModel(path: sharedDirectory().appendingPathComponent("golden/llama/tiny-seed1234.gguf").path)

    /// Fixture models of `scripts/models/fetch.sh`: every architecture (Gemma 3's sliding windows, local RoPE, q/k and
    /// output norms; Qwen2's biases; tied heads) and every kernel family (F32, F16/BF16, 32-value blocks, K-quants).
    static let fixtures = ["llama-q4_1", "llama-q4_k_m", "llama3-tied-f16", "qwen2-q5_0", "gemma3-q4_0"]

    static func load(_ name: String) throws -> LlamaModel {
        name == "tiny" ? model : try LlamaModel(path: try cachedModelFile("fixtures/\(name).gguf").path)
    }

    /// The model's configuration with a scaled RoPE (a request's `rope` override): rows of one step differ in RoPE.
    static func scaled(_ scaling: RoPEScaling, _ model: LlamaModel = model) -> ModelConfiguration {
        let c = model.configuration, own = c.rope
        let rope = try! RoPEConfiguration(headDim: own.headDim, theta: own.theta, layout: own.layout, scaling: scaling,
                                          rotaryDim: own.rotaryDim, maxPositionEmbeddings: c.contextLength)
        return c.with(rope: rope, keepFrequencyFactors: false)
    }

    struct Case {
        var prompt: [Int], fed: [Int], configuration: ModelConfiguration, joinsAt: Int
    }

    static func cases(_ model: LlamaModel) -> [Case] {
        let vocab = model.configuration.vocabularySize
        let configurations = [model.configuration, scaled(.linear(factor: 2), model), scaled(.dynamic(factor: 4), model),
                              scaled(.yarn(YaRNParameters(factor: 4, originalMaxPositionEmbeddings: model.configuration.contextLength)), model)]
        return (0..<5).map { s in
            let prompt = [1] + (0..<(1 + 5 * s)).map { (s * 31 + $0 * 17) % vocab }
            let fed = (0..<(2 + s)).map { (s * 13 + $0 * 29 + 3) % vocab }
            return Case(prompt: prompt, fed: fed, configuration: configurations[s % configurations.count], joinsAt: s % 3)
        }
    }

    /// Each case stepped alone: logits `[vocab]` after its prompt, then after each fed token.
    static func alone(_ c: Case, _ model: LlamaModel) -> [[Float]] {
        var cache = model.makeCache(capacity: c.prompt.count + c.fed.count)
        var steps = [model.forward(c.prompt, cache: &cache, configuration: c.configuration)]
        for token in c.fed { steps.append(model.forward([token], cache: &cache, configuration: c.configuration)) }
        return steps
    }

    @Test(arguments: ["tiny"] + fixtures)
    func batchedStepsEqualSteppingAlone(_ name: String) async throws {
        // On a thread of its own: long synchronous work on the test runner's few cooperative threads would hold up
        // the suites that serve HTTP beside them (their handlers run there), most of all under the sanitizers.
        try await onThread { try Self.checkBatchedSteps(name) }
    }

    static func checkBatchedSteps(_ name: String) throws {
        let model = try Self.load(name)
        let cases = Self.cases(model), vocab = model.configuration.vocabularySize
        let expected = cases.map { Self.alone($0, model) }
        var caches = cases.map { model.makeCache(capacity: $0.prompt.count + $0.fed.count) }
        var got = cases.indices.map { s in [model.forward(cases[s].prompt, cache: &caches[s], configuration: cases[s].configuration)] }
        var sizes: Set<Int> = []
        for step in 0..<20 {
            // Who is in this step, in an order that turns from step to step.
            var rows = cases.indices.filter { s in step >= cases[s].joinsAt && step - cases[s].joinsAt < cases[s].fed.count }
            guard !rows.isEmpty else { continue }
            rows = Array(rows[(step % rows.count)...] + rows[..<(step % rows.count)])
            sizes.insert(rows.count)
            var batchCaches = rows.map { caches[$0] }
            let logits = TransformerForward.decodeBatch(rows.map { cases[$0].configuration }, weights: model.weights,
                                                        tokens: rows.map { cases[$0].fed[step - cases[$0].joinsAt] }, caches: &batchCaches)
            for (r, s) in rows.enumerated() {
                caches[s] = batchCaches[r]
                got[s].append(Array(logits[(r * vocab)..<((r + 1) * vocab)]))
            }
        }
        #expect(sizes.count >= 3, "batch sizes \(sizes.sorted())")
        for s in cases.indices {
            #expect(got[s].count == expected[s].count)
            for (k, (a, b)) in zip(got[s], expected[s]).enumerated() {
                #expect(a.map(\.bitPattern) == b.map(\.bitPattern), "\(name): case \(s) step \(k)")
            }
        }
    }

    /// Jobs of every kind through the batcher at once — greedy and sampled, stops, echo, candidates, a RoPE override,
    /// one cancelled mid-way, one dropped before its turn — each with the outcome it has alone, and each finished once.
    @Test func batcherOutcomesEqualRunningAlone() async throws {
        let model = Self.model
        var jobs: [GenerationJob] = []
        for s in 0..<10 {
            var job = GenerationJob(promptTokens: [1] + (0..<(2 + 3 * s)).map { (s * 7 + $0 * 11) % 250 + 3 }, maxTokens: 6 + 4 * s)
            job.sampling.temperature = s % 2 == 0 ? 0 : 0.9
            job.sampling.seed = UInt64(100 + s)
            job.alternatives = s % 3
            if s == 3 { job.stop = ["e"] }
            if s == 4 { job.echo = true; job.candidates = [(prefixLength: 2, tokens: [5, 6, 7])] }
            if s == 5 { job.configuration = Self.scaled(.linear(factor: 2)) }
            jobs.append(job)
        }
        let cancelAfter = 4, cancelled = 6, dropped = 7
        let jobsToRun = jobs
        let aloneJobs = jobs
        let expected = try await onThread {
            aloneJobs.enumerated().map { s, job in
                var seen = 0
                return TextGenerator(model: model).run(job) { _, _ in
                    seen += 1
                    return s != cancelled || seen < cancelAfter
                }
            }
        }
        let batcher = SequenceBatcher(model: model, limits: .init(maxRunningSequences: 4, kvCacheBytes: 1 << 30))
        let finishes = Counter(), tokens = Counter()
        let outcomes: [GenerationOutcome?] = await withTaskGroup(of: (Int, GenerationOutcome?).self) { group in
            for (s, job) in jobsToRun.enumerated() {
                group.addTask {
                    let seen = Counter()
                    let outcome: GenerationOutcome? = await withCheckedContinuation { continuation in
                        batcher.submit(job, isConnected: { s != dropped }, onToken: { _, _ in
                            tokens.add(1)
                            return s != cancelled || seen.add(1) < cancelAfter
                        }) { outcome in
                            finishes.add(1)
                            continuation.resume(returning: outcome)
                        }
                    }
                    return (s, outcome)
                }
            }
            var all = [GenerationOutcome?](repeating: nil, count: jobs.count)
            for await (s, outcome) in group { all[s] = outcome }
            return all
        }
        #expect(finishes.value == jobs.count)
        #expect(outcomes[dropped] == nil)
        #expect(expected[cancelled].finishReason == .cancelled && outcomes[cancelled]?.finishReason == .cancelled)
        for s in jobs.indices where s != dropped {
            let a = try #require(outcomes[s]), b = expected[s]
            #expect(a.text == b.text, "job \(s)")
            #expect(a.finishReason == b.finishReason, "job \(s)")
            #expect(a.generated == b.generated, "job \(s)")
            #expect(a.generated.map { $0.alternatives.map(\.logprob) } == b.generated.map { $0.alternatives.map(\.logprob) }, "job \(s)")
            #expect(a.promptScores == b.promptScores && a.candidateScores == b.candidateScores, "job \(s)")
        }
        let generated = expected.enumerated().filter { $0.offset != dropped }.reduce(0) { $0 + $1.element.generated.count }
        #expect(tokens.value == generated - expected.filter { $0.finishReason == .stop }.count)   // a stop's token is not announced
        #expect(batcher.counts.running == 0 && batcher.counts.waiting == 0 && batcher.counts.kvCacheBytes == 0)
    }

    /// The KV budget holds under jobs that would pass it together: each step's running caches and kept prompt blocks
    /// stay within it.
    @Test func kvBudgetIsNeverExceeded() async {
        let model = Self.model
        // Forty prompt tokens: two blocks go to the prefix cache, which must fit in what the sequences leave.
        let job = { var job = GenerationJob(promptTokens: [1] + (5..<44), maxTokens: 12); job.sampling.temperature = 0; return job }()
        let batcher0 = SequenceBatcher(model: model)
        let budget = 3 * batcher0.kvCacheBytes(of: job) + 1   // room for three of these at once
        let largest = Counter(), sizes = Counter()
        let batcher = SequenceBatcher(model: model, limits: .init(maxRunningSequences: 8, kvCacheBytes: budget)) { step in
            largest.max(step.kvCacheBytes + step.prefixCacheBytes)
            sizes.max(step.sequences)
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<9 {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        batcher.submit(job, isConnected: { true }, onToken: { _, _ in true }) { _ in continuation.resume() }
                    }
                }
            }
        }
        #expect(largest.value <= budget && largest.value > 0)
        #expect(sizes.value == 3, "at most three fit, and three did run together")
        #expect(batcher.counts.kvCacheBytes == 0)
    }
}

extension DecodeBatchTests {
    /// Shorter prompts go first, but not for ever: a longer prompt queued with sixty shorter ones gets a chunk at
    /// least every `maxStepsPassedOver + 1` steps, and is read well before the last of them (fewest-tokens-left-first
    /// alone would read it last).
    @Test func aLongPromptIsNotStarvedByShortOnes() async {
        let model = Self.model
        let batcher = SequenceBatcher(model: model, limits: .init(maxRunningSequences: 64, promptChunkTokens: 8))
        func job(_ tokens: [Int]) -> GenerationJob {
            var job = GenerationJob(promptTokens: tokens, maxTokens: 1)
            job.sampling.temperature = 0
            return job
        }
        let long = job([1] + (0..<23).map { $0 % 200 + 3 })   // three chunks, against sixty two-chunk prompts
        let shorts = (0..<60).map { s in job([1, s + 3] + (0..<8).map { ($0 * 7 + s) % 200 + 3 }) }
        let finished = Counter(), longPlace = Counter()
        let jobs = [long] + shorts
        // All queued behind exclusive work that waits for the last submission, so that all are in the batch from
        // the first step however the threads are scheduled.
        let queued = DispatchSemaphore(value: 0)
        batcher.exclusive { queued.wait() }
        await withCheckedContinuation { (all: CheckedContinuation<Void, Never>) in
            defer { queued.signal() }
            for (n, j) in jobs.enumerated() {
                batcher.submit(j, isConnected: { true }, onToken: { _, _ in true }) { _ in
                    let place = finished.add(1)
                    if n == 0 { longPlace.add(place) }
                    if place == jobs.count { all.resume() }
                }
            }
        }
        #expect(finished.value == 61)
        #expect(longPlace.value > 0 && longPlace.value < 55, "the long prompt finished \(longPlace.value) of 61")
    }
}

/// A count several threads add to.
final class Counter: Sendable {
    private let state = Atomic<Int>(0)
    var value: Int { state.load(ordering: .acquiring) }
    /// - Returns: the count after adding.
    @discardableResult func add(_ n: Int) -> Int { state.add(n, ordering: .acquiringAndReleasing).newValue }
    func max(_ n: Int) { state.max(n, ordering: .acquiringAndReleasing) }
}
