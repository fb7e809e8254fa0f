import RotaryModel
import RotaryNumerics
#if canImport(Glibc)
import Glibc
#endif

/// Forward and backward of one row of tokens (positions 0..<T). Buffers are flat, row-major:
/// `[T][n]` for per-token vectors, `[heads][T][T]` for attention probabilities.
struct RowPass {
    let p: TrainingParameters
    let c: ModelConfiguration
    let tokens: [Int]
    let count: Int
    let table: RoPETable

    init(parameters: TrainingParameters, tokens: [Int]) {
        p = parameters
        c = parameters.configuration
        self.tokens = tokens
        count = tokens.count
        table = c.rope.table(positions: Array(0..<tokens.count))
    }

    /// What the backward pass needs from one block: the forward pass's recorded activations.
    typealias Saved = BlockActivations

    func weight(_ name: String) -> [Float] { p.tensors[name]! }
    var outputName: String { p.isTied ? "token_embd.weight" : "output.weight" }

    // MARK: forward

    /// The model's forward pass (the one inference runs), every block's activations recorded.
    func forward() -> (saved: [Saved], final: [Float], inverseRMSFinal: [Float], normedFinal: [Float], logits: [Float]) {
        var saved: [Saved] = []
        saved.reserveCapacity(c.layers)
        var cache = KVCache(configuration: c, capacity: count)
        let result = TransformerForward.run(c, weights: p, tokens: tokens, cache: &cache, logitRows: count,
                                      record: { _, activations in saved.append(activations) }, probabilitiesOf: { _ in true })
        return (saved, result.final, result.inverseRMSFinal, result.normedFinal, result.logits)
    }

    /// Cross-entropy per position: logsumexp(logits) − logits[target].
    func forwardLoss(targets: [Int]) -> [Float] {
        let logits = forward().logits
        return (0..<count).map { t in crossEntropy(logits, t, targets[t]).loss }
    }

    func crossEntropy(_ logits: [Float], _ t: Int, _ target: Int) -> (loss: Float, logSumExp: Double) {
        let v = c.vocabularySize
        let lse = Sampler.logSumExp(logits[(t * v)..<((t + 1) * v)])
        return (Float(lse - Double(logits[t * v + target])), lse)
    }

    // MARK: backward

