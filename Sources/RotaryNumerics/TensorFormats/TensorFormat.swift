/// The element formats of ggml tensors that Rotary reads, by ggml's type code. A format stores a row as
/// consecutive blocks of `blockElements` values in `blockBytes` bytes.
public enum TensorFormat: UInt32, Sendable, CaseIterable {
    case f32 = 0, f16 = 1, q4_0 = 2, q4_1 = 3, q5_0 = 6, q5_1 = 7, q8_0 = 8
    case q4_K = 12, q5_K = 13, q6_K = 14, bf16 = 30

    /// ggml's name (`Q4_K`, `BF16`).
    public var name: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        case .q4_0: "Q4_0"
        case .q4_1: "Q4_1"
        case .q5_0: "Q5_0"
        case .q5_1: "Q5_1"
        case .q8_0: "Q8_0"
        case .q4_K: "Q4_K"
        case .q5_K: "Q5_K"
        case .q6_K: "Q6_K"
        }
    }

    public var blockElements: Int {
        switch self {
        case .f32, .f16, .bf16: 1
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: 32
        case .q4_K, .q5_K, .q6_K: 256
        }
    }

    public var blockBytes: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .q4_0: 18     // f16 scale, 16 bytes of nibbles
        case .q4_1: 20     // f16 scale, f16 minimum, 16 bytes of nibbles
        case .q5_0: 22     // f16 scale, 4 bytes of fifth bits, 16 bytes of nibbles
        case .q5_1: 24     // f16 scale, f16 minimum, fifth bits, nibbles
        case .q8_0: 34     // f16 scale, 32 int8
        case .q4_K: 144    // f16 super-scale and super-minimum, 12 bytes of 6-bit scales/minimums, 128 bytes of nibbles
        case .q5_K: 176    // as Q4_K plus 32 bytes of fifth bits
        case .q6_K: 210    // 128 bytes of low nibbles, 64 of high bit pairs, 16 int8 scales, f16 super-scale
        }
    }

    /// Bytes of a row of `columns` values (`columns` a multiple of `blockElements`).
    public func rowBytes(_ columns: Int) -> Int { columns / blockElements * blockBytes }

    public var isQuantized: Bool { blockElements > 1 }
}

/// A row-major matrix `[rows][columns]` stored in a `TensorFormat`, rows `format.rowBytes(columns)` apart,
/// over storage the owner keeps alive (a mapped file, or training's parameters for F32).
public struct WeightMatrix: @unchecked Sendable {   // a read-only view
    public let base: UnsafeRawPointer
    public let format: TensorFormat
    public let rows: Int
    public let columns: Int

    public init(base: UnsafeRawPointer, format: TensorFormat, rows: Int, columns: Int) {
        precondition(columns % format.blockElements == 0, "\(columns) columns is not a multiple of \(format.name)'s block")
        self.base = base
        self.format = format
        self.rows = rows
        self.columns = columns
    }

    /// An F32 matrix.
    public init(_ pointer: UnsafePointer<Float>, rows: Int, columns: Int) {
        self.init(base: UnsafeRawPointer(pointer), format: .f32, rows: rows, columns: columns)
    }

    public var rowBytes: Int { format.rowBytes(columns) }

    /// The floats of an F32 matrix (nil for other formats).
    public var floats: UnsafePointer<Float>? { format == .f32 ? base.assumingMemoryBound(to: Float.self) : nil }

    /// Row `row` as floats. Output `[columns]`.
    public func dequantizeRow(_ row: Int, into output: UnsafeMutablePointer<Float>) {
        format.dequantize(base + row * rowBytes, count: columns, into: output)
    }
}
