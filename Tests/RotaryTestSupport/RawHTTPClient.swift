import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A tiny blocking HTTP/1.1 client over one TCP connection, for loopback tests that need control
/// over keep-alive, chunked uploads and half-sent requests.
public final class RawHTTPClient {
    public struct Reply: Sendable {
        public var status: Int
        public var headers: [String: String]   // lower-cased names
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        public var json: Any? { try? JSONSerialization.jsonObject(with: Data(body), options: [.fragmentsAllowed]) }
    }

    public enum ClientError: Error { case connect(Int32), closed, malformed(String) }

    private let fd: Int32
    private var buffer: [UInt8] = []

    /// `sourceAddress` binds the client's end first (any of 127.0.0.0/8 is loopback on Linux), so a test can
    /// speak from an address other than the one a crowd of clients uses.
    /// `receiveBufferBytes` pins a small receive window from the start, so that what the client does not
    /// read stays with the server.
    public init(port: Int, timeoutSeconds: Int = 20, sourceAddress: String? = nil, receiveBufferBytes: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBufferBytes {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        if let sourceAddress {
            var source = sockaddr_in()
            source.sin_family = sa_family_t(AF_INET)
            source.sin_addr.s_addr = inet_addr(sourceAddress)
            let bound = withUnsafePointer(to: &source) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound != 0 { close(fd); throw ClientError.connect(errno) }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port)).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if result != 0 { close(fd); throw ClientError.connect(errno) }
    }

    deinit { close(fd) }

    public func send(_ bytes: [UInt8]) throws {
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw ClientError.closed }
            sent += n
        }
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Sends a whole request with Content-Length and reads the reply.
    public func request(_ method: String, _ path: String, body: [UInt8]? = nil,
                        headers: [String: String] = [:]) throws -> Reply {
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try send(Array(head.utf8) + (body ?? []))
        return try readReply()
    }

    public func request(_ method: String, _ path: String, json: String, headers: [String: String] = [:]) throws -> Reply {
        var all = headers
        all["Content-Type"] = all["Content-Type"] ?? "application/json"
        return try request(method, path, body: Array(json.utf8), headers: all)
    }

    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { throw ClientError.closed }
        buffer += chunk[0..<n]
    }

    public func readReply() throws -> Reply {
        var headerEnd: Int?
        while headerEnd == nil {
            if let range = findHeaderEnd() { headerEnd = range } else { try fill() }
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        buffer.removeFirst(headerEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        guard statusLine.count >= 2, let status = Int(statusLine[1]) else { throw ClientError.malformed(head) }
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        if status == 100 { return try readReply() }
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var body: [UInt8] = []
            while let chunk = try readChunk() { body += chunk }
            return Reply(status: status, headers: headers, body: body)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        while buffer.count < length { try fill() }
        let body = Array(buffer[0..<length])
        buffer.removeFirst(length)
        return Reply(status: status, headers: headers, body: body)
    }

    /// One chunk of a chunked body; nil at the last (empty) chunk.
    public func readChunk() throws -> [UInt8]? {
        var lineEnd: Int?
        while lineEnd == nil {
            if let i = (buffer.count >= 2 ? (0..<(buffer.count - 1)).first { buffer[$0] == 13 && buffer[$0 + 1] == 10 } : nil) {
                lineEnd = i
            } else { try fill() }
        }
        let sizeText = String(decoding: buffer[0..<lineEnd!], as: UTF8.self).split(separator: ";").first ?? ""
        guard let size = Int(sizeText.trimmingCharacters(in: .whitespaces), radix: 16) else { throw ClientError.malformed("chunk size") }
        buffer.removeFirst(lineEnd! + 2)
        while buffer.count < size + 2 { try fill() }
        let chunk = Array(buffer[0..<size])
        buffer.removeFirst(size + 2)
        return size == 0 ? nil : chunk
    }

    /// Reads a reply's status line and headers only (for streamed bodies read with `readChunk`).
    public func readHead() throws -> (status: Int, headers: [String: String]) {
        var headerEnd: Int?
        while headerEnd == nil { if let end = findHeaderEnd() { headerEnd = end } else { try fill() } }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        buffer.removeFirst(headerEnd! + 4)
        var lines = head.components(separatedBy: "\r\n")
        let statusLine = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return (Int(statusLine[1]) ?? 0, headers)
    }

    private func findHeaderEnd() -> Int? {
        guard buffer.count >= 4 else { return nil }
        for i in 0...(buffer.count - 4) where buffer[i] == 13 && buffer[i + 1] == 10 && buffer[i + 2] == 13 && buffer[i + 3] == 10 {
            return i
        }
        return nil
    }

    /// The status of the reply now arriving, read without consuming it (0 if none has come).
    public func peekStatus() -> Int {
        var head = [UInt8](repeating: 0, count: 12)
        let n = head.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_PEEK | MSG_DONTWAIT)) }
        guard n == 12 else { return 0 }
        return Int(String(decoding: head[9..<12], as: UTF8.self)) ?? 0
    }

    /// Ends the client's sending side (`shutdown(SHUT_WR)`, as `nc -N` does); it can still read.
    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Every byte the server sends until it closes the connection or `seconds` pass without a byte, and
    /// whether it closed. For checking exactly what reached the wire.
    public func readToEnd(idleSeconds seconds: Int = 2) -> (bytes: [UInt8], closed: Bool) {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var all = buffer
        buffer = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while all.count < 1 << 20 {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (all, true) }
            if n < 0 { return (all, errno == ECONNRESET) }
            all += chunk[0..<n]
        }
        return (all, false)
    }

    /// Whether the server has closed the connection (reads EOF within `seconds`).
    public func isClosedByPeer(within seconds: Int = 2) -> Bool {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var byte: UInt8 = 0
        return recv(fd, &byte, 1, 0) == 0
    }
}
