#!/usr/bin/env bash
# Writes the King James Bible as plain text, one verse per line, references stripped: the same bytes
# every time (Debian's bible-kjv). Usage: scripts/prepare_corpus.sh [OUT=.build-data/kjv.txt]
set -euo pipefail
out=${1:-.build-data/kjv.txt}
dpkg -s bible-kjv >/dev/null 2>&1 || (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bible-kjv)
mkdir -p "$(dirname "$out")"
bible -f "Gen1:1-Rev22:21" | sed -E 's/^[0-9A-Za-z]+[0-9]+:[0-9]+ //' > "$out"
echo "$out: $(wc -c < "$out") bytes, $(wc -l < "$out") verses, sha256 $(sha256sum "$out" | cut -c1-16)"
