import Foundation

/// The cache of downloaded real files (`.build-models` at the repository root, or `ROTARY_MODELS`) that
/// `scripts/models/fetch.sh` fills: SmolLM2 and llama.cpp's tokenizer suites.
public func modelCacheDirectory() -> URL {
    if let override = ProcessInfo.processInfo.environment["ROTARY_MODELS"] { return URL(fileURLWithPath: override) }
    return repositoryRoot().appendingPathComponent(".build-models")
}

/// A file missing from the model cache: the test fails and says how to fill the cache.
public struct MissingCachedFile: Error, CustomStringConvertible {
    public let path: String
    public var description: String { "\(path) is missing: run `bash scripts/models/fetch.sh` (make test runs it first)" }
}

/// The cached file at `relativePath` (e.g. `vocab/ggml-vocab-gpt-2.gguf`), or `MissingCachedFile`.
public func cachedModelFile(_ relativePath: String) throws -> URL {
    let url = modelCacheDirectory().appendingPathComponent(relativePath)
    guard FileManager.default.fileExists(atPath: url.path) else { throw MissingCachedFile(path: url.path) }
    return url
}
