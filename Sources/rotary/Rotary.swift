import ArgumentParser
import RotaryService

@main
struct Rotary: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotary",
        abstract: "Rotary positional embeddings over HTTP.",
        version: rotaryVersion,
        subcommands: [Serve.self, Train.self, Evaluate.self, Logits.self, Bench.self, RenderTemplate.self],
        defaultSubcommand: Serve.self
    )
}
