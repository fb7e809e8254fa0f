"""make test (from contract_check.sh): GET /metrics parses with the Prometheus reference parser
(prometheus_client) and holds the families the spec documents, with values that match the traffic it has
seen. Usage: metrics_check.py BASE_URL"""
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

base = sys.argv[1]
urllib.request.urlopen(base + "/health").read()
text = urllib.request.urlopen(base + "/metrics").read().decode()
families = {family.name: family for family in text_string_to_metric_families(text)}
failures = []

def expect(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)

expected = {"rotary_http_requests": "counter", "rotary_http_request_duration_seconds": "histogram",
            "rotary_model_queue_depth": "gauge", "rotary_model_tokens": "counter"}
for name, kind in expected.items():
    expect(name in families and families[name].type == kind, f"{name} is a {kind}")

requests = families.get("rotary_http_requests")
health = [s.value for s in (requests.samples if requests else [])
          if s.name == "rotary_http_requests_total" and s.labels.get("path") == "/health"
          and s.labels.get("method") == "GET" and s.labels.get("status") == "200"]
expect(health and health[0] >= 1, "GET /health 200 is counted")
latency = families.get("rotary_http_request_duration_seconds")
buckets = [s for s in (latency.samples if latency else []) if s.name.endswith("_bucket") and s.labels.get("path") == "/health"]
counts = [s.value for s in buckets]
expect(bool(buckets) and counts == sorted(counts) and buckets[-1].labels.get("le") == "+Inf",
       "the /health histogram's buckets are cumulative and end at +Inf")
methods = {s.labels.get("method") for s in (requests.samples if requests else [])}
expect(methods <= {"GET", "POST", "HEAD", "OPTIONS", "PUT", "DELETE", "PATCH", "OTHER"},
       f"method labels stay within the bounded set ({sorted(methods)})")
print(f"{len(families)} families, {len(failures)} failed")
sys.exit(1 if failures else 0)
