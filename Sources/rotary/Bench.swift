import ArgumentParser

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Micro-benchmarks (used by make bench).")
    func run() throws {}
}
