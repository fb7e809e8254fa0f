import Synchronization

/// Whether this process should be sent traffic: what `GET /ready` reports and load balancers route by.
/// Liveness (`/health`) is another question: a loading or draining server is alive.
///
/// It only moves forward, `loading` → `ready` → `draining`: a server that began to drain never takes
/// traffic again, and one that drains before it finished loading never becomes ready.
public final class Readiness: Sendable {
    public enum State: Int, Sendable, CustomStringConvertible {
        /// The model is still being loaded: the balancer must wait.
        case loading
        /// Loaded and serving.
        case ready
        /// A stop has begun (SIGTERM): requests in flight finish, new ones should go elsewhere.
        case draining

        public var description: String {
            switch self {
            case .loading: return "loading"
            case .ready: return "ready"
            case .draining: return "draining"
            }
        }
    }

    private let value: Atomic<Int>

    public init(_ state: State = .ready) { value = Atomic(state.rawValue) }

    public var state: State { State(rawValue: value.load(ordering: .acquiring)) ?? .draining }

    /// `loading` → `ready`; a server already draining stays draining.
    public func markReady() {
        _ = value.compareExchange(expected: State.loading.rawValue, desired: State.ready.rawValue, ordering: .acquiringAndReleasing)
    }

    /// From any state to `draining`, for good.
    public func markDraining() { value.store(State.draining.rawValue, ordering: .releasing) }
}
