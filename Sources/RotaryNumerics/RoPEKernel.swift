import Dispatch
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The rotation loops: pure functions over flat Float buffers.
public enum RoPEKernel {
    /// Below this many floats the work stays on the calling thread.
    public static let parallelThreshold = 1 << 16

    /// Rotates, in place, `heads × rows` vectors of `headDim` floats; row r of every head uses table row r.
    /// - Parameters:
    ///   - data: `[heads][rows][headDim]`
    ///   - cos: `[rows][rotaryDim/2]`
    ///   - sin: `[rows][rotaryDim/2]`
    public static func rotate(
        _ data: UnsafeMutablePointer<Float>, heads: Int, rows: Int, headDim: Int, rotaryDim: Int,
        layout: RoPELayout, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        let pairs = rotaryDim / 2
        // Blocks of rows, every head within a block: the block's cos/sin rows stay in L2 while all heads
        // stream through them, instead of re-reading the whole table from L3 once per head.
        let blockRows = max(1, min(rows, (32 << 10) / max(1, pairs * 8)))
        let blocks = (rows + blockRows - 1) / blockRows
        // The blocks are disjoint, so the threads share nothing they write.
        Parallel.forEachRange(blocks, costPerItem: heads * blockRows * headDim, minimumWork: parallelThreshold) { range in
            let (x, c, s) = (data, cos, sin)
            for block in range {
                let first = block * blockRows, last = min(rows, first + blockRows)
                for head in 0..<heads {
                    for row in first..<last {
                        let v = x + (head * rows + row) * headDim
                        let cr = c + row * pairs, sr = s + row * pairs
                        switch layout {
                        case .half: rotateHalf(v, pairs, cr, sr)
                        case .interleaved: rotateInterleaved(v, pairs, cr, sr)
                        }
                    }
                }
            }
        }
    }

    public static func rotate(
        _ data: UnsafeMutablePointer<Float>, tokens: Int, heads: Int, headDim: Int, rotaryDim: Int,
        layout: RoPELayout, cos: UnsafePointer<Float>, sin: UnsafePointer<Float>
    ) {
        let pairs = rotaryDim / 2
        for t in 0..<tokens {
            let c = cos + t * pairs, s = sin + t * pairs
            for h in 0..<heads {
                let v = data + (t * heads + h) * headDim
                switch layout {
                case .half: rotateHalf(v, pairs, c, s)
                case .interleaved: rotateInterleaved(v, pairs, c, s)
                }
            }
        }
    }

    /// Pairs (i, i + pairs). v: `[2·pairs]` (the rotated slice of one vector); c, s: `[pairs]`.
    @inline(__always)
    static func rotateHalf(_ v: UnsafeMutablePointer<Float>, _ pairs: Int, _ c: UnsafePointer<Float>, _ s: UnsafePointer<Float>) {
        let second = v + pairs
        var i = 0
        while i + 8 <= pairs {
            let a = UnsafeRawPointer(v + i).loadUnaligned(as: SIMD8<Float>.self)
            let b = UnsafeRawPointer(second + i).loadUnaligned(as: SIMD8<Float>.self)
            let cc = UnsafeRawPointer(c + i).loadUnaligned(as: SIMD8<Float>.self)
            let ss = UnsafeRawPointer(s + i).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(v + i).storeBytes(of: a * cc - b * ss, as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(second + i).storeBytes(of: b * cc + a * ss, as: SIMD8<Float>.self)
            i += 8
        }
        while i < pairs {
            let a = v[i], b = second[i]
            v[i] = a * c[i] - b * s[i]
            second[i] = b * c[i] + a * s[i]
            i += 1
        }
    }

    /// Pairs (2j, 2j+1). v: `[2·pairs]`; c, s: `[pairs]`.
    @inline(__always)
    static func rotateInterleaved(_ v: UnsafeMutablePointer<Float>, _ pairs: Int, _ c: UnsafePointer<Float>, _ s: UnsafePointer<Float>) {
        var j = 0
        while j + 8 <= pairs {
            let x = UnsafeRawPointer(v + 2 * j).loadUnaligned(as: SIMD16<Float>.self)
            let a = x.evenHalf, b = x.oddHalf
            let cc = UnsafeRawPointer(c + j).loadUnaligned(as: SIMD8<Float>.self)
            let ss = UnsafeRawPointer(s + j).loadUnaligned(as: SIMD8<Float>.self)
            let outA = a * cc - b * ss, outB = b * cc + a * ss
            var out = SIMD16<Float>()
            for k in 0..<8 { out[2 * k] = outA[k]; out[2 * k + 1] = outB[k] }
            UnsafeMutableRawPointer(v + 2 * j).storeBytes(of: out, as: SIMD16<Float>.self)
            j += 8
        }
        while j < pairs {
            let a = v[2 * j], b = v[2 * j + 1]
            v[2 * j] = a * c[j] - b * s[j]
            v[2 * j + 1] = b * c[j] + a * s[j]
            j += 1
        }
    }

}

extension RoPEConfiguration {
    /// Rotates `data` in place with a table built by `table(positions:role:inverse:)`.
    /// - Parameter data: `[heads][table.rows][headDim]`, flat.
    public func apply(_ table: RoPETable, to data: inout [Float], heads: Int = 1) {
        precondition(data.count == heads * table.rows * headDim, "data is not [heads][rows][headDim]")
        precondition(table.pairCount == pairCount, "table was built for another configuration")
        data.withUnsafeMutableBufferPointer { buffer in
            table.cos.withUnsafeBufferPointer { c in
                table.sin.withUnsafeBufferPointer { s in
                    guard let base = buffer.baseAddress, let cb = c.baseAddress, let sb = s.baseAddress else { return }
                    RoPEKernel.rotate(base, heads: heads, rows: table.rows, headDim: headDim, rotaryDim: rotaryDim,
                                      layout: layout, cos: cb, sin: sb)
                }
            }
        }
    }
}
