import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Splits work over the cores. OpenBLAS itself runs single-threaded (see `MatrixMultiply`): on two
/// cores its own thread pool spends more time waking and spinning than computing for the small
/// products a model makes, so this module parallelises above it instead.
public enum Parallel {
    public static let processorCount: Int = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))

    /// Calls `body` with disjoint ranges covering `0..<count`, on up to `processorCount` threads;
    /// stays on the calling thread when `count · costPerItem` is below `minimumWork`.
    public static func forEachRange(_ count: Int, costPerItem: Int = 1, minimumWork: Int = 1 << 15,
                                    _ body: @escaping @Sendable (Range<Int>) -> Void) {
        let workers = count * costPerItem >= minimumWork ? min(processorCount, count) : 1
        if workers <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        WorkerTeam.shared.run(parts: workers) { worker in
            body((count * worker / workers)..<(count * (worker + 1) / workers))
        }
    }
}
