#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// RoFormer §3.4.3: how RoPE's dot products fall, on average, as tokens grow apart.
public enum LongTermDecay {
    public struct Curve: Sendable {
        /// `[0, maxDistance]`
        public var distance: [Int]
        /// Σ_j |S_j(r)| / Σ_j |S_j(0)| with S_j(r) = Σ_{k<j} e^{i·r·θ_k}, j = 1…d/2: RoFormer's relative
        /// upper bound (1/(d/2))·Σ_j |S_j|, scaled to 1 at distance 0.
        public var upperBound: [Double]
        /// (1/(d/2))·Σ_j |S_j(0)| = (d/2 + 1)/2, the factor `upperBound` was divided by.
        public var upperBoundAtZero: Double
        /// The mean over `samples` random q = k ~ N(0, I) of RoPE(q, m)·RoPE(k, m − r) = Σ_i (q_{2i}² + q_{2i+1}²)·cos(r·θ_i).
        public var meanDot: [Double]
    }

    /// - Parameters: headDim even; θ_i = theta^(−2i/headDim); `seed` makes the samples reproducible.
    public static func curve(headDim: Int, theta: Double, maxDistance: Int, samples: Int, seed: UInt64) -> Curve {
        let pairs = headDim / 2
        let frequencies = (0..<pairs).map { pow(theta, -2 * Double($0) / Double(headDim)) }
        let energy = pairEnergy(pairs: pairs, samples: samples, seed: seed)
        var bound = [Double](), dots = [Double]()
        bound.reserveCapacity(maxDistance + 1)
        dots.reserveCapacity(maxDistance + 1)
        for r in 0...maxDistance {
            let (b, dot) = boundAndDot(energy) { i in
                let angle = Double(r) * frequencies[i]
                return (cos(angle), sin(angle))
            }
            bound.append(b)
            dots.append(dot)
        }
        let atZero = bound[0]
        return Curve(distance: Array(0...maxDistance), upperBound: bound.map { $0 / atZero }, upperBoundAtZero: atZero, meanDot: dots)
    }
}

/// A small seeded generator (SplitMix64) with Gaussian draws, so sampled curves are reproducible.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A standard normal draw (Box–Muller).
    public mutating func nextGaussian() -> Double {
        let u = (Double(next() >> 11) + 0.5) / 9_007_199_254_740_992
        let v = Double(next() >> 11) / 9_007_199_254_740_992
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}

extension LongTermDecay {
    /// The decay over two position axes (image rows and columns): the same bound and mean dot product as `curve`,
    /// at every offset (Δ₀, Δ₁) in 0…maxDistance², with each pair's angle what a multi-axis layout gives it.
    public struct Surface: Sendable {
        /// `[0, maxDistance]` on each axis.
        public var distance: [Int]
        /// `[Δ₀][Δ₁]`, scaled to 1 at (0, 0).
        public var upperBound: [Double]
        public var upperBoundAtZero: Double
        /// `[Δ₀][Δ₁]`
        public var meanDot: [Double]
    }

    /// - Parameters: a configuration and a two-axis layout valid for it (`RoPEAxes.validate`); for `mixed`, head 0.
    public static func surface(_ configuration: RoPEConfiguration, axes: RoPEAxes, maxDistance: Int, samples: Int,
                               seed: UInt64) -> Surface {
        precondition(axes.axisCount == 2, "a surface needs two axes")
        let pairs = configuration.pairCount
        let side = maxDistance + 1
        let offsets = (0..<(side * side)).map { [Double($0 / side), Double($0 % side)] }
        // The angles come from the rotation tables themselves, so the surface is the layout the other routes apply.
        let table = configuration.table(axisPositions: offsets, axes: axes)
        let energy = pairEnergy(pairs: pairs, samples: samples, seed: seed)
        let scaling = table.frequencies.attentionScaling
        var bound = [Double](repeating: 0, count: side * side), dots = bound
        for cell in 0..<(side * side) {
            (bound[cell], dots[cell]) = boundAndDot(energy) { i in
                (Double(table.cos[cell * pairs + i]) / scaling, Double(table.sin[cell * pairs + i]) / scaling)
            }
        }
        let atZero = bound[0]
        return Surface(distance: Array(0...maxDistance), upperBound: bound.map { $0 / atZero }, upperBoundAtZero: atZero,
                       meanDot: dots)
    }
}

extension LongTermDecay {
    /// The expected energy a_i² + b_i² of each pair of q = k ~ N(0, I), estimated from `samples` seeded draws: the mean
    /// dot product needs only it.
    static func pairEnergy(pairs: Int, samples: Int, seed: UInt64) -> [Double] {
        var generator = SplitMix64(seed: seed)
        var energy = [Double](repeating: 0, count: pairs)
        for _ in 0..<samples {
            for i in 0..<pairs {
                let a = generator.nextGaussian(), b = generator.nextGaussian()
                energy[i] += (a * a + b * b) / Double(samples)
            }
        }
        return energy
    }

    /// RoFormer's bound (1/(d/2))·Σ_j |S_j|, S_j = Σ_{k<j} e^{i·angle_k}, and the mean dot Σ_i energy_i·cos(angle_i),
    /// at one offset whose pair i turns by the angle with cosine and sine `turn(i)`.
    @inline(__always)
    static func boundAndDot(_ energy: [Double], _ turn: (Int) -> (cos: Double, sin: Double)) -> (bound: Double, dot: Double) {
        var re = 0.0, im = 0.0, total = 0.0, dot = 0.0
        for i in energy.indices {
            let (c, s) = turn(i)
            re += c
            im += s
            total += (re * re + im * im).squareRoot()   // |S_{i+1}|
            dot += energy[i] * c
        }
        return (total / Double(energy.count), dot)
    }
}
