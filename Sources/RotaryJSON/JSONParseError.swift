/// Why a document is not JSON, and where: byte offset, 1-based line and column, and the path of
/// the value being read (`vectors[0][3]`, empty at the top level).
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public var line: Int
    public var column: Int
    public var path: String

    public var description: String {
        "\(reason) at line \(line), column \(column)" + (path.isEmpty ? "" : " (in \(path))")
    }
}

/// One step of a path into a document.
enum PathComponent {
    case key(String)
    case index(Int)
}

extension Array where Element == PathComponent {
    /// `a.b[2].c` form.
    var dotted: String {
        var out = ""
        for component in self {
            switch component {
            case .key(let name): out += out.isEmpty ? name : "." + name
            case .index(let i): out += "[\(i)]"
            }
        }
        return out
    }
}
