#if canImport(Glibc)
import Glibc
#endif

/// AdamW with decoupled weight decay (torch.optim.AdamW semantics), applied to any weights and any
/// gradients: the optimizer is a function of (weights, gradients, state), so gradients may come from
/// elsewhere (as the golden test feeds them).
public struct AdamW: Sendable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.95
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.1
    /// First and second moments, shaped like the weights.
    public private(set) var m: TrainingParameters
    public private(set) var v: TrainingParameters
    /// Steps taken (the bias corrections use it).
    public private(set) var step = 0

    public init(like weights: TrainingParameters) {
        m = TrainingParameters(zerosLike: weights)
        v = TrainingParameters(zerosLike: weights)
    }

    /// Restores a saved state.
    public mutating func restore(m: TrainingParameters, v: TrainingParameters, step: Int) {
        self.m = m
        self.v = v
        self.step = step
    }

    /// One update: decay (2-D tensors only) on the weight before the step, then the Adam step with
    /// bias corrections; `gradients` are used as given (clip them first).
    public mutating func update(_ weights: inout TrainingParameters, gradients: TrainingParameters, learningRate: Float) {
        step += 1
        let correction1 = 1 - pow(beta1, Float(step)), correction2 = 1 - pow(beta2, Float(step))
        for name in weights.names {
            let decay = weights.decays(name) ? weightDecay : 0
            let g = gradients.tensors[name]!
            var w = weights.tensors[name]!, mt = m.tensors[name]!, vt = v.tensors[name]!
            for i in 0..<w.count {
                w[i] *= 1 - learningRate * decay
                mt[i] = beta1 * mt[i] + (1 - beta1) * g[i]
                vt[i] = beta2 * vt[i] + (1 - beta2) * g[i] * g[i]
                let mHat = mt[i] / correction1, vHat = vt[i] / correction2
                w[i] -= learningRate * mHat / (vHat.squareRoot() + epsilon)
            }
            weights.tensors[name] = w
            m.tensors[name] = mt
            v.tensors[name] = vt
        }
    }
}

/// Global gradient-norm clipping (torch's clip_grad_norm_): every gradient times min(1, max / (‖g‖ + 1e-6)).
public enum GradientClipping {
    /// The norm of all gradients together, in Double.
    public static func norm(_ gradients: TrainingParameters) -> Double {
        gradients.tensors.values.reduce(0.0) { total, g in g.reduce(total) { $0 + Double($1) * Double($1) } }.squareRoot()
    }

    /// Scales in place; returns (norm before, coefficient used).
    @discardableResult
    public static func clip(_ gradients: inout TrainingParameters, maxNorm: Double) -> (norm: Double, coefficient: Double) {
        let total = norm(gradients)
        let coefficient = min(1, maxNorm / (total + 1e-6))
        if coefficient < 1 {
            for name in gradients.names { gradients.tensors[name] = gradients.tensors[name]!.map { Float(Double($0) * coefficient) } }
        }
        return (total, coefficient)
    }
}

/// Linear warm-up, then cosine decay to `minimum` at `total` steps: a pure function of the step.
public func learningRate(step: Int, peak: Double, minimum: Double, warmup: Int, total: Int) -> Double {
    if step < warmup { return peak * Double(step + 1) / Double(warmup) }
    let progress = min(1, Double(step - warmup) / Double(max(1, total - warmup)))
    return minimum + 0.5 * (peak - minimum) * (1 + cos(Double.pi * progress))
}
