#!/usr/bin/env bash
# Builds llama-cpp-python 0.3.36 (llama.cpp compiled on this machine) into .build-bench/venv, once.
# Prints the venv's python, or exits 1 when it cannot be built.
set -uo pipefail
venv=${1:-.build-bench/venv}
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import llama_cpp" 2>/dev/null; then echo "$venv/bin/python"; exit 0; fi
echo "building llama-cpp-python into $venv (once; several minutes)" >&2
dpkg -s cmake >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cmake) >&2
python3 -m venv "$venv" >&2 && CMAKE_ARGS="-DGGML_NATIVE=ON" "$venv/bin/pip" install -q llama-cpp-python==0.3.36 numpy >&2 || exit 1
echo "$venv/bin/python"
