import Synchronization

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
        var floats = 0
    }

    private let storage = Mutex(Storage())
    /// Most tables kept.
    public let maxEntries: Int
    /// Most floats kept over all tables (cos + sin).
    public let maxFloats: Int

    public init(maxEntries: Int = 64, maxFloats: Int = 32 << 20) {
        self.maxEntries = maxEntries
        self.maxFloats = maxFloats
    }

    public var count: Int { storage.withLock { $0.tables.count } }

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
        let size = table.cos.count * 2
        guard maxEntries > 0, size <= maxFloats else { return table }
        storage.withLock { s in
            while !s.tables.isEmpty && (s.tables.count >= maxEntries || s.floats + size > maxFloats) {
                let oldest = s.tables.min { $0.value.lastUse < $1.value.lastUse }!.key
                s.floats -= s.tables.removeValue(forKey: oldest)!.table.cos.count * 2
            }
            if s.tables[key] == nil {
                s.tables[key] = (table, s.clock)
                s.floats += size
            }
        }
        return table
    }
}
