import RotaryNumerics

#if canImport(Glibc)
import Glibc
#endif

/// One tensor's entry in a GGUF file.
public struct GGUFTensorInfo: Sendable, Equatable {
    public var name: String
    /// ggml order: `dims[0]` is the fastest-varying (columns of a row-major matrix).
    public var dims: [Int]
    public var type: TensorFormat
    /// From the start of the file.
    public var offset: Int
    public var elementCount: Int
    public var byteCount: Int
}

/// The bytes of a GGUF file: memory-mapped from disk, or held in memory.
public final class GGUFBytes: @unchecked Sendable {   // immutable after init
    public let base: UnsafeRawPointer
    public let count: Int
    private let release: () -> Void

    public init(path: String) throws(GGUFError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw GGUFError("cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw GGUFError("cannot stat \(path)") }
        let size = Int(info.st_size)
        guard size > 0 else { throw GGUFError("\(path) is empty") }
        guard let mapping = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), mapping != MAP_FAILED else {
            throw GGUFError("cannot map \(path): \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(mapping)
        count = size
        release = { munmap(mapping, size) }
    }

    public init(_ bytes: [UInt8]) {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(bytes.count, 1), alignment: 64)
        bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(buffer), byteCount: bytes.count) }
        base = UnsafeRawPointer(buffer)
        count = bytes.count
        release = { buffer.deallocate() }
    }

    deinit { release() }
}

/// A parsed GGUF file (versions 2 and 3): metadata, tensor directory, and access to tensor data.
/// Every count, size and offset is checked against the file before it is used.
public struct GGUFFile: Sendable {
    public static let maxTensors = 1 << 16
    public static let maxMetadataEntries = 1 << 20
    public static let maxArrayNesting = 4

    public let version: UInt32
    /// In file order.
    public let metadata: [(key: String, value: GGUFValue)]
    public let tensors: [GGUFTensorInfo]
    /// Position in `tensors` by name (names are unique: a repeated one is a load error).
    private let tensorIndex: [String: Int]
    public let alignment: Int
    public let bytes: GGUFBytes

    public init(path: String) throws(GGUFError) { try self.init(bytes: GGUFBytes(path: path)) }

    public init(bytes: GGUFBytes) throws(GGUFError) {
        self.bytes = bytes
        var reader = ByteReader(base: bytes.base, count: bytes.count)
        let magic = try reader.read(UInt32.self, "magic")
        guard magic == 0x4655_4747 else { throw GGUFError("bad magic (not a GGUF file)") }
        version = try reader.read(UInt32.self, "version")
        guard version == 2 || version == 3 else { throw GGUFError("unsupported version \(version) (2 and 3 are read)") }
        let tensorCount = try reader.read(UInt64.self, "tensor count")
        let metadataCount = try reader.read(UInt64.self, "metadata count")
        guard tensorCount <= UInt64(Self.maxTensors) else { throw GGUFError("tensor count \(tensorCount) is over \(Self.maxTensors)") }
        guard metadataCount <= UInt64(Self.maxMetadataEntries) else {
            throw GGUFError("metadata count \(metadataCount) is over \(Self.maxMetadataEntries)")
        }
        var entries: [(key: String, value: GGUFValue)] = []
        var seen = Set<String>()
        for index in 0..<Int(metadataCount) {
            let key = try reader.string("metadata key \(index)")
            guard seen.insert(key).inserted else { throw GGUFError("duplicate metadata key \(key)") }
            let rawType = try reader.read(UInt32.self, "type of \(key)")
            guard let type = GGUFValueType(rawValue: rawType) else { throw GGUFError("unknown value type \(rawType) for \(key)") }
            entries.append((key, try Self.readValue(type, &reader, key, depth: 0)))
        }
        metadata = entries
        let alignmentValue = entries.first { $0.key == "general.alignment" }?.value
        let align = alignmentValue?.int ?? 32
        guard align > 0, align <= 1 << 16, align & (align - 1) == 0 else {
            throw GGUFError("general.alignment must be a power of two up to 65536, got \(alignmentValue.map { "\($0)" } ?? "?")")
        }
        alignment = align
        var infos: [(name: String, dims: [Int], type: TensorFormat, relative: UInt64)] = []
        var names = Set<String>()
        for index in 0..<Int(tensorCount) {
            let name = try reader.string("name of tensor \(index)")
            guard names.insert(name).inserted else { throw GGUFError("duplicate tensor \(name)") }
            let rank = try reader.read(UInt32.self, "rank of \(name)")
            guard (1...4).contains(rank) else { throw GGUFError("tensor \(name) has \(rank) dimensions (1 to 4 allowed)") }
            var dims: [Int] = []
            for d in 0..<Int(rank) {
                let size = try reader.read(UInt64.self, "dimension \(d) of \(name)")
                guard size >= 1, size <= 1 << 40 else { throw GGUFError("tensor \(name) has dimension \(size)") }
                dims.append(Int(size))
            }
            let rawType = try reader.read(UInt32.self, "type of \(name)")
            guard let type = TensorFormat(rawValue: rawType) else {
                throw GGUFError("tensor \(name) has ggml type \(rawType); supported: "
                                + TensorFormat.allCases.map { "\($0.name) (\($0.rawValue))" }.joined(separator: ", "))
            }
            infos.append((name, dims, type, try reader.read(UInt64.self, "offset of \(name)")))
        }
        reader.align(to: align)
        let dataStart = reader.offset
        var tensors: [GGUFTensorInfo] = []
        var tensorIndex: [String: Int] = [:]
        for info in infos {
            tensorIndex[info.name] = tensors.count   // names were checked unique above
            var elements = 1
            for d in info.dims {
                let (product, overflow) = elements.multipliedReportingOverflow(by: d)
                guard !overflow, product <= 1 << 40 else { throw GGUFError("tensor \(info.name) has too many elements") }
                elements = product
            }
            let format = info.type
            guard info.dims[0] % format.blockElements == 0 else {
                throw GGUFError("tensor \(info.name) (\(format.name)): row length \(info.dims[0]) is not a multiple of "
                                + "the \(format.blockElements)-element block")
            }
            let byteCount = elements / format.blockElements * format.blockBytes
            guard info.relative % UInt64(align) == 0 else { throw GGUFError("tensor \(info.name) is not aligned to \(align)") }
            guard info.relative <= UInt64(bytes.count), dataStart <= bytes.count,
                  Int(info.relative) <= bytes.count - dataStart - byteCount else {
                throw GGUFError("data of tensor \(info.name) runs past the end of the file")
            }
            tensors.append(GGUFTensorInfo(name: info.name, dims: info.dims, type: info.type, offset: dataStart + Int(info.relative),
                                          elementCount: elements, byteCount: byteCount))
        }
        self.tensors = tensors
        self.tensorIndex = tensorIndex
    }

