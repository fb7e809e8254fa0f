/// Keys and values of every position seen so far, per layer, so decoding a token costs one pass.
public struct KVCache: Sendable {
    /// `[layers][capacity][kvDim]`
    var keys: [Float]
    /// `[layers][capacity][kvDim]`
    var values: [Float]
    public let capacity: Int
    let kvDim: Int
    /// Positions filled (the next token goes to position `count`).
    public internal(set) var count = 0

    /// - Parameter capacity: positions to hold; nil is the model's context. More is allowed (a request that
    ///   reads past the trained context under a RoPE override): the caller bounds it.
    public init(configuration: ModelConfiguration, capacity: Int? = nil) {
        self.capacity = capacity ?? configuration.contextLength
        kvDim = configuration.kvDim
        keys = [Float](repeating: 0, count: configuration.layers * self.capacity * kvDim)
        values = keys
    }

    private init() { keys = []; values = []; capacity = 0; kvDim = 0 }

    /// A cache that holds nothing (what a finished sequence keeps).
    public static let empty = KVCache()

    /// Forgets positions `length...` (to re-score a different continuation of a shared prefix).
    public mutating func truncate(to length: Int) {
        count = min(count, max(length, 0))
    }
}

extension KVCache {
    /// Keys and values of positions `start..<start + count` of every layer: `[layers][count][kvDim]` each.
    func copyRows(from start: Int, count: Int) -> (keys: [Float], values: [Float]) {
        precondition(start >= 0 && start + count <= self.count, "rows outside the filled positions")
        let layers = capacity == 0 ? 0 : keys.count / (capacity * kvDim)
        var outKeys = [Float](), outValues = [Float]()
        outKeys.reserveCapacity(layers * count * kvDim)
        outValues.reserveCapacity(layers * count * kvDim)
        for l in 0..<layers {
            let from = (l * capacity + start) * kvDim, to = from + count * kvDim
            outKeys += keys[from..<to]
            outValues += values[from..<to]
        }
        return (outKeys, outValues)
    }

    /// Writes `[layers][count][kvDim]` keys and values at positions `count…` and takes them as filled.
    mutating func append(keys blockKeys: [Float], values blockValues: [Float], rows: Int) {
        precondition(count + rows <= capacity, "the cache holds \(capacity) positions")
        let layers = keys.count / (capacity * kvDim)
        precondition(blockKeys.count == layers * rows * kvDim && blockValues.count == blockKeys.count, "a block of this model")
        let width = rows * kvDim
        for l in 0..<layers {
            let to = (l * capacity + count) * kvDim
            keys.replaceSubrange(to..<(to + width), with: blockKeys[(l * width)..<((l + 1) * width)])
            values.replaceSubrange(to..<(to + width), with: blockValues[(l * width)..<((l + 1) * width)])
        }
        count += rows
    }
}
