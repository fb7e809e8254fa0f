#if canImport(Glibc)
import Glibc
#endif

/// A value behind a pthread mutex, for state several threads share (libmicrohttpd's, the model owners'):
/// ThreadSanitizer (which `make test` runs) sees pthread locking, not the futex-based lock of
/// Synchronization's `Mutex`, and would report every access under that as a race.
public final class PthreadLocked<Value>: @unchecked Sendable {   // every access is under `mutex`
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    public func withLock<T>(_ body: (inout Value) -> T) -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return body(&value)
    }
}
