import Synchronization

/// Splits work over the compute threads. OpenBLAS itself runs single-threaded (see `MatrixMultiply`):
/// on two cores its own thread pool spends more time waking and spinning than computing for the small
/// products a model makes, so this module parallelises above it instead.
public enum Parallel {
    /// Set once, before the first parallel section (`configure`); else detected at first use.
    private static let requested = Mutex<ComputeThreads?>(nil)
    private static let team: WorkerTeam = {
        let threads = requested.withLock { chosen in
            if chosen == nil { chosen = ComputeThreads.detect() }
            return chosen!
        }
        // Only helpers with a CPU of their own spin between sections.
        return WorkerTeam(helpers: threads.count - 1, spinningHelpers: threads.availableCPUs - 1)
    }()

    /// Chooses the compute threads; returns false (and changes nothing) once the team has started.
    @discardableResult
    public static func configure(_ threads: ComputeThreads) -> Bool {
        requested.withLock { chosen in
            guard chosen == nil else { return chosen == threads }
            chosen = threads
            return true
        }
    }

    /// The compute threads in use (the team starts here if it has not yet).
    public static var threads: ComputeThreads {
        _ = team
        return requested.withLock { $0! }
    }

    /// Threads that take part in a parallel section, the caller included.
    public static var threadCount: Int { team.helpers + 1 }

    /// Calls `body` with disjoint ranges covering `0..<count`, on up to `threadCount` threads;
    /// stays on the calling thread when `count · costPerItem` is below `minimumWork`.
    public static func forEachRange(_ count: Int, costPerItem: Int = 1, minimumWork: Int = 1 << 15,
                                    _ body: (Range<Int>) -> Void) {
        let workers = count * costPerItem >= minimumWork ? min(threadCount, count) : 1
        if workers <= 1 {
            if count > 0 { body(0..<count) }
            return
        }
        // Helpers without a CPU of their own are woken only for sections of about a millisecond or more.
        team.run(parts: workers, wakeExtraHelpers: count * costPerItem >= 1 << 22) { worker in
            body((count * worker / workers)..<(count * (worker + 1) / workers))
        }
    }
}
