/// Builds JSON text into a byte buffer. Floats are written in their shortest round-trip form;
/// non-finite numbers, which JSON cannot carry, are written as `null`.
public struct JSONWriter {
    public private(set) var bytes: [UInt8] = []

    public init(reservingCapacity capacity: Int = 256) {
        bytes.reserveCapacity(capacity)
    }

    public mutating func raw(_ text: StaticString) {
        text.withUTF8Buffer { bytes.append(contentsOf: $0) }
    }

    public mutating func raw(_ text: String) {
        bytes.append(contentsOf: text.utf8)
    }

    /// Writes `"key":`.
    public mutating func key(_ name: String) {
        string(name)
        bytes.append(UInt8(ascii: ":"))
    }

    public mutating func comma() { bytes.append(UInt8(ascii: ",")) }

    public mutating func string(_ text: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): raw("\\\"")
            case UInt8(ascii: "\\"): raw("\\\\")
            case 0x0a: raw("\\n")
            case 0x0d: raw("\\r")
            case 0x09: raw("\\t")
            case 0..<0x20:
                raw("\\u00")
                bytes.append(hexDigit(byte >> 4))
                bytes.append(hexDigit(byte & 0xf))
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    public mutating func int(_ value: Int) { raw(String(value)) }

    public mutating func bool(_ value: Bool) { value ? raw("true") : raw("false") }

    public mutating func null() { raw("null") }

    public mutating func float(_ value: Float) {
        guard value.isFinite else { return null() }
        bytes.append(contentsOf: value.description.utf8)
    }

    public mutating func double(_ value: Double) {
        guard value.isFinite else { return null() }
        bytes.append(contentsOf: value.description.utf8)
    }

    /// `[v0,v1,...]` from a flat buffer.
    public mutating func floats(_ values: UnsafeBufferPointer<Float>) {
        bytes.append(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            float(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func floats(_ values: [Float]) {
        values.withUnsafeBufferPointer { floats($0) }
    }

    public mutating func doubles(_ values: [Double]) {
        bytes.append(UInt8(ascii: "["))
        for (i, value) in values.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            double(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    /// A row-major tensor of any rank as nested arrays. `shape` must multiply to `values.count`.
    public mutating func tensor(_ values: UnsafeBufferPointer<Float>, shape: [Int]) {
        precondition(shape.reduce(1, *) == values.count, "shape does not match the element count")
        if shape.count <= 1 { return floats(values) }
        let inner = Array(shape.dropFirst())
        let stride = inner.reduce(1, *)
        bytes.append(UInt8(ascii: "["))
        for i in 0..<shape[0] {
            if i > 0 { bytes.append(UInt8(ascii: ",")) }
            tensor(UnsafeBufferPointer(rebasing: values[(i * stride)..<((i + 1) * stride)]), shape: inner)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    public mutating func value(_ value: JSONValue) {
        switch value {
        case .null: null()
        case .bool(let b): bool(b)
        case .number(let d):
            // Whole numbers as integers: a count read back (`rotary_dim`) stays an integer for typed clients.
            if d.rounded() == d && abs(d) < 1e15 { int(Int(d)) } else { double(d) }
        case .string(let s): string(s)
        case .numbers(let ds): doubles(ds)
        case .array(let items):
            bytes.append(UInt8(ascii: "["))
            for (i, item) in items.enumerated() {
                if i > 0 { comma() }
                self.value(item)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            for (i, member) in members.enumerated() {
                if i > 0 { comma() }
                key(member.0)
                self.value(member.1)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}
