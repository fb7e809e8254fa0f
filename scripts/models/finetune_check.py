#!/usr/bin/env python3
"""make test: `rotary train --resume` of the shipped model fine-tunes it under a new RoPE, end to end on the binary.
A scaling a GGUF file cannot record (dynamic) is refused before training; a short YaRN fine-tune at twice the
context evaluates at step 0, writes a file that `serve` reads back with that RoPE and context, and scores past 128.
Usage: finetune_check.py ROTARY_BINARY"""
import json
import math
import pathlib
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from rotary_server import served   # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "Sources/RotaryService/Resources/default-model.gguf"
GENESIS = ("In the beginning God created the heaven and the earth. And the earth was without form, and void; and darkness "
           "was upon the face of the deep. And the Spirit of God moved upon the face of the waters. And God said, Let there "
           "be light: and there was light. And God saw the light, that it was good: and God divided the light from the "
           "darkness. And God called the light Day, and the darkness he called Night.\n")


def main():
    binary = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        corpus = work / "corpus.txt"
        corpus.write_text(GENESIS * 40)
        base = [binary, "train", "--corpus", str(corpus), "--resume", str(SHIPPED), "--batch", "2", "--warmup", "1",
                "--learning-rate", "1e-4", "--validation-tokens", "512"]

        refused = subprocess.run(base + ["--context", "256", "--steps", "1", "--out", str(work / "no.gguf"),
                                         "--rope", '{"rope_type": "dynamic", "factor": 2}'], capture_output=True, text=True)
        if refused.returncode == 0 or "dynamic" not in refused.stderr or (work / "no.gguf").exists():
            failures.append(f"--rope dynamic was not refused by name: exit {refused.returncode}, {refused.stderr.strip()!r}")

        for extra, named in ((["--embedding-scale", "2", "--out", str(work / "no.gguf")], "--embedding-scale"),
                             (["--compare", str(work), "--rope", "{}"], "--compare")):
            run = subprocess.run(base + extra, capture_output=True, text=True)
            if run.returncode == 0 or named not in run.stderr:
                failures.append(f"{' '.join(extra)} was not refused by name: exit {run.returncode}, {run.stderr.strip()!r}")

        out, log = work / "yarn.gguf", work / "yarn.csv"
        subprocess.run(base + ["--context", "256", "--steps", "2", "--eval-interval", "1", "--out", str(out), "--log", str(log),
                               "--rope", '{"rope_type": "yarn", "factor": 2}'], check=True, capture_output=True)
        steps = [line.split(",")[0] for line in log.read_text().splitlines()[1:] if line.split(",")[2]]
        if steps != ["0", "1", "2"]:
            failures.append(f"validation steps {steps}, expected 0, 1, 2")
        with served(binary, out) as port:
            info = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/model").read())
            rope = info["rope"]
            if (info["context_length"], rope["rope_type"], rope["factor"], rope["original_max_position_embeddings"]) != (256, "yarn", 2, 128):
                failures.append(f"the fine-tuned file reads back as context {info['context_length']}, rope {rope}")
            body = json.dumps({"text": GENESIS * 3, "context": 256}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{port}/perplexity", data=body, headers={"Content-Type": "application/json"})
            nll = json.loads(urllib.request.urlopen(request).read())["results"][0]["mean_nll"]
            if not (math.isfinite(nll) and 0 < nll < math.log(1024)):   # below uniform over the vocabulary: it reads the text
                failures.append(f"mean NLL of the fine-tuned file {nll}")
    for failure in failures:
        print("FAIL:", failure)
    if failures:
        sys.exit(1)
    print("finetune_check: dynamic refused; YaRN fine-tune at 256 evaluated at steps 0-2, read back as yarn ×2 over 128, "
          f"scored (mean NLL {nll:.3f})")


if __name__ == "__main__":
    main()
