#if canImport(Glibc)
import Glibc
#endif

/// How many threads the kernels use, and why. The host's core count is the wrong answer in a
/// container, under `taskset` or on a shared node: a thread per host core oversubscribes the CPUs
/// the process may really use, and then every parallel section waits for descheduled threads.
public struct ComputeThreads: Sendable, Equatable, CustomStringConvertible {
    /// Threads that take part in a parallel section, the caller included.
    public var count: Int
    /// CPUs this process may run on (affinity, capped by the cgroup quota).
    public var availableCPUs: Int
    /// Where `count` came from, for the start-up log and `/v1/model`.
    public var reason: String

    public init(count: Int, availableCPUs: Int, reason: String) {
        self.count = count
        self.availableCPUs = availableCPUs
        self.reason = reason
    }

    public var description: String { "\(count) compute thread\(count == 1 ? "" : "s") (\(reason))" }

    /// In order: the setting, else the CPUs of the affinity mask, capped by the cgroup CPU quota.
    /// - Parameters:
    ///   - setting: `--compute-threads` / `ROTARY_COMPUTE_THREADS`, when given (≥ 1).
    ///   - affinityCPUs: CPUs in `sched_getaffinity`'s mask, nil when unknown.
    ///   - quotaCPUs: the cgroup quota in CPUs (quota / period), nil when unlimited.
    public static func resolve(setting: Int?, affinityCPUs: Int?, quotaCPUs: Double?) -> ComputeThreads {
        let online = max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        var available = affinityCPUs ?? online
        var why = affinityCPUs == nil ? "\(online) online CPUs" : "\(available) CPUs in the affinity mask"
        if let quotaCPUs, quotaCPUs > 0 {
            let quota = Int(quotaCPUs.rounded(.up))
            if quota < available {
                available = quota
                why += ", capped by the cgroup CPU quota of \(Self.format(quotaCPUs)) CPUs"
            }
        }
        available = max(1, available)
        if let setting {
            let count = min(max(1, setting), WorkerTeam.maxParts)
            return ComputeThreads(count: count, availableCPUs: available,
                                  reason: "set by --compute-threads; \(why)")
        }
        return ComputeThreads(count: available, availableCPUs: available, reason: why)
    }

    /// `resolve` with this process's affinity mask and cgroup quota.
    public static func detect(setting: Int? = nil) -> ComputeThreads {
        resolve(setting: setting, affinityCPUs: affinityCPUs(), quotaCPUs: CgroupCPUQuota.current())
    }

    /// CPUs in this process's affinity mask (`sched_getaffinity`'s, as the kernel lists it in
    /// /proc/self/status: glibc declares the call only under _GNU_SOURCE, which Swift's module lacks).
    public static func affinityCPUs() -> Int? {
        guard let status = CgroupCPUQuota.read("/proc/self/status"),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Cpus_allowed_list:") }) else { return nil }
        return countCPUs(inList: String(line.dropFirst("Cpus_allowed_list:".count)))
    }

    /// Counts the CPUs of a kernel CPU list such as "0-3,8,10-11" (nil when malformed or empty).
    public static func countCPUs(inList list: String) -> Int? {
        var total = 0
        for item in list.split(separator: ",") {
            let bounds = item.split(separator: "-").map { Int($0.filter { !$0.isWhitespace }) }
            guard (1...2).contains(bounds.count), let first = bounds[0], let last = bounds.last!, first <= last else { return nil }
            total += last - first + 1
        }
        return total > 0 ? total : nil
    }

    private static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String((value * 100).rounded() / 100)
    }
}

/// The CPU quota of this process's cgroup, in CPUs: cgroup v2 `cpu.max` ("quota period" or "max
/// period"), else v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` (quota −1 = none). The tightest limit on
/// the path from the process's cgroup up to the root applies.
public enum CgroupCPUQuota {
    /// The quota for this process, nil when none is set.
    public static func current() -> Double? {
        quota(procSelfCgroup: read("/proc/self/cgroup") ?? "", root: "/sys/fs/cgroup")
    }

    /// - Parameters:
    ///   - procSelfCgroup: the text of `/proc/self/cgroup`.
    ///   - root: where the cgroup hierarchies are mounted (`/sys/fs/cgroup`; a fixture folder in tests).
    public static func quota(procSelfCgroup: String, root: String) -> Double? {
        var limits: [Double] = []
        for line in procSelfCgroup.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let controllers = fields[1].split(separator: ","), path = String(fields[2])
            if fields[0] == "0" && controllers.isEmpty {
                // v2: the unified hierarchy at the root, or beside v1 ones under unified/.
                for mount in [root, root + "/unified"] {
                    limits += directories(mount, path).compactMap { read($0 + "/cpu.max").flatMap(parseV2) }
                }
            } else if controllers.contains("cpu") {
                for mount in [root + "/cpu,cpuacct", root + "/cpu"] {
                    limits += directories(mount, path).compactMap { directory in
                        guard let quota = read(directory + "/cpu.cfs_quota_us"),
                              let period = read(directory + "/cpu.cfs_period_us") else { return nil }
                        return parseV1(quota: quota, period: period)
                    }
                }
            }
        }
        return limits.min()
    }

    /// "150000 100000" → 1.5; "max 100000" → nil.
    public static func parseV2(_ text: String) -> Double? {
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 1, let quota = Double(fields[0]), quota > 0 else { return nil }
        let period = fields.count > 1 ? Double(fields[1]) ?? 100_000 : 100_000
        return period > 0 ? quota / period : nil
    }

    /// quota "-1" → nil; "200000" over "100000" → 2.
    public static func parseV1(quota: String, period: String) -> Double? {
        guard let q = Double(trimmed(quota)), q > 0, let p = Double(trimmed(period)), p > 0 else { return nil }
        return q / p
    }

    /// The cgroup's folder and each parent's up to the mount; only the mount itself when the path is not
    /// below it (inside a container's cgroup namespace the process's own cgroup is the mount).
    private static func directories(_ mount: String, _ path: String) -> [String] {
        var result: [String] = []
        var components = path.split(separator: "/").map(String.init)
        while !components.isEmpty {
            let directory = mount + "/" + components.joined(separator: "/")
            if access(directory, F_OK) == 0 { result.append(directory) }
            components.removeLast()
        }
        result.append(mount)
        return result
    }

    private static func trimmed(_ text: String) -> String {
        String(text.filter { !$0.isWhitespace })
    }

    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&buffer, 1, buffer.count, file)
            if n <= 0 { break }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 20 { break }   // cgroup files are a line; never read a huge one whole
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
