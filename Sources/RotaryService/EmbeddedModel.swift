import Foundation
import RotaryModel

/// The default model shipped in the package resources (`default-model.gguf`), trained by Rotary itself.
public enum EmbeddedModel {
    public static let resourceName = "default-model"

    /// The shipped model, or nil when the package carries none.
    public static func load() throws -> LlamaModel? {
        guard let url = Bundle.module.url(forResource: resourceName, withExtension: "gguf") else { return nil }
        return try LlamaModel(path: url.path)
    }
}
