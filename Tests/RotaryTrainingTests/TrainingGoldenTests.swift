import Foundation
import Testing
import RotaryModel
import RotaryTestSupport
@testable import RotaryTraining

/// Two exact PyTorch (float64) training steps of the tiny model (`../shared/golden/train`), reproduced
/// teacher-forced: our forward and backward at step 1, the fixture's gradients into our clipping and
/// AdamW, then step 2 entirely our own. Limits are the fixture README's float32 tolerances.
@Suite(.serialized) struct TrainingGoldenTests {
    struct Summary { let l2: Double; let maxAbs: Double; let proj: [Double]; let sample: [Float] }

    let root: [String: Any]
    let steps: [[String: Any]]
    let sampleIndex: [String: [Int]]
    let start: TrainingParameters

    init() throws {
        let url = sharedDirectory().appendingPathComponent("golden/train/tiny-seed1234-train.json")
        root = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        steps = root["steps"] as! [[String: Any]]
        let tensors = (root["model"] as! [String: Any])["tensors"] as! [[String: Any]]
        sampleIndex = Dictionary(uniqueKeysWithValues: tensors.map { ($0["name"] as! String, $0["sample_index"] as! [Int]) })
        let model = try LlamaModel(path: sharedDirectory().appendingPathComponent("golden/llama/tiny-seed1234.gguf").path)
        start = try TrainingParameters(file: model.file, configuration: model.configuration)
    }

    func batch(_ index: Int) -> TrainingBatch {
        let b = (root["batches"] as! [[String: Any]])[index]
        return TrainingBatch(inputs: b["inputs"] as! [[Int]], targets: b["targets"] as! [[Int]])
    }

    static func floats(_ any: Any?) -> [Float] { (any as! [NSNumber]).map { Float(truncating: $0) } }
    static func double(_ any: Any?) -> Double { (any as! NSNumber).doubleValue }

    func summaries(_ step: Int, _ key: String) -> [String: Summary] {
        (steps[step][key] as! [String: [String: Any]]).mapValues {
            Summary(l2: Self.double($0["l2"]), maxAbs: Self.double($0["max_abs"]), proj: ($0["proj"] as! [NSNumber]).map(\.doubleValue),
                    sample: Self.floats($0["sample"]))
        }
    }

    /// proj[k] = Σ_i r_k[i]·a[i], r_k[i] = −1 when the (i+1)-th SplitMix64 output of seed 0x5EED0000 + k has its top bit set.
    static func projections(_ values: [Float]) -> [Double] {
        (0..<4).map { k in
            var state = UInt64(0x5EED_0000 + k)
            var total = 0.0
            for value in values {
                state &+= 0x9E37_79B9_7F4A_7C15
                var z = state
                z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
                z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
                z ^= z >> 31
                total += (z >> 63 == 1 ? -1 : 1) * Double(value)
            }
            return total
        }
    }

    func fixtureGradients() -> TrainingParameters {
        var g = TrainingParameters(zerosLike: start)
        for (name, values) in steps[0]["grads"] as! [String: Any] { g.tensors[name] = Self.floats(values) }
        return g
    }