    /// Adds this row's gradients (of `lossScale × Σ losses`) into `gradients`; returns the row's losses.
    func run(targets: [Int], lossScale: Float, gradients g: inout TrainingParameters) -> [Float] {
        let (saved, final, inverseFinal, normedFinal, logits) = forward()
        let v = c.vocabularySize, dim = c.dim
        var losses: [Float] = []
        var dLogits = [Float](repeating: 0, count: count * v)
        for t in 0..<count {
            let (loss, lse) = crossEntropy(logits, t, targets[t])
            losses.append(loss)
            // softmax · scale, eight at a time.
            let shift = SIMD8<Float>(repeating: Float(lse))
            logits.withUnsafeBufferPointer { lp in
                dLogits.withUnsafeMutableBufferPointer { dp in
                    var j = 0
                    while j + 8 <= v {
                        let row = UnsafeRawPointer(lp.baseAddress! + t * v + j).loadUnaligned(as: SIMD8<Float>.self)
                        UnsafeMutableRawPointer(dp.baseAddress! + t * v + j).storeBytes(of: Softmax.exp8(row - shift) * lossScale,
                                                                                          as: SIMD8<Float>.self)
                        j += 8
                    }
                    while j < v { dp[t * v + j] = Float(exp(Double(lp[t * v + j]) - lse)) * lossScale; j += 1 }
                }
            }
            dLogits[t * v + targets[t]] -= lossScale
        }
        var dNormed = linearBackward(dLogits, normedFinal, weight(outputName), outputs: v, inputs: dim,
                                     weightGradient: &g.tensors[outputName]!)
        var dx = rmsNormBackward(dNormed, final, inverseFinal, weight("output_norm.weight"), weightGradient: &g.tensors["output_norm.weight"]!)
        for l in stride(from: c.layers - 1, through: 0, by: -1) {
            let s = saved[l], prefix = "blk.\(l)."
            // Feed-forward block: x_out = middle + down(silu(gate(n2)) · up(n2)).
            let dHidden = linearBackward(dx, s.hidden, weight(prefix + "ffn_down.weight"), outputs: dim, inputs: c.feedForwardDim,
                                         weightGradient: &g.tensors[prefix + "ffn_down.weight"]!)
            var dGate = [Float](repeating: 0, count: dHidden.count), dUp = dGate
            for i in 0..<dHidden.count {
                let z = s.gate[i], sigma = 1 / (1 + expf(-z))
                dUp[i] = dHidden[i] * z * sigma
                dGate[i] = dHidden[i] * s.up[i] * sigma * (1 + z * (1 - sigma))
            }
            dNormed = linearBackward(dGate, s.normed2, weight(prefix + "ffn_gate.weight"), outputs: c.feedForwardDim, inputs: dim,
                                     weightGradient: &g.tensors[prefix + "ffn_gate.weight"]!)
            let fromUp = linearBackward(dUp, s.normed2, weight(prefix + "ffn_up.weight"), outputs: c.feedForwardDim, inputs: dim,
                                        weightGradient: &g.tensors[prefix + "ffn_up.weight"]!)
            for i in 0..<dNormed.count { dNormed[i] += fromUp[i] }
            let dMiddleFromNorm = rmsNormBackward(dNormed, s.middle, s.inverseRMS2, weight(prefix + "ffn_norm.weight"),
                                                  weightGradient: &g.tensors[prefix + "ffn_norm.weight"]!)
            let dMiddle = zip(dx, dMiddleFromNorm).map { $0 + $1 }
            // Attention block: middle = input + output(attention(rope(q(n1)), rope(k(n1)), v(n1))).
            let dAttention = linearBackward(dMiddle, s.attention, weight(prefix + "attn_output.weight"), outputs: dim,
                                            inputs: c.heads * c.headDim, weightGradient: &g.tensors[prefix + "attn_output.weight"]!)
            var (dQuery, dKey, dValue) = attendBackward(dAttention, s)
            // RoPE's gradient is the transposed rotation.
            let transposed = table.transposed()
            rotate(&dQuery, heads: c.heads, table: transposed)
            rotate(&dKey, heads: c.kvHeads, table: transposed)
            dNormed = linearBackward(dQuery, s.normed1, weight(prefix + "attn_q.weight"), outputs: c.heads * c.headDim, inputs: dim,
                                     weightGradient: &g.tensors[prefix + "attn_q.weight"]!)
            let fromKey = linearBackward(dKey, s.normed1, weight(prefix + "attn_k.weight"), outputs: c.kvDim, inputs: dim,
                                         weightGradient: &g.tensors[prefix + "attn_k.weight"]!)
            let fromValue = linearBackward(dValue, s.normed1, weight(prefix + "attn_v.weight"), outputs: c.kvDim, inputs: dim,
                                           weightGradient: &g.tensors[prefix + "attn_v.weight"]!)
            for i in 0..<dNormed.count { dNormed[i] += fromKey[i] + fromValue[i] }
            let dInputFromNorm = rmsNormBackward(dNormed, s.input, s.inverseRMS1, weight(prefix + "attn_norm.weight"),
                                                 weightGradient: &g.tensors[prefix + "attn_norm.weight"]!)
            dx = zip(dMiddle, dInputFromNorm).map { $0 + $1 }
        }
        let embeddingScale = c.embeddingScale ?? 1   // the lookup's gradient carries the forward's scale
        for (t, token) in tokens.enumerated() {
            for i in 0..<dim { g.tensors["token_embd.weight"]![token * dim + i] += dx[t * dim + i] * embeddingScale }
        }
        if c.positionEncoding == .learned {
            for i in 0..<(count * dim) { g.tensors["position_embd.weight"]![i] += dx[i] }
        }
        return losses
    }

    // MARK: ops

    /// dx for y = x·r·w with r = (mean(x²)+ε)^(-1/2): dx = r·(dy·w) − x·r³·Σ(dy·w·x)/n; dw += Σ_t dy·x·r.
    func rmsNormBackward(_ dy: [Float], _ x: [Float], _ inverse: [Float], _ w: [Float], weightGradient dw: inout [Float]) -> [Float] {
        let dim = c.dim
        var dx = [Float](repeating: 0, count: x.count)
        for t in 0..<count {
            let r = inverse[t]
            var dot: Float = 0
            for i in 0..<dim {
                let gy = dy[t * dim + i] * w[i]
                dot += gy * x[t * dim + i]
                dw[i] += dy[t * dim + i] * x[t * dim + i] * r
            }
            let correction = r * r * r * dot / Float(dim)
            for i in 0..<dim { dx[t * dim + i] = r * dy[t * dim + i] * w[i] - x[t * dim + i] * correction }
        }
        return dx
    }

