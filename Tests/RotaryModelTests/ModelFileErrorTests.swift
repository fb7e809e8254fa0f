import Testing
@testable import RotaryModel
import RotaryNumerics

/// Files that are wrong for a model give one load error that names the tensor or key, never a crash.
@Suite struct ModelFileErrorTests {
    /// The tiny llama model rewritten: metadata changed by `edit`, an extra tensor appended when given.
    static func rewritten(metadata edit: (inout [(key: String, value: GGUFValue)]) -> Void = { _ in },
                          extra: (name: String, dims: [Int], type: TensorFormat, data: [UInt8])? = nil,
                          dropping dropped: String? = nil) throws -> [UInt8] {
        let original = try GGUFFile(path: GGUFTests.tinyPath)
        var metadata = original.metadata.filter { $0.key != "general.alignment" }
        edit(&metadata)
        var writer = GGUFWriter()
        for (key, value) in metadata { writer.add(key, value) }
        for info in original.tensors where info.name != dropped {
            writer.addTensor(info.name, dims: info.dims, data: original.floats(info))
        }
        if let extra { writer.addEncodedTensor(extra.name, dims: extra.dims, type: extra.type, data: extra.data) }
        return writer.bytes()
    }

    static func loadError(_ bytes: [UInt8]) -> String? {
        do {
            _ = try LlamaModel(file: GGUFFile(bytes: GGUFBytes(bytes)))
            return nil
        } catch {
            return error.message
        }
    }

    @Test func anUnknownTensorTypeIsNamed() throws {
        var bytes = try Self.rewritten(extra: ("odd.weight", [32], .q4_0, [UInt8](repeating: 0, count: 18)))
        // The extra tensor's type code is the 4 bytes after its name, rank and one dimension in the directory.
        let name = Array("odd.weight".utf8)
        let at = try #require((0..<(bytes.count - name.count)).first { Array(bytes[$0..<($0 + name.count)]) == name })
        let typeOffset = at + name.count + 4 + 8
        #expect(bytes[typeOffset] == UInt8(TensorFormat.q4_0.rawValue))
        bytes[typeOffset] = 99
        let message = try #require(Self.loadError(bytes))
        #expect(message.contains("odd.weight") && message.contains("ggml type 99") && message.contains("Q4_K (12)"))
    }

    @Test func anUnknownArchitectureIsNamed() throws {
        let bytes = try Self.rewritten(metadata: { metadata in
            let index = metadata.firstIndex { $0.key == "general.architecture" }!
            metadata[index].value = .string("mamba")
        })
        let message = try #require(Self.loadError(bytes))
        #expect(message.contains("general.architecture 'mamba'") && message.contains("gemma3, llama, qwen2"))
    }

    @Test func aKQuantRowMustBeWholeSuperBlocks() throws {
        let bytes = try Self.rewritten(extra: ("short.weight", [128, 2], .q4_K, [UInt8](repeating: 0, count: 144)))
        let message = try #require(Self.loadError(bytes))
        #expect(message.contains("short.weight") && message.contains("Q4_K") && message.contains("256-element block"))
    }

    @Test func aTensorShorterThanItsTypeNeedsIsRefused() throws {
        var bytes = try Self.rewritten(extra: ("last.weight", [32, 4], .q8_0, [UInt8](repeating: 0, count: 4 * 34)))
        bytes.removeLast(40)   // the last tensor's data (aligned at the end of the file) loses part of a block
        let message = try #require(Self.loadError(bytes))
        #expect(message.contains("past the end"))
    }

    @Test func aMissingBiasOfQwen2IsNamed() throws {
        let bytes = try Self.rewritten(metadata: { metadata in
            metadata = metadata.map { entry in
                if entry.key == "general.architecture" { return (entry.key, .string("qwen2")) }
                return (entry.key.hasPrefix("llama.") ? "qwen2." + entry.key.dropFirst(6) : entry.key, entry.value)
            }
        })
        let message = try #require(Self.loadError(bytes))
        #expect(message.contains("tensor blk.0.attn_q.bias is missing"))
    }

    @Test func aMatrixOfTheWrongShapeIsNamed() throws {
        let bytes = try Self.rewritten(metadata: { metadata in
            let index = metadata.firstIndex { $0.key == "llama.feed_forward_length" }!
            metadata[index].value = .uint32(160)
        })
        let message = try #require(Self.loadError(bytes))
        #expect(message.contains("blk.0.ffn_gate.weight has dims [64, 172], expected [64, 160]"))
    }

    @Test func gemma3WithoutAWindowIsAllGlobalAndAWrongPatternIsNamed() throws {
        func gemma3(_ extra: [(String, GGUFValue)]) throws -> [UInt8] {
            try Self.rewritten(metadata: { metadata in
                metadata = metadata.map { entry in
                    if entry.key == "general.architecture" { return (entry.key, .string("gemma3")) }
                    return (entry.key.hasPrefix("llama.") ? "gemma3." + entry.key.dropFirst(6) : entry.key, entry.value)
                }
                metadata += extra.map { (key: $0.0, value: $0.1) }
            })
        }
        // The tiny llama file lacks gemma3's norms: the first missing tensor is named.
        #expect(Self.loadError(try gemma3([]))?.contains("tensor blk.0.attn_q_norm.weight is missing") == true)
        let configuration = { (bytes: [UInt8]) throws -> ModelConfiguration in
            try ModelConfiguration(gguf: GGUFFile(bytes: GGUFBytes(bytes)), vocabularySize: 424)
        }
        #expect(try configuration(try gemma3([])).layerAttention == [.global, .global])
        #expect(try configuration(try gemma3([("gemma3.attention.sliding_window", .uint32(4))])).layerAttention
                == [.slidingWindow(4), .slidingWindow(4)])
        let pattern = try gemma3([("gemma3.attention.sliding_window", .uint32(4)),
                                  ("gemma3.attention.sliding_window_pattern", .array(elementType: .bool, [.bool(false), .bool(true)]))])
        #expect(try configuration(pattern).layerAttention == [.global, .slidingWindow(4)])
        let short = try gemma3([("gemma3.attention.sliding_window", .uint32(4)),
                                ("gemma3.attention.sliding_window_pattern", .array(elementType: .bool, [.bool(true)]))])
        #expect(Self.loadError(short)?.contains("gemma3.attention.sliding_window_pattern must be a period or one bool per layer") == true)
    }
}
