import RotaryModel
import RotaryNumerics
#if canImport(Glibc)
import Glibc
#endif

/// A batch of token rows: `inputs[b]` predicts `targets[b]` position by position; positions restart at
/// 0 in every row.
public struct TrainingBatch: Sendable {
    /// `[rows][context]`
    public var inputs: [[Int]]
    /// `[rows][context]`
    public var targets: [[Int]]

    public init(inputs: [[Int]], targets: [[Int]]) {
        precondition(inputs.count == targets.count && zip(inputs, targets).allSatisfy { $0.count == $1.count })
        self.inputs = inputs
        self.targets = targets
    }
}

/// Loss and gradients of a Llama model: a forward pass that keeps what the backward pass needs,
/// then the backward pass, op by op (embedding, RMSNorm, linear, RoPE, causal softmax attention with
/// grouped-query heads, SwiGLU, output head, cross-entropy). The loss is the mean over all positions.
public enum LlamaTrainer {
    public struct Result: Sendable {
        public var loss: Double
        /// `[rows][context]`
        public var perPositionLoss: [[Float]]
        public var gradients: TrainingParameters
    }

    public static func lossAndGradients(_ p: TrainingParameters, _ batch: TrainingBatch) -> Result {
        var gradients = TrainingParameters(zerosLike: p)
        let positions = batch.inputs.reduce(0) { $0 + $1.count }
        var total = 0.0
        var perPosition: [[Float]] = []
        for (row, inputs) in batch.inputs.enumerated() {
            let losses = RowPass(parameters: p, tokens: inputs).run(targets: batch.targets[row], lossScale: 1 / Float(positions),
                                                                   gradients: &gradients)
            perPosition.append(losses)
            total += losses.reduce(0.0) { $0 + Double($1) }
        }
        return Result(loss: total / Double(positions), perPositionLoss: perPosition, gradients: gradients)
    }

    /// The loss alone (no gradients), for finite differences and validation.
    public static func loss(_ p: TrainingParameters, _ batch: TrainingBatch) -> Double {
        var total = 0.0, count = 0
        for (row, inputs) in batch.inputs.enumerated() {
            let losses = RowPass(parameters: p, tokens: inputs).forwardLoss(targets: batch.targets[row])
            total += losses.reduce(0.0) { $0 + Double($1) }
            count += losses.count
        }
        return total / Double(count)
    }
}
