/// Input rows quantized to 8 bits per block of 32, as ggml's Q8_0/Q8_1 activations: q = round(x / d) with
/// d = max|x| / 127, so that a quantized weight row is dotted in integers. Each 32-block keeps its own scale (also
/// for the K-quants, whose 32- and 16-value sub-blocks fall inside it), and the scaled sum d·Σq that offsets and
/// minimums need. Relative error of a dot product: about 1e-3 (half a step of 1/127 per value, partly cancelling).
final class QuantizedActivations {
    let count: Int
    let columns: Int
    var blocksPerRow: Int { columns / 32 }
    /// q `[count][columns]`
    let quants: UnsafeMutablePointer<Int8>
    /// d `[count][columns / 32]`
    let scales: UnsafeMutablePointer<Float>
    /// d·Σq `[count][columns / 32]`
    let sums: UnsafeMutablePointer<Float>
    /// d and d·Σq again, side by side: `[count][columns / 32][2]` (the AVX-512 kernels load two blocks' in one go)
    let scaleSums: UnsafeMutablePointer<Float>

    /// - Parameters: x `[count][columns]`, columns a multiple of 32
    init(_ x: UnsafePointer<Float>, count: Int, columns: Int) {
        precondition(columns % 32 == 0, "\(columns) columns is not whole 32-blocks")
        self.count = count
        self.columns = columns
        let blocks = count * columns / 32
        quants = .allocate(capacity: count * columns)
        scales = .allocate(capacity: blocks)
        sums = .allocate(capacity: blocks)
        scaleSums = .allocate(capacity: 2 * blocks)
        for b in 0..<blocks {
            Self.quantizeBlock(x + 32 * b, quants + 32 * b, &scales[b], &sums[b])
            (scaleSums[2 * b], scaleSums[2 * b + 1]) = (scales[b], sums[b])
        }
    }

    deinit {
        quants.deallocate()
        scales.deallocate()
        sums.deallocate()
        scaleSums.deallocate()
    }

    func row(_ row: Int) -> ActivationRow { rows.row(row) }

    /// Every input, as the kernels read them (valid while this object lives).
    var rows: ActivationRows {
        ActivationRows(quants: quants, scales: scales, sums: sums, scaleSums: scaleSums, count: count, columns: columns)
    }

    /// Input `i` alone.
    func input(_ i: Int) -> ActivationRows {
        ActivationRows(quants: quants + i * columns, scales: scales + i * blocksPerRow, sums: sums + i * blocksPerRow,
                       scaleSums: scaleSums + 2 * i * blocksPerRow, count: 1, columns: columns)
    }

    /// - Parameters: x `[32]`, q `[32]`
    private static func quantizeBlock(_ x: UnsafePointer<Float>, _ q: UnsafeMutablePointer<Int8>,
                                      _ scale: inout Float, _ sum: inout Float) {
        @inline(__always) func load(_ i: Int) -> SIMD8<Float> { UnsafeRawPointer(x + 8 * i).loadUnaligned(as: SIMD8<Float>.self) }
        let v0 = load(0), v1 = load(1), v2 = load(2), v3 = load(3)
        // Magnitudes compared as bit patterns: the same order, and infinities and NaNs come out on top.
        @inline(__always) func magnitude(_ v: SIMD8<Float>) -> SIMD8<UInt32> { unsafeBitCast(v, to: SIMD8<UInt32>.self) & 0x7FFF_FFFF }
        let largest = Float(bitPattern: pointwiseMax(pointwiseMax(magnitude(v0), magnitude(v1)),
                                                     pointwiseMax(magnitude(v2), magnitude(v3))).max())
        guard largest.isFinite else {
            // A non-finite input makes every product with this block NaN, as it would in float.
            q.initialize(repeating: 0, count: 32)
            (scale, sum) = (.nan, .nan)
            return
        }
        let d = largest / 127
        let inverse: Float = d > 0 ? 1 / d : 0
        var total = SIMD8<Int32>()
        @inline(__always) func store(_ i: Int, _ values: SIMD8<Float>) {
            // Adding 1.5·2²³ rounds |v| ≤ 127 to the nearest integer (ties to even) in the low mantissa bits.
            let shifted = values * inverse + 12_582_912
            let rounded = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
            total &+= rounded
            UnsafeMutableRawPointer(q + 8 * i).storeBytes(of: SIMD8<Int8>(truncatingIfNeeded: rounded), as: SIMD8<Int8>.self)
        }
        store(0, v0); store(1, v1); store(2, v2); store(3, v3)
        scale = d
        sum = d * Float(total.wrappedSum())
    }
}

/// Inputs of a `QuantizedActivations` as plain pointers, which is what the kernels take: a value with no reference to
/// count, so that threads reading the same activations in their loops share no counter.
struct ActivationRows {
    /// q `[count][columns]`
    let quants: UnsafeMutablePointer<Int8>
    /// d `[count][columns / 32]`
    let scales: UnsafeMutablePointer<Float>
    /// d·Σq `[count][columns / 32]`
    let sums: UnsafeMutablePointer<Float>
    /// `[count][columns / 32][2]`: d, d·Σq
    let scaleSums: UnsafeMutablePointer<Float>
    let count: Int
    let columns: Int
    var blocksPerRow: Int { columns / 32 }

    func row(_ row: Int) -> ActivationRow {
        ActivationRow(base: UnsafeRawPointer(quants + row * columns), scales: scales + row * blocksPerRow,
                      sums: sums + row * blocksPerRow)
    }
}

/// One row of `QuantizedActivations`: quants `[blocks][32]`, scales `[blocks]`, sums `[blocks]`.
struct ActivationRow {
    let base: UnsafeRawPointer
    let scales: UnsafePointer<Float>
    let sums: UnsafePointer<Float>
}
