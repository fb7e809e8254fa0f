"""Continuous batching on one Rotary server: aggregate decode tokens/s of CLIENTS concurrent streaming /generate
clients against one client alone, the two runs interleaved RUNS times (medians), and the same load against
llama.cpp's server with `-np CLIENTS` slots (xllamacpp's in-process server, the same file, greedy, EOS ignored on
both sides so every client decodes TOKENS tokens). Then the prompt-side loads of prompt_load.py: a short request's
first token while a long prompt is read, and lm-evaluation-harness's multiple-choice load with and without the
prefix cache (KJV contexts from CORPUS).

Usage: batching.py ROTARY MODEL... [--clients 8] [--tokens 64] [--runs 3] [--threads 2] [--corpus .build-data/kjv.txt]
       [--no-llamacpp] [--publish]
Prints RESULT lines; --publish writes the batching section of BENCHMARKS.md (and fails when a target is missed)."""
import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time

import prompt_load

PROMPTS = ["Once upon a time", "The quick brown fox", "In the beginning", "Tell me about the sea",
           "A long time ago", "The king said", "Here is a list of", "My favourite food is"]


def stream_one(port, prompt, tokens, out, index):
    """One streaming /generate; records (start, first token, end, tokens decoded)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({"prompt": prompt, "max_tokens": tokens, "temperature": 0, "stream": True, "ignore_eos": True})
    start = time.perf_counter()
    connection.request("POST", "/generate", body, {"Content-Type": "application/json"})
    reply = connection.getresponse()
    assert reply.status == 200, reply.read()
    first, count, buffer = None, 0, b""
    while True:
        chunk = reply.read1(65536)
        if not chunk:
            break
        buffer += chunk
        while b"\n\n" in buffer:
            event, buffer = buffer.split(b"\n\n", 1)
            if event.startswith(b'data: {"text"'):
                count += 1
                first = first or time.perf_counter()
    out[index] = (start, first, time.perf_counter(), count)


def load(port, clients, tokens, runner=stream_one):
    """CLIENTS requests at once: aggregate tokens/s over the wall time, and the median time to first token."""
    out = [None] * clients
    threads = [threading.Thread(target=runner, args=(port, PROMPTS[i % len(PROMPTS)], tokens, out, i)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(o and o[3] == tokens for o in out), f"not every client decoded {tokens} tokens: {[o and o[3] for o in out]}"
    wall = max(o[2] for o in out) - min(o[0] for o in out)
    return sum(o[3] for o in out) / wall, statistics.median(o[1] - o[0] for o in out)


def wait_up(port, process):
    for _ in range(600):
        if process.poll() is not None:
            sys.exit(f"the server on port {port} exited")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/ready")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit(f"the server on port {port} did not start")


def llamacpp_load(model, clients, tokens, threads, runs):
    """The same load on llama.cpp's server code with CLIENTS parallel slots (continuous batching), in process."""
    import xllamacpp
    params = xllamacpp.CommonParams()
    params.model.path = model
    params.n_parallel = clients
    params.n_ctx = clients * (tokens + 64)
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.warmup = True
    server = xllamacpp.Server(params)

    def one(_port, prompt, n, out, index):
        start = time.perf_counter()
        answer = server.handle_completions({"prompt": prompt, "n_predict": n, "temperature": 0, "ignore_eos": True,
                                            "cache_prompt": False, "samplers": ["top_k"], "top_k": 1})
        answer = json.loads(answer) if isinstance(answer, str) else answer
        timings = answer["timings"]
        out[index] = (start, start + timings["prompt_ms"] / 1e3, time.perf_counter(), timings["predicted_n"])

    return [load(0, clients, tokens, runner=one)[0] for _ in range(runs)]


def serve(args, model, port, *extra):
    process = subprocess.Popen([args.rotary, "serve", "--model", model, "--port", str(port), "--log-level", "warning",
                                "--compute-threads", str(args.threads), "--max-batch-sequences", str(args.clients), *extra],
                               stderr=subprocess.DEVNULL)
    wait_up(port, process)
    return process


