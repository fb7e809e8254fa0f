"""make test: the README's real-model examples (```sh blocks that begin `# with make run-smollm`) run against the
release binary serving SmolLM2-135M-Instruct, and print exactly the ```text block that follows each in the README.
Usage: readme_smollm_check.py ROTARY_BINARY [--print] (--print shows what they print now, to update the README)"""
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from rotary_server import served  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path(os.environ.get("ROTARY_MODELS", ROOT / ".build-models")) / "SmolLM2-135M-Instruct.Q4_1.gguf"
MARK = "# with make run-smollm"


def examples():
    text = (ROOT / "README.md").read_text()
    pattern = re.compile(r"```sh\n(" + re.escape(MARK) + r"\n.*?)```\s*\n```text\n(.*?)```", re.S)
    return [(m.group(1), m.group(2)) for m in pattern.finditer(text)]


def main():
    binary, show = sys.argv[1], "--print" in sys.argv
    found = examples()
    if not found:
        sys.exit(f"README has no '{MARK}' example followed by its ```text answer")
    failed = 0
    with served(binary, MODEL) as port:
        for script, expected in found:
            run = subprocess.run(["bash", "-euo", "pipefail", "-c", script.replace("localhost:8080", f"127.0.0.1:{port}")],
                                 capture_output=True, text=True)
            if show:
                print(run.stdout, end="")
            elif run.returncode != 0 or run.stdout != expected:
                failed += 1
                print(f"README example:\n{script}\nprinted:\n{run.stdout}{run.stderr}\nthe README says:\n{expected}")
    if failed:
        sys.exit(f"{failed} README real-model example(s) differ from what the README shows")
    if not show:
        print(f"README real-model examples: {len(found)} block(s) print what the README shows")


if __name__ == "__main__":
    main()
