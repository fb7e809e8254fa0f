"""make test: the `openai` package against a live Rotary serving the tiny fixture model.
Checks that client.completions.create(echo=True, logprobs=1, max_tokens=1) parses and that its
prompt-token log-probabilities equal /generate's echo log-probabilities, for a string prompt, a list
of prompts and token-id prompts; and that a streamed completion (stream=True) arrives as chunks the client
parses, whose texts join to the non-streamed text. Usage: openai_check.py ROTARY_BINARY MODEL.gguf"""
import json
import socket
import subprocess
import sys
import time
import urllib.request

import openai

binary, model = sys.argv[1], sys.argv[2]
with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = subprocess.Popen([binary, "serve", "--port", str(port), "--model", model, "--log-level", "warning"])
base = f"http://127.0.0.1:{port}"
try:
    for _ in range(100):
        try:
            urllib.request.urlopen(base + "/health", timeout=1)
            break
        except OSError:
            time.sleep(0.1)

    def post(path, body):
        request = urllib.request.Request(base + path, json.dumps(body).encode(), {"Content-Type": "application/json"})
        return json.load(urllib.request.urlopen(request))

    def echo_logprobs(prompt):
        """/generate's echo log-probabilities of the prompt's own tokens (BOS dropped when added)."""
        scored = post("/generate", {"prompt": prompt, "max_tokens": 0, "echo": True})["prompt_tokens"]
        return [t["logprob"] for t in (scored[1:] if isinstance(prompt, str) else scored)]

    # No API key is configured: any bearer token, even an empty one, is accepted.
    client = openai.OpenAI(base_url=base + "/v1", api_key="EMPTY")
    failures = 0
    bare = urllib.request.Request(base + "/v1/completions", json.dumps({"prompt": "Hi", "max_tokens": 1}).encode(),
                                  {"Content-Type": "application/json", "Authorization": "Bearer "})
    empty_ok = json.load(urllib.request.urlopen(bare))["object"] == "text_completion"
    print(("ok  " if empty_ok else "FAIL"), "empty Authorization: Bearer header")
    failures += 0 if empty_ok else 1

    def check(prompt, choice, label):
        global failures
        own = echo_logprobs(prompt)
        got = choice.logprobs.token_logprobs[: len(own)]
        ok = all((a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-6) for a, b in zip(got, own))
        ok = ok and len(choice.logprobs.tokens) == len(own) + 1 and len(choice.logprobs.text_offset) == len(own) + 1
        print(("ok  " if ok else "FAIL"), label, got[:4])
        failures += 0 if ok else 1

    text = "The quick brown fox jumps"
    result = client.completions.create(model="tiny", prompt=text, echo=True, logprobs=1, max_tokens=1, temperature=0)
    check(text, result.choices[0], "string prompt")
    prompts = ["Hello world", "Once upon a time"]
    result = client.completions.create(model="tiny", prompt=prompts, echo=True, logprobs=1, max_tokens=1, temperature=0)
    for prompt, choice in zip(prompts, sorted(result.choices, key=lambda c: c.index)):
        check(prompt, choice, f"list prompt {prompt!r}")
    ids = post("/tokenize", {"prompt": text, "add_special_tokens": False})["tokens"]
    result = client.completions.create(model="tiny", prompt=ids, echo=True, logprobs=1, max_tokens=1, temperature=0)
    check(ids, result.choices[0], "token-id prompt")
    result = client.completions.create(model="tiny", prompt=[ids, ids[:3]], echo=True, logprobs=1, max_tokens=1, temperature=0)
    for prompt, choice in zip([ids, ids[:3]], sorted(result.choices, key=lambda c: c.index)):
        check(prompt, choice, f"token-id list prompt of {len(prompt)}")
    # Streaming: the client's own Server-Sent Events parser, chunk by chunk.
    whole = client.completions.create(model="tiny", prompt=text, max_tokens=12, temperature=0)
    chunks = list(client.completions.create(model="tiny", prompt=text, max_tokens=12, temperature=0, stream=True))
    joined = "".join(chunk.choices[0].text for chunk in chunks)
    streamed_ok = (len(chunks) > 2 and joined == whole.choices[0].text
                   and chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason)
    print(("ok  " if streamed_ok else "FAIL"), f"stream=True: {len(chunks)} chunks join to {joined!r}")
    failures += 0 if streamed_ok else 1
    print(f"{7 - failures} passed, {failures} failed")
    sys.exit(1 if failures else 0)
finally:
    server.terminate()
    server.wait(timeout=10)
