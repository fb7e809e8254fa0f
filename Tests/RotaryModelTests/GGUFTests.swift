import Foundation
import Testing
import RotaryTestSupport
@testable import RotaryModel
import RotaryNumerics

@Suite struct GGUFTests {
    static let tinyPath = sharedDirectory().appendingPathComponent("golden/llama/tiny-seed1234.gguf").path
    static let tinyBytes: [UInt8] = (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: tinyPath)))) ?? []

    @Test func readsTheTinyModel() throws {
        let file = try GGUFFile(path: Self.tinyPath)
        #expect(file.version == 3)
        #expect(file.value("general.architecture")?.string == "llama")
        #expect(file.value("llama.block_count")?.int == 2)
        #expect(file.value("tokenizer.ggml.tokens")?.array?.count == 424)
        #expect(file.tensors.count == 2 * 9 + 3)
        let q = try #require(file.tensor("blk.0.attn_q.weight"))
        #expect(q.dims == [64, 64] && q.type == .f32)
    }

    /// What the writer writes reads back identically, metadata and tensors.
    @Test func writerRoundTrips() throws {
        let original = try GGUFFile(path: Self.tinyPath)
        var writer = GGUFWriter()
        for (key, value) in original.metadata where key != "general.alignment" { writer.add(key, value) }
        for info in original.tensors { writer.addTensor(info.name, dims: info.dims, data: original.floats(info)) }
        let copy = try GGUFFile(bytes: GGUFBytes(writer.bytes()))
        #expect(copy.metadata.map(\.key) == original.metadata.map(\.key))
        for ((_, a), (_, b)) in zip(copy.metadata, original.metadata) { #expect(a == b) }
        #expect(copy.tensors.map(\.name) == original.tensors.map(\.name))
        for (a, b) in zip(copy.tensors, original.tensors) {
            #expect(a.dims == b.dims)
            #expect(copy.floats(a) == original.floats(b))
        }
        // The written model computes exactly what the original computes.
        let model = try LlamaModel(file: copy), reference = try LlamaModel(file: original)
        var c1 = model.makeCache(), c2 = reference.makeCache()
        let tokens = reference.tokenizer.encode("Hello world")
        #expect(model.forward(tokens, cache: &c1) == reference.forward(tokens, cache: &c2))
    }

    @Test func dequantizesF16AndQ8() throws {
        let values = (0..<64).map { Float($0) - 32 }
        var writer = GGUFWriter()
        writer.addEncodedTensor("half", dims: [64], type: .f16,
                                data: values.flatMap { v in withUnsafeBytes(of: Float16(v).bitPattern.littleEndian) { Array($0) } })
        // Q8_0: blocks of an f16 scale and 32 int8; scale 0.5 and quants 2·v give back v.
        var blocks: [UInt8] = []
        for block in 0..<2 {
            blocks += withUnsafeBytes(of: Float16(0.5).bitPattern.littleEndian) { Array($0) }
            blocks += values[(block * 32)..<(block * 32 + 32)].map { UInt8(bitPattern: Int8(2 * $0)) }
        }
        writer.addEncodedTensor("q8", dims: [64], type: .q8_0, data: blocks)
        let file = try GGUFFile(bytes: GGUFBytes(writer.bytes()))
        #expect(file.floats(try #require(file.tensor("half"))) == values)
        let q8 = try #require(file.tensor("q8"))
        #expect(q8.type == .q8_0 && q8.byteCount == 68)
        #expect(file.floats(q8) == values)
    }

    static let header: [UInt8] = Array("GGUF".utf8) + [3, 0, 0, 0]
    static let brokenHeaders: [([UInt8], String)] = [
        ([], "truncated"),
        (Array("GGML".utf8) + [3, 0, 0, 0], "bad magic"),
        (Array("GGUF".utf8) + [1, 0, 0, 0], "unsupported version 1"),
        (header + [UInt8](repeating: 255, count: 8) + [UInt8](repeating: 0, count: 8), "tensor count"),
        (header + [UInt8](repeating: 0, count: 8) + [1, 0, 0, 0, 0, 0, 0, 0] + [255, 255, 255, 255, 255, 255, 255, 127], "claims"),
    ]

    @Test(arguments: brokenHeaders)
    func rejectsBrokenHeaders(bytes: [UInt8], message: String) {
        #expect {
            _ = try GGUFFile(bytes: GGUFBytes(bytes))
        } throws: { error in
            (error as? GGUFError)?.message.contains(message) == true
        }
    }

    /// Two tensors of one name: which one a lookup meant is unknowable, so the file is refused, naming it.
    @Test func rejectsARepeatedTensorName() throws {
        var writer = GGUFWriter()
        writer.addTensor("twice", dims: [4], data: [1, 2, 3, 4])
        writer.addTensor("once", dims: [4], data: [5, 6, 7, 8])
        writer.addTensor("twice", dims: [4], data: [9, 9, 9, 9])
        #expect {
            _ = try GGUFFile(bytes: GGUFBytes(writer.bytes()))
        } throws: { error in
            (error as? GGUFError)?.message.contains("duplicate tensor twice") == true
        }
        var distinct = GGUFWriter()
        distinct.addTensor("a", dims: [4], data: [1, 2, 3, 4])
        distinct.addTensor("b", dims: [4], data: [5, 6, 7, 8])
        let file = try GGUFFile(bytes: GGUFBytes(distinct.bytes()))
        #expect(file.floats(try #require(file.tensor("b"))) == [5, 6, 7, 8])
        #expect(file.tensor("c") == nil)
    }

    @Test func rejectsTensorDataPastTheEnd() throws {
        let truncated = Array(Self.tinyBytes.dropLast(100))
        #expect {
            _ = try GGUFFile(bytes: GGUFBytes(truncated))
        } throws: { error in
            (error as? GGUFError)?.message.contains("past the end") == true
        }
    }

    /// 1,200 seeded mutations of the tiny model (bit flips, byte edits in the header, truncations,
    /// rewritten counts and offsets): every load either succeeds or throws — no crash, no huge allocation.
    @Test func mutatedFilesLoadOrThrow() throws {
        var generator = SplitMix64(seed: 2024)
        let original = Self.tinyBytes
        let parsed = try GGUFFile(bytes: GGUFBytes(original))
        let directoryEnd = parsed.tensors.map(\.offset).min()!
        let dataEnd = parsed.tensors.map { $0.offset + $0.byteCount }.max()!
        var loaded = 0, rejected = 0, truncatedLoads = 0, silentErrors = 0
        for round in 0..<1200 {
            var bytes = original
            switch round % 4 {
            case 0:   // flip bits anywhere in the header and directory
                for _ in 0..<Int.random(in: 1...8, using: &generator) {
                    let i = Int.random(in: 0..<directoryEnd, using: &generator)
                    bytes[i] ^= UInt8(1) << UInt8.random(in: 0...7, using: &generator)
                }
            case 1:   // truncate (before the end of the tensor data: must be refused)
                bytes = Array(bytes.prefix(Int.random(in: 0..<dataEnd, using: &generator)))
            case 2:   // overwrite a 64-bit field with an extreme value
                let i = Int.random(in: 0..<(directoryEnd - 8), using: &generator)
                let value: UInt64 = [UInt64.max, 1 << 40, 1 << 62, UInt64(Int.random(in: 0...1_000_000, using: &generator))].randomElement(using: &generator)!
                withUnsafeBytes(of: value.littleEndian) { for k in 0..<8 { bytes[i + k] = $0[k] } }
            default:   // random bytes over a random span
                let i = Int.random(in: 0..<directoryEnd, using: &generator)
                for k in i..<min(i + Int.random(in: 1...32, using: &generator), bytes.count) { bytes[k] = UInt8.random(in: 0...255, using: &generator) }
            }
            do {
                let file = try GGUFFile(bytes: GGUFBytes(bytes))
                let model = try LlamaModel(file: file)
                // A model that loads must also run.
                var cache = model.makeCache(capacity: 8)
                let logits = model.forward([model.tokenizer.bosID ?? 0], cache: &cache)
                #expect(logits.count == model.configuration.vocabularySize)
                loaded += 1
                if round % 4 == 1 { truncatedLoads += 1 }
            } catch {
                rejected += 1
                if error.message.isEmpty { silentErrors += 1 }
            }
        }
        // Every failure says what is wrong; no truncated file loads; both outcomes occur.
        #expect(silentErrors == 0, "\(silentErrors) errors without a message")
        #expect(truncatedLoads == 0, "\(truncatedLoads) files cut inside their tensor data loaded")
        #expect(rejected > 600 && loaded > 0, "\(loaded) loaded, \(rejected) rejected")
    }
}

