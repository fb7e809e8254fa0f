import CMicroHTTPD
import Synchronization

/// A process-wide bound on the bytes of responses built and not yet sent. libmicrohttpd keeps a response's
/// whole body until the client has read it, so clients that ask for large answers and never read would
/// otherwise hold memory without limit. Bodies of more than `countedBytes` are counted from when they are
/// queued until libmicrohttpd frees them (sent, or the connection closed); one that would pass the limit is
/// refused with a 503 instead. Smaller bodies are not counted and always go out, so errors and small answers
/// (`/health`) never wait on the budget.
final class ResponseBudget: Sendable {
    /// Bodies up to this size are not counted (at most this times the connection limit in all).
    static let countedBytes = 64 << 10
    let limit: Int
    private let inUse = Atomic<Int>(0)

    init(limit: Int) { self.limit = limit }

    var bytesInUse: Int { inUse.load(ordering: .relaxed) }

    /// Takes room for a body of `count` bytes; false when it would pass the limit.
    func reserve(_ count: Int) -> Bool {
        var current = inUse.load(ordering: .relaxed)
        while true {
            guard current + count <= limit else { return false }
            let (exchanged, original) = inUse.compareExchange(expected: current, desired: current + count, ordering: .relaxed)
            if exchanged { return true }
            current = original
        }
    }

    func release(_ count: Int) { inUse.subtract(count, ordering: .relaxed) }

    /// The answer to a response refused for want of room.
    var refusal: HTTPError {
        HTTPError(status: 503, type: "response_budget_exceeded",
                  message: "the server already holds its limit of \(limit) bytes of responses not yet read by their clients (max_buffered_response_bytes); retry later",
                  headers: [("Retry-After", "1")])
    }

    /// A libmicrohttpd response over a copy of `body` (`count` bytes, reserved already) that gives its
    /// room back when libmicrohttpd frees it.
    func response(copying body: UnsafeRawBufferPointer) -> OpaquePointer? {
        let copy = UnsafeMutableRawPointer.allocate(byteCount: body.count, alignment: 16)
        copy.copyMemory(from: body.baseAddress!, byteCount: body.count)
        let owner = Unmanaged.passRetained(CountedBody(copy, body.count, self)).toOpaque()
        guard let response = MHD_create_response_from_buffer_with_free_callback_cls(body.count, copy, countedBodyFreeCallback, owner) else {
            Unmanaged<CountedBody>.fromOpaque(owner).release()
            return nil
        }
        return response
    }
}

/// A counted body's bytes and the budget they are counted against.
final class CountedBody {
    let bytes: UnsafeMutableRawPointer
    let count: Int
    let budget: ResponseBudget

    init(_ bytes: UnsafeMutableRawPointer, _ count: Int, _ budget: ResponseBudget) {
        self.bytes = bytes
        self.count = count
        self.budget = budget
    }

    deinit {
        bytes.deallocate()
        budget.release(count)
    }
}

let countedBodyFreeCallback: MHD_ContentReaderFreeCallback = { cls in
    guard let cls else { return }
    Unmanaged<CountedBody>.fromOpaque(cls).release()
}
