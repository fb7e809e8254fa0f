"""POST /generate N times (32 greedy tokens), sequentially, on one keep-alive connection; prints p50/p99
latency in milliseconds as a RESULT line. Usage: generate_latency.py PORT PROMPT TOKENS REQUESTS"""
import http.client
import json
import sys
import time

port, prompt, tokens, requests = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
body = json.dumps({"prompt": prompt, "max_tokens": tokens, "temperature": 0})
connection = http.client.HTTPConnection("127.0.0.1", port)
times = []
for _ in range(requests + 3):
    start = time.perf_counter()
    connection.request("POST", "/generate", body, {"Content-Type": "application/json"})
    reply = connection.getresponse()
    data = reply.read()
    times.append(time.perf_counter() - start)
    assert reply.status == 200, data
times = sorted(times[3:])  # the first three warm up
print(f"RESULT name=generate_http p50_ms={times[len(times) // 2] * 1e3:.3f} p99_ms={times[min(len(times) - 1, int(len(times) * 0.99))] * 1e3:.3f}")
