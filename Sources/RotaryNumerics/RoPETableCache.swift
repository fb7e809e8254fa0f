import RotaryLocking

/// A bounded least-recently-used cache of cos/sin tables, so repeated calls with the same
/// configuration and positions skip the transcendental functions.
public final class RoPETableCache: Sendable {
    public struct Key: Hashable, Sendable {
        public var configuration: RoPEConfiguration
        public var positions: [Int]
        public var role: RoPERole
        public var inverse: Bool
        public var sequenceLength: Int?
    }

    private struct Storage {
        var tables: [Key: (table: RoPETable, lastUse: UInt64)] = [:]
        var clock: UInt64 = 0
        var bytes = 0
    }

    private let storage = PthreadLocked(Storage())
    /// Most tables kept.
    public let maxEntries: Int
    /// Most bytes kept over all entries, as `footprint` counts them.
    public let maxBytes: Int

    public init(maxEntries: Int = 64, maxBytes: Int = 128 << 20) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    public var count: Int { storage.withLock { $0.tables.count } }

    /// Bytes the entries kept now take, as `footprint` counts them.
    public var bytes: Int { storage.withLock { $0.bytes } }

    /// The bytes an entry keeps alive: cos and sin, the positions (one array, shared by the key and the
    /// table: 8 bytes a row, as much as cos and sin together when there is one pair), the frequencies.
    public static func footprint(of table: RoPETable) -> Int {
        (table.cos.count + table.sin.count + table.frequencies.inverseFrequencies.count) * MemoryLayout<Float>.stride
            + table.positions.count * MemoryLayout<Int>.stride
            + (table.frequencies.xposDecay?.count ?? 0) * MemoryLayout<Double>.stride
    }

    public func table(for configuration: RoPEConfiguration, positions: [Int], role: RoPERole = .query,
                      inverse: Bool = false, sequenceLength: Int? = nil) -> RoPETable {
        let key = Key(configuration: configuration, positions: positions, role: role, inverse: inverse,
                      sequenceLength: sequenceLength)
        if let hit = storage.withLock({ s -> RoPETable? in
            s.clock += 1
            guard let entry = s.tables[key] else { return nil }
            s.tables[key] = (entry.table, s.clock)
            return entry.table
        }) {
            return hit
        }
        let table = configuration.table(positions: positions, role: role, inverse: inverse, sequenceLength: sequenceLength)
        let size = Self.footprint(of: table)
        guard maxEntries > 0, size <= maxBytes else { return table }
        storage.withLock { s in
            guard s.tables[key] == nil else { return }
            while !s.tables.isEmpty && (s.tables.count >= maxEntries || s.bytes + size > maxBytes) {
                let oldest = s.tables.min { $0.value.lastUse < $1.value.lastUse }!.key
                s.bytes -= Self.footprint(of: s.tables.removeValue(forKey: oldest)!.table)
            }
            s.tables[key] = (table, s.clock)
            s.bytes += size
        }
        return table
    }
}
