import Foundation
import Testing
import RotaryHTTP
import RotaryService
import RotaryTestSupport

/// The README's configuration table states the defaults the configurations really have.
@Suite struct ReadmeSettingsTests {
    @Test func everyNumericDefaultInTheTableIsTheConfigurationsOwn() throws {
        let server = ServerConfiguration(), service = ServiceConfiguration()
        let expected: [String: String] = [
            "--host": server.host, "--port": "\(server.port)", "--threads": "\(server.threads)",
            "--max-body-bytes": "\(server.maxBodyBytes)", "--connection-limit": "\(server.connectionLimit)",
            "--per-ip-connection-limit": "\(server.perIPConnectionLimit)", "--idle-timeout": "\(server.idleTimeoutSeconds)",
            "--connection-memory-limit": "\(server.connectionMemoryLimit)",
            "--drain-timeout": "\(Int(server.drainTimeoutSeconds))", "--drain-delay": "\(Int(server.drainDelaySeconds))",
            "--header-timeout": "\(Int(server.headerTimeoutSeconds))", "--body-timeout": "\(Int(server.bodyTimeoutSeconds))",
            "--max-buffered-response-bytes": "\(server.maxBufferedResponseBytes)",
            "--max-elements": "\(service.maxElements)", "--max-score-elements": "\(service.maxScoreElements)",
            "--max-decay-terms": "\(service.maxDecayTerms)", "--max-position": "\(service.maxPosition)",
            "--max-json-depth": "\(service.maxJSONDepth)", "--model-queue-size": "\(service.modelQueueSize)",
            "--max-response-bytes": "\(service.maxResponseBytes)", "--max-batch-sequences": "\(service.maxBatchSequences)",
            "--kv-cache-bytes": "\(service.kvCacheBytes)", "--prompt-chunk-tokens": "\(service.promptChunkTokens)",
            "--prefix-cache": "\(service.prefixCache)",
        ]
        let readme = try String(contentsOf: repositoryRoot().appendingPathComponent("README.md"), encoding: .utf8)
        var stated: [String: String] = [:]
        for line in readme.components(separatedBy: "\n") where line.hasPrefix("| `--") {
            // | `--flag` | `ENV` | `default` | meaning |
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            stated[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] =
                cells[2].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
        }
        for (flag, value) in expected {
            #expect(stated[flag] == value, "README states \(flag) defaults to \(stated[flag] ?? "nothing"), the code to \(value)")
        }
    }
}
