#!/usr/bin/env python3
"""make test: three `rotary serve` replicas behind HAProxy under a mixed load, on loopback.

HAProxy health-checks /ready every INTER_MS (down after FALL failures, up after RISE successes) and lets each
replica hold at most MAXCONN requests. Two frontends share the replicas: `retrying` (retries on connection
failure and empty responses, elsewhere: how to run Rotary) and `strict` (no retries, so its clients see the
replicas' own drain with nothing to cover for it). While half the clients load each:
1. a rolling restart: each replica in turn gets SIGTERM (it answers /ready 503, serves DRAIN_DELAY s more,
   stops accepting, finishes what it holds, exits), a new one starts on its port and joins: no request may
   fail, on either frontend;
2. one replica is killed with SIGKILL and started again (retrying clients only): only requests in flight on it
   may fail, so at most MAXCONN; the rest succeed.
Prints requests, failures, and the time each replica took to leave the pool (signal → HAProxy DOWN) and to
rejoin it (start → UP). Exits non-zero when a bound does not hold. Bounded: about 20 s with the debug binary.
Usage: haproxy_check.py ROTARY_BINARY MODEL.gguf   (HAPROXY_REPORT=path writes the figures as Markdown;
HAPROXY_DRAIN_DELAY and HAPROXY_RETRY_ON override the replicas' --drain-delay and the retrying frontend's
retry-on, to see what each prevents: HAPROXY_DRAIN_DELAY=0 fails the strict frontend's rolling restart)
"""
import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

INTER_MS, FALL, RISE = 200, 2, 2
# > FALL × INTER_MS, with room for a check that was just sent. HAPROXY_DRAIN_DELAY=0 shows what it prevents.
DRAIN_DELAY = float(os.environ.get("HAPROXY_DRAIN_DELAY", 1.5))
MAXCONN = 4                # per replica: the most requests one replica holds, so the most a SIGKILL can lose
RETRY_ON = os.environ.get("HAPROXY_RETRY_ON", "conn-failure empty-response")
CLIENTS = 8                # client connections (keep-alive) to HAProxy
DEADLINE = 120             # seconds: the whole check gives up past this

