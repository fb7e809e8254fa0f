import Foundation
import Testing
@testable import RotaryNumerics

/// The compute thread count: setting, else affinity, capped by the cgroup quota read from fixture trees.
@Suite struct ComputeThreadsTests {
    /// Writes `files` (path relative to a new folder → contents) and returns the folder.
    static func fixture(_ files: [String: String]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("cgroup-\(UUID().uuidString)").path
        for (path, text) in files {
            let url = URL(fileURLWithPath: root + "/" + path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try text.write(to: url, atomically: true, encoding: .utf8)
        }
        return root
    }

    @Test func cgroupV2QuotaIsReadAndTheTightestAncestorWins() throws {
        let root = try Self.fixture([
            "cpu.max": "max 100000\n",
            "kubepods/cpu.max": "400000 100000\n",
            "kubepods/pod1/cpu.max": "150000 100000\n",
            "kubepods/pod1/app/cpu.max": "max 100000\n",
        ])
        #expect(CgroupCPUQuota.quota(procSelfCgroup: "0::/kubepods/pod1/app\n", root: root) == 1.5)
        #expect(CgroupCPUQuota.quota(procSelfCgroup: "0::/kubepods\n", root: root) == 4)
        #expect(CgroupCPUQuota.quota(procSelfCgroup: "0::/\n", root: root) == nil)
    }

    @Test func aContainerSeesItsOwnCgroupAsTheRoot() throws {
        // Inside a cgroup namespace /proc/self/cgroup says "/" and the mount is the container's cgroup.
        let root = try Self.fixture(["cpu.max": "250000 100000"])
        #expect(CgroupCPUQuota.quota(procSelfCgroup: "0::/\n", root: root) == 2.5)
        // A path that does not exist below the mount falls back to the mount's own limit.
        #expect(CgroupCPUQuota.quota(procSelfCgroup: "0::/elsewhere/deep\n", root: root) == 2.5)
    }

    @Test func cgroupV1QuotaAndPeriod() throws {
        let root = try Self.fixture([
            "cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "50000\n",
            "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n",
            "cpu,cpuacct/cpu.cfs_quota_us": "-1\n",
            "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
            "cpu/cpu.cfs_quota_us": "300000\n",
            "cpu/cpu.cfs_period_us": "100000\n",
        ])
        #expect(CgroupCPUQuota.quota(procSelfCgroup: "4:cpu,cpuacct:/docker/abc\n3:memory:/docker/abc\n", root: root) == 0.5)
        #expect(CgroupCPUQuota.quota(procSelfCgroup: "4:cpu,cpuacct:/\n", root: root) == 3)   // only cpu/ limits
        #expect(CgroupCPUQuota.quota(procSelfCgroup: "3:memory:/x\n", root: root) == nil)
    }

    @Test func quotaTextParsing() {
        #expect(CgroupCPUQuota.parseV2("200000 100000") == 2)
        #expect(CgroupCPUQuota.parseV2("max 100000") == nil)
        #expect(CgroupCPUQuota.parseV2("garbage") == nil)
        #expect(CgroupCPUQuota.parseV1(quota: "-1", period: "100000") == nil)
        #expect(CgroupCPUQuota.parseV1(quota: "25000\n", period: "100000\n") == 0.25)
        #expect(CgroupCPUQuota.parseV1(quota: "100000", period: "0") == nil)
    }

    @Test func cpuListsFromTheKernel() {
        #expect(ComputeThreads.countCPUs(inList: "\t0-1") == 2)
        #expect(ComputeThreads.countCPUs(inList: "0-3,8,10-11") == 7)
        #expect(ComputeThreads.countCPUs(inList: "5") == 1)
        #expect(ComputeThreads.countCPUs(inList: "3-1") == nil)
        #expect(ComputeThreads.countCPUs(inList: "") == nil)
        // This process: what the kernel says, never more than the machine has online.
        let mine = ComputeThreads.affinityCPUs()
        #expect(mine != nil && mine! >= 1 && mine! <= ProcessInfo.processInfo.activeProcessorCount)
    }

    @Test func settingElseAffinityCappedByTheQuotaRoundedUp() {
        #expect(ComputeThreads.resolve(setting: nil, affinityCPUs: 64, quotaCPUs: 1.5).count == 2)
        #expect(ComputeThreads.resolve(setting: nil, affinityCPUs: 64, quotaCPUs: 0.2).count == 1)
        #expect(ComputeThreads.resolve(setting: nil, affinityCPUs: 3, quotaCPUs: 8).count == 3)
        #expect(ComputeThreads.resolve(setting: nil, affinityCPUs: 12, quotaCPUs: nil).count == 12)
        let set = ComputeThreads.resolve(setting: 5, affinityCPUs: 2, quotaCPUs: nil)
        #expect(set.count == 5 && set.availableCPUs == 2 && set.reason.contains("--compute-threads"))
        #expect(ComputeThreads.resolve(setting: nil, affinityCPUs: 64, quotaCPUs: 1.5).reason.contains("quota"))
    }
}
