#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The inverse frequencies one call uses, and the factor multiplied into cos and sin.
public struct RoPEFrequencies: Sendable, Equatable {
    /// θ_i for each rotated pair, `[rotaryDim / 2]`, after any scaling.
    public var inverseFrequencies: [Float]
    /// YaRN/LongRoPE "mscale" (1 for the others), multiplied into cos and sin.
    public var attentionScaling: Double
    /// xPos only: ζ_i per pair, `[rotaryDim / 2]`; a query at m is scaled by ζ_i^(m/scale_base).
    public var xposDecay: [Double]?
}

extension RoPEConfiguration {
    /// Whether `frequencies(sequenceLength:)` chooses by the length (`dynamic`, `longrope`).
    public var dependsOnSequenceLength: Bool {
        switch scaling {
        case .dynamic, .longrope: return true
        case .none, .linear, .yarn, .llama3, .xpos: return false
        }
    }

    /// The frequencies for a call whose sequence length is `sequenceLength` (max position + 1):
    /// `dynamic` and `longrope` choose by it, the other variants ignore it.
    ///
    /// Follows transformers' float32 recipe: the exponent 2i/d is a Float, the results are Floats.
    public func frequencies(sequenceLength: Int) -> RoPEFrequencies {
        let pairs = pairCount
        let dim = Double(rotaryDim)
        // base^(2i/d) with the exponent rounded to Float as transformers does.
        func basePower(_ base: Double, _ i: Int) -> Double {
            pow(base, Double(Float(2 * i) / Float(rotaryDim)))
        }
        let plain = (0..<pairs).map { 1.0 / basePower(theta, $0) }
        switch scaling {
        case .none:
            return RoPEFrequencies(inverseFrequencies: plain.map(Float.init), attentionScaling: 1)
        case .linear(let factor):
            return RoPEFrequencies(inverseFrequencies: plain.map { Float(Float($0) / Float(factor)) }, attentionScaling: 1)
        case .dynamic(let factor):
            let context = Double(maxPositionEmbeddings ?? sequenceLength)
            let length = max(Double(sequenceLength), context)
            let base = theta * pow(factor * length / context - (factor - 1), dim / (dim - 2))
            return RoPEFrequencies(inverseFrequencies: (0..<pairs).map { Float(1.0 / basePower(base, $0)) }, attentionScaling: 1)
        case .yarn(let p):
            return yarnFrequencies(p, plain: plain)
        case .llama3(let p):
            return RoPEFrequencies(inverseFrequencies: llama3Frequencies(p, plain: plain), attentionScaling: 1)
        case .longrope(let p):
            let original = p.originalMaxPositionEmbeddings ?? maxPositionEmbeddings!
            let factor = p.factor ?? Double(maxPositionEmbeddings ?? original) / Double(original)
            let scaling = p.attentionFactor ?? (factor <= 1 ? 1 : (1 + log(factor) / log(Double(original))).squareRoot())
            let factors = sequenceLength > original ? p.longFactor : p.shortFactor
            let inverse = (0..<pairs).map { i in
                Float(1) / (Float(factors[i]) * Float(basePower(theta, i)))
            }
            return RoPEFrequencies(inverseFrequencies: inverse, attentionScaling: scaling)
        case .xpos:
            // ζ_i = (2i/d + γ) / (1 + γ) with γ = 0.4, as in rotary-embedding-torch; scale_base divides the
            // position when the table is built, not the frequencies.
            let decay = (0..<pairs).map { (Double(2 * $0) + 0.4 * dim) / (1.4 * dim) }
            return RoPEFrequencies(inverseFrequencies: plain.map(Float.init), attentionScaling: 1, xposDecay: decay)
        }
    }

    private func yarnFrequencies(_ p: YaRNParameters, plain: [Double]) -> RoPEFrequencies {
        let original = Double(p.originalMaxPositionEmbeddings ?? maxPositionEmbeddings!)
        let factor = p.factor ?? Double(maxPositionEmbeddings!) / original
        func mscale(_ scale: Double, _ m: Double = 1) -> Double { scale <= 1 ? 1 : 0.1 * m * log(scale) + 1 }
        let attention: Double
        if let explicit = p.attentionFactor {
            attention = explicit
        } else if let m = p.mscale, let all = p.mscaleAllDim, m != 0, all != 0 {
            attention = mscale(factor, m) / mscale(factor, all)
        } else {
            attention = mscale(factor)
        }
        let dim = Double(rotaryDim)
        // The dimension at which a wavelength completes `rotations` turns over the original context.
        func correctionDim(_ rotations: Double) -> Double {
            dim * log(original / (rotations * 2 * Double.pi)) / (2 * log(theta))
        }
        var low = correctionDim(p.betaFast), high = correctionDim(p.betaSlow)
        if p.truncate { low = low.rounded(.down); high = high.rounded(.up) }
        // Clamped finite too: a subnormal beta makes the correction dimension +∞, and the ramp ∞/∞ = NaN
        // (the largest finite value gives the ramp's limit, 1).
        low = min(max(low, 0), .greatestFiniteMagnitude)
        high = min(high, dim - 1)
        if low == high { high += 0.001 }
        let inverse = plain.indices.map { i -> Float in
            let ramp = Float(min(max((Double(i) - low) / (high - low), 0), 1))
            let extrapolationWeight = 1 - ramp
            let extrapolation = Float(plain[i])
            let interpolation = Float(plain[i] / factor)
            return interpolation * (1 - extrapolationWeight) + extrapolation * extrapolationWeight
        }
        return RoPEFrequencies(inverseFrequencies: inverse, attentionScaling: attention)
    }

    private func llama3Frequencies(_ p: Llama3Parameters, plain: [Double]) -> [Float] {
        let context = Double(p.originalMaxPositionEmbeddings)
        let lowFreqWavelength = context / p.lowFreqFactor
        let highFreqWavelength = context / p.highFreqFactor
        return plain.map { theta -> Float in
            let wavelength = 2 * Double.pi / theta
            if wavelength < highFreqWavelength { return Float(theta) }
            if wavelength > lowFreqWavelength { return Float(theta / p.factor) }
            let smooth = (context / wavelength - p.lowFreqFactor) / (p.highFreqFactor - p.lowFreqFactor)
            return Float((1 - smooth) * theta / p.factor + smooth * theta)
        }
    }
}
