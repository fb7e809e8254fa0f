import Dispatch
import Glibc
import Logging
import RotaryHTTP
import Synchronization

/// A swift-log handler that appends lines to a shared buffer and writes it to stderr in batches
/// (every 100 ms, or when 64 KiB have gathered); lines other than the per-request ones go out at once.
/// A line per request then costs a memcpy instead of a write system call and a strftime.
///
/// swift-log copies the handler out of its logger for every line. The handler is kept within the three
/// words an existential stores inline, and refers to shared things without retaining them: otherwise each
/// copy would retain a box or the sink that both server threads share, bouncing that reference count
/// between the cores on every request.
struct BufferedLogHandler: LogHandler {
    var logLevel: Logger.Level
    /// nil while empty (copying nil retains nothing).
    private var storedMetadata: Logger.Metadata?
    var metadata: Logger.Metadata {
        get { storedMetadata ?? [:] }
        set { storedMetadata = newValue.isEmpty ? nil : newValue }
    }
    /// The label, kept alive by `LogSink.shared` for the life of the process; lent, never retained.
    private let source: Unmanaged<LogSink.Source>
    var label: String { source._withUnsafeGuaranteedRef { $0.label } }

    init(label: String, level: Logger.Level, sink: LogSink) {
        self.source = Unmanaged.passUnretained(sink.source(label: label))
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { storedMetadata?[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var suffix = ""
        if storedMetadata != nil || !(event.metadata?.isEmpty ?? true) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            suffix = " " + merged.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
        }
        // The event's parts taken out first: a closure capturing the event would copy it (retaining each field).
        let level = event.level, message = event.message.description
        // Request lines are batched; anything else (warnings, start and stop, model loading) is rare and
        // goes out at once, after every line already pending, so the log reads in order.
        let batched = level < .warning && event.source == Server.accessLogSource
        source._withUnsafeGuaranteedRef { source in
            source.sink._withUnsafeGuaranteedRef { sink in
                sink.append(level: level.rawValue, label: source.label, message: message, suffix: suffix, urgent: !batched)
            }
        }
    }
}

/// The buffers behind every `BufferedLogHandler`: one per thread (so request threads never contend
/// for a lock), written out in batches by a timer.
final class LogSink: @unchecked Sendable {   // mutable state is per thread or behind a buffer's own lock
    /// The process's sink (handlers refer to it without retaining it).
    static let shared = LogSink()

    /// A label and its sink: what a handler needs, in one word.
    final class Source: Sendable {
        let label: String
        let sink: Unmanaged<LogSink>
        init(label: String, sink: LogSink) { self.label = label; self.sink = Unmanaged.passUnretained(sink) }
    }
    /// Every source made, kept for the life of the sink (handlers hold them unretained).
    private let sources = Mutex<[String: Source]>([:])

    func source(label: String) -> Source {
        sources.withLock { sources in
            if let known = sources[label] { return known }
            let made = Source(label: label, sink: self)
            sources[label] = made
            return made
        }
    }

    /// One thread's pending lines.
    final class ThreadBuffer: @unchecked Sendable {
        let pending = Mutex<[UInt8]>([])
        // Owner thread only: `<timestamp> <level> <label>: ` of the last line, and what it was made from.
        var prefix: [UInt8] = []
        var prefixSecond = -1
        var prefixLevel = ""
        var prefixLabel = ""
    }

    private let buffers = PerThread { ThreadBuffer() }
    private let timer: DispatchSourceTimer
    private let flushLock = Mutex(())

    private init() {
        timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
        timer.schedule(deadline: .now() + .milliseconds(100), repeating: .milliseconds(100))
        // A strong capture: the sink lives as long as the process anyway, and a weak reference would give
        // it a side table, which turns every retain of it into the slow path.
        timer.setEventHandler { [self] in flush() }
        timer.resume()
    }

    /// Appends `<timestamp> <level> <label>: <message><suffix>\n` to this thread's buffer.
    /// - Parameter urgent: write the line now, after every line any thread has pending (a line waits in its
    ///   thread's buffer otherwise, and buffers are written one thread after another).
    func append(level: String, label: String, message: String, suffix: String, urgent: Bool) {
        if urgent { flush() }
        let full = buffers.withCurrent { buffer in
            let now = time(nil)
            // Lines of one second, level and label share their prefix: made once, then copied.
            if now != buffer.prefixSecond || level != buffer.prefixLevel || label != buffer.prefixLabel {
                buffer.prefix = Self.timestamp(now) + Array(" \(level) \(label): ".utf8)
                buffer.prefixSecond = now
                buffer.prefixLevel = level
                buffer.prefixLabel = label
            }
            return buffer.pending.withLock { pending -> Bool in
                buffer.prefix.withUnsafeBufferPointer { pending.append(contentsOf: $0) }
                Self.append(message, to: &pending)
                if !suffix.isEmpty { Self.append(suffix, to: &pending) }
                pending.append(0x0A)
                return pending.count >= 64 << 10
            }
        }
        if full || urgent { flush() }
    }

    /// A string's UTF-8 copied with one memcpy (generic appends of a String view go piece by piece).
    private static func append(_ text: String, to bytes: inout [UInt8]) {
        if text.utf8.withContiguousStorageIfAvailable({ bytes.append(contentsOf: $0) }) == nil {
            bytes.append(contentsOf: Array(text.utf8))
        }
    }

    func flush() {
        flushLock.withLock { _ in
            for buffer in buffers.values {
                // Written under the buffer's lock, then emptied in place: the buffer keeps its capacity
                // (taking a copy out first would make every flush allocate a fresh 64 KiB).
                buffer.pending.withLock { pending in
                    var offset = 0
                    while offset < pending.count {
                        let written = pending[offset...].withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
                        if written <= 0 { break }
                        offset += written
                    }
                    pending.removeAll(keepingCapacity: true)
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
