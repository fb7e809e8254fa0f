import RotaryModel
import RotaryNumerics

/// Writes trained weights as a standard `llama` GGUF (llama.cpp and `rotary serve --model` read it),
/// and checkpoints that also carry the optimizer state so training can resume.
public enum ModelExport {
    /// - Parameter extra: more metadata (e.g. `rotary.training.command`).
    public static func gguf(_ p: TrainingParameters, tokenizer: SentencePieceTokenizer, name: String,
                            extra: [(String, GGUFValue)] = [], optimizer: AdamW? = nil) -> [UInt8] {
        let c = p.configuration
        var w = GGUFWriter()
        w.add("general.architecture", .string("llama"))
        w.add("general.name", .string(name))
        w.add("general.file_type", .uint32(0))
        w.add("llama.vocab_size", .uint32(UInt32(c.vocabularySize)))
        w.add("llama.context_length", .uint32(UInt32(c.contextLength)))
        w.add("llama.embedding_length", .uint32(UInt32(c.dim)))
        w.add("llama.block_count", .uint32(UInt32(c.layers)))
        w.add("llama.feed_forward_length", .uint32(UInt32(c.feedForwardDim)))
        w.add("llama.attention.head_count", .uint32(UInt32(c.heads)))
        w.add("llama.attention.head_count_kv", .uint32(UInt32(c.kvHeads)))
        w.add("llama.rope.dimension_count", .uint32(UInt32(c.rope.rotaryDim)))
        w.add("llama.rope.freq_base", .float32(Float(c.rope.theta)))
        for (key, value) in ropeScalingMetadata(c) { w.add(key, value) }
        w.add("llama.attention.layer_norm_rms_epsilon", .float32(c.rmsEpsilon))
        w.add("tokenizer.ggml.model", .string("llama"))
        w.add("tokenizer.ggml.tokens", .array(elementType: .string, tokenizer.pieces.map(GGUFValue.string)))
        w.add("tokenizer.ggml.scores", .array(elementType: .float32, tokenizer.scores.map(GGUFValue.float32)))
        w.add("tokenizer.ggml.token_type", .array(elementType: .int32, tokenizer.types.map { .int32($0.rawValue) }))
        if let bos = tokenizer.bosID { w.add("tokenizer.ggml.bos_token_id", .uint32(UInt32(bos))) }
        if let eos = tokenizer.eosID { w.add("tokenizer.ggml.eos_token_id", .uint32(UInt32(eos))) }
        w.add("tokenizer.ggml.unknown_token_id", .uint32(UInt32(tokenizer.unknownID ?? 0)))
        w.add("tokenizer.ggml.add_bos_token", .bool(tokenizer.addBOS))
        w.add("tokenizer.ggml.add_eos_token", .bool(false))
        w.add("tokenizer.ggml.add_space_prefix", .bool(tokenizer.addSpacePrefix))
        if c.positionEncoding != .rope { w.add(PositionEncodingKind.metadataKey, .string(c.positionEncoding.rawValue)) }
        if let scale = c.embeddingScale { w.add(ModelConfiguration.embeddingScaleKey, .float32(scale)) }
        for (key, value) in extra { w.add(key, value) }
        for name in p.names { w.addTensor(name, dims: p.dims[name]!, data: p.tensors[name]!) }
        if let optimizer {
            w.add("rotary.checkpoint.step", .uint64(UInt64(optimizer.step)))
            for name in p.names {
                w.addTensor("rotary.adam.m." + name, dims: p.dims[name]!, data: optimizer.m.tensors[name]!)
                w.addTensor("rotary.adam.v." + name, dims: p.dims[name]!, data: optimizer.v.tensors[name]!)
            }
        }
        return w.bytes()
    }

    /// The scalings a `llama` GGUF records (llama.cpp reads the same keys); anything else is refused before training.
    public static func recordableScaling(_ rope: RoPEConfiguration) -> String? {
        switch rope.scaling {
        case .none, .linear: return nil
        case .yarn(let y):
            let defaults = YaRNParameters()
            guard y.betaFast == defaults.betaFast, y.betaSlow == defaults.betaSlow, y.mscale == nil, y.mscaleAllDim == nil,
                  y.attentionFactor == nil, y.truncate else {
                return "a GGUF file records YaRN's factor and original context only; leave beta_fast, beta_slow, mscale and attention_factor at their defaults"
            }
            return nil
        default:
            return "a GGUF file cannot record rope_type '\(rope.scaling.name)'; train under default, linear or yarn"
        }
    }

    /// `llama.rope.scaling.*` for linear and YaRN.
    static func ropeScalingMetadata(_ c: ModelConfiguration) -> [(String, GGUFValue)] {
        switch c.rope.scaling {
        case .linear(let factor):
            return [("llama.rope.scaling.type", .string("linear")), ("llama.rope.scaling.factor", .float32(Float(factor)))]
        case .yarn(let y):
            // As the tables resolve them (validation guarantees one of the two lengths is set).
            let original = y.originalMaxPositionEmbeddings ?? c.rope.maxPositionEmbeddings ?? c.contextLength
            let factor = y.factor ?? Double(c.rope.maxPositionEmbeddings ?? original) / Double(original)
            return [("llama.rope.scaling.type", .string("yarn")), ("llama.rope.scaling.factor", .float32(Float(factor))),
                    ("llama.rope.scaling.original_context_length", .uint32(UInt32(original)))]
        default:
            return []
        }
    }
}