    private static func readValue(_ type: GGUFValueType, _ reader: inout ByteReader, _ key: String, depth: Int) throws(GGUFError) -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try reader.read(UInt8.self, key))
        case .int8: return .int8(try reader.read(Int8.self, key))
        case .uint16: return .uint16(try reader.read(UInt16.self, key))
        case .int16: return .int16(try reader.read(Int16.self, key))
        case .uint32: return .uint32(try reader.read(UInt32.self, key))
        case .int32: return .int32(try reader.read(Int32.self, key))
        case .uint64: return .uint64(try reader.read(UInt64.self, key))
        case .int64: return .int64(try reader.read(Int64.self, key))
        case .float32: return .float32(Float(bitPattern: try reader.read(UInt32.self, key)))
        case .float64: return .float64(Double(bitPattern: try reader.read(UInt64.self, key)))
        case .bool:
            let byte = try reader.read(UInt8.self, key)
            guard byte <= 1 else { throw GGUFError("\(key): boolean byte \(byte)") }
            return .bool(byte == 1)
        case .string: return .string(try reader.string(key))
        case .array:
            guard depth < maxArrayNesting else { throw GGUFError("\(key): arrays nested deeper than \(maxArrayNesting)") }
            let rawType = try reader.read(UInt32.self, "element type of \(key)")
            guard let elementType = GGUFValueType(rawValue: rawType) else { throw GGUFError("\(key): unknown element type \(rawType)") }
            let count = try reader.read(UInt64.self, "length of \(key)")
            // Every element takes at least this many bytes: a count the file cannot hold is refused
            // before anything is allocated.
            let minimum = UInt64(elementType.fixedSize ?? (elementType == .string ? 8 : 12))
            guard count <= UInt64(reader.remaining) / minimum else {
                throw GGUFError("\(key): array of \(count) elements does not fit in the \(reader.remaining) bytes left")
            }
            var items: [GGUFValue] = []
            items.reserveCapacity(Int(count))
            for _ in 0..<Int(count) { items.append(try readValue(elementType, &reader, key, depth: depth + 1)) }
            return .array(elementType: elementType, items)
        }
    }

    public func value(_ key: String) -> GGUFValue? { metadata.first { $0.key == key }?.value }

    public func tensor(_ name: String) -> GGUFTensorInfo? { tensorIndex[name].map { tensors[$0] } }

    /// A tensor's elements as Float (dequantized when stored otherwise).
    public func floats(_ info: GGUFTensorInfo) -> [Float] {
        [Float](unsafeUninitializedCapacity: info.elementCount) { buffer, count in
            info.type.dequantize(bytes.base + info.offset, count: info.elementCount, into: buffer.baseAddress!)
            count = info.elementCount
        }
    }

    /// A pointer to an F32 tensor's data inside the file (no copy; valid while `bytes` lives), or nil
    /// when the tensor is not F32 or not 4-byte aligned.
    public func f32Pointer(_ info: GGUFTensorInfo) -> UnsafePointer<Float>? {
        guard info.type == .f32, info.offset % 4 == 0 else { return nil }
        return (bytes.base + info.offset).assumingMemoryBound(to: Float.self)
    }
}
