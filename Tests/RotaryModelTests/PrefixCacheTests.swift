import Foundation
import Testing
import RotaryNumerics
@testable import RotaryModel
import RotaryTestSupport

/// Prompt blocks kept by the batcher give later prompts that begin alike the numbers they get read afresh, alone:
/// prompt scores (echo, alternatives), candidates, sampled text; a RoPE override never meets another's blocks; the
/// least recently used block goes first and the budget holds.
@Suite struct PrefixCacheTests {
    static let model = DecodeBatchTests.model
    /// Blocks of 16 here (not the default), so the counts below are whole blocks of these prompts.
    static let chunk = 16

    /// Jobs sharing a 40-token beginning (two and a half 16-token blocks) with different ends and kinds.
    static func jobs() -> [GenerationJob] {
        let shared = [1] + (0..<39).map { ($0 * 37 + 11) % 250 + 3 }
        return (0..<8).map { s in
            var job = GenerationJob(promptTokens: shared + (0..<(1 + 3 * s)).map { (s * 13 + $0 * 7) % 250 + 3 }, maxTokens: 4 + s)
            job.sampling.temperature = s % 2 == 0 ? 0 : 0.8
            job.sampling.seed = UInt64(7 + s)
            job.alternatives = [0, 1, 3, 20][s % 4]
            job.echo = s % 3 != 2
            if s == 5 { job.candidates = [(prefixLength: 20, tokens: [9, 8, 7]), (prefixLength: 44, tokens: [4])] }
            if s == 6 { job.configuration = DecodeBatchTests.scaled(.linear(factor: 2)) }
            if s == 7 { job.maxTokens = 0 }   // scoring only, as lm-evaluation-harness asks
            return job
        }
    }

    static func expectSame(_ a: GenerationOutcome, _ b: GenerationOutcome, _ label: String) {
        #expect(a.text == b.text && a.finishReason == b.finishReason, "\(label)")
        #expect(a.generated == b.generated, "\(label)")
        #expect(a.promptScores == b.promptScores, "\(label)")
        #expect(a.promptScores.map { $0.alternatives.map(\.logprob) } == b.promptScores.map { $0.alternatives.map(\.logprob) }, "\(label)")
        #expect(a.promptScores.map(\.logprob) == b.promptScores.map(\.logprob), "\(label)")
        #expect(a.candidateScores == b.candidateScores, "\(label)")
        #expect(a.candidateScores.map { $0.map(\.logprob) } == b.candidateScores.map { $0.map(\.logprob) }, "\(label)")
    }

    static func submit(_ batcher: SequenceBatcher, _ job: GenerationJob) async -> GenerationOutcome? {
        await withCheckedContinuation { continuation in
            batcher.submit(job, isConnected: { true }, onToken: { _, _ in true }) { continuation.resume(returning: $0) }
        }
    }

