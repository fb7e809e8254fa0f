// libFuzzer entry for the GGUF reader (compiled with RotaryModel's GGUF sources by scripts/fuzz.sh).
// Any input must either parse or throw GGUFError; every tensor a parsed file lists must be readable.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzGGUF(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let file = try? GGUFFile(bytes: GGUFBytes(bytes)) else { return 0 }
    for tensor in file.tensors where tensor.byteCount <= 1 << 20 {
        let values = file.floats(tensor)
        if values.count != tensor.elementCount { fatalError("tensor \(tensor.name) read \(values.count) values") }
    }
    return 0
}
