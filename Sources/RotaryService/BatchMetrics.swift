import RotaryLocking
import RotaryModel

/// What the batcher's decode steps did, for `/metrics`: how many sequences each step decoded together (a
/// histogram; each decodes one token, so its sum is the tokens decoded in steps).
final class BatchMetrics: Sendable {
    /// Upper bounds of the sequences-per-step buckets.
    static let bounds = [1, 2, 4, 8, 16, 32, 64]

    private struct Counts {
        var buckets = [Int](repeating: 0, count: BatchMetrics.bounds.count + 1)   // the last: past every bound
        var steps = 0
        var sequences = 0
    }

    private let counts = PthreadLocked(Counts())

    func record(_ step: SequenceBatcher.Step) {
        counts.withLock { c in
            c.buckets[Self.bounds.firstIndex { step.sequences <= $0 } ?? Self.bounds.count] += 1
            c.steps += 1
            c.sequences += step.sequences
        }
    }

    /// The batch families, with the batcher's gauges now.
    func exposition(_ now: (running: Int, waiting: Int, kvCacheBytes: Int)) -> String {
        let c = counts.withLock { $0 }
        var out = """
        # HELP rotary_model_sequences Generation sequences decoding in the batch (running) or queued for it with other model work (waiting).
        # TYPE rotary_model_sequences gauge
        rotary_model_sequences{state="running"} \(now.running)
        rotary_model_sequences{state="waiting"} \(now.waiting)
        # HELP rotary_model_kv_cache_bytes Bytes of KV cache the running sequences hold.
        # TYPE rotary_model_kv_cache_bytes gauge
        rotary_model_kv_cache_bytes \(now.kvCacheBytes)
        # HELP rotary_model_batch_sequences Sequences decoded together per step (one token each).
        # TYPE rotary_model_batch_sequences histogram

        """
        var cumulative = 0
        for (bound, count) in zip(Self.bounds, c.buckets) {
            cumulative += count
            out += "rotary_model_batch_sequences_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        out += "rotary_model_batch_sequences_bucket{le=\"+Inf\"} \(c.steps)\n"
        out += "rotary_model_batch_sequences_sum \(c.sequences)\n"
        out += "rotary_model_batch_sequences_count \(c.steps)\n"
        return out
    }
}
