import RotaryLocking
import RotaryModel

/// What the batcher's steps did, for `/metrics`: how many sequences each step decoded together and how many tokens
/// it computed (histograms), with the batcher's gauges and the prefix cache's counts.
final class BatchMetrics: Sendable {
    /// A Prometheus histogram of whole numbers.
    struct Histogram {
        let bounds: [Int]
        var buckets: [Int]   // the last: past every bound
        var count = 0
        var sum = 0

        init(bounds: [Int]) {
            self.bounds = bounds
            buckets = [Int](repeating: 0, count: bounds.count + 1)
        }

        mutating func observe(_ value: Int) {
            buckets[bounds.firstIndex { value <= $0 } ?? bounds.count] += 1
            count += 1
            sum += value
        }

        func exposition(_ name: String, help: String) -> String {
            var out = "# HELP \(name) \(help)\n# TYPE \(name) histogram\n"
            var cumulative = 0
            for (bound, n) in zip(bounds, buckets) {
                cumulative += n
                out += "\(name)_bucket{le=\"\(bound)\"} \(cumulative)\n"
            }
            return out + "\(name)_bucket{le=\"+Inf\"} \(count)\n\(name)_sum \(sum)\n\(name)_count \(count)\n"
        }
    }

    private struct Counts {
        var sequences = Histogram(bounds: [1, 2, 4, 8, 16, 32, 64])
        var tokens = Histogram(bounds: [1, 2, 4, 8, 16, 32, 64, 128, 256])
    }

    private let counts = PthreadLocked(Counts())

    func record(_ step: SequenceBatcher.Step) {
        counts.withLock { c in
            if step.sequences > 0 { c.sequences.observe(step.sequences) }
            c.tokens.observe(step.sequences + step.promptTokens)
        }
    }

    /// The batch families, with the batcher's gauges now and the prefix cache's counts (nil: the cache is off).
    func exposition(_ now: (running: Int, waiting: Int, kvCacheBytes: Int), prefixCache: PrefixCache.Counts?) -> String {
        let c = counts.withLock { $0 }
        let cache = prefixCache ?? PrefixCache.Counts()
        return """
        # HELP rotary_model_sequences Generation sequences in the batch (running: reading their prompt or decoding) or queued for it with other model work (waiting).
        # TYPE rotary_model_sequences gauge
        rotary_model_sequences{state="running"} \(now.running)
        rotary_model_sequences{state="waiting"} \(now.waiting)
        # HELP rotary_model_kv_cache_bytes Bytes of KV cache the running sequences hold.
        # TYPE rotary_model_kv_cache_bytes gauge
        rotary_model_kv_cache_bytes \(now.kvCacheBytes)
        # HELP rotary_model_prefix_cache_bytes Bytes of the prompt blocks kept for prompts that begin alike (within the KV budget the running sequences leave).
        # TYPE rotary_model_prefix_cache_bytes gauge
        rotary_model_prefix_cache_bytes \(cache.bytes)
        # HELP rotary_model_prefix_cache_blocks Prompt blocks kept.
        # TYPE rotary_model_prefix_cache_blocks gauge
        rotary_model_prefix_cache_blocks \(cache.blocks)
        # HELP rotary_model_prefix_cache_tokens_total Prompt tokens taken from kept blocks (hit) or computed (miss).
        # TYPE rotary_model_prefix_cache_tokens_total counter
        rotary_model_prefix_cache_tokens_total{result="hit"} \(cache.hitTokens)
        rotary_model_prefix_cache_tokens_total{result="miss"} \(cache.missTokens)
        # HELP rotary_model_prefix_cache_evictions_total Kept blocks dropped for room, least recently used first.
        # TYPE rotary_model_prefix_cache_evictions_total counter
        rotary_model_prefix_cache_evictions_total \(cache.evictions)

        """ + c.sequences.exposition("rotary_model_batch_sequences", help: "Sequences decoded together per step (one token each).")
            + c.tokens.exposition("rotary_model_step_tokens", help: "Tokens one step computed: a decoded token per sequence and the prompt tokens read.")
    }
}
