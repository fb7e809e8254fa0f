import Foundation
import Testing
import RotaryService
import RotaryTestSupport

/// Runs every shell example of README.md that talks to the server against a live server, so a broken
/// example fails the build.
@Suite struct ReadmeExamplesTests {
    /// The ```sh blocks of the README, in order.
    static func shellBlocks() throws -> [String] {
        let text = try String(contentsOf: repositoryRoot().appendingPathComponent("README.md"), encoding: .utf8)
        var blocks: [String] = [], current: [String]? = nil
        for line in text.components(separatedBy: "\n") {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```sh" { current = []; continue }
            if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" { blocks.append(current!.joined(separator: "\n")); current = nil; continue }
            current?.append(line)
        }
        return blocks
    }

    @Test func everyCurlExampleRunsAgainstALiveServer() async throws {
        try await onThread { try Self.runExamples() }
    }

    static func runExamples() throws {
        // Blocks marked for the real model run against it in scripts/models/readme_smollm_check.py (release binary).
        let blocks = try shellBlocks().filter { $0.contains("curl") && !$0.hasPrefix("# with make run-smollm") }
        #expect(blocks.count >= 6, "README lost its examples")
        // The README's model examples run against the tiny llama.cpp fixture model.
        let server = try TestServer(router: Service.router(owner: tinyModelOwner()))
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rotary-readme-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        for block in blocks {
            #expect(block.contains("localhost:8080"), "a README curl example does not use localhost:8080:\n\(block)")
            let script = block.replacingOccurrences(of: "localhost:8080", with: "127.0.0.1:\(server.port)")
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = ["-eu", "-c", script]
            process.currentDirectoryURL = directory
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let data = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            #expect(process.terminationStatus == 0, "example failed:\n\(block)\n---\n\(text)")
            #expect(!text.isEmpty, "example printed nothing:\n\(block)")
            let expectsError = block.contains("# expect error")
            #expect(text.contains("\"error\":") == expectsError, "example:\n\(block)\n---\n\(text)")
        }
    }
}
