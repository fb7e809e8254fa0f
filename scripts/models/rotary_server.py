"""A `rotary serve` of one model on a free loopback port, for the model scripts: `with served(binary, model) as port:`."""
import contextlib
import socket
import subprocess
import time
import urllib.request


@contextlib.contextmanager
def served(binary, model=None, extra=()):
    """model None: the embedded model; extra: more `serve` arguments."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([binary, "serve", "--port", str(port), "--log-level", "warning"]
                              + (["--model", str(model)] if model else []) + list(extra),
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):   # up to a minute for the model to load
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except OSError:
                time.sleep(0.2)
        yield port
    finally:
        server.terminate()
        server.wait()
