import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A fixed team of helper threads for short parallel sections (a decode step opens ~50 of them, tens
/// of microseconds apart). One section runs at a time; a caller that finds the team busy runs the
/// whole section itself.
///
/// Why it is correct for any number of helpers and parts: a section is published as one 64-bit word,
/// `generation | parts | next unclaimed part`, and a thread runs part k only after it moved that word
/// from `(g, p, k)` to `(g, p, k + 1)` by compare-and-swap. So each part is claimed exactly once, and
/// only while its own section is open: a helper that saw an older section fails its swap, because the
/// word changed. The caller returns only when all `parts` have finished, and it writes the next
/// section's `job` only after that, so a helper that holds a claim reads the `job` of that claim's
/// section. Parts are claimed, not assigned, so a helper that is descheduled or parked never holds
/// the section up: the caller and the running helpers take its parts.
final class WorkerTeam: @unchecked Sendable {   // `job` is published and retired through `section` and `finished`
    /// The section word's fields. 40 bits of generation: a helper would have to sleep through 2⁴⁰
    /// sections between reading the word and swapping it for the swap to succeed wrongly.
    private static let fieldBits: UInt64 = 12
    private static let fieldMask: UInt64 = (1 << fieldBits) - 1
    /// Most parts of one section (the width of the word's part fields).
    static let maxParts = Int(fieldMask)

    /// Helper threads (the caller is one more participant).
    let helpers: Int
    /// Helpers that spin between sections; the others park at once. Spinning pays only when every
    /// spinning thread has a CPU of its own, otherwise it takes time from the threads doing the work.
    let spinningHelpers: Int

    private let section = Atomic<UInt64>(0)
    private let finished = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    /// One flag per helper (Atomic is not copyable, so each lives in its own box).
    private final class Flag: Sendable { let value = Atomic<Bool>(false) }
    private let sleeping: [Flag]
    private let wakeups: [DispatchSemaphore]
    /// The open section's work, by part: written before the section word is published, cleared after
    /// every part has finished.
    nonisolated(unsafe) private var job: ((Int) -> Void)?
    /// How long a spinning helper waits for the next section before it parks.
    private let spinNanoseconds: UInt64 = 200_000
    /// Tests only: runs in a helper between reading the section word and claiming a part.
    private let interleave: (@Sendable () -> Void)?

    /// - Parameters:
    ///   - helpers: threads besides the caller.
    ///   - spinningHelpers: how many of them spin between sections (default: all).
    init(helpers: Int, spinningHelpers: Int? = nil, interleave: (@Sendable () -> Void)? = nil) {
        self.helpers = min(max(0, helpers), Self.maxParts - 1)
        self.spinningHelpers = min(self.helpers, max(0, spinningHelpers ?? self.helpers))
        self.interleave = interleave
        sleeping = (0..<self.helpers).map { _ in Flag() }
        wakeups = (0..<self.helpers).map { _ in DispatchSemaphore(value: 0) }
        for index in 0..<self.helpers { Self.spawn { [unowned self] in self.helperLoop(index) } }
    }

    /// Calls `body(part)` exactly once for every part in `0..<parts`, on the caller and the helpers;
    /// returns when all have finished. Parts must be independent of one another.
    /// - Parameter wakeExtraHelpers: also wake the helpers beyond the spinning ones (those without a CPU of
    ///   their own). Worth it only for long sections: for short ones their wake-ups and the threads they
    ///   displace cost more than they add.
    func run(parts: Int, wakeExtraHelpers: Bool = true, _ body: (Int) -> Void) {
        guard parts > 1, helpers > 0, parts <= Self.maxParts,
              busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            for part in 0..<parts { body(part) }
            return
        }
        // Safe to let escape: `job` is cleared before this returns, and no helper reads it after the
        // last part finished (see the type's comment).
        withoutActuallyEscaping(body) { body in
            job = body
            finished.store(0, ordering: .relaxed)
            let generation = (Self.generation(section.load(ordering: .relaxed)) &+ 1) & ((1 << 40) - 1)
            let word = generation << (2 * Self.fieldBits) | UInt64(parts) << Self.fieldBits
            // Sequentially consistent, paired with the helpers' `sleeping` store then word load: either
            // a parking helper sees this section, or this caller sees it parked and wakes it.
            section.store(word, ordering: .sequentiallyConsistent)
            var toWake = parts - 1
            let wakeable = wakeExtraHelpers ? helpers : spinningHelpers
            for index in 0..<wakeable where toWake > 0 && sleeping[index].value.load(ordering: .sequentiallyConsistent) {
                wakeups[index].signal()
                toWake -= 1
            }
            claimAndRun(from: word, generation: generation, body)
            var waits = 0
            while finished.load(ordering: .acquiring) < parts {
                // The parts left are running on helpers; one may have been descheduled, so give way.
                waits += 1
                if waits > 256 { sched_yield() }
            }
            job = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Claims parts of the section `generation` until none is left (or a newer section is open), runs each.
    private func claimAndRun(from observed: UInt64, generation: UInt64, _ body: (Int) -> Void) {
        var word = observed
        while Self.generation(word) == generation, Self.nextPart(word) < Self.parts(word) {
            let (claimed, current) = section.compareExchange(expected: word, desired: word + 1, ordering: .acquiringAndReleasing)
            guard claimed else { word = current; continue }
            body(Self.nextPart(word))
            finished.add(1, ordering: .releasing)
            word = word + 1
        }
    }

    private func helperLoop(_ index: Int) {
        var seen = Self.generation(section.load(ordering: .acquiring))
        let spins = index < spinningHelpers
        while true {
            var word = section.load(ordering: .acquiring)
            var spinStart: UInt64 = 0, polls = 0
            while Self.generation(word) == seen {
                if spins {
                    polls &+= 1
                    let now = polls & 1023 == 0 ? Self.nanoseconds() : 0
                    if spinStart == 0 { spinStart = now }
                    if now == 0 || now - spinStart <= spinNanoseconds {
                        word = section.load(ordering: .acquiring)
                        continue
                    }
                }
                // Park; `run` wakes the helpers it sees parked after it published a section.
                sleeping[index].value.store(true, ordering: .sequentiallyConsistent)
                word = section.load(ordering: .sequentiallyConsistent)
                if Self.generation(word) == seen { wakeups[index].wait() }
                sleeping[index].value.store(false, ordering: .relaxed)
                word = section.load(ordering: .acquiring)
                spinStart = 0
            }
            seen = Self.generation(word)
            interleave?()
            // A claim succeeds only on this very word, so a stale `job` is never called.
            claimAndRun(from: word, generation: seen) { part in job!(part) }
        }
    }

    private static func generation(_ word: UInt64) -> UInt64 { word >> (2 * fieldBits) }
    private static func parts(_ word: UInt64) -> Int { Int((word >> fieldBits) & fieldMask) }
    private static func nextPart(_ word: UInt64) -> Int { Int(word & fieldMask) }

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
