import Testing
import RotaryTestSupport
@testable import RotaryNumerics

/// `WeightMatrix.linearEachInput`, the product batched decoding uses: every input's outputs are bit for bit those
/// of a product of that input alone, whatever the batch size and wherever the input sits in it.
@Suite struct LinearEachInputTests {
    static let rows = WeightLinearTests.rows, columns = WeightLinearTests.columns
    static let batchSizes = [1, 3, 4, 9]   // under, at and past the kernels' groups of four

    /// y of one input alone, as a decode step computes it (`linear` with count 1 on the given kernels).
    static func alone(_ matrix: WeightMatrix, _ x: [Float], input i: Int, exact: Bool, kernels: KernelSet) -> [Float] {
        var y = [Float](repeating: 0, count: rows)
        x.withUnsafeBufferPointer { input in
            y.withUnsafeMutableBufferPointer { out in
                let row = input.baseAddress! + i * columns
                if let floats = matrix.floats {
                    MatrixMultiply.linear(row, count: 1, floats, outputs: rows, inputs: columns, out.baseAddress!)
                } else if exact && matrix.format.isQuantized {
                    matrix.linear(row, count: 1, out.baseAddress!, path: .dequantizedRowDots)
                } else {
                    matrix.linear(row, count: 1, out.baseAddress!, path: TensorKernels.path(matrix.format, count: 1), kernels: kernels)
                }
            }
        }
        return y
    }

    static func check(_ matrix: WeightMatrix, exact: Bool, kernels: KernelSet, seed: UInt64) {
        let most = batchSizes.max()!
        let x = WeightLinearTests.randomInputs(most, seed: seed)
        let expected = (0..<most).map { alone(matrix, x, input: $0, exact: exact, kernels: kernels) }
        for count in batchSizes {
            // The inputs in another order each time: input i of the batch is `order[i]` of `x`.
            let order = (0..<count).map { ($0 * 5 + count) % most }
            let batch = order.flatMap { x[($0 * columns)..<(($0 + 1) * columns)] }
            var y = [Float](repeating: .nan, count: count * rows)
            batch.withUnsafeBufferPointer { input in
                y.withUnsafeMutableBufferPointer { out in
                    matrix.linearEachInput(input.baseAddress!, count: count, out.baseAddress!, exactActivations: exact, kernels: kernels)
                }
            }
            for (i, source) in order.enumerated() {
                let got = Array(y[(i * rows)..<((i + 1) * rows)])
                #expect(got.map(\.bitPattern) == expected[source].map(\.bitPattern),
                        "\(matrix.format) \(kernels) exact \(exact): input \(source) at \(i) of \(count)")
            }
        }
    }

    // On threads of their own: long synchronous work on the test runner's few cooperative threads would hold up
    // the suites that serve HTTP beside them (their handlers run there), most of all under the sanitizers.
    @Test(arguments: WeightLinearTests.formats, WeightLinearTests.kernelSets)
    func eachInputIsComputedAsAlone(_ format: TensorFormat, _ kernels: KernelSet) async throws {
        try await onThread {
            let bytes = WeightLinearTests.randomMatrix(format, seed: 41)
            bytes.withUnsafeBytes { raw in
                let matrix = WeightMatrix(base: raw.baseAddress!, format: format, rows: Self.rows, columns: Self.columns)
                Self.check(matrix, exact: false, kernels: kernels, seed: 7)
                if kernels == WeightLinearTests.kernelSets[0] { Self.check(matrix, exact: true, kernels: kernels, seed: 8) }
            }
        }
    }

    @Test func floatMatricesToo() async throws {
        try await onThread {
            let values = WeightLinearTests.randomInputs(Self.rows, seed: 3)   // [rows][columns] Gaussian weights
            values.withUnsafeBytes { raw in
                let matrix = WeightMatrix(base: raw.baseAddress!, format: .f32, rows: Self.rows, columns: Self.columns)
                #expect(matrix.floats != nil)
                Self.check(matrix, exact: false, kernels: TensorKernels.chosen, seed: 9)
            }
        }
    }

    /// Plain `linear` on F32 takes each input alone up to `rowDotInputs` inputs (prompt chunks, decode batches): the
    /// same numbers as one input at a time, in any position.
    @Test func floatLinearOfFewInputsIsEachInputAlone() throws {
        let columns = Self.columns + 11   // a part of eight and single values after the 32-value steps
        let weights = WeightLinearTests.randomInputs(Self.rows, seed: 4, columns: columns)   // [rows][columns]
        let most = MatrixMultiply.rowDotInputs
        let x = WeightLinearTests.randomInputs(most, seed: 5, columns: columns)   // [most][columns]
        func product(_ input: [Float], count: Int) -> [Float] {
            var y = [Float](repeating: .nan, count: count * Self.rows)
            weights.withUnsafeBufferPointer { w in input.withUnsafeBufferPointer { xs in y.withUnsafeMutableBufferPointer { out in
                MatrixMultiply.linear(xs.baseAddress!, count: count, w.baseAddress!, outputs: Self.rows, inputs: columns, out.baseAddress!)
            } } }
            return y
        }
        let alone = (0..<most).map { product(Array(x[($0 * columns)..<(($0 + 1) * columns)]), count: 1) }
        for count in [2, 3, 5, 6, 7, 16, most] {
            let y = product(Array(x[..<(count * columns)]), count: count)
            for i in 0..<count {
                #expect(y[(i * Self.rows)..<((i + 1) * Self.rows)].map(\.bitPattern) == alone[i].map(\.bitPattern), "input \(i) of \(count)")
            }
        }
    }
}
