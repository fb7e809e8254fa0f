import Foundation
import Testing
import RotaryHTTP
import RotaryModel
@testable import RotaryService
import RotaryTestSupport
import Synchronization

/// Limits on the model routes: one cap on `stop` for both routes; streams beyond the queue get 429.
@Suite struct ModelLimitsTests {
    func post(_ path: String, _ json: Any, owner: ModelOwner = tinyModelOwner()) async throws -> Response {
        let bytes = [UInt8](try JSONSerialization.data(withJSONObject: json))
        let request = Request(method: "POST", path: path, headers: [("Content-Type", "application/json")], body: bytes)
        return await Service.router(owner: owner).respond(to: request)
    }

    @Test(arguments: ["/generate", "/v1/completions"])
    func stopIsCappedTheSameOnBothRoutes(path: String) async throws {
        let many = (0..<20_000).map { "stop \($0)" }
        let start = Date()
        let refused = try await post(path, ["prompt": "Hello", "max_tokens": 4, "stop": many])
        #expect(refused.status == 400 && refused.error["param"] as? String == "stop", "\(path): \(refused.error)")
        #expect(Date().timeIntervalSince(start) < 5)
        let nine = try await post(path, ["prompt": "Hello", "max_tokens": 4, "stop": (0..<9).map { "s\($0)" }])
        #expect(nine.status == 400 && nine.error["param"] as? String == "stop", "\(path)")
        let long = try await post(path, ["prompt": "Hello", "max_tokens": 4, "stop": ["x", String(repeating: "é", count: 1001)]])
        #expect(long.status == 400 && long.error["param"] as? String == "stop[1]", "\(path): \(long.error)")
        let eight = try await post(path, ["prompt": "Hello", "max_tokens": 4, "stop": (0..<8).map { "s\($0)" } + []])
        #expect(eight.status == 200, "\(path)")
        let longest = try await post(path, ["prompt": "Hello", "max_tokens": 4, "stop": [String(repeating: "é", count: 1000)]])
        #expect(longest.status == 200, "\(path)")
    }

    final class Counter: Sendable { let value = Atomic<Int>(0) }

    /// Queue size 1 with one job running: of 12 concurrent streamed requests one may wait, the other 11
    /// get 429 with Retry-After at once, and no 200 event stream carries a queue_full event (room used to
    /// be checked before a place was taken, so concurrent requests all saw room).
    @Test(arguments: ["/generate", "/v1/completions"])
    func concurrentStreamsBeyondTheQueueGet429BeforeAnyStream(path: String) async throws {
        let owner = tinyModelOwner(queueLimit: 1, maxRunningSequences: 1)
        let router = Service.router(owner: owner)
        let gate = DispatchSemaphore(value: 0)
        async let busy: Int = owner.run { _ in gate.wait(); return 1 }
        for _ in 0..<500 where owner.load < 1 { try await Task.sleep(for: .milliseconds(10)) }
        let body = [UInt8](try JSONSerialization.data(withJSONObject: ["prompt": "Hello", "max_tokens": 2, "stream": true]))
        let request = Request(method: "POST", path: path, headers: [("Content-Type", "application/json")], body: body)
        let requests = 12
        let answered = Counter()
        // The gate opens once every request but the one that may wait has its answer (or after 10 s).
        let opener = Task {
            for _ in 0..<1000 where answered.value.load(ordering: .relaxed) < requests - 1 {
                try? await Task.sleep(for: .milliseconds(10))
            }
            gate.signal()
        }
        let replies = await withTaskGroup(of: Response.self) { group in
            for _ in 0..<requests {
                group.addTask {
                    let reply = await router.respond(to: request)
                    answered.value.add(1, ordering: .relaxed)
                    return reply
                }
            }
            var all: [Response] = []
            for await reply in group { all.append(reply) }
            return all
        }
        await opener.value
        #expect(try await busy == 1)
        let streams = replies.filter { $0.status == 200 }
        let refused = replies.filter { $0.status == 429 }
        #expect(streams.count + refused.count == requests)
        #expect(streams.count == 1, "\(path): \(streams.count) streams")
        for reply in streams {
            #expect(!String(decoding: reply.body, as: UTF8.self).contains("queue_full"), "\(path): a 200 stream carried queue_full")
        }
        #expect(refused.count == requests - 1)
        for reply in refused {
            #expect(reply.header("Retry-After") == "1" && reply.header("Content-Type") == "application/json")
            #expect(reply.error["type"] as? String == "queue_full")
        }
        #expect(owner.load == 0)
    }
}
