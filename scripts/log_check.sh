#!/usr/bin/env bash
# make test: the log of `rotary serve` at its default level reads in order. Request lines are batched per
# server thread, other lines go out at once after everything pending; so after requests and a SIGTERM,
# the log must hold the start lines, one line per request, then the drain and stop lines, in that order.
# Usage: log_check.sh ROTARY_BINARY MODEL.gguf
set -euo pipefail
binary=$1 model=$2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
source "$(dirname "$0")/lib.sh"
port=$(free_port)
"$binary" serve --port "$port" --model "$model" 2>"$log" &
server=$!
wait_up "$port"
# Forty requests over eight parallel connections, so both server threads log some; SIGTERM right after.
seq 40 | xargs -P 8 -I{} curl -fsS -o /dev/null -H 'X-Request-Id: check-{}' "http://127.0.0.1:$port/health"
kill -TERM "$server"
wait "$server"
python3 - "$log" <<'PY'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
def index(pattern):
    return next(i for i, line in enumerate(lines) if re.search(pattern, line))
listening, draining, stopped = index(r"listening on "), index(r"signal received"), index(r": stopped$")
requests = [i for i, line in enumerate(lines) if re.search(r": check-\d+ GET /health 200 ", line)]
ok = len(requests) == 40 and listening < min(requests) and max(requests) < draining < stopped == len(lines) - 1
print(("ok  " if ok else "FAIL"), f"log order: listening at {listening}, {len(requests)} request lines "
      f"{min(requests, default=-1)}..{max(requests, default=-1)}, drain at {draining}, stop at {stopped} of {len(lines)}")
sys.exit(0 if ok else 1)
PY