    func checkLosses(_ result: LlamaTrainer.Result, step: Int) {
        #expect(abs(result.loss - Self.double(steps[step]["loss"])) <= 1e-4, "step \(step + 1) loss \(result.loss)")
        let expected = (steps[step]["per_position_loss"] as! [[NSNumber]]).map { $0.map { Float(truncating: $0) } }
        let worst = zip(result.perPositionLoss.joined(), expected.joined()).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-4, "step \(step + 1) per-position loss off by \(worst)")
    }

    func checkGradients(_ gradients: TrainingParameters, step: Int) {
        let expected = summaries(step, "grad_summary")
        let norm = GradientClipping.norm(gradients)
        #expect(abs(norm - Self.double(steps[step]["grad_norm"])) <= 1e-5 * norm, "step \(step + 1) gradient norm \(norm)")
        for name in start.names {
            let got = gradients.tensors[name]!, want = expected[name]!
            let l2 = got.reduce(0.0) { $0 + Double($1) * Double($1) }.squareRoot()
            #expect(abs(l2 - want.l2) <= 1e-5 * want.l2, "step \(step + 1) \(name) l2")
            let sampled = sampleIndex[name]!.map { got[$0] }
            let sampleOff = zip(sampled, want.sample).map { Double(abs($0 - $1)) }.max()! / want.maxAbs
            #expect(sampleOff <= 5e-5, "step \(step + 1) \(name) samples off by \(sampleOff) of max_abs")
            let projectionOff = zip(Self.projections(got), want.proj).map { abs($0 - $1) }.max()! / want.l2
            #expect(projectionOff <= 1e-4, "step \(step + 1) \(name) projections off by \(projectionOff) of l2")
        }
    }

    func checkUpdates(_ weights: TrainingParameters, step: Int) {
        let expected = summaries(step, "update_summary")
        for name in start.names {
            let update = zip(weights.tensors[name]!, start.tensors[name]!).map { Double($0) - Double($1) }
            let want = expected[name]!
            let l2 = update.reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(l2 - want.l2) <= 5e-4 * want.l2, "step \(step + 1) \(name) update l2 \(l2) vs \(want.l2)")
            if step == 0 {
                let sampled = sampleIndex[name]!.map { update[$0] }
                let off = zip(sampled, want.sample).map { abs($0 - Double($1)) }.max()!
                #expect(off <= 2e-6, "step 1 \(name) update samples off by \(off)")
            }
            let projectionOff = zip(Self.projections(update.map(Float.init)), want.proj).map { abs($0 - $1) }.max()! / want.l2
            #expect(projectionOff <= 1e-3, "step \(step + 1) \(name) update projections off by \(projectionOff)")
        }
        if step == 0 {
            for (name, values) in steps[0]["updates_full"] as! [String: Any] {
                let update = zip(weights.tensors[name]!, start.tensors[name]!).map { Double($0) - Double($1) }
                let off = zip(update, Self.floats(values)).map { abs($0 - Double($1)) }.max()!
                #expect(off <= 2e-6, "step 1 \(name) full update off by \(off)")
            }
        }
    }

    @Test func twoStepsTeacherForced() throws {
        let hyper = root["hyperparameters"] as! [String: Any]
        let lr = Float(Self.double(hyper["lr"]))
        var optimizer = AdamW(like: start)
        optimizer.beta1 = Float(Self.double(hyper["beta1"]))
        optimizer.beta2 = Float(Self.double(hyper["beta2"]))
        optimizer.epsilon = Float(Self.double(hyper["eps"]))
        optimizer.weightDecay = Float(Self.double(hyper["weight_decay"]))
        // Step 1: our forward and backward, compared in full.
        let first = LlamaTrainer.lossAndGradients(start, batch(0))
        checkLosses(first, step: 0)
        checkGradients(first.gradients, step: 0)
        let reference = fixtureGradients()
        for name in start.names {
            let maxAbs = reference.tensors[name]!.map { abs($0) }.max()!
            let off = zip(first.gradients.tensors[name]!, reference.tensors[name]!).map { abs($0 - $1) }.max()! / maxAbs
            #expect(off <= 5e-5, "step 1 \(name) gradient elements off by \(off) of max_abs")
        }
        // Teacher forced: the fixture's gradients into our clipping and AdamW.
        var clipped = reference
        let (norm, coefficient) = GradientClipping.clip(&clipped, maxNorm: Self.double(hyper["clip_max_norm"]))
        #expect(abs(coefficient - Self.double(steps[0]["clip_coef"])) <= 1e-5 * coefficient, "clip coefficient, norm \(norm)")
        var weights = start
        optimizer.update(&weights, gradients: clipped, learningRate: lr)
        checkUpdates(weights, step: 0)
        #expect(abs(LlamaTrainer.loss(weights, batch(0)) - Self.double(steps[0]["loss_after"])) <= 1e-4, "step 1 loss after")
        // Step 2: entirely our own.
        var second = LlamaTrainer.lossAndGradients(weights, batch(1))
        checkLosses(second, step: 1)
        checkGradients(second.gradients, step: 1)
        let clip2 = GradientClipping.clip(&second.gradients, maxNorm: Self.double(hyper["clip_max_norm"]))
        #expect(abs(clip2.coefficient - Self.double(steps[1]["clip_coef"])) <= 1e-4 * clip2.coefficient)
        optimizer.update(&weights, gradients: second.gradients, learningRate: lr)
        checkUpdates(weights, step: 1)
        #expect(abs(LlamaTrainer.loss(weights, batch(1)) - Self.double(steps[1]["loss_after"])) <= 1e-4, "step 2 loss after")
    }
}
