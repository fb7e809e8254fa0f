"""The two prompt-side loads of the batching section (imported by batching.py):

- first-token latency of a short streaming request alone, and while a long prompt (1,000 tokens, or what the
  model may read: its max_eval_context) is being read by another request — chunked prompts mean it waits for one
  chunk, not the whole prompt;
- lm-evaluation-harness's multiple-choice load: ITEMS KJV contexts (consecutive verses, about CONTEXT tokens), each
  sent once per choice (the next verse's beginning and three from elsewhere) as `/v1/completions` with echo,
  `logprobs` 1 and `max_tokens` 1, exactly as the harness's `local-completions` model asks — on a server with the
  prefix cache and one without, item by item alternately; the answers must be byte for byte the same."""
import http.client
import json
import statistics
import threading
import time


def post(port, path, body, timeout=600):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    connection.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    reply = connection.getresponse()
    data = reply.read()
    assert reply.status == 200, (reply.status, data[:500])
    return json.loads(data)


def metric(port, series):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/metrics")
    for line in connection.getresponse().read().decode().splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return None


def first_token_seconds(port, prompt):
    """A streaming /generate of 4 tokens: seconds from sending to its first token, and the monotonic time then."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    body = json.dumps({"prompt": prompt, "max_tokens": 4, "temperature": 0, "stream": True, "ignore_eos": True})
    start = time.perf_counter()
    connection.request("POST", "/generate", body, {"Content-Type": "application/json"})
    reply = connection.getresponse()
    assert reply.status == 200, reply.read()
    buffer = b""
    while b'data: {"text"' not in buffer:
        chunk = reply.read1(65536)
        assert chunk, "the stream ended before a token"
        buffer += chunk
    first = time.perf_counter()
    reply.read()
    return first - start, first


def long_prompt(port, trial):
    """About 1,000 tokens of words, different per trial (so that no kept block serves it), and the RoPE that lets
    the model read it (a linear stretch where its context is shorter)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/v1/model")
    info = json.loads(connection.getresponse().read())
    context, most = info["context_length"], info["max_eval_context"]
    target = min(1000, most - 8)
    words = "and the king said unto them go ye and see what the lord hath done for his people".split()
    text = f"{trial} " + " ".join(words[(i * 7 + trial) % len(words)] for i in range(target))
    tokens = post(port, "/tokenize", {"prompt": text})["tokens"]
    while len(tokens) > target:
        text = text[: int(len(text) * target / len(tokens))]
        tokens = post(port, "/tokenize", {"prompt": text})["tokens"]
    body = {"prompt": text, "max_tokens": 1, "temperature": 0}
    if len(tokens) + 1 > context:
        body["rope"] = {"rope_type": "linear", "factor": -(-(len(tokens) + 1) // context)}
    return body, len(tokens)


def time_to_first_token(port, trials=7):
    """Median first-token seconds of a short request alone and while a long prompt is read; the long prompt's length."""
    alone, loaded, length = [], [], 0
    for trial in range(trials):
        alone.append(first_token_seconds(port, f"{trial}: The quick brown fox jumps over the lazy dog")[0])
        body, length = long_prompt(port, trial)
        done = {}

        def read_long():
            post(port, "/generate", body)
            done["at"] = time.perf_counter()

        reader = threading.Thread(target=read_long)
        reader.start()
        while metric(port, "rotary_model_step_tokens_count") is None or not metric(port, 'rotary_model_sequences{state="running"}'):
            time.sleep(0.001)
        time.sleep(0.02 * (trial % 3))   # land at different points of a chunk
        seconds, first = first_token_seconds(port, f"{trial}: The quick brown fox jumps over the lazy dog")
        reader.join()
        assert done["at"] > first, "the long prompt was read before the short request's first token: not a loaded trial"
        loaded.append(seconds)
    return statistics.median(alone), statistics.median(loaded), length


def choice_items(corpus, port, items=40, context=240):
    """ITEMS (context, [right, wrong, wrong, wrong]) from KJV verses; contexts of about `context` tokens (less when
    the model's context is shorter)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", "/v1/model")
    limit = min(context, json.loads(connection.getresponse().read())["context_length"] - 32)
    verses = [v.strip() for v in open(corpus, encoding="utf-8") if v.strip()]
    out = []
    for i in range(items):
        start = 100 + i * (len(verses) - 200) // items
        text, k = verses[start], start + 1
        while len(post(port, "/tokenize", {"prompt": text + " " + verses[k]})["tokens"]) <= limit:
            text += " " + verses[k]
            k += 1
        def opening(verse):
            return " " + " ".join(verse.split()[:8])
        wrong = [verses[(k + 5000 * j) % len(verses)] for j in (1, 2, 3)]
        out.append((text, [opening(verses[k])] + [opening(w) for w in wrong]))
    return out


def multiple_choice(cached_port, plain_port, items):
    """Seconds for the whole load on each server (items alternate between them), after checking the answers agree."""
    seconds = {cached_port: 0.0, plain_port: 0.0}
    for n, (context, choices) in enumerate(items):
        answers = {}
        for port in ((cached_port, plain_port) if n % 2 else (plain_port, cached_port)):
            start = time.perf_counter()
            answers[port] = []
            for choice in choices:
                reply = post(port, "/v1/completions", {"model": "rotary", "prompt": context + choice, "max_tokens": 1,
                                                       "temperature": 0, "logprobs": 1, "echo": True, "seed": 1234})
                answers[port].append(reply["choices"][0])
            seconds[port] += time.perf_counter() - start
        assert answers[cached_port] == answers[plain_port], f"item {n}: the prefix cache changed an answer"
    return seconds[cached_port], seconds[plain_port]
