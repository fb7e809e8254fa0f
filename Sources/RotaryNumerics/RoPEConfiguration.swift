/// Which coordinates form a rotated pair.
public enum RoPELayout: String, CaseIterable, Sendable, Hashable {
    /// GPT-NeoX / Hugging Face `rotate_half`: coordinate i pairs with i + rotary_dim/2.
    case half
    /// GPT-J / RoFormer / llama.cpp "normal": coordinate 2j pairs with 2j+1.
    case interleaved
}

/// Which side of the dot product a vector is on. Only `xpos` scales the two sides differently.
public enum RoPERole: String, CaseIterable, Sendable, Hashable {
    case query, key
}

/// How the inverse frequencies θ_i = base^(-2i/d) are rescaled; names and parameters follow
/// Hugging Face transformers' `rope_type` and `rope_parameters`.
public enum RoPEScaling: Sendable, Hashable {
    /// `default`: plain RoPE.
    case none
    /// `linear`: every θ_i divided by `factor` (position interpolation).
    case linear(factor: Double)
    /// `dynamic`: NTK-aware; the base grows with the sequence length of the call, past the
    /// model's `max_position_embeddings`.
    case dynamic(factor: Double)
    /// `yarn`: NTK-by-parts interpolation plus an attention (mscale) factor.
    case yarn(YaRNParameters)
    /// `llama3`: Llama 3.1's wavelength-banded scaling.
    case llama3(Llama3Parameters)
    /// `longrope`: per-frequency factors, short or long by sequence length (Phi-3).
    case longrope(LongRoPEParameters)
    /// `xpos`: rotation plus a per-pair exponential scale (Sun et al. 2022).
    case xpos(scaleBase: Double)

    /// The `rope_type` names, one per case.
    public enum Kind: String, CaseIterable, Sendable {
        case none = "default", linear, dynamic, yarn, llama3, longrope, xpos
    }

    public var kind: Kind {
        switch self {
        case .none: return .none
        case .linear: return .linear
        case .dynamic: return .dynamic
        case .yarn: return .yarn
        case .llama3: return .llama3
        case .longrope: return .longrope
        case .xpos: return .xpos
        }
    }

    /// The `rope_type` name.
    public var name: String { kind.rawValue }
}

public struct YaRNParameters: Sendable, Hashable {
    /// nil: `max_position_embeddings / original_max_position_embeddings`.
    public var factor: Double?
    public var originalMaxPositionEmbeddings: Int?
    public var betaFast: Double = 32
    public var betaSlow: Double = 1
    public var mscale: Double?
    public var mscaleAllDim: Double?
    public var attentionFactor: Double?
    /// Round the correction range outwards to whole dimensions (false in gpt-oss).
    public var truncate = true

    public init(factor: Double? = nil, originalMaxPositionEmbeddings: Int? = nil, betaFast: Double = 32,
                betaSlow: Double = 1, mscale: Double? = nil, mscaleAllDim: Double? = nil,
                attentionFactor: Double? = nil, truncate: Bool = true) {
        self.factor = factor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
        self.betaFast = betaFast
        self.betaSlow = betaSlow
        self.mscale = mscale
        self.mscaleAllDim = mscaleAllDim
        self.attentionFactor = attentionFactor
        self.truncate = truncate
    }
}

public struct Llama3Parameters: Sendable, Hashable {
    public var factor: Double
    public var lowFreqFactor: Double
    public var highFreqFactor: Double
    public var originalMaxPositionEmbeddings: Int

    public init(factor: Double, lowFreqFactor: Double, highFreqFactor: Double, originalMaxPositionEmbeddings: Int) {
        self.factor = factor
        self.lowFreqFactor = lowFreqFactor
        self.highFreqFactor = highFreqFactor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
    }
}

public struct LongRoPEParameters: Sendable, Hashable {
    /// One factor per rotated pair, used while the sequence fits the original context.
    public var shortFactor: [Double]
    /// One factor per rotated pair, used beyond it.
    public var longFactor: [Double]
    /// nil: `max_position_embeddings / original_max_position_embeddings`.
    public var factor: Double?
    public var originalMaxPositionEmbeddings: Int?
    public var attentionFactor: Double?

    public init(shortFactor: [Double], longFactor: [Double], factor: Double? = nil,
                originalMaxPositionEmbeddings: Int? = nil, attentionFactor: Double? = nil) {
        self.shortFactor = shortFactor
        self.longFactor = longFactor
        self.factor = factor
        self.originalMaxPositionEmbeddings = originalMaxPositionEmbeddings
        self.attentionFactor = attentionFactor
    }
}

/// A configuration value that cannot work, with the parameter it concerns (HF name).
public struct RoPEConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var parameter: String
    public var message: String
    public var description: String { "\(parameter): \(message)" }
}

/// Everything that decides the rotation of one head: dimensions, base, pairing and scaling.
public struct RoPEConfiguration: Sendable, Hashable {
    public let headDim: Int
    /// The leading coordinates that rotate; the tail passes through unchanged.
    public let rotaryDim: Int
    /// `rope_theta`, the base of the frequencies.
    public let theta: Double
    public let layout: RoPELayout
    public let scaling: RoPEScaling
    /// The model's context length; `dynamic`, `yarn` and `longrope` consult it.
    public let maxPositionEmbeddings: Int?

    /// Number of rotated pairs.
    public var pairCount: Int { rotaryDim / 2 }

