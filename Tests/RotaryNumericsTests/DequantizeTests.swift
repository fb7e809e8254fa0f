import Foundation
import Testing
import RotaryTestSupport
@testable import RotaryNumerics

/// One fixture of Fixtures/quant (scripts/models/make_quant_fixtures.py): raw ggml blocks and gguf-py's
/// dequantization of them.
struct QuantFixture: Decodable, CustomTestStringConvertible {
    let name: String
    let format: String
    let type: UInt32
    let values: Int
    let source: String

    static let folder = repositoryRoot().appendingPathComponent("Tests/RotaryNumericsTests/Fixtures/quant")

    static let all: [QuantFixture] = {
        guard let data = try? Data(contentsOf: folder.appendingPathComponent("manifest.json")) else { return [] }
        return (try? JSONDecoder().decode([QuantFixture].self, from: data)) ?? []
    }()

    var testDescription: String { name }

    func blocks() throws -> Data { try Data(contentsOf: Self.folder.appendingPathComponent("\(name).blocks")) }

    /// gguf-py's floats, as bit patterns.
    func expectedBits() throws -> [UInt32] {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("\(name).f32"))
        return data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self) } }
    }
}

@Suite struct DequantizeTests {
    @Test func everyFormatHasFixtures() {
        let formats = Set(QuantFixture.all.map(\.type))
        for format in TensorFormat.allCases {
            #expect(formats.contains(format.rawValue), "no fixture for \(format.name)")
        }
        #expect(QuantFixture.all.contains { $0.name.hasPrefix("smollm2-") && $0.format == "Q4_1" })
        #expect(QuantFixture.all.contains { $0.name.hasPrefix("smollm2-") && $0.format == "Q8_0" })
    }

    /// Every float equals gguf-py's, compared as bit patterns (so −0, NaN payloads and rounding all count).
    @Test(arguments: QuantFixture.all)
    func matchesGGUFPyBitForBit(_ fixture: QuantFixture) throws {
        let format = try #require(TensorFormat(rawValue: fixture.type))
        #expect(format.name == fixture.format)
        let blocks = try fixture.blocks(), expected = try fixture.expectedBits()
        #expect(expected.count == fixture.values)
        #expect(blocks.count == format.rowBytes(fixture.values), "\(fixture.name): byte count does not fit the block size")
        var output = [Float](repeating: .nan, count: fixture.values)
        blocks.withUnsafeBytes { raw in
            output.withUnsafeMutableBufferPointer { format.dequantize(raw.baseAddress!, count: fixture.values, into: $0.baseAddress!) }
        }
        let mismatches = (0..<expected.count).filter { output[$0].bitPattern != expected[$0] }
        #expect(mismatches.isEmpty, """
            \(fixture.name): \(mismatches.count) of \(expected.count) differ, first at \(mismatches.first ?? -1): \
            \(mismatches.first.map { "got \(output[$0]) expected \(Float(bitPattern: expected[$0]))" } ?? "")
            """)
    }

    /// A whole matrix dequantized row by row is its blocks dequantized in one run.
    @Test func rowsAreConsecutiveBlocks() throws {
        let fixture = try #require(QuantFixture.all.first { $0.name == "q4_k-raw" })
        let blocks = try fixture.blocks(), expected = try fixture.expectedBits()
        let columns = 512, rows = fixture.values / columns
        var row = [Float](repeating: 0, count: columns)
        blocks.withUnsafeBytes { raw in
            let matrix = WeightMatrix(base: raw.baseAddress!, format: .q4_K, rows: rows, columns: columns)
            for r in 0..<rows {
                row.withUnsafeMutableBufferPointer { matrix.dequantizeRow(r, into: $0.baseAddress!) }
                #expect(row.map(\.bitPattern) == Array(expected[(r * columns)..<((r + 1) * columns)]))
            }
        }
    }
}
