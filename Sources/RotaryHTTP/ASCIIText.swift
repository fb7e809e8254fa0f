#if canImport(Glibc)
import Glibc
#endif

/// Text the server writes for every request (log lines, header values), each built in one allocation:
/// at 100k requests per second, interpolation's intermediate strings are a measurable cost.

/// How many decimal digits `value` has.
private func decimalDigits(_ value: UInt64) -> Int {
    var digits = 1, rest = value / 10
    while rest > 0 { digits += 1; rest /= 10 }
    return digits
}

/// Writes the decimal digits of `value` at `buffer[index...]`; returns the index after them.
private func writeDecimal(_ value: UInt64, into buffer: UnsafeMutableBufferPointer<UInt8>, at index: Int) -> Int {
    let digits = decimalDigits(value)
    var v = value
    for i in stride(from: index + digits - 1, through: index, by: -1) {
        buffer[i] = UInt8(ascii: "0") + UInt8(v % 10)
        v /= 10
    }
    return index + digits
}

private func write(_ text: String, into buffer: UnsafeMutableBufferPointer<UInt8>, at index: Int) -> Int {
    // One memcpy from the string's own storage (iterating the UTF-8 view goes byte by byte, and a
    // mutable copy for `withUTF8` would retain it).
    let copy = { (bytes: UnsafeBufferPointer<UInt8>) -> Int in
        _ = UnsafeMutableBufferPointer(rebasing: buffer[index..<index + bytes.count]).update(fromContentsOf: bytes)
        return index + bytes.count
    }
    if let end = text.utf8.withContiguousStorageIfAvailable(copy) { return end }
    return ContiguousArray(text.utf8).withUnsafeBufferPointer(copy)
}

// The capacities below are exact: a String of at most 15 UTF-8 bytes is stored inline, without an
// allocation, but only when the capacity asked for is that small too.

/// `app;dur=1.234` for 1234 microseconds (a `Server-Timing` value, in milliseconds).
func serverTimingText(micros: UInt64) -> String {
    String(unsafeUninitializedCapacity: 12 + decimalDigits(micros / 1000)) { buffer in
        let fraction = micros % 1000
        var i = write("app;dur=", into: buffer, at: 0)
        i = writeDecimal(micros / 1000, into: buffer, at: i)
        buffer[i] = UInt8(ascii: ".")
        buffer[i + 1] = UInt8(ascii: "0") + UInt8(fraction / 100)
        buffer[i + 2] = UInt8(ascii: "0") + UInt8(fraction / 10 % 10)
        buffer[i + 3] = UInt8(ascii: "0") + UInt8(fraction % 10)
        return i + 4
    }
}

/// `<prefix>-<number>`, a generated request id.
func requestIDText(prefix: String, number: UInt64) -> String {
    String(unsafeUninitializedCapacity: prefix.utf8.count + 1 + decimalDigits(number)) { buffer in
        var i = write(prefix, into: buffer, at: 0)
        buffer[i] = UInt8(ascii: "-")
        i = writeDecimal(number, into: buffer, at: i + 1)
        return i
    }
}

/// The access-log line: `<id> <method> <path> <status> <bytes>B <micros>us`, plus ` (aborted)` when the
/// client went away first.
func accessLogText(id: String, method: String, path: String, status: Int, bytes: Int, micros: UInt64,
                   aborted: Bool) -> String {
    let capacity = id.utf8.count + method.utf8.count + path.utf8.count + 3 * 21 + 20
    return String(unsafeUninitializedCapacity: capacity) { buffer in
        var i = write(id, into: buffer, at: 0)
        buffer[i] = 0x20
        i = write(method, into: buffer, at: i + 1)
        buffer[i] = 0x20
        i = write(path, into: buffer, at: i + 1)
        buffer[i] = 0x20
        i = writeDecimal(UInt64(max(status, 0)), into: buffer, at: i + 1)
        buffer[i] = 0x20
        i = writeDecimal(UInt64(max(bytes, 0)), into: buffer, at: i + 1)
        buffer[i] = UInt8(ascii: "B"); buffer[i + 1] = 0x20
        i = writeDecimal(micros, into: buffer, at: i + 2)
        i = write(aborted ? "us (aborted)" : "us", into: buffer, at: i)
        return i
    }
}

/// A header name lower-cased (names are case-insensitive), in the one allocation of the String.
func lowercasedASCII(_ text: UnsafePointer<CChar>) -> String {
    let count = strlen(text)
    return String(unsafeUninitializedCapacity: count) { buffer in
        for i in 0..<count {
            let byte = UInt8(bitPattern: text[i])
            buffer[i] = byte >= 0x41 && byte <= 0x5A ? byte + 0x20 : byte
        }
        return count
    }
}
