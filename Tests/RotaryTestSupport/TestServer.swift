import Foundation
import RotaryHTTP

/// A server on an ephemeral loopback port for the duration of a test.
public final class TestServer: @unchecked Sendable {
    public let server: Server
    public var port: Int { server.port }

    public init(router: Router, metrics: RequestMetrics = RequestMetrics(),
                configure: (inout ServerConfiguration) -> Void = { _ in }) throws {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configure(&configuration)
        server = Server(configuration: configuration, router: router, metrics: metrics)
        try server.start()
    }

    deinit { server.stop() }

    /// A client whose reads give up after two minutes: a model generating hundreds of tokens in a debug or
    /// sanitizer build, on two cores shared with every other suite of a parallel run, can take tens of seconds.
    public func client() throws -> RawHTTPClient { try RawHTTPClient(port: port, timeoutSeconds: 120) }
}

/// The repository root (Tests/<Target>/<file> → root).
public func repositoryRoot(file: String = #filePath) -> URL {
    URL(fileURLWithPath: file).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// `../shared` beside the repository, or `ROTARY_SHARED`.
public func sharedDirectory() -> URL {
    if let override = ProcessInfo.processInfo.environment["ROTARY_SHARED"] { return URL(fileURLWithPath: override) }
    return repositoryRoot().deletingLastPathComponent().appendingPathComponent("shared")
}

/// Runs blocking work (socket reads, `Server.stop()`) on its own thread, so it never starves the
/// cooperative pool that the server's worker tasks need.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try body() }) }.start()
    }
}
