import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Counts of answered requests by route, method and status, and latency histograms by route, in
/// Prometheus' text format. Paths that are not routes count as `other`, so the label set stays bounded.
public final class RequestMetrics: Sendable {
    /// Upper bounds of the latency buckets, seconds.
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    struct Key: Hashable { var path: String; var method: String; var status: Int }
    struct Latency { var counts = [Int](repeating: 0, count: RequestMetrics.buckets.count); var sum = 0.0; var count = 0 }
    struct State { var requests: [Key: Int] = [:]; var latencies: [String: Latency] = [:] }

    /// One shard per recording thread, so the server's threads never contend for a lock (they would on
    /// every request); the exposition merges them.
    final class Shard: Sendable { let state = Mutex(State()) }
    private let shards = PerThread { Shard() }

    public init() {}

    private var shard: Shard { shards.current }

    /// - Parameter path: a route's path, or `other` (the server maps unknown paths, keeping labels bounded).
    func record(path: String, method: String, status: Int, seconds: Double) {
        let bucket = Self.buckets.firstIndex { seconds <= $0 }
        shard.state.withLock { s in
            s.requests[Key(path: path, method: method, status: status), default: 0] += 1
            // Mutated in place: a copy of the entry would copy its bucket array on every request.
            s.latencies[path, default: Latency()].sum += seconds
            s.latencies[path, default: Latency()].count += 1
            if let bucket { s.latencies[path, default: Latency()].counts[bucket] += 1 }
        }
    }

    /// The metrics in Prometheus text exposition format (version 0.0.4).
    public func exposition() -> String {
        var s = State()
        for shard in shards.values {
            let part = shard.state.withLock { $0 }
            s.requests.merge(part.requests, uniquingKeysWith: +)
            s.latencies.merge(part.latencies) { a, b in
                Latency(counts: zip(a.counts, b.counts).map { $0 + $1 }, sum: a.sum + b.sum, count: a.count + b.count)
            }
        }
        var out = "# HELP rotary_http_requests_total Requests answered, by route, method and status.\n"
        out += "# TYPE rotary_http_requests_total counter\n"
        for (key, count) in s.requests.sorted(by: { ($0.key.path, $0.key.method, $0.key.status) < ($1.key.path, $1.key.method, $1.key.status) }) {
            out += "rotary_http_requests_total{path=\"\(key.path)\",method=\"\(key.method)\",status=\"\(key.status)\"} \(count)\n"
        }
        out += "# HELP rotary_http_request_duration_seconds Time from a request's first byte to its completion.\n"
        out += "# TYPE rotary_http_request_duration_seconds histogram\n"
        for (path, latency) in s.latencies.sorted(by: { $0.key < $1.key }) {
            var cumulative = 0
            for (bound, count) in zip(Self.buckets, latency.counts) {
                cumulative += count
                out += "rotary_http_request_duration_seconds_bucket{path=\"\(path)\",le=\"\(bound)\"} \(cumulative)\n"
            }
            out += "rotary_http_request_duration_seconds_bucket{path=\"\(path)\",le=\"+Inf\"} \(latency.count)\n"
            out += "rotary_http_request_duration_seconds_sum{path=\"\(path)\"} \(latency.sum)\n"
            out += "rotary_http_request_duration_seconds_count{path=\"\(path)\"} \(latency.count)\n"
        }
        return out
    }
}