    /// - Parameter rotaryDim: nil means `Int(headDim × partialRotaryFactor)` as transformers computes it.
    public init(headDim: Int, theta: Double = 10_000, layout: RoPELayout = .half, scaling: RoPEScaling = .none,
                rotaryDim: Int? = nil, partialRotaryFactor: Double = 1, maxPositionEmbeddings: Int? = nil)
        throws(RoPEConfigurationError) {
        func fail(_ parameter: String, _ message: String) -> RoPEConfigurationError {
            RoPEConfigurationError(parameter: parameter, message: message)
        }
        guard headDim > 0 else { throw fail("head_dim", "must be positive, got \(headDim)") }
        guard partialRotaryFactor > 0 && partialRotaryFactor <= 1 else {
            throw fail("partial_rotary_factor", "must be in (0, 1], got \(partialRotaryFactor)")
        }
        let rotary = rotaryDim ?? Int(Double(headDim) * partialRotaryFactor)
        let rotaryName = rotaryDim == nil && partialRotaryFactor != 1 ? "partial_rotary_factor" : (rotaryDim == nil ? "head_dim" : "rotary_dim")
        guard rotary >= 2, rotary <= headDim else {
            throw fail(rotaryName, "rotary dimension \(rotary) must be in 2...head_dim (\(headDim))")
        }
        guard rotary % 2 == 0 else { throw fail(rotaryName, "rotary dimension must be even, got \(rotary)") }
        guard theta.isFinite && theta > 1 else { throw fail("rope_theta", "must be a finite number > 1, got \(theta)") }
        if let maxPositionEmbeddings, maxPositionEmbeddings < 1 {
            throw fail("max_position_embeddings", "must be positive, got \(maxPositionEmbeddings)")
        }
        try Self.validate(scaling, pairCount: rotary / 2, maxPositionEmbeddings: maxPositionEmbeddings, fail)
        self.headDim = headDim
        self.rotaryDim = rotary
        self.theta = theta
        self.layout = layout
        self.scaling = scaling
        self.maxPositionEmbeddings = maxPositionEmbeddings
    }

    private static func validate(
        _ scaling: RoPEScaling, pairCount: Int, maxPositionEmbeddings: Int?,
        _ fail: (String, String) -> RoPEConfigurationError
    ) throws(RoPEConfigurationError) {
        func positive(_ value: Double?, _ name: String) throws(RoPEConfigurationError) {
            if let value, !(value.isFinite && value > 0) { throw fail(name, "must be a finite number > 0, got \(value)") }
        }
        func factorAtLeastOne(_ value: Double?) throws(RoPEConfigurationError) {
            if let value, !(value.isFinite && value >= 1) { throw fail("factor", "must be a finite number >= 1, got \(value)") }
        }
        /// `original` is the explicit original_max_position_embeddings.
        func contextKnown(_ original: Int?, _ factor: Double?) throws(RoPEConfigurationError) {
            if let original, original < 1 { throw fail("original_max_position_embeddings", "must be positive, got \(original)") }
            if factor == nil && (original == nil || maxPositionEmbeddings == nil) {
                throw fail("factor", "is required unless both original_max_position_embeddings and max_position_embeddings are given")
            }
            if original == nil && maxPositionEmbeddings == nil {
                throw fail("max_position_embeddings", "is required (or original_max_position_embeddings) for rope_type '\(scaling.name)'")
            }
        }
        switch scaling {
        case .none: break
        case .linear(let factor): try positive(factor, "factor")
        case .dynamic(let factor):
            try factorAtLeastOne(factor)
            if maxPositionEmbeddings == nil { throw fail("max_position_embeddings", "is required for rope_type 'dynamic'") }
        case .yarn(let p):
            try factorAtLeastOne(p.factor)
            try contextKnown(p.originalMaxPositionEmbeddings, p.factor)
            try positive(p.betaFast, "beta_fast")
            try positive(p.betaSlow, "beta_slow")
            try positive(p.attentionFactor, "attention_factor")
            if let m = p.mscale, !m.isFinite { throw fail("mscale", "must be finite") }
            if let m = p.mscaleAllDim, !m.isFinite { throw fail("mscale_all_dim", "must be finite") }
        case .llama3(let p):
            try factorAtLeastOne(p.factor)
            try positive(p.lowFreqFactor, "low_freq_factor")
            try positive(p.highFreqFactor, "high_freq_factor")
            if !(p.highFreqFactor > p.lowFreqFactor) {
                throw fail("high_freq_factor", "must be greater than low_freq_factor (\(p.lowFreqFactor)), got \(p.highFreqFactor)")
            }
            if p.originalMaxPositionEmbeddings < 1 { throw fail("original_max_position_embeddings", "must be positive") }
        case .longrope(let p):
            try positive(p.factor, "factor")
            try positive(p.attentionFactor, "attention_factor")
            try contextKnown(p.originalMaxPositionEmbeddings, p.factor)
            for (name, factors) in [("short_factor", p.shortFactor), ("long_factor", p.longFactor)] {
                guard factors.count == pairCount else {
                    throw fail(name, "needs one entry per rotated pair (\(pairCount)), got \(factors.count)")
                }
                if let bad = factors.first(where: { !($0.isFinite && $0 > 0) }) {
                    throw fail(name, "entries must be finite numbers > 0, got \(bad)")
                }
            }
        case .xpos(let scaleBase): try positive(scaleBase, "scale_base")
        }
    }
}
