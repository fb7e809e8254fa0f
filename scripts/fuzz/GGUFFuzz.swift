// libFuzzer entry for the GGUF reader (compiled with RotaryModel's GGUF and architecture sources by scripts/fuzz.sh).
// Any input must either parse or throw GGUFError; every tensor a parsed file lists must be readable in its format;
// a file that parses must pass or fail the architecture and weight checks with a GGUFError.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? GGUFFile(bytes: GGUFBytes(bytes)) else { return 0 }
    for tensor in file.tensors where tensor.byteCount <= 1 << 20 {
        let values = file.floats(tensor)
        if values.count != tensor.elementCount { fatalError("tensor \(tensor.name) read \(values.count) values") }
    }
    let vocabulary = file.value("tokenizer.ggml.tokens").map { value -> Int in
        if case .array(_, let items) = value { return items.count } else { return 0 }
    } ?? 0
    guard vocabulary > 0, vocabulary <= 1 << 12,
          let configuration = try? ModelConfiguration(gguf: file, vocabularySize: vocabulary),
          configuration.dim * configuration.layers <= 1 << 16 else { return 0 }
    _ = try? ModelWeights(file: file, configuration: configuration)
    return 0
}
