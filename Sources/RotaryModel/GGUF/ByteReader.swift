/// Bounds-checked little-endian reads over untrusted bytes: every read says what it was reading when
/// the bytes run out.
struct ByteReader {
    let base: UnsafeRawPointer
    let count: Int
    private(set) var offset = 0

    init(base: UnsafeRawPointer, count: Int) {
        self.base = base
        self.count = count
    }

    var remaining: Int { count - offset }

    mutating func read<T: FixedWidthInteger>(_: T.Type, _ what: @autoclosure () -> String) throws(GGUFError) -> T {
        guard remaining >= MemoryLayout<T>.size else { throw GGUFError("truncated while reading \(what()) at byte \(offset)") }
        let value = T(littleEndian: base.loadUnaligned(fromByteOffset: offset, as: T.self))
        offset += MemoryLayout<T>.size
        return value
    }

    mutating func bytes(_ length: Int, _ what: @autoclosure () -> String) throws(GGUFError) -> UnsafeRawBufferPointer {
        guard length >= 0, remaining >= length else {
            throw GGUFError("\(what()) of \(length) bytes runs past the end of the file at byte \(offset)")
        }
        defer { offset += length }
        return UnsafeRawBufferPointer(start: base + offset, count: length)
    }

    mutating func string(_ what: @autoclosure () -> String) throws(GGUFError) -> String {
        let length = try read(UInt64.self, "length of \(what())")
        guard length <= UInt64(remaining) else {
            throw GGUFError("\(what()) claims \(length) bytes but only \(remaining) remain")
        }
        let raw = try bytes(Int(length), what())
        guard let text = String(validating: raw.assumingMemoryBound(to: UInt8.self), as: UTF8.self) else {
            throw GGUFError("\(what()) is not valid UTF-8")
        }
        return text
    }

    mutating func align(to alignment: Int) {
        offset = (offset + alignment - 1) / alignment * alignment
    }
}
