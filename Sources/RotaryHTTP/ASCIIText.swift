#if canImport(Glibc)
import Glibc
#endif

/// Text the server writes for every request (log line, request id, Server-Timing), each built in one allocation
/// by raw-pointer writes: at 100k requests per second, interpolation's intermediate strings, per-byte bounds
/// checks and retains of the pieces are a measurable cost.
///
/// Capacities are exact: a String of at most 15 UTF-8 bytes is stored inline, without an allocation, but
/// only when the capacity asked for is that small too.

/// How many decimal digits `value` has.
private func decimalDigits(_ value: UInt64) -> Int {
    var digits = 1, rest = value / 10
    while rest > 0 { digits += 1; rest /= 10 }
    return digits
}

/// A cursor writing ASCII into a buffer the caller sized.
private struct ASCIIWriter {
    var position: UnsafeMutablePointer<UInt8>
    let start: UnsafeMutablePointer<UInt8>
    /// One past the buffer (checked by assertions: debug builds and the sanitizer runs catch a wrong capacity).
    let end: UnsafeMutablePointer<UInt8>

    init(_ buffer: UnsafeMutableBufferPointer<UInt8>) {
        start = buffer.baseAddress!
        position = start
        end = start + buffer.count
    }

    var count: Int { position - start }

    mutating func byte(_ value: UInt8) {
        assert(position < end)
        position.initialize(to: value)
        position += 1
    }

    mutating func decimal(_ value: UInt64) {
        let digits = decimalDigits(value)
        assert(position + digits <= end)
        var rest = value, index = digits
        repeat {
            index -= 1
            (position + index).initialize(to: UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10))
            rest /= 10
        } while index > 0
        position += digits
    }

    mutating func text(_ literal: StaticString) {
        assert(position + literal.utf8CodeUnitCount <= end)
        position.update(from: literal.utf8Start, count: literal.utf8CodeUnitCount)
        position += literal.utf8CodeUnitCount
    }

    mutating func text(_ string: String) {
        let copied: Int? = string.utf8.withContiguousStorageIfAvailable { bytes in
            assert(position + bytes.count <= end)
            if let base = bytes.baseAddress { position.update(from: base, count: bytes.count) }
            return bytes.count
        }
        if let copied {
            position += copied
        } else {
            for byte in string.utf8 { self.byte(byte) }
        }
    }
}

/// Builds a String of exactly `capacity` UTF-8 bytes or fewer with an `ASCIIWriter`.
private func makeText(capacity: Int, _ write: (inout ASCIIWriter) -> Void) -> String {
    String(unsafeUninitializedCapacity: capacity) { buffer in
        var writer = ASCIIWriter(buffer)
        write(&writer)
        return writer.count
    }
}

/// `app;dur=1.234` for 1234 microseconds (a `Server-Timing` value, in milliseconds).
func serverTimingText(micros: UInt64) -> String {
    makeText(capacity: 12 + decimalDigits(micros / 1000)) { out in
        let fraction = micros % 1000
        out.text("app;dur=")
        out.decimal(micros / 1000)
        out.byte(UInt8(ascii: "."))
        out.byte(UInt8(ascii: "0") + UInt8(fraction / 100))
        out.byte(UInt8(ascii: "0") + UInt8(fraction / 10 % 10))
        out.byte(UInt8(ascii: "0") + UInt8(fraction % 10))
    }
}

/// `<prefix>-<number>`, a generated request id.
func requestIDText(prefix: String, number: UInt64) -> String {
    makeText(capacity: prefix.utf8.count + 1 + decimalDigits(number)) { out in
        out.text(prefix)
        out.byte(UInt8(ascii: "-"))
        out.decimal(number)
    }
}

/// The access-log line: `<id> <method> <path> <status> <bytes>B <micros>us`, plus ` (aborted)` when the
/// client went away first.
func accessLogText(id: String, method: String, path: String, status: Int, bytes: Int, micros: UInt64,
                   aborted: Bool) -> String {
    let status = UInt64(max(status, 0)), bytes = UInt64(max(bytes, 0))
    let capacity = id.utf8.count + method.utf8.count + path.utf8.count + decimalDigits(status)
        + decimalDigits(bytes) + decimalDigits(micros) + (aborted ? 18 : 8)   // 4 spaces, "B ", "us"( (aborted))
    return makeText(capacity: capacity) { out in
        out.text(id)
        out.byte(0x20)
        out.text(method)
        out.byte(0x20)
        out.text(path)
        out.byte(0x20)
        out.decimal(status)
        out.byte(0x20)
        out.decimal(bytes)
        out.text("B ")
        out.decimal(micros)
        out.text(aborted ? "us (aborted)" : "us")
    }
}

/// A header name lower-cased (names are case-insensitive), in the one allocation of the String.
func lowercasedASCII(_ text: UnsafePointer<CChar>) -> String {
    let count = strlen(text)
    return String(unsafeUninitializedCapacity: count) { buffer in
        for i in 0..<count {
            buffer[i] = lowercasedASCIIByte(UInt8(bitPattern: text[i]))
        }
        return count
    }
}

/// An ASCII letter lower-cased; any other byte as it is.
func lowercasedASCIIByte(_ byte: UInt8) -> UInt8 {
    byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
}
