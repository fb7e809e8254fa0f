import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fixed team of helper threads for short parallel sections. A helper spins for a while after each
/// section (a decode step opens ~50 sections tens of microseconds apart, and waking a parked thread
/// costs more than the work), then parks until the next one. One section runs at a time; a caller that
/// finds the team busy runs the whole section itself.
final class WorkerTeam: @unchecked Sendable {   // `job` is published and retired through the atomics
    static let shared = WorkerTeam(helpers: Parallel.processorCount - 1)

    private let helpers: Int
    private let generation = Atomic<UInt64>(0)
    private let activeParts = Atomic<Int>(0)
    private let unfinished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    /// One flag per helper (Atomic is not copyable, so each lives in its own box).
    private final class Flag: Sendable { let value = Atomic<Bool>(false) }
    private let sleeping: [Flag]
    private let wakeups: [DispatchSemaphore]
    /// The current section's work, by part. Written before `generation` moves on, cleared after every
    /// participating helper has finished.
    nonisolated(unsafe) private var job: (@Sendable (Int) -> Void)?
    /// How long a helper spins before it parks.
    private let spinNanoseconds: UInt64 = 200_000

    private init(helpers: Int) {
        self.helpers = max(0, helpers)
        sleeping = (0..<self.helpers).map { _ in Flag() }
        wakeups = (0..<self.helpers).map { _ in DispatchSemaphore(value: 0) }
        for index in 0..<self.helpers { Self.spawn { [unowned self] in self.helperLoop(index) } }
    }

    /// Calls `body(part)` for every part in `0..<parts`, at most one part per thread, the caller taking part 0.
    func run(parts requested: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let parts = min(requested, helpers + 1)
        guard parts > 1, busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<requested { body(part) }
            return
        }
        job = body
        activeParts.store(parts, ordering: .relaxed)
        unfinished.store(parts - 1, ordering: .relaxed)
        generation.add(1, ordering: .sequentiallyConsistent)
        for index in 0..<(parts - 1) where sleeping[index].value.load(ordering: .sequentiallyConsistent) {
            wakeups[index].signal()
        }
        body(0)
        while unfinished.load(ordering: .acquiring) > 0 {}
        job = nil
        busy.store(false, ordering: .releasing)
    }

    private func helperLoop(_ index: Int) {
        var seen: UInt64 = 0
        while true {
            var spinStart: UInt64 = 0, spins = 0
            while generation.load(ordering: .acquiring) == seen {
                spins &+= 1
                guard spins & 1023 == 0 else { continue }
                let now = Self.nanoseconds()
                if spinStart == 0 { spinStart = now; continue }
                guard now - spinStart > spinNanoseconds else { continue }
                // Park; `run` signals every helper it sees sleeping after it moved `generation` on.
                sleeping[index].value.store(true, ordering: .sequentiallyConsistent)
                if generation.load(ordering: .sequentiallyConsistent) == seen { wakeups[index].wait() }
                sleeping[index].value.store(false, ordering: .relaxed)
                spinStart = 0
            }
            seen = generation.load(ordering: .acquiring)
            guard index + 1 < activeParts.load(ordering: .acquiring), let job else { continue }
            job(index + 1)
            unfinished.subtract(1, ordering: .releasing)
        }
    }

    private static func spawn(_ body: @escaping @Sendable () -> Void) {
        final class Box { let body: @Sendable () -> Void; init(_ body: @escaping @Sendable () -> Void) { self.body = body } }
        var thread = pthread_t()
        let context = Unmanaged.passRetained(Box(body)).toOpaque()
        pthread_create(&thread, nil, { raw in
            let box = Unmanaged<Box>.fromOpaque(raw!).takeRetainedValue()
            box.body()
            return nil
        }, context)
        pthread_detach(thread)
    }

    private static func nanoseconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}
