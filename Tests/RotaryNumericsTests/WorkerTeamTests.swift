import Glibc
import Synchronization
import Testing
@testable import RotaryNumerics

/// The worker team with more helpers than this machine has cores, and more helpers than most sections
/// have parts: the case a 64-core machine meets on every decode step.
@Suite(.serialized) struct WorkerTeamTests {
    /// One counter per part (Atomic is not copyable, so each lives in its own box).
    final class Counter: Sendable { let value = Atomic<Int>(0) }

    /// Every helper spinning (a large machine) and one spinning with the rest parked (this one).
    @Test(arguments: [(8, 8), (16, 16), (16, 1)])
    func everyPartRunsExactlyOnceAndNeverAfterItsSectionReturned(helpers: Int, spinning: Int) {
        let team = WorkerTeam(helpers: helpers, spinningHelpers: spinning, interleave: {
            // Widen the window between a helper seeing a section and taking a part of it.
            if UInt64.random(in: 0..<8) == 0 { usleep(UInt32.random(in: 1...50)) }
        })
        let maxParts = helpers + 1
        let counts = (0..<maxParts).map { _ in Counter() }
        let openSection = Atomic<Int>(-1)        // the section whose `run` has not returned yet
        let strayParts = Atomic<Int>(0)          // parts that ran while their section was not open
        var generator = SplitMix64(seed: 42)
        var wrongCounts = 0, sections = 0
        // A fixed number of sections, not as many as fit in a time: under ThreadSanitizer, 16 spinning helpers on 2 cores
        // ran about 11,000 in 30 s on a loaded run. The deadline only keeps a hang from stalling the suite.
        let target = 10_000
        let deadline = ContinuousClock.now + .seconds(150)
        while sections < target && ContinuousClock.now < deadline {
            let section = sections
            let parts = 1 + Int(generator.next() % UInt64(maxParts))
            openSection.store(section, ordering: .sequentiallyConsistent)
            // Half the sections leave the non-spinning helpers parked (short sections do).
            team.run(parts: parts, wakeExtraHelpers: generator.next() % 2 == 0) { part in
                if openSection.load(ordering: .sequentiallyConsistent) != section { strayParts.add(1, ordering: .relaxed) }
                counts[part].value.add(1, ordering: .relaxed)
                if openSection.load(ordering: .sequentiallyConsistent) != section { strayParts.add(1, ordering: .relaxed) }
            }
            openSection.store(-1, ordering: .sequentiallyConsistent)
            for part in 0..<maxParts {
                let ran = counts[part].value.exchange(0, ordering: .relaxed)
                if ran != (part < parts ? 1 : 0) { wrongCounts += 1 }
            }
            sections += 1
        }
        #expect(sections == target, "only \(sections) of \(target) sections in 150 s")
        #expect(wrongCounts == 0, "\(wrongCounts) parts ran other than exactly once over \(sections) sections")
        #expect(strayParts.load(ordering: .relaxed) == 0, "parts ran after their section's run returned")
    }
}
