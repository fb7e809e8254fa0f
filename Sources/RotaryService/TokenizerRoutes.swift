import RotaryHTTP
import RotaryNumerics
import RotaryJSON
import RotaryModel

/// vLLM-shaped tokenizer endpoints (`/tokenize`, `/detokenize`, `/tokenizer_info`) and model
/// information (`/v1/models`, `/v1/model`), answered without queueing for the model. `/tokenize` and
/// `/detokenize` run on a worker: their work grows with the body (up to max_body_bytes of text), and the
/// server's own threads must stay free for everything else.
enum TokenizerRoutes {
    static func routes(owner: ModelOwner, configuration: ServiceConfiguration) -> [Route] {
        [
            Route("POST", "/tokenize", consumes: ["application/json"], handler: .worker { request in
                let tokenizer = try owner.requireTokenizer()
                var reader = try ObjectReader(try parseJSON(request.body, limits: configuration), path: "")
                guard let prompt = try reader.string("prompt") else { throw HTTPError.badRequest("prompt is required (a string)", param: "prompt") }
                let special = try reader.bool("add_special_tokens") ?? true
                try reader.finish()
                let ids = tokenizer.encode(prompt, addSpecial: special)
                var writer = JSONWriter()
                writer.raw("{\"tokens\":[" + ids.map(String.init).joined(separator: ",") + "],\"pieces\":[")
                for (i, id) in ids.enumerated() {
                    if i > 0 { writer.comma() }
                    writer.string(tokenizer.piece(id))
                }
                writer.raw("],\"count\":\(ids.count),\"max_model_len\":")
                owner.statedContextLength.map { writer.int($0) } ?? writer.null()
                writer.raw("}")
                return .json(writer.bytes)
            }),
            Route("POST", "/detokenize", consumes: ["application/json"], handler: .worker { request in
                let tokenizer = try owner.requireTokenizer()
                var reader = try ObjectReader(try parseJSON(request.body, limits: configuration), path: "")
                guard let numbers = try reader.doubles("tokens") else { throw HTTPError.badRequest("tokens is required (token ids)", param: "tokens") }
                try reader.finish()
                let ids = numbers.isEmpty ? [] : try Prompt.ids(numbers, field: "tokens", vocabularySize: tokenizer.vocabularySize)
                var writer = JSONWriter()
                writer.raw("{"); writer.key("prompt"); writer.string(tokenizer.decode(ids)); writer.raw("}")
                return .json(writer.bytes)
            }),
            Route("GET", "/tokenizer_info", handler: .inline { _ in
                let t = try owner.requireTokenizer()
                var writer = JSONWriter()
                writer.raw("{")
                let algorithm = t.model == "gpt2" ? "byte-level BPE" : t.model == "llama" ? "SentencePiece" : t.model
                writer.key("tokenizer_class"); writer.string("\(t.model) (\(algorithm), from GGUF)"); writer.comma()
                writer.key("bos_token"); t.bosID.map { writer.string(t.piece($0)) } ?? writer.null(); writer.comma()
                writer.key("eos_token"); t.eosID.map { writer.string(t.piece($0)) } ?? writer.null(); writer.comma()
                writer.key("bos_token_id"); t.bosID.map { writer.int($0) } ?? writer.null(); writer.comma()
                writer.key("eos_token_id"); t.eosID.map { writer.int($0) } ?? writer.null(); writer.comma()
                writer.key("unk_token"); t.unknownID.map { writer.string(t.piece($0)) } ?? writer.null(); writer.comma()
                writer.key("add_bos_token"); writer.bool(t.addBOS); writer.comma()
                writer.key("vocab_size"); writer.int(t.vocabularySize); writer.comma()
                writer.key("model_max_length"); owner.statedContextLength.map { writer.int($0) } ?? writer.null()
                writer.raw("}")
                return .json(writer.bytes)
            }),
            Route("GET", "/v1/models", handler: .inline { _ in
                var writer = JSONWriter()
                writer.raw("{\"object\":\"list\",\"data\":[")
                if owner.model != nil {
                    writer.raw("{"); writer.key("id"); writer.string(owner.name)
                    writer.raw(",\"object\":\"model\",\"created\":0,\"owned_by\":\"rotary\"}")
                }
                writer.raw("]}")
                return .json(writer.bytes)
            }),
            Route("GET", "/v1/model", handler: .inline { _ in
                let model = try owner.requireModel()
                let c = model.configuration
                var writer = JSONWriter()
                writer.raw("{")
                writer.key("id"); writer.string(owner.name); writer.comma()
                writer.key("architecture"); writer.string(c.architecture.name); writer.comma()
                writer.key("summary"); writer.string(model.summary); writer.comma()
                writer.key("parameters"); writer.int(model.weights.parameterCount); writer.comma()
                writer.key("weight_bytes"); writer.int(model.weights.storedBytes); writer.comma()
                writer.key("kernels")
                writer.string((c.exactActivations ? "activations kept in float (--exact-activations); " : "") + TensorKernels.description)
                writer.comma()
                writer.key("tensor_types"); writer.raw("{")
                for (index, entry) in model.weights.formatCounts.sorted(by: { $0.key < $1.key }).enumerated() {
                    if index > 0 { writer.comma() }
                    writer.key(entry.key); writer.int(entry.value)
                }
                writer.raw("},")
                writer.key("tokenizer"); writer.raw("{")
                writer.key("model"); writer.string(model.file.value("tokenizer.ggml.model")?.string ?? "llama"); writer.comma()
                writer.key("pre"); writer.string(model.file.value("tokenizer.ggml.pre")?.string ?? "default")
                writer.raw("},")
                writer.key("layer_attention"); writer.raw("[")
                for (l, kind) in c.layerAttention.enumerated() {
                    if l > 0 { writer.comma() }
                    switch kind {
                    case .global: writer.string("global")
                    case .slidingWindow(let window): writer.string("sliding_window:\(window)")
                    }
                }
                writer.raw("],")
                writer.key("context_length"); writer.int(c.contextLength); writer.comma()
                writer.key("vocab_size"); writer.int(c.vocabularySize); writer.comma()
                writer.key("embedding_length"); writer.int(c.dim); writer.comma()
                writer.key("layers"); writer.int(c.layers); writer.comma()
                writer.key("heads"); writer.int(c.heads); writer.comma()
                writer.key("kv_heads"); writer.int(c.kvHeads); writer.comma()
                writer.key("head_dim"); writer.int(c.headDim); writer.comma()
                writer.key("feed_forward_length"); writer.int(c.feedForwardDim); writer.comma()
                // The model's own RoPE as a `rope` object (what a request's `rope` is laid over), and what it cannot carry.
                var rope = ModelRoPE.object(c.rope)
                if let local = c.localRope { rope.append(("sliding_window_rope_theta", .number(local.theta))) }
                if c.ropeFrequencyFactors != nil { rope.append(("frequency_factors", .bool(true))) }
                writer.key("rope"); writer.value(.object(rope)); writer.comma()
                writer.key("max_eval_context"); writer.int(configuration.evalContextLimit(c)); writer.comma()
                let threads = Parallel.threads
                writer.key("compute_threads"); writer.raw("{")
                writer.key("count"); writer.int(threads.count); writer.comma()
                writer.key("available_cpus"); writer.int(threads.availableCPUs); writer.comma()
                writer.key("reason"); writer.string(threads.reason)
                writer.raw("}}")
                return .json(writer.bytes)
            }),
        ]
    }
}
