-- wrk -s post_body.lua URL -- BODY_FILE CONTENT_TYPE [ACCEPT]: posts the file's bytes, averages the
-- server-side time from each response's Server-Timing header, prints one RESULT line.
server_us, timed = 0, 0  -- globals, so done() can read them from each thread
local threads = {}

function setup(thread) table.insert(threads, thread) end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.method = "POST"
  wrk.body = file:read("*a")
  file:close()
  wrk.headers["Content-Type"] = args[2]
  if args[3] then wrk.headers["Accept"] = args[3] end
end

function response(status, headers, body)
  local timing = headers["Server-Timing"] or headers["server-timing"]
  if timing then
    local ms = tonumber(string.match(timing, "dur=([%d%.]+)"))
    if ms then server_us = server_us + ms * 1000; timed = timed + 1 end
  end
end

function done(summary, latency, requests)
  local total_us, total_n = 0, 0
  for _, thread in ipairs(threads) do
    total_us = total_us + (thread:get("server_us") or 0)
    total_n = total_n + (thread:get("timed") or 0)
  end
  local secs = summary.duration / 1e6
  io.write(string.format("RESULT rps=%.1f p50_us=%d p99_us=%d server_us=%.1f reqs=%d errors=%d non2xx=%d\n",
    summary.requests / secs, latency:percentile(50), latency:percentile(99),
    total_n > 0 and total_us / total_n or -1, summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, summary.errors.status))
end
