#!/usr/bin/env bash
# Watchdog matching throughput next to ripgrep, grep -E and fail2ban-regex on
# the same patterns and the same generated log. Usage:
#   bench/watchdog/run.sh [SIZE_MB]     (default 300)
# Prints a Markdown table; docs/benchmarks.md records a run.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
size_mb=${1:-300}
work=$(mktemp -d /tmp/cake-bench-XXXXXX)
trap 'rm -rf "$work"' EXIT
rules="$root/share/rules/default.yaml"

need=()
command -v rg >/dev/null || need+=(ripgrep)
command -v fail2ban-regex >/dev/null || need+=(fail2ban)
command -v pkg-config >/dev/null || need+=(pkg-config)
if [ ${#need[@]} -gt 0 ]; then
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# The benchmark binary: the watchdog's line buffer and rules, built with -O2.
cc -O2 -DNDEBUG -I"$root/common" -I"$root/watchdog" \
	-DCAKE_DATA_SUBDIR='"share/cake"' -DCAKE_LIBEXEC_SUBDIR='"libexec/cake"' \
	"$root/bench/watchdog/bench.c" "$root/watchdog/rules.c" "$root/watchdog/linebuf.c" \
	"$root/common/signature.c" "$root/common/sha256.c" "$root/common/paths.c" \
	$(pkg-config --cflags --libs libpcre2-8 libfyaml) -o "$work/bench"

# The log: corpus samples, picked at random (8% of them error samples, the
# rest clean) and appended whole until the log reaches SIZE_MB.
python3 - "$root/tests/data/corpus" "$work/mixed.log" "$size_mb" <<'PY'
import os, random, sys
corpus, out, size = sys.argv[1], sys.argv[2], int(sys.argv[3]) * 1000 * 1000
clean, errors = [], []
for manifest in ("manifest.tsv", "manifest-documented.tsv"):
    for row in open(os.path.join(corpus, manifest)):
        if row.startswith("#"):
            continue
        name, kind = row.split("\t")[:2]
        lines = open(os.path.join(corpus, name), errors="replace").read().splitlines(True)
        (clean if kind == "clean" else errors).append("".join(lines))
random.seed(7)
written = 0
with open(out, "w") as f:
    while written < size:
        block = random.choice(errors) if random.random() < 0.08 else random.choice(clean)
        f.write(block)
        written += len(block.encode())
PY

# The patterns for the other tools: every rule's pattern, one a line.
# grep -E has no \d, (?:...) or lookahead, and ripgrep's default engine has no
# lookahead, so those are rewritten: \d becomes [0-9], (?: becomes (, and a
# negative lookahead is dropped (grep and rg then match slightly more).
python3 - "$rules" "$work" <<'PY'
import re, sys, yaml
rules = yaml.safe_load(open(sys.argv[1]))["rules"]
patterns = [r["pattern"] for r in rules]
def drop_lookahead(p):
    return re.sub(r"\(\?!(?:[^()]|\([^()]*\))*\)", "", p)
with open(sys.argv[2] + "/patterns.pcre", "w") as f:
    f.write("\n".join(patterns) + "\n")
with open(sys.argv[2] + "/patterns.rg", "w") as f:
    f.write("\n".join(drop_lookahead(p) for p in patterns) + "\n")
with open(sys.argv[2] + "/patterns.ere", "w") as f:
    f.write("\n".join(drop_lookahead(p).replace("(?:", "(").replace("\\d", "[0-9]") for p in patterns) + "\n")
# fail2ban needs a failure-id group; an anchored pattern stays anchored.
def failregex(p):
    body = "<F-ID>(?:%s)</F-ID>" % (p[1:] if p.startswith("^") else p)
    return ("^" if p.startswith("^") else "^.*?") + body.replace("%", "%%")
with open(sys.argv[2] + "/filter.conf", "w") as f:
    f.write("[Definition]\nfailregex = " + "\n            ".join(map(failregex, patterns)) + "\n")
PY

bytes=$(stat -c %s "$work/mixed.log")
mb=$(python3 -c "print(f'{$bytes / 1e6:.0f}')")
cat "$work/mixed.log" >/dev/null	# into the page cache, so every tool reads from memory

# Prints the wall-clock seconds of a command. Its output goes to a file, not
# /dev/null, because GNU grep stops at the first match when it writes to
# /dev/null.
seconds() {
	local TIMEFORMAT=%R
	{ time "$@" >"$work/out.txt" 2>&1; } 2>&1 || true
}
rate() {
	python3 -c "print(f'{$1 / 1e6 / $2:.1f}')"
}

echo "Log: $mb MB, $(wc -l <"$work/mixed.log") lines, $(grep -c . "$work/patterns.pcre") patterns"
cake_out=$("$work/bench" "$rules" "$work/mixed.log")
cake_s=$(sed 's/.*seconds=\([0-9.]*\).*/\1/' <<<"$cake_out")
rgp_s=$(seconds rg -P -c -f "$work/patterns.pcre" "$work/mixed.log")
grep_s=$(seconds env LC_ALL=C grep -E -c -f "$work/patterns.ere" "$work/mixed.log")

# ripgrep's default engine and fail2ban-regex are far slower on these
# patterns, so they read a 20 MB slice.
head -c 20000000 "$work/mixed.log" >"$work/slice.log"
rg_s=$(seconds rg -c -f "$work/patterns.rg" "$work/slice.log")
f2b_s=$(seconds fail2ban-regex --raw --datepattern '{NONE}' "$work/slice.log" "$work/filter.conf")

echo
echo "| tool | what it does | seconds | MB/s |"
echo "| --- | --- | --- | --- |"
echo "| CAKE watchdog rules | line buffer, per-line prefilter and rules, detections | $cake_s | $(rate "$bytes" "$cake_s") |"
echo "| rg -P -c -f | count matching lines, PCRE2 | $rgp_s | $(rate "$bytes" "$rgp_s") |"
echo "| rg -c -f (20 MB slice) | count matching lines, Rust regex | $rg_s | $(rate 20000000 "$rg_s") |"
echo "| grep -E -c -f (LC_ALL=C) | count matching lines | $grep_s | $(rate "$bytes" "$grep_s") |"
echo "| fail2ban-regex (20 MB slice) | every failregex on every line | $f2b_s | $(rate 20000000 "$f2b_s") |"
echo
echo "cake: $cake_out"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "versions: $(rg --version | head -1), $(grep --version | head -1), fail2ban $(fail2ban-regex --version 2>&1 | head -1), PCRE2 $(pkg-config --modversion libpcre2-8)"
