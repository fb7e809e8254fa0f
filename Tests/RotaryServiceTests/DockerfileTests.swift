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
        #expect(runtime.contains("Rotary_RotaryService.resources") || text.contains("Rotary_RotaryService.resources"))
    }

    @Test func builderBuildsReleaseWithTheCLibraries() {
        #expect(text.contains("libmicrohttpd-dev"))
        #expect(text.contains("swift build -c release"))
    }
}
