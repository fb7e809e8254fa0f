import RotaryNumerics

/// Writes a GGUF version 3 file: metadata in the order given, tensors aligned to `alignment`.
public struct GGUFWriter {
    public var metadata: [(key: String, value: GGUFValue)] = []
    /// name, ggml dims (`dims[0]` fastest), element type, encoded data.
    public var tensors: [(name: String, dims: [Int], type: TensorFormat, data: [UInt8])] = []
    public var alignment = 32

    public init() {}

    public mutating func add(_ key: String, _ value: GGUFValue) { metadata.append((key, value)) }

    /// - Parameter dims: ggml order (`[columns, rows]` for a matrix).
    public mutating func addTensor(_ name: String, dims: [Int], data: [Float]) {
        precondition(dims.reduce(1, *) == data.count, "dims do not match the data of \(name)")
        tensors.append((name, dims, .f32, data.withUnsafeBytes { Array($0) }))
    }

    /// A tensor already encoded as `type` (F16 halves, Q8_0 blocks).
    public mutating func addEncodedTensor(_ name: String, dims: [Int], type: TensorFormat, data: [UInt8]) {
                precondition(dims.reduce(1, *) / type.blockElements * type.blockBytes == data.count, "dims do not match the data of \(name)")
        tensors.append((name, dims, type, data))
    }

    public func bytes() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
        func putString(_ text: String) { put(UInt64(text.utf8.count)); out += text.utf8 }
        func putValue(_ value: GGUFValue) {
            switch value {
            case .uint8(let v): put(v)
            case .int8(let v): put(v)
            case .uint16(let v): put(v)
            case .int16(let v): put(v)
            case .uint32(let v): put(v)
            case .int32(let v): put(v)
            case .uint64(let v): put(v)
            case .int64(let v): put(v)
            case .float32(let v): put(v.bitPattern)
            case .float64(let v): put(v.bitPattern)
            case .bool(let v): put(UInt8(v ? 1 : 0))
            case .string(let s): putString(s)
            case .array(let elementType, let items):
                put(elementType.rawValue)
                put(UInt64(items.count))
                items.forEach(putValue)
            }
        }
        func pad() { while out.count % alignment != 0 { out.append(0) } }
        put(UInt32(0x4655_4747))
        put(UInt32(3))
        put(UInt64(tensors.count))
        var entries = metadata
        if alignment != 32 && !entries.contains(where: { $0.key == "general.alignment" }) {
            entries.insert(("general.alignment", .uint32(UInt32(alignment))), at: 0)
        }
        put(UInt64(entries.count))
        for (key, value) in entries {
            putString(key)
            put(value.type.rawValue)
            putValue(value)
        }
        var offset = 0
        for tensor in tensors {
            putString(tensor.name)
            put(UInt32(tensor.dims.count))
            tensor.dims.forEach { put(UInt64($0)) }
            put(tensor.type.rawValue)
            put(UInt64(offset))
            offset += (tensor.data.count + alignment - 1) / alignment * alignment
        }
        pad()
        for tensor in tensors {
            out += tensor.data
            pad()
        }
        return out
    }
}
