import Foundation
import Testing
@testable import RotaryNumerics

/// `WeightMatrix.linear` in every format and on every path against float64 products of the dequantized weights
/// (dequantization itself is checked bit for bit against gguf-py in DequantizeTests).
@Suite struct WeightLinearTests {
    static let rows = 37, columns = 768   // odd rows split unevenly over threads; 3 K-blocks, 24 32-blocks

    /// Random blocks: random bytes for the quants, sane f16 scales of either sign (F16/BF16: Gaussian values).
    static func randomMatrix(_ format: TensorFormat, seed: UInt64, columns: Int = columns) -> [UInt8] {
        var generator = SplitMix64(seed: seed)
        let count = rows * format.rowBytes(columns)
        var bytes = (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        func put(_ value: UInt16, at offset: Int) {
            bytes[offset] = UInt8(value & 0xFF)
            bytes[offset + 1] = UInt8(value >> 8)
        }
        func saneHalf() -> UInt16 {
            let magnitude = pow(10, -3 + 2 * Double(generator.next() >> 11) / 9_007_199_254_740_992)
            return Float16(generator.next() & 1 == 0 ? magnitude : -magnitude).bitPattern
        }
        switch format {
        case .f16, .bf16:
            for i in 0..<(count / 2) {
                let value = Float(generator.nextGaussian())
                put(format == .f16 ? Float16(value).bitPattern : UInt16(value.bitPattern >> 16), at: 2 * i)
            }
        default:
            let fields: [Int] = switch format {
            case .q4_0, .q5_0, .q8_0: [0]
            case .q6_K: [208]
            default: [0, 2]
            }
            for block in 0..<(count / format.blockBytes) {
                for field in fields { put(saneHalf(), at: block * format.blockBytes + field) }
            }
        }
        return bytes
    }

    static func randomInputs(_ count: Int, seed: UInt64, columns: Int = columns) -> [Float] {
        var generator = SplitMix64(seed: seed)
        // Gaussian with a few outliers per row, as hidden states have.
        return (0..<(count * columns)).map { i in Float(generator.nextGaussian()) * (i % 97 == 5 ? 12 : 1) }
    }

    /// Σ in float64 of dequantized W times x. Returns y `[count][rows]` and Σ|w·x| (the size float32 sums round to).
    static func reference(_ matrix: WeightMatrix, _ x: [Float], count: Int) -> (y: [Double], magnitude: [Double]) {
        let columns = matrix.columns
        var weights = [Float](repeating: 0, count: rows * columns)
        weights.withUnsafeMutableBufferPointer { w in
            for r in 0..<rows { matrix.dequantizeRow(r, into: w.baseAddress! + r * columns) }
        }
        var y = [Double](repeating: 0, count: count * rows), magnitude = y
        for i in 0..<count {
            for r in 0..<rows {
                var sum = 0.0, size = 0.0
                for c in 0..<columns {
                    let product = Double(weights[r * columns + c]) * Double(x[i * columns + c])
                    sum += product
                    size += abs(product)
                }
                y[i * rows + r] = sum
                magnitude[i * rows + r] = size
            }
        }
        return (y, magnitude)
    }

    /// Largest error the 8-bit activations can add: each input is off by at most half its block's step
    /// max|x|/127, so the sum is off by at most Σ|w|·step/2 (with 1% for the rounding of x/step itself).
    static func activationBound(_ matrix: WeightMatrix, _ x: [Float], count: Int) -> [Double] {
        var row = [Float](repeating: 0, count: columns)
        var bound = [Double](repeating: 0, count: count * rows)
        for r in 0..<rows {
            row.withUnsafeMutableBufferPointer { matrix.dequantizeRow(r, into: $0.baseAddress!) }
            for i in 0..<count {
                var sum = 0.0
                for block in 0..<(columns / 32) {
                    let span = (i * columns + 32 * block)..<(i * columns + 32 * block + 32)
                    let step = Double(x[span].map(abs).max()!) / 127
                    sum += (0..<32).reduce(0.0) { $0 + abs(Double(row[32 * block + $1])) } * step * 0.505
                }
                bound[i * rows + r] = sum
            }
        }
        return bound
    }

    static let formats = TensorFormat.allCases.filter { $0 != .f32 }

    /// Every kernel set this build and processor can run (AVX2 and AVX-512 on an AVX-512 machine).
    static let kernelSets = KernelSet.allCases.filter { $0.isSupported(by: .current) }

    /// Tolerances: float32 sums of exact products (F16/BF16 everywhere, every format on the float paths) stay within
    /// 2e-5·Σ|w·x| (768 terms: worst case 768·2⁻²⁴ ≈ 4.6e-5, typically far less); the integer row dots on 8-bit
    /// activations may add up to `activationBound`, which is about 1e-3 of Σ|w·x| here. The row dots run in every
    /// supported kernel set; the default path in the chosen one.
    @Test(arguments: formats, [1, 3, 17])
    func matchesAFloat64Product(_ format: TensorFormat, _ count: Int) {
        let bytes = Self.randomMatrix(format, seed: UInt64(format.rawValue) + 100)
        let x = Self.randomInputs(count, seed: UInt64(count))
        bytes.withUnsafeBytes { raw in
            let matrix = WeightMatrix(base: raw.baseAddress!, format: format, rows: Self.rows, columns: Self.columns)
            let (expected, magnitude) = Self.reference(matrix, x, count: count)
            let activationBound = format.isQuantized ? Self.activationBound(matrix, x, count: count) : []
            let runs = Self.kernelSets.map { (LinearPath?.some(.rowDots), $0) }
                + [(.dequantizedRowDots, TensorKernels.chosen), (.tiles, TensorKernels.chosen), (nil, TensorKernels.chosen)]
            for (path, kernels) in runs {
                var y = [Float](repeating: .nan, count: count * Self.rows)
                x.withUnsafeBufferPointer { x in
                    y.withUnsafeMutableBufferPointer { y in
                        if let path { matrix.linear(x.baseAddress!, count: count, y.baseAddress!, path: path, kernels: kernels) }
                        else { matrix.linear(x.baseAddress!, count: count, y.baseAddress!) }
                    }
                }
                let integer = format.isQuantized && kernels != .portable
                let quantizedActivations = integer && (path == .rowDots || (path == nil && count < TensorKernels.promptCount(format)))
                var worst = 0.0, worstRelative = 0.0
                for k in 0..<y.count {
                    let error = abs(Double(y[k]) - expected[k])
                    let allowed = 2e-5 * magnitude[k] + (quantizedActivations ? activationBound[k] : 0)
                    worst = max(worst, error / allowed)
                    worstRelative = max(worstRelative, error / magnitude[k])
                }
                #expect(worst <= 1, "\(format.name) count \(count) \(path.map { "\($0)" } ?? "default") \(kernels): error \(worst)× the tolerance (\(worstRelative) of Σ|w·x|)")
            }
        }
    }

    /// The integer kernels of every supported set against float64 sums of the same weights times the *quantized*
    /// activations: only float32 rounding may differ (1e-5 of Σ|w·x|), so a wrong scale, offset or bit anywhere
    /// shows. Five inputs: four at once and one alone; all rows (pairs and the odd one), then three rows from an odd
    /// start. The 32-value formats get 25 blocks a row, so that the AVX-512 kernels' odd last block is covered.
    @Test(arguments: formats.filter(\.isQuantized), kernelSets.filter { $0 != .portable })
    func integerDotsAreExactOnQuantizedActivations(_ format: TensorFormat, _ kernels: KernelSet) throws {
        let count = 5, rows = Self.rows, columns = format.blockElements == 32 ? 800 : Self.columns
        let bytes = Self.randomMatrix(format, seed: UInt64(format.rawValue) + 200, columns: columns)
        let x = Self.randomInputs(count, seed: 9, columns: columns)
        let activations = x.withUnsafeBufferPointer { QuantizedActivations($0.baseAddress!, count: count, columns: columns) }
        let rounded = (0..<(count * columns)).map { Float(activations.quants[$0]) * activations.scales[$0 / 32] }
        let kernel = try #require(TensorKernels.quantizedRowsDot(for: format, kernels: kernels))
        bytes.withUnsafeBytes { raw in
            let matrix = WeightMatrix(base: raw.baseAddress!, format: format, rows: rows, columns: columns)
            let (expected, magnitude) = Self.reference(matrix, rounded, count: count)
            var y = [Float](repeating: .nan, count: count * rows), z = [Float](repeating: .nan, count: count * 3)
            kernel(raw.baseAddress!, matrix.rowBytes, rows, activations.rows, &y, rows)
            kernel(raw.baseAddress! + matrix.rowBytes, matrix.rowBytes, 3, activations.rows, &z, 3)
            var worst = 0.0
            for i in 0..<count {
                for r in 0..<rows {
                    let k = i * rows + r
                    worst = max(worst, abs(Double(y[k]) - expected[k]) / magnitude[k])
                    if (1...3).contains(r) { worst = max(worst, abs(Double(z[i * 3 + r - 1]) - expected[k]) / magnitude[k]) }
                }
            }
            #expect(worst <= 1e-5, "\(format.name) \(kernels): error \(worst) of Σ|w·x|")
        }
    }

    @Test func activationsRoundToTheNearestStep() {
        var x = Self.randomInputs(2, seed: 4)
        for c in 0..<32 { x[Self.columns + c] = 0 }   // an all-zero block: scale 0, quants 0
        let activations = x.withUnsafeBufferPointer { QuantizedActivations($0.baseAddress!, count: 2, columns: Self.columns) }
        for block in 0..<(2 * Self.columns / 32) {
            let values = x[(32 * block)..<(32 * block + 32)]
            let step = values.map(abs).max()! / 127
            #expect(activations.scales[block] == step)
            var sum = 0
            for c in 0..<32 {
                let q = Int(activations.quants[32 * block + c])
                sum += q
                #expect(abs(q) <= 127)
                #expect(abs(Float(q) * step - values[values.startIndex + c]) <= step * 0.5001)
            }
            #expect(abs(activations.sums[block] - step * Float(sum)) <= abs(step * Float(sum)) * 1e-6)
        }
    }

    /// A NaN or infinite input makes the outputs NaN (as in float), on every path, rather than trapping.
    @Test(arguments: [Float.nan, .infinity])
    func nonFiniteInputsGiveNaN(_ bad: Float) {
        for format in Self.formats {
            let bytes = Self.randomMatrix(format, seed: 7)
            var x = Self.randomInputs(1, seed: 1)
            x[40] = bad
            bytes.withUnsafeBytes { raw in
                let matrix = WeightMatrix(base: raw.baseAddress!, format: format, rows: Self.rows, columns: Self.columns)
                for path in LinearPath.allCases {
                    for kernels in Self.kernelSets {
                        var y = [Float](repeating: 0, count: Self.rows)
                        matrix.linear(x, count: 1, &y, path: path, kernels: kernels)
                        #expect(y.allSatisfy { !$0.isFinite }, "\(format.name) \(path) \(kernels)")
                    }
                }
            }
        }
    }

    @Test func processorFeaturesAreReadFromCpuinfo() {
        let cpuinfo = "processor\t: 0\nflags\t\t: fpu sse2 avx2 fma f16c avx512f avx512_vnni\n\nprocessor\t: 1\nflags\t\t: fpu\n"
        let features = ProcessorFeatures(cpuinfo: cpuinfo)
        #expect(features.flags.contains("avx2") && features.flags.contains("avx512_vnni"))
        #expect(features.unusedExtensions(by: .avx2) == ["avx512f", "avx512_vnni"])
        #expect(features.supportsBuild)
        #expect(ProcessorFeatures(cpuinfo: "flags : fpu sse2\n").supportsBuild == !KernelSet.avx2.isBuilt)
        #expect(ProcessorFeatures(cpuinfo: "").flags.isEmpty)
    }

    /// The set chosen by default is the fastest the flags allow, and what /v1/model's `kernels` names first.
    @Test func kernelSetFollowsTheProcessor() {
        let v3 = "flags : fpu sse2 avx avx2 fma f16c bmi2 avx_vnni\n"
        let v4 = "flags : fpu sse2 avx avx2 fma f16c bmi2 avx512f avx512bw avx512cd avx512dq avx512vl avx512_vnni avx512_bf16 avx_vnni\n"
        let built = KernelSet.avx2.isBuilt
        #expect(KernelSet.best(on: ProcessorFeatures(cpuinfo: "flags : fpu sse2\n")) == .portable)
        #expect(KernelSet.best(on: ProcessorFeatures(cpuinfo: v3)) == (built ? .avx2 : .portable))
        #expect(KernelSet.best(on: ProcessorFeatures(cpuinfo: v4)) == (built ? .avx512 : .portable))
        #expect(KernelSet.best(on: ProcessorFeatures(cpuinfo: v4.replacingOccurrences(of: " avx512_vnni", with: ""))) == (built ? .avx2 : .portable))
        #expect(KernelSet.best(on: ProcessorFeatures(cpuinfo: "")) == (built ? .avx2 : .portable))   // no cpuinfo: the build's target
        // AVX-512 in use: only what it leaves unused is listed (AVX-VNNI is its 256-bit subset).
        #expect(ProcessorFeatures(cpuinfo: v4).unusedExtensions(by: .avx512) == ["avx512_bf16"])
        #expect(ProcessorFeatures(cpuinfo: v4).unusedExtensions(by: .avx2) == ["avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "avx_vnni"])
        #expect(TensorKernels.chosen == KernelSet.best(on: .current))   // nothing configured in the tests
        #expect(TensorKernels.description.hasPrefix(TensorKernels.chosen.rawValue + "; "))
        #expect(TensorKernels.description.contains(TensorKernels.chosen == .avx512 ? "AVX-512 VNNI" : TensorKernels.chosen == .avx2 ? "AVX2" : "dequantized"))
    }
}