def measure(args, model):
    """One model: Rotary's one-client and CLIENTS-client rates (interleaved rounds, medians), the prompt-side loads,
    then llama.cpp's rate."""
    name = os.path.basename(model)
    process = serve(args, model, args.port)
    plain = None
    try:
        load(args.port, 1, 8)   # warm up
        ones, manys = [], []
        for _ in range(args.runs):
            ones.append(load(args.port, 1, args.tokens)[0])
            manys.append(load(args.port, args.clients, args.tokens)[0])
        alone, loaded, long_tokens = prompt_load.time_to_first_token(args.port)
        plain = serve(args, model, args.port + 1, "--prefix-cache", "false")
        items = prompt_load.choice_items(args.corpus, args.port)
        prompt_load.multiple_choice(args.port, args.port + 1, items[:2])   # warm up both (a fresh cache for the rest)
        cached_s, plain_s = prompt_load.multiple_choice(args.port, args.port + 1, items[2:] + items[:2])
    finally:
        for p in (process, plain):
            if p:
                p.terminate()
                p.wait()
    one, many = statistics.median(ones), statistics.median(manys)
    print(f"RESULT name=batching model={name} clients={args.clients} tokens={args.tokens} one_tps={one:.1f} "
          f"many_tps={many:.1f} ratio={many / one:.2f}", flush=True)
    print(f"RESULT name=first_token model={name} long_prompt_tokens={long_tokens} alone_ms={alone * 1e3:.1f} "
          f"while_long_ms={loaded * 1e3:.1f} ratio={loaded / alone:.2f}", flush=True)
    print(f"RESULT name=multiple_choice model={name} items={len(items)} cached_s={cached_s:.2f} plain_s={plain_s:.2f} "
          f"ratio={plain_s / cached_s:.2f}", flush=True)
    prompts = (alone, loaded, long_tokens, len(items), cached_s, plain_s)
    llama = None
    if not args.no_llamacpp:
        # In a child: the in-process server's teardown is slow and its threads outlive the answers.
        code = (f"import sys; sys.path.insert(0, {os.path.dirname(os.path.abspath(__file__))!r}); import batching, statistics; "
                f"r = batching.llamacpp_load({model!r}, {args.clients}, {args.tokens}, {args.threads}, {args.runs}); "
                f"print('LLAMA', statistics.median(r), flush=True); import os; os._exit(0)")
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
        line = [l for l in result.stdout.splitlines() if l.startswith("LLAMA ")]
        if not line:
            sys.exit(f"llama.cpp's load failed: {result.stderr[-2000:]}")
        llama = float(line[0].split()[1])
        print(f"RESULT name=batching_llamacpp model={name} clients={args.clients} tokens={args.tokens} "
              f"llamacpp_tps={llama:.1f} rotary_tps={many:.1f} ratio={many / llama:.2f}", flush=True)
    return name, one, many, llama, prompts


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("rotary")
    parser.add_argument("models", nargs="+")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--port", type=int, default=18191)
    parser.add_argument("--corpus", default=".build-data/kjv.txt")
    parser.add_argument("--no-llamacpp", action="store_true")
    parser.add_argument("--publish", action="store_true", help="write the batching section of BENCHMARKS.md")
    args = parser.parse_args()
    results = [measure(args, model) for model in args.models]
    if not args.publish:
        return
    from benchmarks_section import publish
    rows, prompt_rows, checks = [], [], {}
    for name, one, many, llama, (alone, loaded, long_tokens, items, cached_s, plain_s) in results:
        versus = f"{llama:.0f} | **{many / llama:.2f}×**" if llama else "— | —"
        rows.append(f"| {name} | {one:.0f} | {many:.0f} | **{many / one:.2f}×** | {versus} |")
        prompt_rows.append(f"| {name} | {alone * 1e3:.1f} | {long_tokens} | {loaded * 1e3:.1f} | **{loaded / alone:.2f}×** | "
                           f"{items} × 4 | {plain_s:.2f} | {cached_s:.2f} | **{plain_s / cached_s:.2f}×** |")
        checks[f"{name}: {args.clients} clients ≥ 3× one client's tokens/s"] = many / one >= 3
        if llama:
            checks[f"{name}: {args.clients} clients ≥ 1.0× llama.cpp -np {args.clients}"] = many / llama >= 1.0
        checks[f"{name}: first token while a long prompt is read ≤ 2× alone"] = loaded / alone <= 2
        checks[f"{name}: multiple choice with the prefix cache ≥ 2.5× without"] = plain_s / cached_s >= 2.5
    section = f"""
## Continuous batching: {args.clients} concurrent clients, 2 threads

`scripts/bench/batching.py`: {args.clients} streaming `/generate` clients at once ({args.tokens} greedy tokens each, EOS
ignored, different prompts) against one client alone, aggregate decode tokens/s over the wall time, the two loads
alternating for {args.runs} rounds (medians); then the same {args.clients}-client load on llama.cpp's server code with
`-np {args.clients}` (xllamacpp, in process, the same file, greedy, EOS ignored), measured after Rotary's rounds.
Each sequence's numbers are the ones it gets alone (`scripts/models/batch_check.py`, in `make test`).

| file | one client tokens/s | {args.clients} clients tokens/s | ratio (target ≥ 3) | llama.cpp -np {args.clients} tokens/s | ratio (target ≥ 1.0) |
| --- | --- | --- | --- | --- | --- |
""" + "\n".join(rows) + f"""

`scripts/bench/prompt_load.py`, on the same servers: a short streaming request's time to first token (median of 7)
alone, and while another request's long prompt is being read (prompts are read in chunks of `--prompt-chunk-tokens`,
8, the prompt with the fewest tokens left first; the shipped model reads its longest, 4 × its context, under a
linear RoPE stretch). Then lm-evaluation-harness's multiple-choice load: KJV contexts of consecutive verses (about
240 tokens, less where the model's context is shorter), each sent once per choice (the next verse's first 8 words,
and three other verses') as `/v1/completions` with `echo`, `logprobs` 1 and `max_tokens` 1 as the harness's
`local-completions` model asks, one request at a time, items alternating between a server with the prefix cache and
one started with `--prefix-cache false` — every answer byte for byte the same on both.

| file | first token alone ms | long prompt tokens | first token while it is read ms | ratio (target ≤ 2) | multiple choice | without prefix cache s | with s | speed-up (target ≥ 2.5) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- |
""" + "\n".join(prompt_rows) + "\n"
    publish("batching", section, checks)


if __name__ == "__main__":
    main()
