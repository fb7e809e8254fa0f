import Foundation
import Testing
@testable import RotaryService

/// The stream's hold-back: what it releases concatenates to the text, it holds at most `holdBack`
/// characters, and its work per token does not grow with the text (it re-decoded everything per token).
@Suite struct TextReleaseTests {
    @Test(arguments: [0, 1, 5])
    func releasesEverythingButTheHeldBackTail(holdBack: Int) {
        let text = "Café — 東京 😀 and some words after it", bytes = Array(text.utf8)
        let release = GenerateRoutes.TextRelease(holdBack: holdBack)
        var out = ""
        for (i, byte) in bytes.enumerated() {
            out += release.add([byte])
            let decodedSoFar = String(decoding: bytes[...i], as: UTF8.self)
            #expect(decodedSoFar.hasPrefix(out) || decodedSoFar.last == "\u{FFFD}")
        }
        #expect(out == release.released)
        #expect(String(text.dropLast(holdBack)) == out)
    }

    @Test func workPerTokenDoesNotGrowWithTheText() {
        func seconds(tokens: Int) -> Double {
            let release = GenerateRoutes.TextRelease(holdBack: 8)
            let piece = Array(" word".utf8)
            let start = Date()
            for _ in 0..<tokens { _ = release.add(piece) }
            return Date().timeIntervalSince(start)
        }
        _ = seconds(tokens: 500)   // warm up
        let short = seconds(tokens: 2_000), long = seconds(tokens: 20_000)
        // Linear work gives about 10×; re-decoding the whole text per token gave about 100×.
        #expect(long < 35 * max(short, 1e-4), "20,000 tokens took \(long) s, 2,000 took \(short) s")
    }
}
