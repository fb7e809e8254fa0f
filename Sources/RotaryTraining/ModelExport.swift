import RotaryModel

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
}
