import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One value per thread, made on first use, and a way to visit them all: lets hot paths (metrics, log lines)
/// write without contending for a shared lock, while a reader merges the values.
public final class PerThread<Value: AnyObject & Sendable>: Sendable {
    private let all = Mutex<[Value]>([])   // keeps every value alive
    private let key: pthread_key_t
    private let make: @Sendable () -> Value

    public init(_ make: @escaping @Sendable () -> Value) {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        self.key = key
        self.make = make
    }

    deinit { pthread_key_delete(key) }

    /// The calling thread's value.
    public var current: Value {
        if let raw = pthread_getspecific(key) { return Unmanaged<Value>.fromOpaque(raw).takeUnretainedValue() }
        let value = make()
        all.withLock { $0.append(value) }
        pthread_setspecific(key, Unmanaged.passUnretained(value).toOpaque())
        return value
    }

    /// Every thread's value made so far.
    public var values: [Value] { all.withLock { $0 } }
}
