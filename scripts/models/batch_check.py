"""Continuous batching on real models (release binary): every request's answer — text, token ids, log-probabilities
and alternatives — is byte for byte the same whether it runs alone or together with seven others (mixed lengths,
greedy and seeded sampling, stop sequences, echo, a RoPE override, one streamed, one abandoned mid-way), and
/metrics shows the steps were shared and every KV byte given back. Then the prefix cache: the same requests behind a
shared preamble (and the echoed scoring lm-evaluation-harness asks for) answer byte for byte as on a server started
with `--prefix-cache false`, cold and warm, one by one and all at once, and the cache's hit counter moved.
Usage: batch_check.py ROTARY [MODEL.gguf ...] (default: SmolLM2 Q4_1 and Q4_K_M from the model cache)"""
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODELS = [os.path.join(ROOT, ".build-models", name) for name in
          ("SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q4_K_M.gguf")]
BODIES = [
    {"prompt": "The capital of France is", "max_tokens": 24, "temperature": 0, "logprobs": 3},
    {"prompt": "Once upon a time, there was a", "max_tokens": 40, "temperature": 0.9, "seed": 7},
    {"prompt": "def fibonacci(n):", "max_tokens": 32, "temperature": 0.7, "top_k": 20, "seed": 11, "stop": ["\n\n"]},
    {"prompt": "Hello", "max_tokens": 4, "temperature": 0, "echo": True, "logprobs": 2},
    {"prompt": "The three primary colors are", "max_tokens": 20, "temperature": 0,
     "rope": {"rope_type": "linear", "factor": 2}},
    {"prompt": "Write a haiku about the sea.", "max_tokens": 16, "temperature": 1.1, "seed": 3, "repeat_penalty": 1.2,
     "ignore_eos": True},
]
STREAMED = {"prompt": "List three animals:", "max_tokens": 24, "temperature": 0.8, "seed": 5, "stream": True}
ABANDONED = {"prompt": "Count to one hundred:", "max_tokens": 400, "temperature": 0, "ignore_eos": True}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def canonical(data):
    answer = json.loads(data)
    answer.pop("timings", None)
    return json.dumps(answer, sort_keys=True)


def post(port, body):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    connection.request("POST", "/generate", json.dumps(body), {"Content-Type": "application/json"})
    reply = connection.getresponse()
    data = reply.read()
    assert reply.status == 200, data
    if body.get("stream"):
        return [canonical(e[6:]) for e in data.decode().split("\n\n") if e.startswith("data: {")]
    return canonical(data)


def abandon(port):
    """Starts a long generation and closes the connection once it runs."""
    s = socket.create_connection(("127.0.0.1", port))
    payload = json.dumps(ABANDONED).encode()
    s.sendall(b"POST /generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
              + str(len(payload)).encode() + b"\r\n\r\n" + payload)
    time.sleep(0.5)
    s.close()


def metric(port, series):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", "/metrics")
    for line in connection.getresponse().read().decode().splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def start(rotary, model, *extra):
    port = free_port()
    server = subprocess.Popen([rotary, "serve", "--model", model, "--port", str(port), "--log-level", "warning", *extra],
                              stderr=subprocess.DEVNULL)
    for _ in range(300):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/ready")
            if connection.getresponse().status == 200:
                break
        except OSError:
            pass
        time.sleep(0.1)
    return server, port


PREAMBLE = ("You are a careful assistant. Answer briefly and plainly, in full sentences, and say so when you do not know. "
            "The user is reading on a small screen, so keep each answer short. ")


def check_prefix_cache(rotary, model):
    bodies = [dict(body, prompt=PREAMBLE + body["prompt"]) for body in BODIES]
    bodies += [{"prompt": PREAMBLE + ending, "max_tokens": 1, "temperature": 0, "echo": True, "logprobs": 1}
               for ending in (" The sky is blue.", " The sky is green.", " The sea is deep.")]
    plain, plain_port = start(rotary, model, "--prefix-cache", "false")
    cached, port = start(rotary, model)
    try:
        expected = [post(plain_port, body) for body in bodies]
        cold = [post(port, body) for body in bodies]
        warm = [None] * len(bodies)

        def run(i, body):
            warm[i] = post(port, body)

        threads = [threading.Thread(target=run, args=(i, body)) for i, body in enumerate(bodies)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        name = os.path.basename(model)
        failures = [(i, kind) for kind, got in (("one by one", cold), ("all at once", warm))
                    for i, (a, b) in enumerate(zip(expected, got)) if a != b]
        for i, kind in failures:
            print(f"{name}: request {i} differs with the prefix cache ({kind}):\n  without: {expected[i]}")
        hits = metric(port, 'rotary_model_prefix_cache_tokens_total{result="hit"}')
        misses = metric(port, 'rotary_model_prefix_cache_tokens_total{result="miss"}')
        print(f"{name}: {2 * len(bodies) - len(failures)}/{2 * len(bodies)} answers identical with and without the "
              f"prefix cache; {hits:.0f} prompt tokens from kept blocks, {misses:.0f} computed")
        return not failures and hits > 0
    finally:
        for server in (plain, cached):
            server.terminate()
            server.wait()


def check(rotary, model):
    server, port = start(rotary, model)
    try:
        time.sleep(0.5)
        alone = [post(port, body) for body in BODIES + [STREAMED]]
        together = [None] * len(alone)

        def run(i, body):
            together[i] = post(port, body)

        threads = [threading.Thread(target=abandon, args=(port,))]
        threads += [threading.Thread(target=run, args=(i, body)) for i, body in enumerate(BODIES + [STREAMED])]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        name = os.path.basename(model)
        failures = [i for i, (a, b) in enumerate(zip(alone, together)) if a != b]
        for i in failures:
            print(f"{name}: request {i} differs in the batch:\n  alone:    {alone[i]}\n  together: {together[i]}")
        for _ in range(600):
            if metric(port, 'rotary_model_sequences{state="running"}') == 0 and metric(port, "rotary_model_queue_depth") == 0:
                break
            time.sleep(0.1)
        steps = metric(port, "rotary_model_batch_sequences_count")
        single = metric(port, 'rotary_model_batch_sequences_bucket{le="1"}')
        total = metric(port, "rotary_model_batch_sequences_sum")
        kv = metric(port, "rotary_model_kv_cache_bytes")
        shared = steps and total / steps
        print(f"{name}: {len(alone) - len(failures)}/{len(alone)} answers identical alone and in the batch; "
              f"{steps:.0f} steps, {steps - single:.0f} of them shared, {shared:.2f} sequences per step; KV bytes after: {kv:.0f}")
        ok = not failures and steps > single and kv == 0
        return ok
    finally:
        server.terminate()
        server.wait()


def main():
    rotary = sys.argv[1]
    models = sys.argv[2:] or MODELS
    results = [check(rotary, model) for model in models] + [check_prefix_cache(rotary, model) for model in models]
    if not all(results):
        sys.exit("batch check: FAILED")
    print("batch check: every answer is the same in the batch and with the prefix cache")


if __name__ == "__main__":
    main()
