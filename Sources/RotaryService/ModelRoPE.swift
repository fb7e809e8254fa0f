import RotaryHTTP
import RotaryJSON
import RotaryModel
import RotaryNumerics

/// The `rope` field of the model routes: `/rotate`'s object, applied to the loaded model for one request.
/// Keys not given come from the model's own RoPE: its base keys (`rope_theta`, `layout`, `rotary_dim`,
/// `max_position_embeddings`) always, its scaling parameters while the request keeps its `rope_type`.
public enum ModelRoPE {
    /// Keys of the model's own object that carry over whatever `rope_type` the request names.
    static let baseKeys: Set<String> = ["rope_theta", "layout", "rotary_dim", "max_position_embeddings"]

    /// The model with the request's RoPE, or nil when the request has no `rope` (the model runs its own).
    static func decode(_ value: JSONValue?, model: LlamaModel, limits: ServiceConfiguration,
                       path: String = "rope") throws(HTTPError) -> ModelConfiguration? {
        guard let value, value != .null else { return nil }
        return try apply(value, to: model.configuration, positionLimit: limits.evalContextLimit(model.configuration), path: path)
    }

    /// `c` with the `rope` object laid over its own RoPE; `positionLimit` bounds the positions it must keep finite.
    /// `rotary train --rope` shares it, so a fine-tune reads its settings exactly as a request does.
    public static func apply(_ value: JSONValue, to c: ModelConfiguration, positionLimit limit: Int,
                             path: String = "rope") throws(HTTPError) -> ModelConfiguration {
        guard case .object(let given) = value else {
            throw .badRequest("\(path) must be a JSON object, got \(value.kindDescription)", param: path)
        }
        let own = object(c.rope)
        let givenType = given.first { $0.0 == "rope_type" }?.1
        let sameType = givenType == nil || givenType == .string(c.rope.scaling.name)
        var merged = given
        for (key, ownValue) in own where !given.contains(where: { $0.0 == key }) {
            if baseKeys.contains(key) || (sameType && key != "rope_type") || (givenType == nil && key == "rope_type") {
                merged.append((key, ownValue))
            }
        }
        let rope = try RoPEDecoding.decode(.object(merged), headDim: c.headDim, path: path, vectorsField: "the model's heads")
        if case .xpos = rope.scaling {
            throw .badRequest("\(path).rope_type 'xpos' scales queries and keys differently; the model routes take the other types",
                              param: "\(path).rope_type")
        }
        try RoPEDecoding.checkFinite(rope, maxPosition: limit, path: path)
        return c.with(rope: rope, keepFrequencyFactors: sameType)
    }

    /// A configuration as `/rotate`'s `rope` object: what `/v1/model` shows and answers echo.
    static func object(_ rope: RoPEConfiguration) -> [(String, JSONValue)] {
        var o: [(String, JSONValue)] = [("rope_type", .string(rope.scaling.name)), ("rope_theta", .number(rope.theta)),
                                        ("layout", .string(rope.layout.rawValue)), ("rotary_dim", .number(Double(rope.rotaryDim)))]
        if let m = rope.maxPositionEmbeddings { o.append(("max_position_embeddings", .number(Double(m)))) }
        func add(_ key: String, _ number: Double?) { if let number { o.append((key, .number(number))) } }
        func add(_ key: String, _ number: Int?) { add(key, number.map(Double.init)) }
        switch rope.scaling {
        case .none: break
        case .linear(let factor), .dynamic(let factor): add("factor", factor)
        case .yarn(let p):
            add("factor", p.factor); add("original_max_position_embeddings", p.originalMaxPositionEmbeddings)
            add("beta_fast", p.betaFast); add("beta_slow", p.betaSlow); add("mscale", p.mscale)
            add("mscale_all_dim", p.mscaleAllDim); add("attention_factor", p.attentionFactor)
            o.append(("truncate", .bool(p.truncate)))
        case .llama3(let p):
            add("factor", p.factor); add("low_freq_factor", p.lowFreqFactor); add("high_freq_factor", p.highFreqFactor)
            add("original_max_position_embeddings", p.originalMaxPositionEmbeddings)
        case .longrope(let p):
            o.append(("short_factor", .numbers(p.shortFactor))); o.append(("long_factor", .numbers(p.longFactor)))
            add("factor", p.factor); add("original_max_position_embeddings", p.originalMaxPositionEmbeddings)
            add("attention_factor", p.attentionFactor)
        case .xpos(let scaleBase): add("scale_base", scaleBase)
        }
        return o
    }

    /// The most positions one request may read: the model's context, or with a `rope` override (and always
    /// in `/perplexity`) up to `max_eval_context`.
    static func positionLimit(_ configuration: ModelConfiguration?, model: LlamaModel, limits: ServiceConfiguration) -> Int {
        configuration == nil ? model.configuration.contextLength : limits.evalContextLimit(model.configuration)
    }

    /// 413 naming `max_eval_context` when a request would read more positions than it allows.
    static func checkEvalContext(_ positions: Int, model: LlamaModel, limits: ServiceConfiguration, param: String) throws(HTTPError) {
        let limit = limits.evalContextLimit(model.configuration)
        guard positions <= limit else {
            throw .payloadTooLarge("the request reads \(positions) positions, over max_eval_context (\(limit); the model's context is "
                                   + "\(model.configuration.contextLength)): it bounds the KV memory of one request", param: param)
        }
    }
}

extension ServiceConfiguration {
    /// `max_eval_context`, or by default 4 × the model's context, capped where one request's float KV cache
    /// would pass `defaultEvalKVBytes`.
    func evalContextLimit(_ c: ModelConfiguration) -> Int {
        if let maxEvalContext { return maxEvalContext }
        let bytesPerPosition = 2 * c.layers * c.kvDim * MemoryLayout<Float>.stride
        return max(c.contextLength, min(4 * c.contextLength, Self.defaultEvalKVBytes / bytesPerPosition))
    }

    /// The KV bytes the default `max_eval_context` allows one request.
    static let defaultEvalKVBytes = 512 << 20
}
