import Foundation
import RotaryHTTP

/// NumPy's `.npy` format for float32 C-order tensors: the bulk-data path of `/rotate`.
/// Layout: magic `\x93NUMPY`, version (1.0, 2.0 or 3.0), header length (u16 for 1.0, u32 after),
/// a Python-literal dict header padded with spaces to 64 bytes, then the raw little-endian data.
enum NPY {
    static let mediaType = "application/x-npy"
    private static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// Reads a 2-D or 3-D `<f4` C-order array; every flaw is a 400 that says what it is.
    static func decode(_ bytes: [UInt8], maxElements: Int) throws(HTTPError) -> FloatTensor {
        func bad(_ message: String) -> HTTPError { .badRequest("malformed .npy body: \(message)", param: "body") }
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else { throw bad("missing the \\x93NUMPY magic") }
        let major = bytes[6]
        let headerLength: Int
        let headerStart: Int
        switch major {
        case 1:
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            headerStart = 10
        case 2, 3:
            guard bytes.count >= 12 else { throw bad("truncated header length") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            headerStart = 12
        default: throw bad("unsupported version \(major).\(bytes[7])")
        }
        guard headerLength <= 1 << 16, headerStart + headerLength <= bytes.count else { throw bad("truncated header") }
        guard let header = String(validating: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self) else {
            throw bad("header is not text")
        }
        let compact = header.filter { !$0.isWhitespace }
        guard let descr = field("descr", in: compact) else { throw bad("header has no 'descr'") }
        guard descr == "'<f4'" || descr == "\"<f4\"" else {
            throw bad("dtype must be little-endian float32 ('<f4'), got \(descr)")
        }
        guard let fortran = field("fortran_order", in: compact) else { throw bad("header has no 'fortran_order'") }
        guard fortran == "False" else { throw bad("Fortran-order arrays are not supported; send a C-order array (np.ascontiguousarray)") }
        guard let shapeText = field("shape", in: compact), shapeText.hasPrefix("("), shapeText.hasSuffix(")") else {
            throw bad("header has no 'shape' tuple")
        }
        let dims = shapeText.dropFirst().dropLast().split(separator: ",").map { Int($0) }
        guard dims.count == 2 || dims.count == 3, dims.allSatisfy({ ($0 ?? 0) > 0 }) else {
            throw bad("shape must have 2 or 3 positive dimensions, got \(shapeText)")
        }
        let shape = dims.map { $0! }
        var total = 1
        for d in shape {
            let (product, overflow) = total.multipliedReportingOverflow(by: d)
            guard !overflow else { throw .payloadTooLarge("the .npy shape \(shape) is too large (max_elements \(maxElements))", param: "body") }
            total = product
        }
        guard total <= maxElements else {
            throw .payloadTooLarge("the .npy array has \(total) elements, over the limit of \(maxElements) (max_elements)", param: "body")
        }
        let dataStart = headerStart + headerLength
        guard bytes.count - dataStart == total * 4 else {
            throw bad("shape \(shape) needs \(total * 4) data bytes, got \(bytes.count - dataStart)")
        }
        var values = [Float](repeating: 0, count: total)
        values.withUnsafeMutableBytes { out in
            bytes.withUnsafeBytes { raw in
                out.copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[dataStart..<bytes.count]))
            }
        }
        #if _endian(big)
        values = values.map { Float(bitPattern: $0.bitPattern.byteSwapped) }
        #endif
        for (i, v) in values.enumerated() where !v.isFinite {
            throw .badRequest("element \(i) of the .npy array is not finite (\(v))", param: "body")
        }
        return FloatTensor(values: values, shape: shape)
    }

    /// A version 1.0 `.npy` of the tensor.
    static func encode(_ tensor: FloatTensor) -> [UInt8] {
        let shapeText = tensor.shape.count == 1 ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        var out = magic + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)]
        out += Array(header.utf8)
        tensor.values.withUnsafeBytes { out.append(contentsOf: $0) }
        return out
    }

    /// The raw text of `'key':value` in a compact (whitespace-free) header dict.
    private static func field(_ key: String, in header: String) -> String? {
        for quote in ["'", "\""] {
            guard let keyRange = header.range(of: quote + key + quote + ":") else { continue }
            let rest = header[keyRange.upperBound...]
            if rest.hasPrefix("(") {
                guard let close = rest.firstIndex(of: ")") else { return nil }
                return String(rest[...close])
            }
            let end = rest.firstIndex { $0 == "," || $0 == "}" } ?? rest.endIndex
            return String(rest[..<end])
        }
        return nil
    }
}
