"""make test: /v1/chat/completions on SmolLM2-135M-Instruct, against llama.cpp's server on the same file.

Usage: chat_check.py ROTARY_BINARY

1. /apply-template: Rotary's formatted prompt is llama.cpp's (its --jinja rendering of the GGUF's own template,
   which inserts a default system prompt when none is given), and its tokens are llama.cpp's tokens of that prompt.
2. The `openai` package's chat.completions.create against Rotary, plain and with stream=True: the streamed deltas
   concatenate to the plain reply, the finish reasons agree, the usage counts the prompt's tokens.
3. The greedy reply equals llama.cpp's own /v1/chat/completions reply, under agreement_check.py's rule: identical,
   or first different at a step where llama.cpp's top-1 leads its second by at most MARGIN nat (a near tie that
   either side's rounding may break).
4. A user who types `<|im_end|>` does not end the turn: the prompt's tokens have the im_end id only where the
   template writes it (llama.cpp reads the typed one as the control token: printed, not required).
5. The shipped model has no chat template: 400 no_chat_template; with --chat-template FILE it chats; a template file
   that cannot be read stops the server at start-up.
"""
import json
import os
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from agreement_check import MARGIN   # noqa: E402
from llamacpp_run import LlamaCpp   # noqa: E402
from rotary_server import served   # noqa: E402

import numpy as np   # noqa: E402
import openai   # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path(os.environ.get("ROTARY_MODELS", ROOT / ".build-models")) / "SmolLM2-135M-Instruct.Q4_1.gguf"
REPLY_TOKENS = 24
CONVERSATIONS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "system", "content": "You are a helpful assistant who answers in one sentence."},
     {"role": "user", "content": "Why is the sky blue?"}],
    [{"role": "user", "content": "Name a color."}, {"role": "assistant", "content": "Blue."},
     {"role": "user", "content": "Another one?"}],
]


def post(base, path, body):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def check_model(binary):
    failures = []
    with served(binary, MODEL) as port, LlamaCpp(str(MODEL), threads=1, context=1024) as llm:
        rotary = f"http://127.0.0.1:{port}"
        client = openai.OpenAI(base_url=rotary + "/v1", api_key="unused")
        for messages in CONVERSATIONS:
            label = messages[-1]["content"]
            _, ours = post(rotary, "/apply-template", {"messages": messages})
            theirs = llm._post("/apply-template", {"messages": messages})
            assert ours["prompt"] == theirs["prompt"], f"{label}: formatted prompts differ:\n{ours['prompt']!r}\n{theirs['prompt']!r}"
            their_tokens = llm.tokenize(ours["prompt"])
            assert ours["tokens"] == their_tokens, f"{label}: prompt tokens differ: {ours['tokens']} vs {their_tokens}"

            plain = client.chat.completions.create(model="smollm2", messages=messages, max_tokens=REPLY_TOKENS, temperature=0)
            chunks = list(client.chat.completions.create(model="smollm2", messages=messages, max_tokens=REPLY_TOKENS,
                                                         temperature=0, stream=True))
            streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
            reply = plain.choices[0].message.content
            assert streamed == reply, f"{label}: streamed {streamed!r} vs plain {reply!r}"
            assert chunks[-1].choices[0].finish_reason == plain.choices[0].finish_reason
            assert plain.usage.prompt_tokens == len(ours["tokens"]), (plain.usage, len(ours["tokens"]))

            their_reply = llm._post("/v1/chat/completions", {"messages": messages, "max_tokens": REPLY_TOKENS,
                                                              "temperature": 0})["choices"][0]["message"]["content"]
            verdict = "identical"
            if reply != their_reply:
                _, generated = post(rotary, "/generate", {"prompt": ours["tokens"], "max_tokens": REPLY_TOKENS, "temperature": 0})
                our_ids = [t["id"] for t in generated["tokens"]]
                their_ids = llm.greedy(ours["tokens"], len(our_ids))
                first = next((i for i, (a, b) in enumerate(zip(our_ids, their_ids)) if a != b), None)
                if first is None:
                    verdict = f"same tokens, texts differ ({reply!r} vs {their_reply!r})"
                    failures.append(label)
                else:
                    step = np.sort(np.nan_to_num(llm.next_logprobs(ours["tokens"] + their_ids[:first], top_k=2), nan=-np.inf))
                    lead = float(step[-1] - step[-2])
                    verdict = f"differs at step {first}, where llama.cpp's top-1 leads by {lead:.3f} nat"
                    if lead > MARGIN:
                        verdict += " FAIL"
                        failures.append(label)
            print(f"  chat {label!r}: {reply!r} — llama.cpp {their_reply!r}: {verdict}")

        typed = [{"role": "user", "content": "Say <|im_end|> twice: <|im_end|>"}]
        _, ours = post(rotary, "/apply-template", {"messages": typed})
        end = llm.tokenize("<|im_end|>", add_special=False)
        assert len(end) == 1, end
        template_ends = ours["prompt"].count("<|im_end|>") - 2
        assert ours["tokens"].count(end[0]) == template_ends, (ours["tokens"].count(end[0]), template_ends)
        theirs = llm.tokenize(ours["prompt"])
        print(f"  typed <|im_end|>: Rotary's prompt has the im_end id {template_ends} times (the template's), "
              f"llama.cpp's tokens of the same prompt {theirs.count(end[0])} times")
    return failures


def check_bad_template(binary):
    """A --chat-template that cannot be read stops the server at start-up, naming the file and the construct."""
    with tempfile.NamedTemporaryFile("w", suffix=".jinja") as template:
        template.write("{% include 'other.jinja' %}")
        template.flush()
        run = subprocess.run([binary, "serve", "--port", "0", "--model", "none", "--chat-template", template.name],
                             capture_output=True, text=True, timeout=60)
        assert run.returncode != 0 and "'include'" in run.stderr and template.name in run.stderr, (run.returncode, run.stderr[-500:])
    run = subprocess.run([binary, "serve", "--port", "0", "--model", "none", "--chat-template", "/nonexistent.jinja"],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode != 0 and "/nonexistent.jinja" in run.stderr, run.stderr[-500:]
    print("  --chat-template: an unreadable file or an unsupported construct stops the server at start-up, named")


def check_shipped(binary):
    with served(binary) as port:
        base = f"http://127.0.0.1:{port}"
        status, answer = post(base, "/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]})
        assert status == 400 and answer["error"]["type"] == "no_chat_template", (status, answer)
    with tempfile.NamedTemporaryFile("w", suffix=".jinja") as template:
        template.write("{% for m in messages %}{{ m.content }}\n{% endfor %}{% if add_generation_prompt %}And {% endif %}")
        template.flush()
        with served(binary, extra=["--chat-template", template.name]) as port:
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="unused")
            reply = client.chat.completions.create(model="rotary", messages=[{"role": "user", "content": "In the beginning"}],
                                                   max_tokens=8, temperature=0)
            assert reply.choices[0].message.content, reply
            print(f"  shipped model: 400 no_chat_template; with --chat-template: {reply.choices[0].message.content!r}")


def main():
    binary = sys.argv[1]
    failures = check_model(binary)
    check_shipped(binary)
    check_bad_template(binary)
    if failures:
        sys.exit("chat check failed: " + ", ".join(failures))
    print("chat check: ok")


if __name__ == "__main__":
    main()
