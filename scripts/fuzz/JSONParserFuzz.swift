// libFuzzer entry for the JSON request parser (compiled with RotaryJSON's sources by scripts/fuzz.sh).
// Any input must either parse or throw JSONParseError; whatever parses must survive a write/parse round trip.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let parser = JSONParser(maxDepth: 32)
    guard let value = try? parser.parse(bytes) else { return 0 }
    var writer = JSONWriter()
    writer.value(value)
    guard let again = try? parser.parse(writer.bytes) else { fatalError("written JSON does not parse back") }
    if again != value { fatalError("JSON round trip changed the value") }
    return 0
}
