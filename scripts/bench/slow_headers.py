"""Slow-header clients (slowloris) against a live server, and a /health probe from another address.

Opens CONNECTIONS connections spread over loopback addresses 127.0.0.3 and up (each below the per-IP
limit), sends every one a byte of a request head every INTERVAL seconds, and reopens any the server closes
(the header deadline answers 408), for DURATION seconds. Meanwhile, from 127.0.0.2, it asks GET /health
on a fresh connection every 50 ms and prints the latencies' p50/p99 and the failures as one RESULT line.
"""
import argparse, selectors, socket, threading, time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--connections", type=int, default=200)
parser.add_argument("--per-address", type=int, default=50)
parser.add_argument("--duration", type=float, default=60)
parser.add_argument("--interval", type=float, default=2.0)
args = parser.parse_args()

HEAD = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000 + b"\r\n"
deadline = time.monotonic() + args.duration
stats = {"reopened": 0, "open_failures": 0}


def open_slow(index):
    s = socket.socket()
    s.bind((f"127.0.0.{3 + index // args.per_address}", 0))
    s.setblocking(False)
    try:
        s.connect(("127.0.0.1", args.port))
    except BlockingIOError:
        pass
    except OSError:
        stats["open_failures"] += 1
        s.close()
        return None
    return [s, 0]


def trickle():
    slow = [open_slow(i) for i in range(args.connections)]
    while time.monotonic() < deadline:
        round_start = time.monotonic()
        for i, entry in enumerate(slow):
            if entry is None:
                slow[i] = open_slow(i)
                continue
            s, sent = entry
            try:
                if s.recv(4096, socket.MSG_DONTWAIT) == b"":
                    raise ConnectionError
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                slow[i] = open_slow(i)
                stats["reopened"] += 1
                continue
            try:
                s.send(HEAD[sent % len(HEAD):sent % len(HEAD) + 1])
                entry[1] = sent + 1
            except (BlockingIOError, OSError):
                pass
        time.sleep(max(0.0, args.interval - (time.monotonic() - round_start)))
    for entry in slow:
        if entry:
            entry[0].close()


def health_once():
    started = time.monotonic()
    with socket.socket() as s:
        s.settimeout(5)
        s.bind(("127.0.0.2", 0))
        s.connect(("127.0.0.1", args.port))
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    if not data.startswith(b"HTTP/1.1 200 "):
        raise ConnectionError(data[:40])
    return time.monotonic() - started


thread = threading.Thread(target=trickle, daemon=True)
thread.start()
time.sleep(min(5.0, args.duration / 4))   # the slow connections are open before the probe starts
latencies, failures = [], 0
while time.monotonic() < deadline:
    try:
        latencies.append(health_once())
    except OSError:
        failures += 1
    time.sleep(0.05)
thread.join()
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")
print(f"RESULT health_requests={len(latencies)} health_failures={failures} health_p50_ms={pick(0.5):.2f} "
      f"health_p99_ms={pick(0.99):.2f} slow_connections={args.connections} slow_reopened={stats['reopened']} "
      f"slow_open_failures={stats['open_failures']}")
