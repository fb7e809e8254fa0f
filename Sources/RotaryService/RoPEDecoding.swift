import RotaryHTTP
import RotaryJSON
import RotaryNumerics

/// Decodes the `rope` object of a request (Hugging Face `rope_parameters` names, plus `layout`,
/// `max_position_embeddings`, `rotary_dim` and xPos's `scale_base`) into a checked configuration.
enum RoPEDecoding {
    /// Every key any rope_type reads.
    static let allKeys: Set<String> = [
        "rope_type", "rope_theta", "layout", "max_position_embeddings", "partial_rotary_factor", "rotary_dim",
        "head_dim", "factor", "original_max_position_embeddings", "low_freq_factor", "high_freq_factor",
        "beta_fast", "beta_slow", "mscale", "mscale_all_dim", "attention_factor", "truncate",
        "short_factor", "long_factor", "scale_base",
    ]

    /// - Parameters:
    ///   - vectorsField: the request field whose last dimension is the head dimension (named in errors about it).
    ///   - ignoring: keys of the object that belong to the caller (e.g. `type` in `position_encoding`).
    static func decode(_ value: JSONValue?, headDim: Int, path: String = "rope", vectorsField: String = "vectors",
                       ignoring: Set<String> = []) throws(HTTPError) -> RoPEConfiguration {
        var reader = try ObjectReader(value ?? .object([]), path: path)
        for key in ignoring { _ = reader.value(key) }
        let type = try reader.choice("rope_type", RoPEScaling.Kind.allCases.map(\.rawValue)) ?? "default"
        let theta = try reader.double("rope_theta") ?? 10_000
        let layout = RoPELayout(rawValue: try reader.choice("layout", RoPELayout.allCases.map(\.rawValue)) ?? "half")!
        let maxPositions = try reader.int("max_position_embeddings", in: 1...Int(Int32.max))
        let partial = try reader.double("partial_rotary_factor") ?? 1
        let rotaryDim = try reader.int("rotary_dim", in: 0...Int(Int32.max))
        if let declared = try reader.int("head_dim", in: 0...Int(Int32.max)), declared != headDim {
            throw .badRequest("\(reader.name("head_dim")) is \(declared) but \(vectorsField) have \(headDim) components",
                              param: reader.name("head_dim"))
        }
        if rotaryDim != nil && reader.has("partial_rotary_factor") {
            throw .badRequest("give \(reader.name("rotary_dim")) or \(reader.name("partial_rotary_factor")), not both",
                              param: reader.name("rotary_dim"))
        }
        func required<T>(_ value: T?, _ key: String) throws(HTTPError) -> T {
            guard let value else {
                throw .badRequest("\(reader.name(key)) is required for rope_type '\(type)'", param: reader.name(key))
            }
            return value
        }
        let scaling: RoPEScaling
        switch type {
        case "linear": scaling = .linear(factor: try required(try reader.double("factor"), "factor"))
        case "dynamic": scaling = .dynamic(factor: try required(try reader.double("factor"), "factor"))
        case "yarn":
            var p = YaRNParameters()
            p.factor = try reader.double("factor")
            p.originalMaxPositionEmbeddings = try reader.int("original_max_position_embeddings", in: 1...Int(Int32.max))
            p.betaFast = try reader.double("beta_fast") ?? 32
            p.betaSlow = try reader.double("beta_slow") ?? 1
            p.mscale = try reader.double("mscale")
            p.mscaleAllDim = try reader.double("mscale_all_dim")
            p.attentionFactor = try reader.double("attention_factor")
            p.truncate = try reader.bool("truncate") ?? true
            scaling = .yarn(p)
        case "llama3":
            scaling = .llama3(Llama3Parameters(
                factor: try required(try reader.double("factor"), "factor"),
                lowFreqFactor: try required(try reader.double("low_freq_factor"), "low_freq_factor"),
                highFreqFactor: try required(try reader.double("high_freq_factor"), "high_freq_factor"),
                originalMaxPositionEmbeddings: try required(
                    try reader.int("original_max_position_embeddings", in: 1...Int(Int32.max)), "original_max_position_embeddings")))
        case "longrope":
            scaling = .longrope(LongRoPEParameters(
                shortFactor: try required(try reader.doubles("short_factor"), "short_factor"),
                longFactor: try required(try reader.doubles("long_factor"), "long_factor"),
                factor: try reader.double("factor"),
                originalMaxPositionEmbeddings: try reader.int("original_max_position_embeddings", in: 1...Int(Int32.max)),
                attentionFactor: try reader.double("attention_factor")))
        case "xpos": scaling = .xpos(scaleBase: try reader.double("scale_base") ?? 512)
        default: scaling = .none
        }
        try reader.finish(known: allKeys, notApplicable: "does not apply to rope_type '\(type)'")
        do {
            return try RoPEConfiguration(headDim: headDim, theta: theta, layout: layout, scaling: scaling,
                                         rotaryDim: rotaryDim, partialRotaryFactor: partial,
                                         maxPositionEmbeddings: maxPositions)
        } catch {
            let param = error.parameter == "head_dim" ? vectorsField : reader.name(error.parameter)
            throw .badRequest("\(param): \(error.message)", param: param)
        }
    }

    /// 400 naming the parameter unless the configuration's tables stay finite in float32 up to
    /// `maxPosition` (see `RoPEConfiguration.checkFinite`).
    static func checkFinite(_ configuration: RoPEConfiguration, maxPosition: Int, sequenceLength: Int? = nil,
                            path: String) throws(HTTPError) {
        do {
            try configuration.checkFinite(maxPosition: maxPosition, sequenceLength: sequenceLength)
        } catch {
            let param = path.isEmpty ? error.parameter : "\(path).\(error.parameter)"
            throw .badRequest("\(param): \(error.message)", param: param)
        }
    }

    /// 400 naming `field` when a result has a value that float32 cannot hold (the inputs were so large
    /// that the arithmetic overflowed), so that no 200 carries NaN or infinity.
    static func requireFinite(_ values: [Float], field: String, what: String) throws(HTTPError) {
        guard values.allSatisfy(\.isFinite) else {
            throw .badRequest("\(what) overflows float32 (beyond ±3.4e38): scale \(field) down", param: field)
        }
    }
}
