#!/usr/bin/env bash
# make test: schemathesis holds a live server (the tiny fixture model) to openapi.yaml with every check.
# Usage: contract_check.sh ROTARY_BINARY MODEL.gguf   (CONTRACT_EXAMPLES per operation, default 50; CONTRACT_SEED, default 1)
# Settings that schemathesis cannot read from the spec (the cross-field rules it cannot express) are in
# schemathesis.toml at the top of the repository, each with its reason.
set -euo pipefail
binary=$(realpath "$1")
model=$(realpath "$2")
cd "$(dirname "$0")/.."   # schemathesis.toml is read from the working directory
examples=${CONTRACT_EXAMPLES:-50}
seed=${CONTRACT_SEED:-1}

source scripts/lib.sh
port=$(free_port)
# The tiny model has no chat template of its own: /v1/chat/completions runs with a test template in its tokens.
"$binary" serve --port "$port" --model "$model" --chat-template scripts/templates/test-chat-template.jinja --log-level warning &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
wait_up "$port"

# The file in the repository, not the copy the server serves: the test is that the server matches the file.
python3 -m schemathesis.cli run openapi.yaml --url "http://127.0.0.1:$port" --checks all --max-examples "$examples" --seed "$seed" \
  --request-timeout 30 --no-color
# The server survived all of it, and its metrics (after all that traffic, odd methods included) parse with
# the Prometheus reference parser.
curl -fsS "http://127.0.0.1:$port/health" >/dev/null
python3 scripts/metrics_check.py "http://127.0.0.1:$port"
