#if canImport(Glibc)
import Glibc
#endif

/// A minimal SVG builder: text in, a standalone document out.
struct SVG {
    private(set) var body = ""
    let width: Double, height: Double

    init(width: Double, height: Double) {
        self.width = width
        self.height = height
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default:
                // Control characters are not allowed in XML 1.0.
                if let ascii = character.asciiValue, ascii < 0x20, ascii != 0x09, ascii != 0x0a { out += "?" } else { out.append(character) }
            }
        }
        return out
    }

    static func number(_ value: Double) -> String {
        // Large values (a rope_theta of 1e300) as they are: rounding to cents would overflow, and they are no Int.
        guard abs(value) < 1e15 else { return String(value) }
        let rounded = (value * 100).rounded() / 100
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String, extra: String = "") {
        body += "<rect x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" width=\"\(Self.number(width))\" height=\"\(Self.number(height))\" fill=\"\(fill)\"\(extra)/>\n"
    }

    /// - Parameter dash: an SVG `stroke-dasharray` ("5,4"); nil draws a solid line.
    mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String = "#333", width: Double = 1, dash: String? = nil) {
        let dashing = dash.map { " stroke-dasharray=\"\($0)\"" } ?? ""
        body += "<line x1=\"\(Self.number(x1))\" y1=\"\(Self.number(y1))\" x2=\"\(Self.number(x2))\" y2=\"\(Self.number(y2))\" stroke=\"\(stroke)\" stroke-width=\"\(Self.number(width))\"\(dashing)/>\n"
    }

    mutating func text(_ content: String, x: Double, y: Double, size: Double = 11, anchor: String = "start",
                       rotate: Double? = nil, weight: String = "normal") {
        let transform = rotate.map { " transform=\"rotate(\(Self.number($0)) \(Self.number(x)) \(Self.number(y)))\"" } ?? ""
        body += "<text x=\"\(Self.number(x))\" y=\"\(Self.number(y))\" font-size=\"\(Self.number(size))\" text-anchor=\"\(anchor)\" font-weight=\"\(weight)\"\(transform)>\(Self.escape(content))</text>\n"
    }

    mutating func polyline(_ points: [(Double, Double)], stroke: String, width: Double = 1.5) {
        let list = points.map { "\(Self.number($0.0)),\(Self.number($0.1))" }.joined(separator: " ")
        body += "<polyline fill=\"none\" stroke=\"\(stroke)\" stroke-width=\"\(Self.number(width))\" points=\"\(list)\"/>\n"
    }

    mutating func raw(_ markup: String) { body += markup }

    var document: String {
        """
        <?xml version="1.0" encoding="UTF-8"?>
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Self.number(width))" height="\(Self.number(height))" viewBox="0 0 \(Self.number(width)) \(Self.number(height))" font-family="Helvetica, Arial, sans-serif">
        <rect width="100%" height="100%" fill="white"/>
        \(body)</svg>

        """
    }

    /// Viridis, interpolated between five anchors; `t` in [0, 1].
    static func viridis(_ t: Double) -> String {
        let anchors: [(Double, Double, Double)] = [(68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37)]
        let x = min(max(t.isFinite ? t : 0, 0), 1) * Double(anchors.count - 1)
        let i = min(Int(x), anchors.count - 2)
        let f = x - Double(i)
        func channel(_ a: Double, _ b: Double) -> String {
            let v = Int((a + (b - a) * f).rounded())
            let hex = String(v, radix: 16)
            return v < 16 ? "0" + hex : hex
        }
        let (a, b) = (anchors[i], anchors[i + 1])
        return "#" + channel(a.0, b.0) + channel(a.1, b.1) + channel(a.2, b.2)
    }

    /// About `count` round tick values covering [low, high].
    static func ticks(_ low: Double, _ high: Double, count: Int = 6) -> [Double] {
        guard high > low else { return [low] }
        let raw = (high - low) / Double(count)
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var out: [Double] = []
        var value = ceil(low / step) * step
        while value <= high + step * 1e-9 { out.append(value); value += step }
        return out
    }
}
