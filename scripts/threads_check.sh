#!/usr/bin/env bash
# make test: the compute thread count follows the CPUs the process may use, and the model answers the same
# greedy text whatever the count. Servers: automatic; --compute-threads 1; taskset -c 0; sysconf made to report
# 8 cores (an LD_PRELOAD shim: the count must still come from the affinity mask); --compute-threads 5 (more
# threads than CPUs). Usage: threads_check.sh ROTARY_BINARY MODEL.gguf
set -euo pipefail
binary=$1 model=$2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
source "$(dirname "$0")/lib.sh"
cc -shared -fPIC -O2 -o "$work/sysconf_cores.so" "$(dirname "$0")/threads/sysconf_cores.c" -ldl
cpus=$(python3 -c 'import os; print(len(os.sched_getaffinity(0)))')
failures=0

# check NAME EXPECTED_COUNT EXPECTED_AVAILABLE COMMAND...: starts COMMAND --port P --model M, reads /v1/model,
# generates.
check() {
  local name=$1 count=$2 available=$3; shift 3
  local port; port=$(free_port)
  "$@" --port "$port" --model "$model" --log-level warning 2>"$work/$name.log" &
  local server=$!
  wait_up "$port"
  curl -fsS "http://127.0.0.1:$port/v1/model" >"$work/$name.model"
  curl -fsS "http://127.0.0.1:$port/generate" -H 'Content-Type: application/json' \
    -d '{"prompt": "In the beginning", "max_tokens": 24, "temperature": 0}' >"$work/$name.generate"
  kill -TERM "$server"; wait "$server" || true
  python3 - "$work" "$name" "$count" "$available" <<'PY' || failures=$((failures + 1))
import json, sys
work, name, count, available = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
threads = json.load(open(f"{work}/{name}.model"))["compute_threads"]
text = json.load(open(f"{work}/{name}.generate"))["text"]
reference = open(f"{work}/automatic.text").read() if name != "automatic" else text
if name == "automatic":
    open(f"{work}/automatic.text", "w").write(text)
ok = threads["count"] == count and threads["available_cpus"] == available and text == reference and len(text) > 0
print(("ok  " if ok else "FAIL"), f"{name}: {threads['count']} threads of {threads['available_cpus']} CPUs "
      f"(expected {count} of {available}; {threads['reason']}); greedy text {'equal' if text == reference else 'DIFFERS'}")
sys.exit(0 if ok else 1)
PY
}

check automatic "$cpus" "$cpus" "$binary" serve
check one-thread 1 "$cpus" "$binary" serve --compute-threads 1
check taskset 1 1 taskset -c 0 "$binary" serve
check sysconf-8 "$cpus" "$cpus" env LD_PRELOAD="$work/sysconf_cores.so" SYSCONF_CORES=8 "$binary" serve
check five-threads 5 "$cpus" "$binary" serve --compute-threads 5
# A negative count and an unparsable environment value are refused at start, naming the setting.
for bad in "--compute-threads -1" "ENV=abc"; do
  if [ "$bad" = ENV=abc ]; then out=$(ROTARY_COMPUTE_THREADS=abc "$binary" serve --port 0 2>&1) && rc=0 || rc=$?
  else out=$("$binary" serve --port 0 $bad 2>&1) && rc=0 || rc=$?; fi
  if [ "$rc" -ne 0 ] && echo "$out" | grep -qiE "compute-threads|ROTARY_COMPUTE_THREADS"; then echo "ok   refused: $bad"
  else echo "FAIL $bad: rc $rc, $out"; failures=$((failures + 1)); fi
done
# The shim really reports 8: otherwise the sysconf-8 line above proves nothing.
shimmed=$(LD_PRELOAD="$work/sysconf_cores.so" SYSCONF_CORES=8 getconf _NPROCESSORS_ONLN)
[ "$shimmed" = 8 ] && echo "ok   the shim makes sysconf report $shimmed cores" || { echo "FAIL shim reports $shimmed"; failures=$((failures + 1)); }
exit "$failures"
