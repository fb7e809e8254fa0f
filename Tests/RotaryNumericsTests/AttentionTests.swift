import Foundation
import Testing
@testable import RotaryNumerics

/// Attention against an independent double-precision reference, and its properties.
@Suite struct AttentionTests {
    static func random(_ n: Int, _ generator: inout SplitMix64) -> [Float] {
        (0..<n).map { _ in Float(generator.nextGaussian()) }
    }

    /// Straightforward Double attention, written without the module's helpers (RoPE by explicit
    /// angles in the half layout, sinusoids by formula).
    static func reference(q: [Float], k: [Float], v: [Float], shape s: AttentionShape, pq: [Int], pk: [Int],
                          encoding: String, causal: Bool) -> (weights: [Double], output: [Double]) {
        let d = s.headDim
        func encode(_ x: [Float], heads: Int, positions: [Int]) -> [Double] {
            var out = x.map(Double.init)
            for h in 0..<heads {
                for (r, p) in positions.enumerated() {
                    let base = (h * positions.count + r) * d
                    switch encoding {
                    case "rope":
                        for i in 0..<(d / 2) {
                            let angle = Double(p) * pow(10_000, -2 * Double(i) / Double(d))
                            let a = out[base + i], b = out[base + i + d / 2]
                            out[base + i] = a * cos(angle) - b * sin(angle)
                            out[base + i + d / 2] = b * cos(angle) + a * sin(angle)
                        }
                    case "sinusoidal":
                        for i in stride(from: 0, to: d, by: 2) {
                            let angle = Double(p) / pow(10_000, Double(i) / Double(d))
                            out[base + i] += sin(angle)
                            out[base + i + 1] += cos(angle)
                        }
                    default: break
                    }
                }
            }
            return out
        }
        let qe = encode(q, heads: s.queryHeads, positions: pq), ke = encode(k, heads: s.keyHeads, positions: pk)
        var weights = [Double](), output = [Double]()
        let group = s.queryHeads / s.keyHeads
        for h in 0..<s.queryHeads {
            let kv = h / group
            for i in 0..<s.queryLength {
                var row = [Double](repeating: 0, count: s.keyLength)
                var visible = [Bool](repeating: true, count: s.keyLength)
                for j in 0..<s.keyLength {
                    var dot = 0.0
                    for c in 0..<d { dot += qe[(h * s.queryLength + i) * d + c] * ke[(kv * s.keyLength + j) * d + c] }
                    row[j] = dot / Double(d).squareRoot()
                    if causal && pk[j] > pq[i] { visible[j] = false }
                }
                let maximum = zip(row, visible).filter(\.1).map(\.0).max() ?? 0
                let exps = zip(row, visible).map { $1 ? exp($0 - maximum) : 0 }
                let sum = exps.reduce(0, +)
                let w = exps.map { sum > 0 ? $0 / sum : 0 }
                weights += w
                for c in 0..<s.valueDim {
                    output.append((0..<s.keyLength).reduce(0.0) { $0 + w[$1] * Double(v[(kv * s.keyLength + $1) * s.valueDim + c]) })
                }
            }
        }
        return (weights, output)
    }

    @Test(arguments: [
        (1, 1, 5, 5, 8, 8, "none", false), (2, 2, 7, 7, 16, 16, "rope", true), (4, 2, 6, 9, 8, 4, "rope", false),
        (3, 1, 4, 33, 32, 8, "sinusoidal", true), (2, 1, 40, 40, 64, 64, "rope", true), (1, 1, 1, 100, 8, 8, "none", true),
    ])
    func matchesDoubleReference(qh: Int, kh: Int, lq: Int, lk: Int, d: Int, dv: Int, encoding: String, causal: Bool) throws {
        var generator = SplitMix64(seed: UInt64(qh * 1000 + lk * 10 + d))
        let shape = AttentionShape(queryHeads: qh, keyHeads: kh, queryLength: lq, keyLength: lk, headDim: d, valueDim: dv)
        let q = Self.random(qh * lq * d, &generator), k = Self.random(kh * lk * d, &generator), v = Self.random(kh * lk * dv, &generator)
        // Queries sit after the keys when there are fewer of them (a decode step against a cache).
        let pk = Array(0..<lk), pq = Array((lk - lq)..<lk)
        let position: PositionEncoding
        switch encoding {
        case "rope": position = .rope(try RoPEConfiguration(headDim: d))
        case "sinusoidal": position = .sinusoidal(base: 10_000)
        default: position = .none
        }
        let got = Attention.compute(queries: q, keys: k, values: v, shape: shape, positionsQ: pq, positionsK: pk,
                                    encoding: position, causal: causal)
        let want = Self.reference(q: q, k: k, v: v, shape: shape, pq: pq, pk: pk, encoding: encoding, causal: causal)
        let weightError = zip(got.weights, want.weights).map { abs(Double($0) - $1) }.max() ?? 0
        let outputError = zip(got.output!, want.output).map { abs(Double($0) - $1) }.max() ?? 0
        #expect(weightError <= 1e-5, "weights off by \(weightError)")
        #expect(outputError <= 1e-4, "output off by \(outputError)")
    }

