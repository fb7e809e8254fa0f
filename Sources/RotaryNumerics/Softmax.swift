/// Numerically stable softmax over rows, with a vectorised exp.
public enum Softmax {
    /// In place over one row: visible entries become exp(x − max) / Σ, hidden ones 0.
    /// A row with nothing visible becomes all zeros (there is nothing to attend to).
    /// - Parameters:
    ///   - row: `[count]`
    ///   - visibleCount: entries `[0, visibleCount)` take part; the rest are set to 0.
    public static func normalizeRow(_ row: UnsafeMutablePointer<Float>, count: Int, visibleCount: Int) {
        let visible = min(max(visibleCount, 0), count)
        if visible < count { (row + visible).update(repeating: 0, count: count - visible) }
        guard visible > 0 else { return }
        var maxima = SIMD8<Float>(repeating: -.infinity)
        var j = 0
        while j + 8 <= visible {
            let v = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self)
            maxima.replace(with: v, where: v .> maxima)
            j += 8
        }
        var maximum = maxima.max()
        while j < visible { maximum = max(maximum, row[j]); j += 1 }
        var sum: Float = 0
        j = 0
        let shift = SIMD8<Float>(repeating: maximum)
        var sums = SIMD8<Float>()
        while j + 8 <= visible {
            let e = exp8(UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self) - shift)
            UnsafeMutableRawPointer(row + j).storeBytes(of: e, as: SIMD8<Float>.self)
            sums += e
            j += 8
        }
        sum = sums.sum()
        while j < visible {
            let e = exp8(SIMD8<Float>(repeating: row[j] - maximum))[0]
            row[j] = e
            sum += e
            j += 1
        }
        let inverse = 1 / sum
        j = 0
        while j + 8 <= visible {
            let scaled = UnsafeRawPointer(row + j).loadUnaligned(as: SIMD8<Float>.self) * inverse
            UnsafeMutableRawPointer(row + j).storeBytes(of: scaled, as: SIMD8<Float>.self)
            j += 8
        }
        while j < visible { row[j] *= inverse; j += 1 }
    }

    /// exp for 8 lanes: range reduction by ln 2, then a degree-6 polynomial (Cephes' expf
    /// coefficients), about 1 ulp on [-87, 88]; below −87.3 the result is 0.
    @inline(__always)
    public static func exp8(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var clamped = x
        clamped.replace(with: -87.3, where: x .< -87.3)
        clamped.replace(with: 88.3, where: x .> 88.3)
        let n = (clamped * 1.44269504088896341).rounded(.toNearestOrEven)
        var r = clamped - n * 0.693359375
        r = r + n * 2.12194440e-4
        var p = SIMD8<Float>(repeating: 1.9875691500e-4)
        p = p * r + 1.3981999507e-3
        p = p * r + 8.3334519073e-3
        p = p * r + 4.1665795894e-2
        p = p * r + 1.6666665459e-1
        p = p * r + 5.0000001201e-1
        let polynomial = p * r * r + r + 1
        // 2^n from the bits: adding 1.5·2^23 puts the integer n in the low mantissa bits (stays vectorised,
        // unlike a Float → Int32 conversion).
        let integer = unsafeBitCast(n + 12_582_912, to: SIMD8<Int32>.self) &- 0x4B40_0000
        let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
        return (polynomial * scale).replacing(with: 0, where: x .< -87.3)
    }
}
