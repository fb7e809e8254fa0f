"""One section of BENCHMARKS.md, between <!-- NAME:start --> and <!-- NAME:end -->, with a table of checks."""
import re
import sys


def publish(name, body, checks):
    """Writes the section (replacing an older one, else appending), prints it, and fails on a failed check."""
    section = (f"<!-- {name}:start -->\n{body.lstrip()}\n| check | |\n|---|---|\n"
               + "".join(f"| {check} | {'pass' if ok else 'FAIL'} |\n" for check, ok in checks.items())
               + f"<!-- {name}:end -->\n")
    text = open("BENCHMARKS.md").read()
    pattern = rf"<!-- {name}:start -->.*?<!-- {name}:end -->\n"
    if re.search(pattern, text, flags=re.S):
        text = re.sub(pattern, lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    open("BENCHMARKS.md", "w").write(text)
    print(section)
    failed = [check for check, ok in checks.items() if not ok]
    if failed:
        sys.exit(f"{name} failed: " + ", ".join(failed))