    @Test func warmCacheGivesTheOutcomesOfReadingAfresh() async throws {
        let model = Self.model, jobs = Self.jobs()
        let expected = try await onThread { jobs.map { TextGenerator(model: model).run($0, promptChunkTokens: Self.chunk) } }
        let batcher = SequenceBatcher(model: model, limits: .init(maxRunningSequences: 8, promptChunkTokens: Self.chunk))
        let cache = try #require(batcher.prefixCache)
        // One after another: each finds the blocks of those before it.
        for (s, job) in jobs.enumerated() {
            let outcome = try #require(await Self.submit(batcher, job))
            Self.expectSame(outcome, expected[s], "job \(s), one after another")
        }
        let warm = cache.counts
        #expect(warm.hitTokens >= 16 * 2 * 5, "most jobs take two blocks: \(warm)")
        #expect(warm.blocks > 0 && warm.bytes > 0)
        // All at once, on the warm cache, twice over: the same again.
        let again = await withTaskGroup(of: (Int, GenerationOutcome?).self) { group in
            for (s, job) in (jobs + jobs).enumerated() { group.addTask { (s, await Self.submit(batcher, job)) } }
            var all = [GenerationOutcome?](repeating: nil, count: 2 * jobs.count)
            for await (s, outcome) in group { all[s] = outcome }
            return all
        }
        for (s, outcome) in again.enumerated() {
            Self.expectSame(try #require(outcome), expected[s % jobs.count], "job \(s % jobs.count), together on a warm cache")
        }
        #expect(cache.counts.hitTokens > warm.hitTokens)
    }

    /// The same tokens under two RoPEs: each job reads with its own rotation, whichever ran first.
    @Test func aRoPEOverrideNeverMeetsAnotherRotation() async throws {
        let model = Self.model
        var plain = GenerationJob(promptTokens: [1] + (0..<47).map { $0 % 200 + 3 }, maxTokens: 3)
        plain.sampling.temperature = 0
        plain.echo = true
        var scaled = plain
        scaled.configuration = DecodeBatchTests.scaled(.linear(factor: 4))
        var dynamic = plain
        dynamic.configuration = DecodeBatchTests.scaled(.dynamic(factor: 4))
        var dynamicLonger = dynamic   // `dynamic` rotates by the prompt's length: a longer prompt, other blocks
        dynamicLonger.promptTokens += [5, 6, 7]
        let jobs = [plain, scaled, dynamic, dynamicLonger]
        let expected = try await onThread { jobs.map { TextGenerator(model: model).run($0, promptChunkTokens: Self.chunk) } }
        #expect(expected[0].promptScores.map(\.logprob) != expected[1].promptScores.map(\.logprob))
        let batcher = SequenceBatcher(model: model, limits: .init(promptChunkTokens: Self.chunk))
        for (s, job) in jobs.enumerated() {
            Self.expectSame(try #require(await Self.submit(batcher, job)), expected[s], "job \(s)")
        }
        #expect(batcher.prefixCache!.counts.hitTokens == 0)
        Self.expectSame(try #require(await Self.submit(batcher, scaled)), expected[1], "scaled again")
        #expect(batcher.prefixCache!.counts.hitTokens == 32)
    }

    /// Blocks go least recently used first, a continuation before its prefix, and never past the room given.
    @Test func leastRecentlyUsedGoesFirst() throws {
        let cache = PrefixCache(blockTokens: 2)
        let variant = PrefixCache.Variant(configuration: Self.model.configuration, promptLength: 8)
        func block() -> PrefixCache.Block { PrefixCache.Block(keys: [Float](repeating: 1, count: 100), values: [Float](repeating: 2, count: 100)) }
        let size = block().bytes
        let a = try #require(cache.store(.init(parent: 0, tokens: [1, 2], variant: variant), block(), roomBytes: 10 * size))
        let b = try #require(cache.store(.init(parent: a, tokens: [3, 4], variant: variant), block(), roomBytes: 10 * size))
        let c = try #require(cache.store(.init(parent: 0, tokens: [9, 9], variant: variant), block(), roomBytes: 10 * size))
        #expect(cache.counts.blocks == 3 && cache.counts.bytes == 3 * size)
        // Using b uses a: c is now the oldest.
        #expect(cache.lookup(.init(parent: a, tokens: [3, 4], variant: variant), needsScores: false)?.id == b)
        #expect(cache.lookup(.init(parent: a, tokens: [3, 4], variant: variant), needsScores: true) == nil, "read without scores")
        _ = try #require(cache.store(.init(parent: b, tokens: [5, 6], variant: variant), block(), roomBytes: 3 * size))
        #expect(cache.lookup(.init(parent: 0, tokens: [9, 9], variant: variant), needsScores: false) == nil, "c evicted")
        #expect(cache.counts.evictions == 1 && cache.counts.bytes == 3 * size)
        _ = c
        // Room for one: the chain goes from its end, so what stays is a prefix that can still be found.
        cache.shrink(to: size)
        #expect(cache.counts.blocks == 1)
        #expect(cache.lookup(.init(parent: 0, tokens: [1, 2], variant: variant), needsScores: false)?.id == a)
        // A continuation that does not fit leaves its prefix alone (without it, it could never be found).
        #expect(cache.store(.init(parent: a, tokens: [7, 7], variant: variant), block(), roomBytes: size) == nil, "no room")
        #expect(cache.counts.blocks == 1 && cache.counts.evictions == 3)
        // Another beginning takes the room.
        #expect(cache.store(.init(parent: 0, tokens: [8, 8], variant: variant), block(), roomBytes: size) != nil)
        #expect(cache.lookup(.init(parent: 0, tokens: [1, 2], variant: variant), needsScores: false) == nil)
        #expect(cache.counts.blocks == 1 && cache.counts.bytes == size && cache.counts.evictions == 4)
    }

    /// Under a budget of little more than one job, kept blocks give way: evictions, and the outcomes stay those of
    /// reading afresh.
    @Test func aSmallBudgetEvictsAndStaysExact() async throws {
        let model = Self.model, jobs = Self.jobs().filter { $0.configuration == nil }
        let expected = try await onThread { jobs.map { TextGenerator(model: model).run($0, promptChunkTokens: Self.chunk) } }
        let probe = SequenceBatcher(model: model)
        let budget = jobs.map { probe.kvCacheBytes(of: $0) }.max()! * 3 / 2
        let largest = Counter()
        let batcher = SequenceBatcher(model: model, limits: .init(maxRunningSequences: 1, kvCacheBytes: budget, promptChunkTokens: Self.chunk)) { step in
            largest.max(step.kvCacheBytes + step.prefixCacheBytes)
        }
        for round in 0..<2 {
            for (s, job) in jobs.enumerated() {
                Self.expectSame(try #require(await Self.submit(batcher, job)), expected[s], "round \(round) job \(s)")
            }
        }
        let counts = batcher.prefixCache!.counts
        #expect(counts.evictions > 0 && counts.hitTokens > 0, "\(counts)")
        #expect(largest.value <= budget)
    }
}
