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
