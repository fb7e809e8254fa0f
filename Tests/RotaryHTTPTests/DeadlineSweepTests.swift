import Testing
@testable import RotaryHTTP
#if canImport(Glibc)
import Glibc
#endif

/// The sweep reads the clock once and then checks every connection: a request phase that starts in
/// between has a start later than the sweep's clock and is not late (the difference must not wrap).
@Suite struct DeadlineSweepTests {
    @Test func aBodyThatBeganAfterTheSweepReadItsClockIsNotLate() throws {
        var fds: [Int32] = [0, 0]
        try #require(socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let deadlines = ConnectionDeadlines(headerSeconds: 1, bodySeconds: 1)
        let connection = WatchedConnection(fd: fds[0])
        deadlines.opened(connection)
        defer { deadlines.closed(connection) }
        let sweepClock = monotonicNanos()
        connection.headReceived(expectingBody: true)
        deadlines.sweep(now: sweepClock)
        #expect(connection.phase.load(ordering: .acquiring) == .receivingBody, "a body begun after the sweep's clock was timed out")
        deadlines.sweep(now: monotonicNanos() + 2_000_000_000)   // two seconds on, past the 1 s body deadline
        #expect(connection.phase.load(ordering: .acquiring) == .expired)
    }
}
