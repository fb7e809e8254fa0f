import Foundation
import Testing
import RotaryTestSupport

/// No Docker engine runs here: the Dockerfile is held to its promises by reading it.
@Suite struct DockerfileTests {
    let text: String
    let stages: [String]

    init() throws {
        text = try String(contentsOf: repositoryRoot().appendingPathComponent("Dockerfile"), encoding: .utf8)
        stages = text.components(separatedBy: "\nFROM ").dropFirst().map { "FROM " + $0 }
    }

    @Test func isMultiStageFromSwiftBookwormToSlim() throws {
        let froms = text.split(separator: "\n").filter { $0.hasPrefix("FROM ") }
        #expect(froms.count == 2)
        #expect(froms.first?.contains("swift:6") == true && froms.first?.contains("bookworm") == true)
        #expect(froms.first?.contains(" AS build") == true)
        #expect(froms.last == "FROM debian:bookworm-slim")
        #expect(text.contains("COPY --from=build"))
    }

    @Test func runtimeHasLibrariesUserPortAndHealthCheck() throws {
        let runtime = try #require(text.components(separatedBy: "FROM debian:bookworm-slim").last)
        #expect(runtime.contains("libmicrohttpd12"))
        #expect(runtime.contains("libopenblas0"))
        #expect(runtime.contains("useradd"))
        let user = runtime.split(separator: "\n").first { $0.hasPrefix("USER ") }
        #expect(user != nil && user != "USER root" && user != "USER 0")
        #expect(runtime.contains("EXPOSE 8080"))
        #expect(runtime.contains("HEALTHCHECK") && runtime.contains("/health"))
        #expect(runtime.contains("0.0.0.0"))
    }

    /// The binary finds its resources (the shipped model, openapi.yaml) beside itself: the build stage puts
    /// both in one folder, the runtime copies that folder whole and runs the binary from it.
    @Test func resourcesBundleSitsBesideTheBinaryInTheRuntime() throws {
        let build = try #require(stages.first), runtime = try #require(stages.last)
        let folder = try #require(build.firstMatch(of: /cp \.build\/release\/rotary (\S+)\//)?.1)
        #expect(build.contains("cp -RL .build/release/Rotary_RotaryService.resources \(folder)/"))
        let copied = try #require(runtime.firstMatch(of: /COPY --from=build (\S+)\/ (\S+)\//))
        #expect(copied.1 == folder, "the runtime copies \(copied.1), the build stage filled \(folder)")
        #expect(runtime.contains("ENTRYPOINT [\"\(copied.2)/rotary\""))
    }

    @Test func builderBuildsReleaseWithTheCLibraries() {
        #expect(text.contains("libmicrohttpd-dev"))
        #expect(text.contains("swift build -c release"))
    }
}
