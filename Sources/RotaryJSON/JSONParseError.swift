/// Why a document is not JSON, and where: byte offset, 1-based line and column.
public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var offset: Int
    public var line: Int
    public var column: Int

    public var description: String { "\(reason) at line \(line), column \(column) (byte \(offset))" }
}
