/// Token ids by their bytes: an open-addressing table over one pool of bytes, so a lookup hashes the
/// bytes where they lie and allocates nothing.
struct ByteStringTable: Sendable {
    /// The keys, end to end.
    private var pool: [UInt8] = []
    /// `[count + 1]`: where each entry's key starts in `pool`.
    private var starts: [Int32] = [0]
    private var values: [Int32] = []
    /// Entry index + 1 per slot, 0 when empty; power-of-two count.
    private var slots: [Int32]
    let capacity: Int
    var count: Int { values.count }

    init(capacity: Int) {
        var size = 16
        while size < 2 * capacity { size <<= 1 }
        slots = [Int32](repeating: 0, count: size)
        self.capacity = capacity
    }

    /// Adds `key → value` unless the key is already present (the first value stays) or the table holds
    /// `capacity` entries.
    mutating func insert<Key: Collection>(_ key: Key, _ value: Int32) where Key.Element == UInt8 {
        guard values.count < capacity else { return }
        let mask = slots.count - 1
        var slot = Array(key).withUnsafeBufferPointer { Self.hash($0) } & mask
        while slots[slot] != 0 {
            if self.key(Int(slots[slot] - 1)).elementsEqual(key) { return }
            slot = (slot + 1) & mask
        }
        pool += key
        starts.append(Int32(pool.count))
        values.append(value)
        slots[slot] = Int32(values.count)
    }

    private func key(_ entry: Int) -> ArraySlice<UInt8> { pool[Int(starts[entry])..<Int(starts[entry + 1])] }

    /// The value stored for the bytes `key`, or -1.
    func value(_ key: UnsafeBufferPointer<UInt8>) -> Int32 {
        let mask = slots.count - 1
        var slot = Self.hash(key) & mask
        return pool.withUnsafeBufferPointer { pool in
            while true {
                let entry = Int(slots[slot]) - 1
                if entry < 0 { return -1 }
                let start = Int(starts[entry]), length = Int(starts[entry + 1]) - start
                if length == key.count && (0..<length).allSatisfy({ pool[start + $0] == key[$0] }) { return values[entry] }
                slot = (slot + 1) & mask
            }
        }
    }

    func value(_ key: [UInt8]) -> Int32 { key.withUnsafeBufferPointer { value($0) } }

    /// FNV-1a, then a multiply so the low bits mix.
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { h = (h ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return Int(truncatingIfNeeded: (h &* 0x9E37_79B9_7F4A_7C15) >> 17)
    }
}

/// Words already merged during one encoding and their tokens: a word merges the same way every time,
/// and natural text repeats its words.
struct WordCache {
    private var words = ByteStringTable(capacity: 1 << 15)
    /// The tokens of entry i are `tokens[starts[i]..<starts[i + 1]]`.
    private var tokens: [Int32] = []
    private var starts: [Int32] = [0]

    /// Appends the cached tokens of `word` to `output`; false when it is not cached.
    func append(_ word: UnsafeBufferPointer<UInt8>, to output: inout [Int]) -> Bool {
        let entry = words.value(word)
        guard entry >= 0 else { return false }
        for i in Int(starts[Int(entry)])..<Int(starts[Int(entry) + 1]) { output.append(Int(tokens[i])) }
        return true
    }

    mutating func insert(_ word: UnsafeBufferPointer<UInt8>, _ ids: ArraySlice<Int>) {
        guard words.count < words.capacity else { return }
        words.insert(word, Int32(starts.count - 1))
        for id in ids { tokens.append(Int32(id)) }
        starts.append(Int32(tokens.count))
    }
}

/// The merge rules by the pair of token ids they join: rank (lower merges first) and the id of the joined
/// token (-1 when the join is no vocabulary entry). Open addressing on the packed pair.
struct MergeTable: Sendable {
    private var keys: [UInt64]
    /// rank << 32 | joined id (as UInt32).
    private var entries: [UInt64]
    private let shift: UInt64
    private static let empty = UInt64.max

    init(capacity: Int) {
        var bits: UInt64 = 4
        while (1 << bits) < 2 * capacity { bits += 1 }
        keys = [UInt64](repeating: Self.empty, count: 1 << bits)
        entries = [UInt64](repeating: 0, count: 1 << bits)
        shift = 64 - bits
    }

    @inline(__always) private func slot(_ key: UInt64) -> Int { Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift) }

    /// Keeps the first rule for a pair, as llama.cpp does.
    mutating func insert(left: Int32, right: Int32, rank: Int32, joined: Int32) {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        let mask = keys.count - 1
        var i = slot(key)
        while keys[i] != Self.empty {
            if keys[i] == key { return }
            i = (i + 1) & mask
        }
        keys[i] = key
        entries[i] = UInt64(UInt32(bitPattern: rank)) << 32 | UInt64(UInt32(bitPattern: joined))
    }

    /// The rule joining `left` and `right`, if any.
    @inline(__always) func rule(_ left: Int32, _ right: Int32) -> (rank: Int32, joined: Int32)? {
        let key = UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
        let mask = keys.count - 1
        var i = slot(key)
        while true {
            let k = keys[i]
            if k == key {
                let e = entries[i]
                return (Int32(truncatingIfNeeded: e >> 32), Int32(truncatingIfNeeded: e & 0xFFFF_FFFF))
            }
            if k == Self.empty { return nil }
            i = (i + 1) & mask
        }
    }
}