    @Test func rowsSumToOneAndCausalUpperTriangleIsZero() throws {
        var generator = SplitMix64(seed: 9)
        let shape = AttentionShape(queryHeads: 2, keyHeads: 2, queryLength: 50, keyLength: 50, headDim: 16, valueDim: 0)
        let result = Attention.compute(queries: Self.random(2 * 50 * 16, &generator), keys: Self.random(2 * 50 * 16, &generator),
                                       values: nil, shape: shape, positionsQ: Array(0..<50), positionsK: Array(0..<50),
                                       encoding: .rope(try RoPEConfiguration(headDim: 16)), causal: true)
        for row in 0..<100 {
            let weights = result.weights[(row * 50)..<((row + 1) * 50)]
            #expect(abs(weights.reduce(0, +) - 1) <= 1e-6)
            let i = row % 50
            #expect(weights.dropFirst(i + 1).allSatisfy { $0 == 0 })
        }
    }

    /// Unsorted key positions take the gather/scatter path; it must agree with sorted keys.
    @Test func causalMaskFollowsPositionsNotIndices() throws {
        var generator = SplitMix64(seed: 10)
        let shape = AttentionShape(queryHeads: 1, keyHeads: 1, queryLength: 3, keyLength: 6, headDim: 8, valueDim: 0)
        let q = Self.random(24, &generator), k = Self.random(48, &generator)
        let result = Attention.compute(queries: q, keys: k, values: nil, shape: shape, positionsQ: [1, 4, 0],
                                       positionsK: [5, 0, 3, 1, 4, 2], encoding: .none, causal: true)
        let visible = [[1, 3], [1, 2, 3, 4, 5], [1]]
        for (row, columns) in visible.enumerated() {
            for j in 0..<6 {
                let w = result.weights[row * 6 + j]
                #expect(columns.contains(j) ? w > 0 : w == 0)
            }
            #expect(abs(result.weights[(row * 6)..<(row * 6 + 6)].reduce(0, +) - 1) <= 1e-6)
        }
    }

    @Test func ropeScoresDependOnlyOnRelativePositions() throws {
        var generator = SplitMix64(seed: 11)
        let shape = AttentionShape(queryHeads: 2, keyHeads: 1, queryLength: 8, keyLength: 8, headDim: 32, valueDim: 0)
        let q = Self.random(2 * 8 * 32, &generator), k = Self.random(8 * 32, &generator)
        func scores(_ encoding: PositionEncoding, shift: Int) -> [Float] {
            Attention.compute(queries: q, keys: k, values: nil, shape: shape, positionsQ: (0..<8).map { $0 + shift },
                              positionsK: (0..<8).map { $0 + shift }, encoding: encoding, causal: false, keepScores: true).scores!
        }
        let rope = PositionEncoding.rope(try RoPEConfiguration(headDim: 32))
        let ropeShift = zip(scores(rope, shift: 0), scores(rope, shift: 1000)).map { abs($0 - $1) }.max()!
        #expect(ropeShift <= 1e-4)
        let sinusoidal = PositionEncoding.sinusoidal(base: 10_000)
        let sinusoidalShift = zip(scores(sinusoidal, shift: 0), scores(sinusoidal, shift: 1000)).map { abs($0 - $1) }.max()!
        #expect(sinusoidalShift > 1e-2)
    }

    @Test func fastExpIsAccurate() {
        var worst: Float = 0
        for i in 0..<20_000 {
            let x = -87 + Float(i) * (87.0 / 20_000)
            let got = Softmax.exp8(SIMD8(repeating: x))[0]
            worst = max(worst, abs(got - Float(exp(Double(x)))) / Float(exp(Double(x))))
        }
        #expect(worst < 3e-7)
        #expect(Softmax.exp8(SIMD8(repeating: -200))[0] == 0)
    }

    @Test func decayBoundStartsAtOneAndTrendsDown() {
        let curve = LongTermDecay.curve(headDim: 128, theta: 10_000, maxDistance: 1024, samples: 256, seed: 0)
        #expect(curve.upperBound[0] == 1)
        #expect(abs(curve.upperBoundAtZero - 32.5) < 1e-12)   // (d/2 + 1)/2 for d = 128
        let early = curve.upperBound[1...64].reduce(0, +) / 64
        let late = curve.upperBound[961...1024].reduce(0, +) / 64
        #expect(early > late)
        #expect(curve.upperBound.allSatisfy { $0 <= 1 + 1e-12 })
        #expect(curve.meanDot[0] > curve.meanDot[512])
        // The empirical mean at distance 0 is E|q|² = d (within sampling error).
        #expect(abs(curve.meanDot[0] - 128) < 5)
        let again = LongTermDecay.curve(headDim: 128, theta: 10_000, maxDistance: 10, samples: 256, seed: 0)
        #expect(again.meanDot == Array(curve.meanDot[0...10]))
    }
}
