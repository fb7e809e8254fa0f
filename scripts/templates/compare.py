"""Rotary's Jinja interpreter against Python's jinja2 on llama.cpp's corpus of real chat templates (`make test`).

Usage: compare.py ROTARY_BINARY TEMPLATES_DIR [--report FILE.md]

jinja2 runs as Hugging Face transformers runs chat templates (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, loop controls, the `generation` tag, `raise_exception`, `tojson` with ensure_ascii=False) with the
usual globals: `messages`, `add_generation_prompt`, `bos_token`, `eos_token`; no `tools`; and `strftime_now` (which
Hugging Face and llama.cpp both give) on a fixed date, 26 July 2024, so the renderings do not change by the day. Every conversation jinja2 renders must render byte for
byte the same in Rotary; one that jinja2 refuses (raise_exception, an undefined name, the sandbox) must be
refused by Rotary too. A template that jinja2 renders for no conversation is left out, with jinja2's reason.
"""
import argparse
import datetime
import glob
import json
import os
import subprocess
import sys

import jinja2
from jinja2 import nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

BOS, EOS = "<|bos|>", "<|eos|>"
FIXED_DATE = datetime.date(2024, 7, 26)
SPECIAL_LOOKING = "Ignore this: <|im_end|><|im_start|>assistant\n<|eot_id|><|start_header_id|>system<|end_header_id|> [INST] </s> <end_of_turn>"

CONVERSATIONS = {
    "one user turn": ([{"role": "user", "content": "Hello! What is RoPE?"}], True),
    "system and two turns": ([
        {"role": "system", "content": "You are a concise assistant."},
        {"role": "user", "content": "Name a rotary embedding variant."},
        {"role": "assistant", "content": "YaRN."},
        {"role": "user", "content": "And another?"},
    ], True),
    "no system, ends with the assistant": ([
        {"role": "user", "content": "Say hi."},
        {"role": "assistant", "content": "Hi."},
    ], False),
    "empty contents": ([
        {"role": "system", "content": ""},
        {"role": "user", "content": ""},
    ], True),
    "unicode": ([
        {"role": "user", "content": "Ünïcödé: 你好, مرحبا, emoji 🤖🌀, combining e\u0301, tab\tand\nnewline"},
    ], True),
    "text that looks like special tokens": ([
        {"role": "user", "content": SPECIAL_LOOKING},
        {"role": "assistant", "content": "<|im_end|> is only text here."},
        {"role": "user", "content": "</s><s>[/INST]"},
    ], True),
    "whitespace around contents": ([
        {"role": "system", "content": "  padded system  \n"},
        {"role": "user", "content": "\n\n  spaced question?  "},
    ], True),
    "three exchanges": ([
        {"role": "user", "content": "One?"}, {"role": "assistant", "content": "1"},
        {"role": "user", "content": "Two?"}, {"role": "assistant", "content": "2"},
        {"role": "user", "content": "Three?"}, {"role": "assistant", "content": "3"},
        {"role": "user", "content": "Four?"},
    ], True),
    "system and a turn, no generation prompt": ([
        {"role": "system", "content": "System text."},
        {"role": "user", "content": "User text."},
        {"role": "assistant", "content": "Assistant text."},
    ], False),
    "content as text parts": ([
        {"role": "user", "content": [{"type": "text", "text": "Part one."}, {"type": "text", "text": " Part two."}]},
    ], True),
}


class GenerationTag(Extension):
    """Hugging Face's `{% generation %}…{% endgeneration %}` (it marks assistant text; it renders the body)."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return nodes.CallBlock(self.call_method("_render"), [], [], body).set_lineno(lineno)

    def _render(self, caller):
        return caller()


def environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[GenerationTag, jinja2.ext.loopcontrols])

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = lambda format: FIXED_DATE.strftime(format)
    return env


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("templates")
    parser.add_argument("--report")
    args = parser.parse_args()
    files = sorted(glob.glob(os.path.join(args.templates, "*.jinja")))
    assert len(files) >= 60, f"expected llama.cpp's corpus of about 70 templates in {args.templates}, found {len(files)}"
    env = environment()
    cases, expected = [], []
    for path in files:
        try:
            template = env.from_string(open(path, encoding="utf-8").read())
        except Exception as error:   # noqa: BLE001 - any jinja2 failure leaves the template out
            template, parse_error = None, f"{type(error).__name__}: {error}"
        for name, (messages, generation_prompt) in CONVERSATIONS.items():
            context = {"messages": messages, "add_generation_prompt": generation_prompt, "bos_token": BOS, "eos_token": EOS}
            if template is None:
                result = ("error", parse_error)
            else:
                try:
                    result = ("output", template.render(**context))
                except Exception as error:   # noqa: BLE001
                    result = ("error", f"{type(error).__name__}: {error}")
            cases.append({"template": path, "context": context})
            expected.append((os.path.basename(path), name, result))
    run = subprocess.run([args.binary, "render-template", "--date", FIXED_DATE.isoformat()], input=json.dumps({"cases": cases}).encode(),
                         capture_output=True, timeout=600)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    answers = [json.loads(line) for line in run.stdout.decode().splitlines()]
    assert len(answers) == len(cases), (len(answers), len(cases))

    per_template = {}
    failures = []
    for (template, conversation, (kind, value)), answer in zip(expected, answers):
        entry = per_template.setdefault(template, {"rendered": 0, "refused": 0, "reasons": set()})
        if kind == "output":
            entry["rendered"] += 1
            if answer.get("output") != value:
                failures.append((template, conversation, value, answer))
        else:
            entry["refused"] += 1
            entry["reasons"].add(value.splitlines()[0][:160])
            if "error" not in answer:
                failures.append((template, conversation, f"jinja2 refused: {value}", answer))

    rendered = [t for t, e in per_template.items() if e["rendered"]]
    left_out = {t: e for t, e in per_template.items() if not e["rendered"]}
    compared = sum(e["rendered"] for e in per_template.values())
    lines = [f"{len(per_template)} templates × {len(CONVERSATIONS)} conversations: {compared} renderings by jinja2, "
             f"{compared - sum(1 for f in failures if not f[2].startswith('jinja2 refused'))} equal byte for byte in Rotary; "
             f"{len(rendered)} templates compared, {len(left_out)} left out."]
    for template, entry in sorted(left_out.items()):
        lines.append(f"- left out {template}: jinja2 renders none of the conversations ({'; '.join(sorted(entry['reasons']))})")
    partial = {t: e for t, e in per_template.items() if e["rendered"] and e["refused"]}
    for template, entry in sorted(partial.items()):
        lines.append(f"- {template}: {entry['refused']} of {len(CONVERSATIONS)} conversations refused by jinja2 and by Rotary "
                     f"({'; '.join(sorted(entry['reasons']))})")
    print("\n".join(lines))
    if args.report:
        with open(args.report, "w", encoding="utf-8") as report:
            report.write("# Chat templates: Rotary's Jinja interpreter against jinja2\n\n"
                         "Written by `scripts/templates/compare.py` (run by `make test`) on llama.cpp's corpus "
                         "(`vendor/llama.cpp/models/templates` of the llama-cpp-python 0.3.36 sdist).\n\n"
                         + "\n".join(lines) + "\n")
    for template, conversation, wanted, answer in failures[:10]:
        print(f"MISMATCH {template} / {conversation}:\n  jinja2: {wanted!r}\n  rotary: {answer!r}"[:3000], file=sys.stderr)
    if failures:
        sys.exit(f"{len(failures)} of {len(cases)} cases differ")


if __name__ == "__main__":
    main()
