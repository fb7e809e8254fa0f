"""POST /generate N times (32 greedy tokens), sequentially, on one keep-alive connection; prints p50/p99
latency in milliseconds and the median HTTP + JSON overhead per request: the client's latency minus the
model time the same request reports in `timings` (prompt_ms + generate_ms), which does not drift with
the machine's load the way two separate runs do. Usage: generate_latency.py PORT PROMPT TOKENS REQUESTS"""
import http.client
import json
import sys
import time

port, prompt, tokens, requests = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
body = json.dumps({"prompt": prompt, "max_tokens": tokens, "temperature": 0})
connection = http.client.HTTPConnection("127.0.0.1", port)
times, overheads = [], []
for _ in range(requests + 3):
    start = time.perf_counter()
    connection.request("POST", "/generate", body, {"Content-Type": "application/json"})
    reply = connection.getresponse()
    data = reply.read()
    elapsed = time.perf_counter() - start
    assert reply.status == 200, data
    timings = json.loads(data)["timings"]
    times.append(elapsed)
    overheads.append(elapsed * 1e3 - timings["prompt_ms"] - timings["generate_ms"])
times, overheads = sorted(times[3:]), sorted(overheads[3:])  # the first three warm up
print(f"RESULT name=generate_http p50_ms={times[len(times) // 2] * 1e3:.3f} "
      f"p99_ms={times[min(len(times) - 1, int(len(times) * 0.99))] * 1e3:.3f} "
      f"overhead_p50_ms={overheads[len(overheads) // 2]:.3f} overhead_p99_ms={overheads[min(len(overheads) - 1, int(len(overheads) * 0.99))]:.3f}")