    /// dW += dyᵀ · x and dx = dy · W. dy `[T][outputs]`, x `[T][inputs]`, W `[outputs][inputs]`.
    func linearBackward(_ dy: [Float], _ x: [Float], _ w: [Float], outputs: Int, inputs: Int,
                        weightGradient dw: inout [Float]) -> [Float] {
        var dx = [Float](repeating: 0, count: count * inputs)
        dy.withUnsafeBufferPointer { dyp in x.withUnsafeBufferPointer { xp in
            dw.withUnsafeMutableBufferPointer { dwp in
                MatrixMultiply.transposedTimes(dyp.baseAddress!, xp.baseAddress!, dwp.baseAddress!, m: outputs, n: inputs, k: count)
            }
            w.withUnsafeBufferPointer { wp in dx.withUnsafeMutableBufferPointer { dxp in
                MatrixMultiply.times(dyp.baseAddress!, wp.baseAddress!, dxp.baseAddress!, m: count, n: inputs, k: outputs)
            } }
        } }
        return dx
    }

    /// RoPE on token-major rows `[T][heads][hd]` (nothing when the model does not use RoPE).
    func rotate(_ data: inout [Float], heads: Int, table: RoPETable) {
        data.withUnsafeMutableBufferPointer { TransformerForward.rotate($0.baseAddress!, heads: heads, tokens: count, c, table) }
    }

    /// Gradients of the attention inputs (queries and keys after RoPE, values) from the output's.
    func attendBackward(_ dOutput: [Float], _ s: Saved) -> ([Float], [Float], [Float]) {
        let (hd, qDim, kvDim, n) = (c.headDim, c.heads * c.headDim, c.kvDim, count)
        let group = c.heads / c.kvHeads, scale = 1 / Float(hd).squareRoot()
        var dQuery = [Float](repeating: 0, count: n * qDim)
        var dKey = [Float](repeating: 0, count: n * kvDim), dValue = dKey
        var dScores = [Float](repeating: 0, count: n * n)
        dOutput.withUnsafeBufferPointer { dop in s.probabilities.withUnsafeBufferPointer { pp in
            s.query.withUnsafeBufferPointer { qp in s.key.withUnsafeBufferPointer { kp in s.value.withUnsafeBufferPointer { vp in
                dQuery.withUnsafeMutableBufferPointer { dqp in dKey.withUnsafeMutableBufferPointer { dkp in
                    dValue.withUnsafeMutableBufferPointer { dvp in dScores.withUnsafeMutableBufferPointer { dsp in
                        let ds = dsp.baseAddress!
                        for h in 0..<c.heads {
                            let kv = h / group, probabilities = pp.baseAddress! + h * n * n
                            let dOut = dop.baseAddress! + h * hd
                            // dP = dO · Vᵀ; dV += Pᵀ · dO (both query heads of a group add into their KV head).
                            MatrixMultiply.timesTransposed(dOut, lda: qDim, vp.baseAddress! + kv * hd, ldb: kvDim, ds, ldc: n,
                                                           m: n, n: n, k: hd)
                            MatrixMultiply.transposedTimes(probabilities, lda: n, dOut, ldb: qDim, dvp.baseAddress! + kv * hd,
                                                           ldc: kvDim, m: n, n: hd, k: n, beta: 1)
                            // Softmax: dS = P ⊙ (dP − Σ_j P·dP), then the 1/√hd scale.
                            for t in 0..<n {
                                var dot: Float = 0
                                for j in 0...t { dot += probabilities[t * n + j] * ds[t * n + j] }
                                for j in 0..<n {
                                    ds[t * n + j] = j <= t ? probabilities[t * n + j] * (ds[t * n + j] - dot) * scale : 0
                                }
                            }
                            MatrixMultiply.times(ds, lda: n, kp.baseAddress! + kv * hd, ldb: kvDim, dqp.baseAddress! + h * hd,
                                                 ldc: qDim, m: n, n: hd, k: n, beta: 0)
                            MatrixMultiply.transposedTimes(ds, lda: n, qp.baseAddress! + h * hd, ldb: qDim, dkp.baseAddress! + kv * hd,
                                                           ldc: kvDim, m: n, n: hd, k: n, beta: 1)
                        }
                    } }
                } }
            } } }
        } }
        return (dQuery, dKey, dValue)
    }
}