REQUESTS = [
    ("POST", "/rotate", {"vectors": [[1, 0, 0, 1], [0.5, -1, 2, 0]], "positions": [3, 7]}),
    ("POST", "/tokenize", {"prompt": "In the beginning"}),
    ("POST", "/generate", {"prompt": "In the beginning", "max_tokens": 8, "temperature": 0}),
    ("POST", "/v1/completions", {"model": "tiny", "prompt": "And God said", "max_tokens": 4, "temperature": 0}),
    ("GET", "/v1/models", None),
    ("GET", "/health", None),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Replica:
    def __init__(self, binary, model, port, work, name):
        self.binary, self.model, self.port, self.work, self.name = binary, model, port, work, name
        self.process, self.starts = None, 0

    def start(self):
        self.starts += 1
        log = open(os.path.join(self.work, f"{self.name}.{self.starts}.log"), "w")
        self.process = subprocess.Popen(
            [self.binary, "serve", "--port", str(self.port), "--model", self.model, "--drain-delay", str(DRAIN_DELAY),
             "--log-level", os.environ.get("HAPROXY_REPLICA_LOG_LEVEL", "notice")], stdout=subprocess.DEVNULL, stderr=log)
        return time.monotonic()


class HAProxy:
    def __init__(self, replicas, work):
        self.socket_path = os.path.join(work, "haproxy.sock")
        # Two frontends on the same replicas: `retrying` is how to run Rotary (retries on connection
        # failure and empty responses, elsewhere); `strict` has no retries at all, so what its clients see
        # during the rolling restart is the replicas' own drain, with nothing to cover a lost request.
        self.ports = {"retrying": free_port(), "strict": free_port()}
        servers = "\n".join(f"  server {r.name} 127.0.0.1:{r.port} check maxconn {MAXCONN}" for r in replicas)
        sections = "".join(f"""
frontend {name}
  bind 127.0.0.1:{port}
  default_backend {name}
backend {name}
  retry-on {RETRY_ON if name == "retrying" else "none"}
{servers}
""" for name, port in self.ports.items())
        config = f"""
global
  maxconn 1000
  log stderr format raw local0 info
  stats socket {self.socket_path} mode 600 level admin
defaults
  mode http
  log global
  option httplog
  timeout connect 1s
  timeout client 30s
  timeout server 30s
  timeout queue 30s
  timeout check 1s
  retries 3
  option redispatch 1
  balance roundrobin
  option httpchk GET /ready
  http-check expect status 200
  default-server inter {INTER_MS}ms fall {FALL} rise {RISE}
{sections}"""
        path = os.path.join(work, "haproxy.cfg")
        open(path, "w").write(config)
        subprocess.run(["haproxy", "-c", "-q", "-f", path], check=True)
        self.process = subprocess.Popen(["haproxy", "-db", "-f", path], stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(work, "haproxy.log"), "w"))

    def command(self, text):
        with socket.socket(socket.AF_UNIX) as s:
            s.connect(self.socket_path)
            s.sendall(text.encode() + b"\n")
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def servers(self):
        """The `show stat` rows of the backends' servers."""
        try:
            lines = self.command("show stat").splitlines()
        except OSError:
            return []
        header = lines[0].lstrip("# ").split(",")
        rows = [dict(zip(header, line.split(","))) for line in lines[1:] if line]
        return [r for r in rows if r["pxname"] in self.ports and r["svname"] not in ("FRONTEND", "BACKEND")]

    def states(self):
        """{'backend/server': 'UP' | 'DOWN' | ...}."""
        return {f"{r['pxname']}/{r['svname']}": r["status"].split(" ")[0] for r in self.servers()}

    def sessions(self, server):
        """Requests HAProxy has open on `server` now (`scur`, over both backends)."""
        return sum(int(r["scur"] or 0) for r in self.servers() if r["svname"] == server)

    def wait_for(self, server, status, timeout=30):
        """The time at which every backend reports `server` in `status` (polled every 20 ms); raises past `timeout`."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            seen = [state for name, state in self.states().items() if name.endswith("/" + server)]
            if len(seen) == len(self.ports) and all(state == status for state in seen):
                return time.monotonic()
            time.sleep(0.02)
        raise TimeoutError(f"{server} not {status} after {timeout} s: {self.states()}")


class Load:
    """CLIENTS threads, each on one keep-alive connection to HAProxy, sending the mix until stopped; every
    result is recorded with the phase in force when its request started."""

    def __init__(self, ports):
        self.phase, self.running = "warm-up", True
        self.results, self.lock = [], threading.Lock()
        # Half the clients on each frontend; the strict ones stop before the SIGKILL (without retries, every
        # request sent to the killed replica before HAProxy marks it down fails, in flight or not).
        self.threads = [threading.Thread(target=self.client, args=(i, frontend, ports[frontend]), daemon=True)
                        for i in range(CLIENTS) for frontend in [("retrying", "strict")[i % 2]]]

    def client(self, index, frontend, port):
        rng = random.Random(index)
        connection = None
        while self.running and not (frontend == "strict" and self.phase in ("SIGKILL", "after")):
            method, path, body = rng.choice(REQUESTS)
            phase, started = self.phase, time.monotonic()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                payload = json.dumps(body).encode() if body is not None else None
                connection.request(method, path, body=payload, headers={"Content-Type": "application/json"} if payload else {})
                response = connection.getresponse()
                data = response.read()
                ok = response.status == 200
                detail = "" if ok else f"{response.status} {data[:160]!r}"
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as error:
                ok, detail = False, f"{type(error).__name__}: {error}"
                if connection is not None:
                    connection.close()
                connection = None
            with self.lock:
                self.results.append((f"{phase}, {frontend}", ok, f"{method} {path}", detail, time.monotonic() - started))

    def count(self, phase):
        with self.lock:
            chosen = [r for r in self.results if r[0] == phase]
        return len(chosen), [r for r in chosen if not r[1]]


def main():
    binary, model = os.path.realpath(sys.argv[1]), os.path.realpath(sys.argv[2])
    if not shutil.which("haproxy"):
        sys.exit("haproxy is not installed (make deps installs it)")
    work = tempfile.mkdtemp(prefix="rotary-haproxy-")
    replicas = [Replica(binary, model, free_port(), work, f"r{i}") for i in range(3)]
    proxy = None
    begun = time.monotonic()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError(f"past {DEADLINE} s")))
    signal.alarm(DEADLINE)
    failures = []
    figures = {"leave": [], "rejoin": [], "exit": []}
    try:
        for r in replicas:
            r.start()
        proxy = HAProxy(replicas, work)
        for r in replicas:
            proxy.wait_for(r.name, "UP")
        load = Load(proxy.ports)
        for t in load.threads:
            t.start()
        time.sleep(2)

        # 1. Rolling restart: SIGTERM, leave, exit, start again on the same port, rejoin; one replica at a time.
        load.phase = "rolling restart"
        for r in replicas:
            signalled = time.monotonic()
            r.process.send_signal(signal.SIGTERM)
            down = proxy.wait_for(r.name, "DOWN")
            r.process.wait(timeout=30)
            exited = time.monotonic()
            started = r.start()
            up = proxy.wait_for(r.name, "UP")
            figures["leave"].append(down - signalled)
            figures["exit"].append(exited - signalled)
            figures["rejoin"].append(up - started)
            print(f"     {r.name}: SIGTERM → DOWN in {down - signalled:.2f} s, exited after {exited - signalled:.2f} s; "
                  f"new process → UP in {up - started:.2f} s")
            time.sleep(0.5)
        time.sleep(1)

        # 2. SIGKILL: only what the killed replica held may fail.
        # Requests count in the phase in force when they started: a pause first, longer than any request of the
        # mix takes here, so every request in flight at the kill is counted in this phase.
        load.phase = "SIGKILL"
        time.sleep(1)
        victim = replicas[1]
        in_flight = proxy.sessions(victim.name)
        killed = time.monotonic()
        victim.process.kill()
        down = proxy.wait_for(victim.name, "DOWN")
        victim.process.wait()
        time.sleep(1)
        started = victim.start()
        up = proxy.wait_for(victim.name, "UP")
        kill_figures = (down - killed, up - started, in_flight)
        print(f"     {victim.name}: SIGKILL with {in_flight} requests in flight on it → DOWN in {down - killed:.2f} s; new process → UP in {up - started:.2f} s")
        time.sleep(1)
        load.phase = "after"
        time.sleep(1)
        load.running = False
        for t in load.threads:
            t.join(timeout=35)

        report = []
        for phase, bound in [("warm-up, retrying", 0), ("warm-up, strict", 0), ("rolling restart, retrying", 0),
                             ("rolling restart, strict", 0), ("SIGKILL, retrying", MAXCONN), ("after, retrying", 0)]:
            total, failed = load.count(phase)
            ok = total > 0 and len(failed) <= bound
            print(("ok  " if ok else "FAIL"), f"{phase}: {total} requests, {len(failed)} failed (at most {bound})",
                  *[f"\n     {f[2]}: {f[3]}" for f in failed[:8]])
            report.append((phase, total, len(failed), bound))
            if not ok:
                failures.append(phase)
        all_up = all(s == "UP" for s in proxy.states().values())
        print(("ok  " if all_up else "FAIL"), f"every replica back in the pool: {proxy.states()}")
        if not all_up:
            failures.append("pool")
        print(f"     {time.monotonic() - begun:.1f} s in all")
        if os.environ.get("HAPROXY_REPORT"):
            write_report(os.environ["HAPROXY_REPORT"], report, figures, kill_figures)
    finally:
        signal.alarm(0)
        for r in replicas:
            if r.process and r.process.poll() is None:
                r.process.kill()
                r.process.wait()
        if proxy:
            proxy.process.kill()
            proxy.process.wait()
        if failures:
            print(f"logs kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    sys.exit(1 if failures else 0)


def write_report(path, report, figures, kill_figures):
    def span(values):
        return f"{min(values):.2f}–{max(values):.2f} s" if values else "–"
    lines = [
        "| phase | requests | failed | bound |", "| --- | ---: | ---: | ---: |",
        *[f"| {phase} | {total} | {failed} | {bound} |" for phase, total, failed, bound in report],
        "",
        f"Rolling restart (3 replicas, one at a time): SIGTERM → HAProxy marks it DOWN in {span(figures['leave'])}; "
        f"the process exits {span(figures['exit'])} after the signal; a new process is UP in the pool "
        f"{span(figures['rejoin'])} after it starts.",
        f"SIGKILL with {kill_figures[2]} requests in flight on the replica (HAProxy's count just before): DOWN in "
        f"{kill_figures[0]:.2f} s; the new process UP in {kill_figures[1]:.2f} s.",
    ]
    open(path, "w").write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
