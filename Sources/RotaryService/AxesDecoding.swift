import RotaryHTTP
import RotaryJSON
import RotaryNumerics

/// Multi-axis RoPE in a request: `rope.axes` (how pairs map to axes) and positions `[rows][axes]`, given outright or
/// as `{"grid": [t, h, w], "text_before": n, "text_after": m}` (Qwen2-VL's rule, see `RoPEGrid`).
enum AxesDecoding {
    /// `rope.axes`: `{"sections": [...]}` (M-RoPE), with `"interleaved": true` (Qwen3-VL), or `{"axes_dim": [...]}` (FLUX).
    static func axes(_ value: JSONValue, path: String) throws(HTTPError) -> RoPEAxes {
        var reader = try ObjectReader(value, path: path)
        let sections = try wholeNumbers(try reader.doubles("sections"), reader.name("sections"))
        let interleaved = try reader.bool("interleaved") ?? false
        let dims = try wholeNumbers(try reader.doubles("axes_dim"), reader.name("axes_dim"))
        try reader.finish()
        switch (sections, dims) {
        case (let sections?, nil): return interleaved ? .interleavedSections(sections) : .sections(sections)
        case (nil, let dims?):
            if interleaved {
                throw .badRequest("\(reader.name("interleaved")) applies to sections, not axes_dim", param: reader.name("interleaved"))
            }
            return .axesDim(dims)
        case (nil, nil): throw .badRequest("\(path) needs sections or axes_dim", param: path)
        case (.some, .some): throw .badRequest("give \(reader.name("sections")) or \(reader.name("axes_dim")), not both", param: reader.name("axes_dim"))
        }
    }

    /// Checks `axes` against the configuration, naming the field.
    static func check(_ axes: RoPEAxes, _ configuration: RoPEConfiguration, ropePath: String) throws(HTTPError) {
        do {
            try axes.validate(pairCount: configuration.pairCount, scaling: configuration.scaling)
        } catch {
            let param = ropePath.isEmpty ? error.parameter : "\(ropePath).\(error.parameter)"
            throw .badRequest("\(param): \(error.message)", param: param)
        }
    }

    /// `[rows][axisCount]` positions, each coordinate plus `offset`, all within `0...maxPosition`.
    /// - Parameter field: the request field that holds them (named in errors).
    static func positions(_ value: JSONValue?, rows: Int, axisCount: Int, offset: Int, maxPosition: Int,
                          maxElements: Int, field: String = "positions") throws(HTTPError) -> [[Int]] {
        guard let value else {
            throw .badRequest("\(field) is required with multi-axis RoPE: one [\(axisCount)] coordinate list per row, or a grid",
                              param: field)
        }
        var result: [[Int]]
        switch value {
        case .object:
            var reader = try ObjectReader(value, path: field)
            guard let grid = try wholeNumbers(try reader.doubles("grid"), "\(field).grid") else {
                throw .badRequest("\(field).grid is required, e.g. [t, h, w]", param: "\(field).grid")
            }
            let before = try reader.int("text_before", in: 0...maxElements) ?? 0
            let after = try reader.int("text_after", in: 0...maxElements) ?? 0
            try reader.finish()
            guard grid.count == axisCount else {
                throw .badRequest("\(field).grid has \(grid.count) axes but the RoPE axes have \(axisCount)", param: "\(field).grid")
            }
            guard grid.allSatisfy({ $0 > 0 }) else { throw .badRequest("\(field).grid sizes must be >= 1", param: "\(field).grid") }
            var cells = 1
            for size in grid {
                let (product, overflow) = cells.multipliedReportingOverflow(by: size)
                guard !overflow, product <= maxElements else {
                    throw .payloadTooLarge("\(field).grid has more cells than max_elements (\(maxElements))", param: "\(field).grid")
                }
                cells = product
            }
            guard before + cells + after == rows else {
                throw .badRequest("\(field) gives \(before + cells + after) rows (text_before + grid cells + text_after) "
                                  + "but there are \(rows) rows", param: field)
            }
            result = RoPEGrid.positions(grid: grid, textBefore: before, textAfter: after)
        case .array(let items):
            guard items.count == rows else {
                throw .badRequest("\(field) has \(items.count) entries but there are \(rows) rows", param: field)
            }
            result = []
            result.reserveCapacity(rows)
            for (i, item) in items.enumerated() {
                guard case .numbers(let coordinates) = item, coordinates.count == axisCount else {
                    throw .badRequest("\(field)[\(i)] must be a list of \(axisCount) coordinates (one per RoPE axis)",
                                      param: "\(field)[\(i)]")
                }
                guard let whole = try? wholeNumbers(coordinates, "\(field)[\(i)]") else {
                    throw .badRequest("\(field)[\(i)] must be whole numbers >= 0", param: "\(field)[\(i)]")
                }
                result.append(whole)
            }
        case .numbers where rows > 0:
            throw .badRequest("\(field) must be [rows][\(axisCount)] with multi-axis RoPE (one coordinate per axis), got a flat list",
                              param: field)
        default:
            throw .badRequest("\(field) must be [rows][\(axisCount)] coordinates or a grid object, got \(value.kindDescription)",
                              param: field)
        }
        for (i, row) in result.enumerated() {
            for (axis, p) in row.enumerated() {
                guard p >= 0, p + offset <= maxPosition else {
                    throw .badRequest("\(field)[\(i)][\(axis)] must be in 0...\(maxPosition) (with offset), got \(p)",
                                      param: "\(field)[\(i)][\(axis)]")
                }
            }
        }
        return offset == 0 ? result : result.map { $0.map { $0 + offset } }
    }

    /// Whole numbers ≥ 0 that fit an Int32, or a 400 naming `field`.
    private static func wholeNumbers(_ values: [Double]?, _ field: String) throws(HTTPError) -> [Int]? {
        guard let values else { return nil }
        var result: [Int] = []
        result.reserveCapacity(values.count)
        for value in values {
            guard value.rounded() == value, value >= 0, value <= Double(Int32.max) else {
                throw .badRequest("\(field) must hold whole numbers >= 0, got \(value)", param: field)
            }
            result.append(Int(value))
        }
        return result
    }
}
