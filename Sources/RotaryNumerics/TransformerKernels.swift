#if canImport(Glibc)
import Glibc
#endif

/// RMSNorm: y = x / √(mean(x²) + ε) · w per row, the mean of squares accumulated in Double as ggml does.
public enum RMSNorm {
    /// - Parameters:
    ///   - x: `[rows][dim]`
    ///   - weight: `[dim]`
    ///   - output: `[rows][dim]` (may be `x`)
    ///   - inverseRMS: `[rows]`, 1/√(mean(x²) + ε) per row, when given (the backward pass needs it)
    public static func apply(_ x: UnsafePointer<Float>, weight: UnsafePointer<Float>, rows: Int, dim: Int, epsilon: Float,
                             into output: UnsafeMutablePointer<Float>, inverseRMS: UnsafeMutablePointer<Float>? = nil) {
        for r in 0..<rows {
            let row = x + r * dim, out = output + r * dim
            var sum = 0.0
            for i in 0..<dim { let v = row[i]; sum += Double(v * v) }
            let scale = 1 / (Float(sum / Double(dim)) + epsilon).squareRoot()
            inverseRMS?[r] = scale
            for i in 0..<dim { out[i] = row[i] * scale * weight[i] }
        }
    }
}

/// SwiGLU's gate: h = SiLU(g) · u = g / (1 + e^(−g)) · u, element-wise.
public enum SwiGLU {
    /// - Parameters: gate `[count]`, up `[count]`, hidden `[count]` (may be `gate`)
    public static func apply(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int,
                             into hidden: UnsafeMutablePointer<Float>) {
        for i in 0..<count {
            let g = gate[i]
            hidden[i] = g / (1 + expf(-g)) * up[i]
        }
    }
}

/// GELU-gated feed-forward: h = GELU(g) · u with GELU's tanh form, 0.5·g·(1 + tanh(√(2/π)·(g + 0.044715·g³))).
public enum GeGLU {
    /// - Parameters: gate `[count]`, up `[count]`, hidden `[count]` (may be `gate`)
    public static func apply(gate: UnsafePointer<Float>, up: UnsafePointer<Float>, count: Int,
                             into hidden: UnsafeMutablePointer<Float>) {
        let root2OverPi: Float = 0.797_884_560_802_865_4
        for i in 0..<count {
            let g = gate[i]
            hidden[i] = 0.5 * g * (1 + tanhf(root2OverPi * g * (1 + 0.044_715 * g * g))) * up[i]
        }
    }
}

/// Rows of an embedding table.
public enum Embedding {
    /// Copies row `tokens[t]` of the table to row t of the output.
    /// - Parameters: table `[vocab][dim]`, output `[tokens.count][dim]`
    public static func gather(_ table: UnsafePointer<Float>, tokens: [Int], dim: Int, into output: UnsafeMutablePointer<Float>) {
        for (t, token) in tokens.enumerated() { (output + t * dim).update(from: table + token * dim, count: dim) }
    }
}
