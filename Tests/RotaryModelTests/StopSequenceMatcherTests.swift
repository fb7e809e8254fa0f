import Foundation
import Testing
@testable import RotaryModel
import RotaryNumerics

/// The stop-sequence automaton finds what a plain search of the whole text finds, piece by piece, at a
/// cost per byte that does not grow with the number or length of the strings.
@Suite struct StopSequenceMatcherTests {
    /// The earliest start of any stop string in `text` (bytes), by brute force.
    static func firstStart(_ stops: [[UInt8]], in text: [UInt8]) -> Int? {
        var best: Int?
        for stop in stops where !stop.isEmpty && stop.count <= text.count {
            for start in 0...(text.count - stop.count) where Array(text[start..<(start + stop.count)]) == stop {
                best = min(best ?? .max, start)
                break
            }
        }
        return best
    }

    /// Random texts and strings over two letters (so they overlap a lot), fed in random pieces: the
    /// matcher reports a match at the first piece after which the text holds one, at its earliest start.
    @Test func agreesWithABruteForceSearchPieceByPiece() {
        var random = SplitMix64(seed: 3)
        func letters(_ count: Int) -> [UInt8] { (0..<count).map { _ in random.next() % 2 == 0 ? UInt8(ascii: "a") : UInt8(ascii: "b") } }
        for _ in 0..<500 {
            let stops = (0..<Int(random.next() % 5)).map { _ in letters(Int(random.next() % 6)) }
            let text = letters(Int(random.next() % 40))
            var matcher = StopSequenceMatcher(stops.map { String(decoding: $0, as: UTF8.self) })
            var fed = 0
            var found: Int?
            while fed < text.count && found == nil {
                let piece = Array(text[fed..<min(text.count, fed + 1 + Int(random.next() % 4))])
                fed += piece.count
                found = matcher.match(piece)
                let expected = Self.firstStart(stops, in: Array(text[..<fed]))
                #expect(found == expected, "stops \(stops) text \(text[..<fed])")
                if expected != nil { break }
            }
        }
    }

    @Test func multibyteStringsAndEmptyOnes() {
        var matcher = StopSequenceMatcher(["", "é!", "😀"])
        #expect(matcher.match(Array("caf".utf8)) == nil)
        #expect(matcher.match(Array("é".utf8)) == nil)
        #expect(matcher.match(Array("!x".utf8)) == 3)
        var emoji = StopSequenceMatcher(["😀"])
        let bytes = Array("ab😀".utf8)
        #expect(emoji.match(Array(bytes[..<4])) == nil)
        #expect(emoji.match(Array(bytes[4...])) == 2)
        #expect(StopSequenceMatcher([""]).isEmpty)
    }

    /// 8 long strings that nearly match everywhere cost about what one short string costs: the
    /// brute-force search did 8 × 1,000 comparisons per byte here.
    @Test func costDoesNotGrowWithTheStrings() {
        let text = [UInt8](repeating: UInt8(ascii: "a"), count: 200_000)
        func seconds(_ stops: [String]) -> Double {
            var best = Double.infinity
            for _ in 0..<3 {
                var matcher = StopSequenceMatcher(stops)
                let start = Date()
                var offset = 0
                while offset < text.count {
                    #expect(matcher.match(Array(text[offset..<(offset + 8)])) == nil)
                    offset += 8
                }
                best = min(best, Date().timeIntervalSince(start))
            }
            return best
        }
        let one = seconds(["b"])
        let many = seconds((0..<8).map { String(repeating: "a", count: 999 - $0) + "b" })
        #expect(many < 4 * one + 0.05, "8 long strings \(many) s, one short \(one) s")
    }
}
