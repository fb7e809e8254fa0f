import RotaryLocking
#if canImport(Glibc)
import Glibc
#endif

/// One value per thread, made on first use, and a way to visit them all: lets hot paths (metrics, log lines)
/// write without contending for a shared lock, while a reader merges the values.
public final class PerThread<Value: AnyObject & Sendable>: Sendable {
    private let all = PthreadLocked<[Value]>([])   // keeps every value alive
    private let key: pthread_key_t
    private let make: @Sendable () -> Value

    public init(_ make: @escaping @Sendable () -> Value) {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        self.key = key
        self.make = make
    }

    deinit { pthread_key_delete(key) }

    /// Runs `body` with the calling thread's value, lent without a retain (`all` keeps it alive): the
    /// form for per-request paths.
    @inline(__always)
    public func withCurrent<Result>(_ body: (Value) throws -> Result) rethrows -> Result {
        let raw = pthread_getspecific(key) ?? makeCurrent()
        return try Unmanaged<Value>.fromOpaque(raw)._withUnsafeGuaranteedRef(body)
    }

    private func makeCurrent() -> UnsafeMutableRawPointer {
        let value = make()
        all.withLock { $0.append(value) }
        let raw = Unmanaged.passUnretained(value).toOpaque()
        pthread_setspecific(key, raw)
        return raw
    }

    /// Every thread's value made so far.
    public var values: [Value] { all.withLock { $0 } }
}
