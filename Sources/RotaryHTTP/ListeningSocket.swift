import Glibc

/// The listening socket, opened by us (not by libmicrohttpd) so that bind errors are precise and the
/// bound port is known even for port 0.
struct ListeningSocket {
    let descriptor: Int32
    let port: Int
    let isIPv6: Bool

    /// A socket that is already bound and listening (handed over by a daemon that stopped using it).
    init(adopting descriptor: Int32, port: Int, isIPv6: Bool) {
        self.descriptor = descriptor
        self.port = port
        self.isIPv6 = isIPv6
    }

    /// Binds `host` (an IPv4 or IPv6 literal, or `localhost`) and starts listening.
    init(host: String, port: Int, backlog: Int32 = 1024) throws(ServerError) {
        var storage = sockaddr_storage()
        let literal = host == "localhost" ? "127.0.0.1" : host
        let bare = literal.hasPrefix("[") && literal.hasSuffix("]") ? String(literal.dropFirst().dropLast()) : literal
        let networkPort = in_port_t(UInt16(port)).bigEndian
        var v4 = sockaddr_in(), v6 = sockaddr_in6()
        let length: socklen_t
        if inet_pton(AF_INET, bare, &v4.sin_addr) == 1 {
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = networkPort
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v4, as: sockaddr_in.self) }
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            isIPv6 = false
        } else if inet_pton(AF_INET6, bare, &v6.sin6_addr) == 1 {
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = networkPort
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v6, as: sockaddr_in6.self) }
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            isIPv6 = true
        } else {
            throw ServerError.invalidHost(host)
        }
        let fd = socket(isIPv6 ? AF_INET6 : AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ServerError.startFailed("socket(): \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        let bound = withUnsafePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
        }
        guard bound == 0, listen(fd, backlog) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ServerError.startFailed("cannot listen on \(host):\(port): \(reason)")
        }
        var actual = sockaddr_storage()
        var actualLength = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &actual) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &actualLength) }
        }
        let v6Bound = isIPv6
        let boundPort = withUnsafeBytes(of: actual) { raw in
            v6Bound ? raw.load(as: sockaddr_in6.self).sin6_port : raw.load(as: sockaddr_in.self).sin_port
        }
        self.descriptor = fd
        self.port = Int(UInt16(bigEndian: boundPort))
    }
}
