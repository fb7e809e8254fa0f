import Glibc

/// glibc returns every block over its mmap threshold (at most 32 MiB) to the kernel when freed, so a
/// request that needs a 128 MiB score tensor pays ~32k page faults every time. Raising the thresholds
/// keeps freed large blocks for the next request; resident memory stays at the peak a request needed.
enum LargeBlockMemory {
    // <malloc.h> constants (not exported by Swift's Glibc module).
    private static let mmapThreshold: Int32 = -3, trimThreshold: Int32 = -1

    static func keepLargeBlocks() {
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let symbol = dlsym(nil, "mallopt") else { return }
        let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
        _ = mallopt(mmapThreshold, 1 << 30)
        _ = mallopt(trimThreshold, 1 << 30)
    }
}
