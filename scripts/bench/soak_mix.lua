-- wrk -s soak_mix.lua URL: cycles /rotate, /attention and /generate requests and counts answers by class;
-- prints one RESULT line. The deliberate overload answer (429) is counted apart from other 4xx.
local bodies = {
  {"/rotate", '{"vectors": [[0.5, -0.25, 1.0, 2.0, 0.1, 0.2, 0.3, 0.4], [0.125, -1.0, 3.0, 0.75, 1, 1, 1, 1]],'
    .. ' "positions": [3, 500], "rope": {"rope_type": "yarn", "factor": 4, "original_max_position_embeddings": 64}}'},
  {"/attention", '{"queries": [[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0]], "keys": [[1, 0, 0, 1], [0, 1, 1, 0], [1, 1, 0, 0]],'
    .. ' "values": [[1, 2], [3, 4], [5, 6]], "causal": true, "return": ["weights", "output"]}'},
  {"/generate", '{"prompt": "In the beginning", "max_tokens": 4, "temperature": 0.8, "seed": 7, "logprobs": 3}'},
}
ok, throttled, client_errors, server_errors, next_body = 0, 0, 0, 0, 0
local threads = {}

function setup(thread) table.insert(threads, thread) end

function request()
  next_body = next_body % #bodies + 1
  local path, body = bodies[next_body][1], bodies[next_body][2]
  return wrk.format("POST", path, {["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  if status < 300 then ok = ok + 1
  elseif status == 429 then throttled = throttled + 1
  elseif status < 500 then client_errors = client_errors + 1
  else server_errors = server_errors + 1 end
end

function done(summary, latency, requests)
  local totals = {ok = 0, throttled = 0, client_errors = 0, server_errors = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do totals[name] = totals[name] + (thread:get(name) or 0) end
  end
  local e = summary.errors
  io.write(string.format("RESULT reqs=%d rps=%.1f p50_us=%d p99_us=%d socket_errors=%d ok=%d throttled=%d client_errors=%d server_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, totals.ok, totals.throttled, totals.client_errors, totals.server_errors))
end
