import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Counts of answered requests by route, method and status, and latency histograms by route, in
/// Prometheus' text format. Paths that are not routes count as `other`, so the label set stays bounded.
public final class RequestMetrics: Sendable {
    /// Upper bounds of the latency buckets, seconds.
    static let buckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    /// Counts for one path.
    struct PathCounts {
        var bucketCounts = [Int](repeating: 0, count: RequestMetrics.buckets.count)
        var sum = 0.0
        var count = 0
        /// (method index × 1000 + status, requests); a handful of entries, scanned linearly.
        var byMethodAndStatus: [(key: Int, count: Int)] = []
    }

    /// One shard's counts. Values (not objects) mutated in place under the shard's lock, so the hot path
    /// pays for no runtime exclusivity checks.
    struct State {
        var paths: [String] = []
        var counts: [PathCounts] = []
        /// Index of each path in `paths`/`counts`.
        var indexOfPath: [String: Int] = [:]
        /// The index recorded last: a run of requests to one route skips hashing the path.
        var lastIndex = -1
        /// This shard's own copy of `buckets` (reading the shared array would retain it from both threads).
        let bounds = RequestMetrics.buckets.map { $0 }

        mutating func index(of path: String) -> Int {
            if lastIndex >= 0 && paths[lastIndex] == path { return lastIndex }
            let index: Int
            if let known = indexOfPath[path] {
                index = known
            } else {
                index = paths.count
                paths.append(path)
                counts.append(PathCounts())
                indexOfPath[path] = index
            }
            lastIndex = index
            return index
        }
    }

    /// Method labels; any other method counts as `OTHER`, so a stranger cannot grow the label set.
    static let methods = ["GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "OTHER"]

    /// One shard per recording thread, so the server's threads never contend for a lock (they would on
    /// every request); the exposition merges them.
    final class Shard: Sendable { let state = Mutex(State()) }
    private let shards = PerThread { Shard() }

    public init() {}

    /// - Parameter path: a route's path, or `other` (the server maps unknown paths, keeping labels bounded).
    func record(path: String, method: String, status: Int, seconds: Double) {
        let key = Self.methodIndex(method) * 1000 + min(max(status, 0), 999)
        shards.withCurrent { shard in shard.state.withLock { state in
            let index = state.index(of: path)
            let bucket = state.bounds.firstIndex { seconds <= $0 }
            state.counts[index].sum += seconds
            state.counts[index].count += 1
            if let bucket { state.counts[index].bucketCounts[bucket] += 1 }
            if let i = state.counts[index].byMethodAndStatus.firstIndex(where: { $0.key == key }) {
                state.counts[index].byMethodAndStatus[i].count += 1
            } else {
                state.counts[index].byMethodAndStatus.append((key, 1))
            }
        } }
    }

    static func methodIndex(_ method: String) -> Int {
        switch method {
        case "GET": 0
        case "POST": 1
        case "HEAD": 2
        case "OPTIONS": 3
        case "PUT": 4
        case "DELETE": 5
        case "PATCH": 6
        default: 7
        }
    }

    /// The metrics in Prometheus text exposition format (version 0.0.4).
    public func exposition() -> String {
        struct Key: Hashable { var path: String; var method: String; var status: Int }
        var requests: [Key: Int] = [:]
        var latencies: [String: (counts: [Int], sum: Double, count: Int)] = [:]
        for shard in shards.values {
            shard.state.withLock { state in
                for (path, counts) in zip(state.paths, state.counts) {
                    for (key, count) in counts.byMethodAndStatus {
                        requests[Key(path: path, method: Self.methods[key / 1000], status: key % 1000), default: 0] += count
                    }
                    let merged = latencies[path].map { old in
                        (zip(old.counts, counts.bucketCounts).map { $0 + $1 }, old.sum + counts.sum, old.count + counts.count)
                    }
                    latencies[path] = merged ?? (counts.bucketCounts, counts.sum, counts.count)
                }
            }
        }
        var out = "# HELP rotary_http_requests_total Requests answered, by route, method and status.\n"
        out += "# TYPE rotary_http_requests_total counter\n"
        for (key, count) in requests.sorted(by: { ($0.key.path, $0.key.method, $0.key.status) < ($1.key.path, $1.key.method, $1.key.status) }) {
            out += "rotary_http_requests_total{path=\"\(key.path)\",method=\"\(key.method)\",status=\"\(key.status)\"} \(count)\n"
        }
        out += "# HELP rotary_http_request_duration_seconds Time from a request's first byte to its completion.\n"
        out += "# TYPE rotary_http_request_duration_seconds histogram\n"
        for (path, latency) in latencies.sorted(by: { $0.key < $1.key }) {
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
