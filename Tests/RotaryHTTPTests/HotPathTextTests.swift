import Dispatch
import Foundation
import Logging
import Synchronization
import Testing
@testable import RotaryHTTP

/// The per-request text the server builds by hand (log line, request id, Server-Timing), and the bounded
/// metric labels, against what plain string formatting gives.
@Suite struct HotPathTextTests {
    @Test(arguments: [UInt64(0), 7, 999, 1000, 1234, 60_000_123, UInt64.max])
    func serverTimingIsMillisecondsWithThreeDecimals(micros: UInt64) {
        let fraction = String(micros % 1000)
        let expected = "app;dur=\(micros / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
        #expect(serverTimingText(micros: micros) == expected)
    }

    @Test func requestIDIsPrefixDashNumber() {
        #expect(requestIDText(prefix: "5f3a9c01", number: 0) == "5f3a9c01-0")
        #expect(requestIDText(prefix: "5f3a9c01", number: 18_446_744_073_709_551_615) == "5f3a9c01-18446744073709551615")
    }

    /// Threads take request numbers in blocks from one counter: numbers never repeat across threads.
    /// Eight threads (more than this machine's cores), each with its own state, draw at the same time.
    @Test func requestNumbersAreUniqueAcrossThreads() {
        let numbers = RequestNumbers()
        let logger = Logger(label: "test")
        let threadCount = 8, draws = 5 * Int(ServerThreadState.numberBlock) + 17
        let drawn = Mutex<[[UInt64]]>(Array(repeating: [], count: threadCount))
        let start = DispatchSemaphore(value: 0), done = DispatchGroup()
        for index in 0..<threadCount {
            let state = ServerThreadState(copying: logger, numbers: numbers)
            done.enter()
            Thread.detachNewThread {
                start.wait()
                var mine: [UInt64] = []
                for _ in 0..<draws { mine.append(state.nextRequestNumber()) }
                drawn.withLock { $0[index] = mine }
                done.leave()
            }
        }
        for _ in 0..<threadCount { start.signal() }
        done.wait()
        let all = drawn.withLock { $0.flatMap { $0 } }
        #expect(all.count == threadCount * draws)
        #expect(Set(all).count == all.count, "\(all.count - Set(all).count) numbers repeated")
        #expect(!all.contains(0))
    }

    @Test func accessLogLineHasEveryField() {
        let line = accessLogText(id: "abc-12", method: "POST", path: "/attention/decay", status: 413, bytes: 1_048_576,
                                 micros: 25, aborted: false)
        #expect(line == "abc-12 POST /attention/decay 413 1048576B 25us")
        let aborted = accessLogText(id: "client-chosen-id-ü", method: "GET", path: "/", status: 200, bytes: 0,
                                    micros: 0, aborted: true)
        #expect(aborted == "client-chosen-id-ü GET / 200 0B 0us (aborted)")
    }

    @Test func metricsKeepMethodLabelsBounded() {
        let metrics = RequestMetrics()
        metrics.record(path: "/health", method: "GET", status: 200, seconds: 0.0001)
        metrics.record(path: "/health", method: "GET", status: 200, seconds: 0.002)
        metrics.record(path: "/health", method: "BREW", status: 405, seconds: 0.0001)
        metrics.record(path: "other", method: "X-ANYTHING", status: 404, seconds: 0.0001)
        let text = metrics.exposition()
        #expect(text.contains(#"rotary_http_requests_total{path="/health",method="GET",status="200"} 2"#))
        #expect(text.contains(#"rotary_http_requests_total{path="/health",method="OTHER",status="405"} 1"#))
        #expect(text.contains(#"rotary_http_requests_total{path="other",method="OTHER",status="404"} 1"#))
        #expect(!text.contains("BREW") && !text.contains("X-ANYTHING"))
        #expect(text.contains(#"rotary_http_request_duration_seconds_count{path="/health"} 3"#))
        #expect(text.contains(#"rotary_http_request_duration_seconds_bucket{path="/health",le="0.0005"} 2"#))
    }
}
