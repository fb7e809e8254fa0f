import Foundation
import Testing

/// `rotary serve` refuses batch settings that cannot work, at start-up, with a message naming the setting (the flag
/// and its environment variable alike), instead of serving with them.
@Suite struct ServeSettingsTests {
    static let binary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent(".build/debug/rotary").path

    /// Runs `rotary serve` with `arguments` and `environment`: its exit status and standard error, or nil if it was
    /// still running after 30 s (it started serving).
    static func serve(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, error: String)? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["serve", "--port", "0", "--log-level", "warning"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        guard !process.isRunning else {
            process.terminate()
            process.waitUntilExit()
            return nil
        }
        return (process.terminationStatus, String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    @Test(arguments: [
        (["--max-batch-sequences", "0"], [String: String](), "max-batch-sequences must be at least 1"),
        (["--kv-cache-bytes=-1"], [:], "kv-cache-bytes must not be negative"),
        ([], ["ROTARY_MAX_BATCH_SEQUENCES": "0"], "max-batch-sequences must be at least 1"),
        (["--prompt-chunk-tokens", "0"], [:], "prompt-chunk-tokens must be at least 1"),
        ([], ["ROTARY_PROMPT_CHUNK_TOKENS": "-3"], "prompt-chunk-tokens must be at least 1"),
        ([], ["ROTARY_PREFIX_CACHE": "sometimes"], "ROTARY_PREFIX_CACHE"),
    ])
    func impossibleBatchSettingsAreRefused(_ arguments: [String], _ environment: [String: String], _ message: String) throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.binary), "no \(Self.binary): run swift build first")
        let outcome = try #require(try Self.serve(arguments, environment: environment), "it served with \(arguments) \(environment)")
        #expect(outcome.status != 0)
        #expect(outcome.error.contains(message), "stderr: \(outcome.error)")
    }
}
