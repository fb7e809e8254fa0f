import Dispatch
import Glibc
import Logging
import RotaryHTTP
import Synchronization

/// A swift-log handler that appends lines to a shared buffer and writes it to stderr in batches
/// (every 100 ms, when 64 KiB have gathered, or at once for warnings and worse). A line per request
/// then costs a memcpy instead of a write system call and a strftime.
struct BufferedLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]
    let label: String
    private let sink: LogSink

    init(label: String, level: Logger.Level, sink: LogSink) {
        self.label = label
        self.logLevel = level
        self.sink = sink
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var suffix = ""
        if !metadata.isEmpty || !(event.metadata?.isEmpty ?? true) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            suffix = " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        sink.append(level: event.level.rawValue, label: label, message: event.message.description, suffix: suffix,
                    urgent: event.level >= .warning)
    }
}

/// The buffers behind every `BufferedLogHandler`: one per thread (so request threads never contend
/// for a lock), written out in batches by a timer.
final class LogSink: @unchecked Sendable {   // mutable state is per thread or behind a buffer's own lock
    /// One thread's pending lines.
    final class ThreadBuffer: @unchecked Sendable {
        let pending = Mutex<[UInt8]>([])
        var second = 0          // owner thread only
        var stamp: [UInt8] = [] // owner thread only
    }

    private let buffers = PerThread { ThreadBuffer() }
    private let timer: DispatchSourceTimer
    private let flushLock = Mutex(())

    init() {
        timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        timer.schedule(deadline: .now() + .milliseconds(100), repeating: .milliseconds(100))
        timer.setEventHandler { [weak self] in self?.flush() }
        timer.resume()
    }

    deinit { timer.cancel() }

    private var currentBuffer: ThreadBuffer { buffers.current }

    /// Appends `<timestamp> <level> <label>: <message><suffix>\n` to this thread's buffer.
    func append(level: String, label: String, message: String, suffix: String, urgent: Bool) {
        let buffer = currentBuffer
        let now = time(nil)
        if now != buffer.second || buffer.stamp.isEmpty {
            buffer.second = now
            buffer.stamp = Self.timestamp(now)
        }
        let full = buffer.pending.withLock { pending -> Bool in
            pending += buffer.stamp
            pending.append(0x20); pending += level.utf8; pending.append(0x20); pending += label.utf8
            pending.append(0x3A); pending.append(0x20); pending += message.utf8; pending += suffix.utf8
            pending.append(0x0A)
            return pending.count >= 64 << 10
        }
        if full || urgent { flush() }
    }

    func flush() {
        flushLock.withLock { _ in
            for buffer in buffers.values {
                let pending = buffer.pending.withLock { p -> [UInt8] in
                    defer { p.removeAll(keepingCapacity: true) }
                    return p
                }
                var offset = 0
                while offset < pending.count {
                    let written = pending[offset...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                    if written <= 0 { break }
                    offset += written
                }
            }
        }
    }

    /// `2026-11-29T15:31:26+0000`, as swift-log's stream handler writes it.
    private static func timestamp(_ seconds: Int) -> [UInt8] {
        var value = time_t(seconds)
        var parts = tm()
        localtime_r(&value, &parts)
        var buffer = [CChar](repeating: 0, count: 32)
        let length = strftime(&buffer, buffer.count, "%Y-%m-%dT%H:%M:%S%z", &parts)
        return buffer[0..<length].map { UInt8(bitPattern: $0) }
    }
}
