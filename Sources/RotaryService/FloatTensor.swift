import RotaryHTTP
import RotaryJSON

/// A row-major float32 tensor of rank 2 (`[seq][dim]`) or 3 (`[heads][seq][dim]`).
struct FloatTensor: Sendable, Equatable {
    var values: [Float]
    var shape: [Int]

    var heads: Int { shape.count == 3 ? shape[0] : 1 }
    var rows: Int { shape[shape.count - 2] }
    var columns: Int { shape[shape.count - 1] }

    /// Reads nested JSON arrays of numbers, rejecting ragged rows, non-numbers, values outside float32
    /// and tensors over `maxElements` (413, before the floats are allocated).
    static func decode(_ value: JSONValue, field: String, maxElements: Int) throws(HTTPError) -> FloatTensor {
        guard case .array(let outer) = value, !outer.isEmpty else {
            throw .badRequest("\(field) must be a non-empty array of rows ([seq][dim]) or of matrices ([heads][seq][dim])", param: field)
        }
        // Rank 3 when the first element is an array of arrays, else rank 2.
        var matrices: [(String, [JSONValue])] = []
        var isRank3 = false
        if case .array(let items) = outer[0], let first = items.first {
            switch first {
            case .array, .numbers: isRank3 = true
            default: break
            }
        }
        if isRank3 {
            for (h, item) in outer.enumerated() {
                guard case .array(let rows) = item, !rows.isEmpty else {
                    throw .badRequest("\(field)[\(h)] must be a non-empty array of rows", param: "\(field)[\(h)]")
                }
                matrices.append(("\(field)[\(h)]", rows))
            }
        } else {
            matrices = [(field, outer)]
        }
        let rowCount = matrices[0].1.count
        var columns = -1
        for (name, rows) in matrices {
            guard rows.count == rowCount else {
                throw .badRequest("\(name) has \(rows.count) rows, expected \(rowCount) like \(matrices[0].0)", param: name)
            }
            for (r, row) in rows.enumerated() {
                guard case .numbers(let numbers) = row else { throw notNumbers(row, "\(name)[\(r)]") }
                if columns < 0 { columns = numbers.count }
                guard numbers.count == columns else {
                    throw .badRequest("\(name)[\(r)] has \(numbers.count) numbers, expected \(columns) (arrays must not be ragged)", param: "\(name)[\(r)]")
                }
            }
        }
        let total = matrices.count * rowCount * columns
        guard total <= maxElements else {
            throw .payloadTooLarge("\(field) has \(total) elements, over the limit of \(maxElements) (max_elements)", param: field)
        }
        var values = [Float]()
        values.reserveCapacity(total)
        for (name, rows) in matrices {
            for (r, row) in rows.enumerated() {
                guard case .numbers(let numbers) = row else { continue }
                for (c, number) in numbers.enumerated() {
                    let single = Float(number)
                    guard single.isFinite else {
                        throw .badRequest("\(name)[\(r)][\(c)] = \(number) does not fit in float32", param: "\(name)[\(r)][\(c)]")
                    }
                    values.append(single)
                }
            }
        }
        let shape = matrices.count == 1 && matrices[0].0 == field ? [rowCount, columns] : [matrices.count, rowCount, columns]
        return FloatTensor(values: values, shape: shape)
    }

    /// The error for a row that is not a non-empty array of numbers, naming the bad element.
    private static func notNumbers(_ row: JSONValue, _ name: String) -> HTTPError {
        if case .array(let items) = row {
            if let bad = items.firstIndex(where: { if case .number = $0 { return false } else { return true } }) {
                return .badRequest("\(name)[\(bad)] must be a number, got \(items[bad].kindDescription)", param: "\(name)[\(bad)]")
            }
            return .badRequest("\(name) must be a non-empty array of numbers", param: name)
        }
        return .badRequest("\(name) must be an array of numbers, got \(row.kindDescription)", param: name)
    }

    func write(to writer: inout JSONWriter) {
        values.withUnsafeBufferPointer { writer.tensor($0, shape: shape) }
    }
}
