import Testing
@testable import RotaryModel
import RotaryNumerics

/// Sampling is total: every accepted temperature, top_p and top_k gives a token of the vocabulary, and
/// a temperature that tends to 0 tends to the argmax (it used to divide into infinities and pick the
/// least likely candidate).
@Suite struct SamplerTests {
    static let logits: [Float] = [1.5, 4.25, -3, 4.0, 0, 2.5, -80, 4.2]
    static let argmax = 1

    @Test(arguments: [1e-308, 5e-324, 2.2250738585072014e-308, 1e-300, 1e-200, 1e-40])
    func aTinyTemperatureDrawsTheArgmax(temperature: Double) {
        for seed in 0..<20 {
            var parameters = SamplingParameters()
            parameters.temperature = temperature
            parameters.seed = UInt64(seed)
            parameters.topK = 0
            parameters.topP = 1
            parameters.minP = 0
            var sampler = Sampler(parameters)
            #expect(sampler.next(Self.logits, history: []) == Self.argmax, "temperature \(temperature), seed \(seed)")
        }
    }

    /// Random accepted settings (the ranges /generate and /v1/completions accept, extremes included):
    /// always a valid token, and the argmax whenever the temperature is below 1e-300.
    @Test func everyAcceptedSettingGivesAValidDraw() {
        var random = SplitMix64(seed: 7)
        func uniform() -> Double { Double(random.next() >> 11) / 9_007_199_254_740_992 }
        let temperatures: [Double] = [5e-324, 1e-308, 1e-301, 1e-30, 0.01, 0.8, 1, 2, 100]
        let topPs: [Double] = [5e-324, 1e-12, 0.5, 0.95, 1]
        for round in 0..<400 {
            var parameters = SamplingParameters()
            parameters.temperature = round % 3 == 0 ? temperatures[Int(random.next() % UInt64(temperatures.count))] : uniform() * 100
            parameters.topP = round % 2 == 0 ? topPs[Int(random.next() % UInt64(topPs.count))] : max(uniform(), 5e-324)
            parameters.topK = Int(random.next() % 10)
            parameters.minP = round % 4 == 0 ? 1 : uniform() * 0.2
            parameters.repeatPenalty = [1, 1e-300, 10][Int(random.next() % 3)]
            parameters.seed = random.next()
            var sampler = Sampler(parameters)
            let history = [1, 3, 7]
            let token = sampler.next(Self.logits, history: history)
            #expect((0..<Self.logits.count).contains(token), "\(parameters)")
            if parameters.temperature < 1e-300 && parameters.repeatPenalty == 1 {
                #expect(token == Self.argmax, "\(parameters)")
            }
        }
    }

    /// The top-k candidates are the first k of the whole vocabulary sorted (higher score, then lower id), ties and
    /// k past the vocabulary included, and the key sort of all candidates is that order too (±0, infinities);
    /// a NaN takes the comparison sort.
    @Test func leadingCandidatesAreTheSortedPrefix() {
        var random = SplitMix64(seed: 11)
        for trial in 0..<200 {
            let count = 1 + Int(random.next() % 3000)
            // Few distinct values, so ties are common; rising runs, the order's worst case for a kept list.
            let scores: [Float] = (0..<count).map { i in
                trial % 3 == 0 ? Float(i) : Float(Int(random.next() % 40) - 20) / 4
            }
            let sorted = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            for k in [1, 2, 40, count - 1, count, count + 5] where k > 0 {
                #expect(Sampler.leading(k, of: scores) == Array(sorted.prefix(k)), "trial \(trial), k \(k) of \(count)")
            }
        }
        for trial in 0..<50 {
            let count = 1 + Int(random.next() % 3000)
            let scores: [Float] = (0..<count).map { _ in
                switch random.next() % 8 {
                case 0: -0.0
                case 1: 0
                case 2: .infinity
                case 3: -.infinity
                case 4: -.greatestFiniteMagnitude
                default: Float(Int(random.next() % 40) - 20) / 4
                }
            }
            let sorted = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
            #expect(Sampler.ranked(scores) == sorted, "trial \(trial)")
        }
        let withNaN: [Float] = [1, .nan, 3, 2]
        #expect(Sampler.ranked(withNaN) == withNaN.indices.sorted { withNaN[$0] > withNaN[$1] || (withNaN[$0] == withNaN[$1] && $0 < $1) })
        let sorted = withNaN.indices.sorted { withNaN[$0] > withNaN[$1] || (withNaN[$0] == withNaN[$1] && $0 < $1) }
        #expect(Sampler.leading(2, of: withNaN) == Array(sorted.prefix(2)))
    }
}
