// libFuzzer entry for the strict framing rules (compiled with RequestFraming and the error/response types by scripts/fuzz.sh).
// The input is a header block, one `name:value` per line. Whatever the rules decide must agree with a plain
// reading of RFC 9112 §6.3 done here independently; a refusal must be one of the statuses they document.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestFraming(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let requiresHost = size % 2 == 0
    var headers: [(name: String, value: String)] = []
    for line in text.split(separator: "\n") {
        guard let colon = line.firstIndex(of: ":") else { continue }
        headers.append((line[..<colon].lowercased(), String(line[line.index(after: colon)...])))
    }
    let limit = 1000
    let lengths = headers.filter { $0.name == "content-length" }.map(\.value)
    let codings = headers.filter { $0.name == "transfer-encoding" }.map(\.value)
    switch RequestFraming.body(of: headers, requiresHost: requiresHost, maxBodyBytes: limit) {
    case .failure(let error):
        guard [400, 413, 501].contains(error.status), !error.body.isEmpty else { fatalError("refused with \(error.status)") }
    case .success(let body):
        if headers.contains(where: { $0.name.contains(" ") || $0.name.contains("\t") }) { fatalError("whitespace in a name accepted") }
        if requiresHost && !headers.contains(where: { $0.name == "host" }) { fatalError("no Host accepted") }
        let digitsOnly = lengths.allSatisfy { !$0.isEmpty && $0.utf8.allSatisfy { $0 >= 0x30 && $0 <= 0x39 } }
        switch body {
        case .none:
            if !codings.isEmpty || !digitsOnly || lengths.contains(where: { UInt64($0) != 0 }) { fatalError("no body for \(headers)") }
        case .length(let n):
            if !codings.isEmpty || !digitsOnly || n == 0 || n > UInt64(limit) || lengths.contains(where: { UInt64($0) != n }) {
                fatalError("length \(n) for \(headers)")
            }
        case .chunked:
            if !lengths.isEmpty || codings.count != 1 || codings[0].lowercased().trimmingCharacters(in: " \t") != "chunked" {
                fatalError("chunked for \(headers)")
            }
        }
    }
    return 0
}
