#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The absolute sinusoidal encoding of Vaswani et al. (2017), added to vectors:
/// PE(p, 2i) = sin(p / base^(2i/d)), PE(p, 2i+1) = cos(p / base^(2i/d)).
public enum SinusoidalEncoding {
    /// Adds PE(positions[r]) to row r of every head, in place.
    /// - Parameter data: `[heads][positions.count][dim]`
    public static func add(to data: inout [Float], heads: Int, positions: [Int], dim: Int, base: Double = 10_000) {
        precondition(data.count == heads * positions.count * dim)
        let rows = positions.count
        var table = [Float](repeating: 0, count: rows * dim)   // [rows][dim]
        for (r, position) in positions.enumerated() {
            for i in stride(from: 0, to: dim, by: 2) {
                let angle = Double(position) / pow(base, Double(i) / Double(dim))
                table[r * dim + i] = Float(sin(angle))
                if i + 1 < dim { table[r * dim + i + 1] = Float(cos(angle)) }
            }
        }
        for h in 0..<heads {
            for k in 0..<(rows * dim) { data[h * rows * dim + k] += table[k] }
        }
    }
}
