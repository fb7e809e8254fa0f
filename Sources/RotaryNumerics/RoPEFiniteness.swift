#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a configuration's tables stay finite in float32 for a call, checked from the frequencies
/// alone (O(pairs), before any table is built), so that every accepted call answers finite numbers.
/// Extreme but individually valid parameters (linear factor 1e-50, an attention factor of 1e300, an
/// mscale_all_dim that makes the scale 0, xPos scale_base 1e-300) would otherwise give ∞ and NaN.
extension RoPEConfiguration {
    /// The attention scaling (yarn/longrope mscale or attention_factor) a table may multiply in.
    public static let attentionScalingRange: ClosedRange<Double> = 1e-4...1e4
    /// Largest |ln| of an xPos scale ζ^(±position/scale_base): e^±40 keeps scale² a normal float32
    /// (the inverse divides by it).
    public static let maxXPosLogScale = 40.0

    /// Throws, naming the parameter, unless every cos/sin (and inverse) of positions up to
    /// `maxPosition` is finite and nonzero in float32.
    /// - Parameter sequenceLength: as `table(positions:sequenceLength:)` takes it; nil: maxPosition + 1.
    public func checkFinite(maxPosition: Int, sequenceLength: Int? = nil) throws(RoPEConfigurationError) {
        let frequencies = frequencies(sequenceLength: sequenceLength ?? maxPosition + 1)
        let scaleName = attentionScalingParameter
        guard Self.attentionScalingRange.contains(frequencies.attentionScaling) else {
            throw RoPEConfigurationError(parameter: scaleName, message:
                "gives an attention scaling of \(frequencies.attentionScaling), outside \(Self.attentionScalingRange.lowerBound)...\(Self.attentionScalingRange.upperBound)")
        }
        // Angles are Float(position) · θ_i in float32.
        let largestAngle = Float(maxPosition) * (frequencies.inverseFrequencies.max() ?? 0)
        guard frequencies.inverseFrequencies.allSatisfy({ $0.isFinite && $0 >= 0 }), largestAngle.isFinite else {
            throw RoPEConfigurationError(parameter: frequencyParameter, message:
                "gives inverse frequencies that are not finite in float32 at positions up to \(maxPosition) (largest \(frequencies.inverseFrequencies.max() ?? 0))")
        }
        if case .xpos(let scaleBase) = scaling, let decay = frequencies.xposDecay {
            let exponent = Double(maxPosition) / scaleBase
            let worst = decay.map { abs(log($0)) * exponent }.max() ?? 0
            guard worst <= Self.maxXPosLogScale else {
                let smallest = Double(maxPosition) * (decay.map { abs(log($0)) }.max() ?? 0) / Self.maxXPosLogScale
                throw RoPEConfigurationError(parameter: "scale_base", message:
                    "the xPos scale ζ^(position/scale_base) overflows float32 at position \(maxPosition); scale_base must be at least \(smallest) for these positions")
            }
        }
    }

    /// The parameter that sets the attention scaling of this variant.
    private var attentionScalingParameter: String {
        switch scaling {
        case .yarn(let p):
            if p.attentionFactor != nil { return "attention_factor" }
            if let m = p.mscale, let all = p.mscaleAllDim, m != 0, all != 0 { return "mscale_all_dim" }
            return "factor"
        case .longrope(let p):
            return p.attentionFactor != nil ? "attention_factor" : "original_max_position_embeddings"
        default: return "factor"
        }
    }

    /// The parameter that scales the inverse frequencies of this variant.
    private var frequencyParameter: String {
        switch scaling {
        case .llama3: return "high_freq_factor"
        case .longrope: return "short_factor"
        case .none, .xpos: return "rope_theta"
        default: return "factor"
        }
    }
}
