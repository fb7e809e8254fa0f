/// How `WeightMatrix.linear` multiplies a non-F32 matrix (F32 always goes to BLAS).
enum LinearPath: CaseIterable {
    /// Per row and input: AVX2 or AVX-512 integer dot products against 8-bit activations (quantized formats), float dot
    /// products on converted values (F16, BF16).
    case rowDots
    /// Per row: the row dequantized into a scratch row, then float dot products with each input (portable).
    case dequantizedRowDots
    /// Tiles of 256 rows dequantized into a scratch tile, multiplied by BLAS sgemm (prompts).
    case tiles
}

extension WeightMatrix {
    /// y = x · Wᵀ for `count` input rows, in whatever format W is stored; the rows of W split over the cores.
    /// - Parameters: x `[count][columns]`, y `[count][rows]` (overwritten)
    public func linear(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>) {
        if let floats { return MatrixMultiply.linear(x, count: count, floats, outputs: rows, inputs: columns, y) }
        linear(x, count: count, y, path: TensorKernels.path(format, count: count))
    }

    /// - Parameters: x `[count][columns]`, y `[count][rows]` (overwritten); kernels: a set that `isSupported` here
    func linear(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>, path: LinearPath,
                kernels: KernelSet = TensorKernels.chosen) {
        guard rows > 0, count > 0 else { return }
        switch path {
        case .rowDots:
            if let dot = FloatRowDot.kernel(for: format) { return floatRowDots(x, count: count, y, dot) }
            if let dot = TensorKernels.quantizedRowsDot(for: format, kernels: kernels) { return quantizedRowDots(x, count: count, y, dot) }
            dequantizedRowDots(x, count: count, y)
        case .dequantizedRowDots: dequantizedRowDots(x, count: count, y)
        case .tiles: tiles(x, count: count, y)
        }
    }

    /// y = x · Wᵀ with each input computed exactly as a product of that input alone computes it (`linear` with
    /// `count` 1: the one-input kernels, fixed reduction order per row), while each block of weight rows is read
    /// once for all the inputs. A row's result does not depend on how many inputs share the call or where it sits
    /// among them: what batched decoding needs to give each sequence the numbers it would get alone.
    /// - Parameters: x `[count][columns]`, y `[count][rows]` (overwritten); kernels: a set that `isSupported` here
    public func linearEachInput(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>, exactActivations: Bool,
                                kernels: KernelSet = TensorKernels.chosen) {
        guard rows > 0, count > 0 else { return }
        if let floats { return MatrixMultiply.rowDots(x, count: count, floats, outputs: rows, inputs: columns, y) }
        if exactActivations, format.isQuantized { return dequantizedRowDots(x, count: count, y) }
        if let dot = FloatRowDot.kernel(for: format) { return floatRowDots(x, count: count, y, dot) }
        guard let dot = TensorKernels.quantizedRowsDot(for: format, kernels: kernels) else { return dequantizedRowDots(x, count: count, y) }
        // The AVX2 and AVX-512 kernels sum each input alike whether it comes alone or in a group of four (checked by
        // LinearEachInputTests); others are given one input at a time.
        quantizedRowDots(x, count: count, y, dot, oneInputAtATime: kernels != .avx2 && kernels != .avx512)
    }

    /// - Parameter oneInputAtATime: call the kernel with each input alone (its one-input order of summation).
    private func quantizedRowDots(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>,
                                  _ dot: TensorKernels.QuantizedRowsDot, oneInputAtATime: Bool = false) {
        let activations = QuantizedActivations(x, count: count, columns: columns)
        let groups = oneInputAtATime ? (0..<count).map { activations.input($0) } : [activations.rows]
        // Rows a few KB at a time, so each stays in L1 for all inputs.
        let chunk = max(2, 4096 / rowBytes & ~1)
        withExtendedLifetime(activations) {
            Parallel.forEachRange(rows, costPerItem: count * columns, minimumWork: 1 << 16) { range in
                var first = range.lowerBound
                while first < range.upperBound {
                    let n = min(chunk, range.upperBound - first)
                    var output = y + first
                    for inputs in groups {
                        dot(base + first * rowBytes, rowBytes, n, inputs, output, rows)
                        output += inputs.count * rows
                    }
                    first += n
                }
            }
        }
    }

    private func floatRowDots(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>,
                              _ dot: FloatRowDot.Kernel) {
        Parallel.forEachRange(rows, costPerItem: count * columns, minimumWork: 1 << 16) { range in
            for r in range {
                let row = base + r * rowBytes
                for i in 0..<count { y[i * rows + r] = dot(row, x + i * columns, columns) }
            }
        }
    }

    private func dequantizedRowDots(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>) {
        Parallel.forEachRange(rows, costPerItem: count * columns, minimumWork: 1 << 16) { range in
            let scratch = UnsafeMutablePointer<Float>.allocate(capacity: columns)   // [columns]
            defer { scratch.deallocate() }
            for r in range {
                dequantizeRow(r, into: scratch)
                for i in 0..<count { y[i * rows + r] = MatrixMultiply.dot(scratch, x + i * columns, columns) }
            }
        }
    }

    private func tiles(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>) {
        let tileRows = 256   // BLAS packs the inputs once per tile: fewer, larger tiles for long prompts
        Parallel.forEachRange(rows, costPerItem: count * columns) { range in
            let tile = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * columns)   // [tileRows][columns]
            defer { tile.deallocate() }
            var first = range.lowerBound
            while first < range.upperBound {
                let n = min(tileRows, range.upperBound - first)
                format.dequantize(base + first * rowBytes, count: n * columns, into: tile)
                MatrixMultiply.timesTransposed(x, lda: columns, tile, ldb: columns, y + first, ldc: rows,
                                               m: count, n: n, k: columns)
                first += n
            }
        }
    }
}
