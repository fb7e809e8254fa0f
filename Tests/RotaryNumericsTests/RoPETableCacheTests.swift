import Testing
@testable import RotaryNumerics

/// The table cache keeps within its byte budget counting everything an entry holds: with one pair per
/// row the positions weigh as much as cos and sin together, and it used to count only cos and sin.
@Suite struct RoPETableCacheTests {
    @Test func keptEntriesFitTheBudgetCountingTheirPositions() throws {
        let budget = 1 << 20
        let cache = RoPETableCache(maxEntries: 1000, maxBytes: budget)
        let config = try RoPEConfiguration(headDim: 2, theta: 10_000, scaling: .none)
        let rows = 4096
        for call in 0..<100 {
            _ = cache.table(for: config, positions: Array((call * rows)..<((call + 1) * rows)))
        }
        // What one entry holds, counted here from the shapes: cos + sin (Float, one pair a row), the
        // positions (Int), one inverse frequency.
        let entryBytes = rows * 2 * 4 + rows * 8 + 4
        #expect(cache.count >= 1)
        #expect(cache.count * entryBytes <= budget, "\(cache.count) entries of \(entryBytes) bytes over a budget of \(budget)")
        #expect(cache.bytes == cache.count * entryBytes)
    }

    @Test func aHitDoesNotCountTwice() throws {
        let cache = RoPETableCache(maxEntries: 4, maxBytes: 1 << 20)
        let config = try RoPEConfiguration(headDim: 8, theta: 10_000, scaling: .none)
        let first = cache.table(for: config, positions: [1, 2, 3])
        let bytes = cache.bytes
        let again = cache.table(for: config, positions: [1, 2, 3])
        #expect(first.cos == again.cos && cache.count == 1 && cache.bytes == bytes)
    }
}
