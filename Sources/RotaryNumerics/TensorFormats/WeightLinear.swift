extension WeightMatrix {
    /// y = x · Wᵀ for `count` input rows, in whatever format W is stored; the rows of W split over the cores.
    /// - Parameters: x `[count][columns]`, y `[count][rows]` (overwritten)
    public func linear(_ x: UnsafePointer<Float>, count: Int, _ y: UnsafeMutablePointer<Float>) {
        if let floats { return MatrixMultiply.linear(x, count: count, floats, outputs: rows, inputs: columns, y) }
        // Reference path: rows are expanded a tile at a time, then multiplied as F32.
        let tileRows = 64
        Parallel.forEachRange(rows, costPerItem: count * columns) { range in
            let tile = UnsafeMutablePointer<Float>.allocate(capacity: tileRows * columns)
            defer { tile.deallocate() }
            var first = range.lowerBound
            while first < range.upperBound {
                let n = min(tileRows, range.upperBound - first)
                for r in 0..<n { dequantizeRow(first + r, into: tile + r * columns) }
                MatrixMultiply.timesTransposed(x, lda: columns, tile, ldb: columns, y + first, ldc: rows,
                                               m: count, n: n, k: columns)
                first += n
            }
        }
    }
}
