#!/usr/bin/env bash
# The encoder context floor (`--min-audio-ctx`, config `transcribe.min_audio_ctx`): word errors
# on short clips decoded alone at each floor in FLOORS (default "512 256 128"), language given,
# greedy, `--jobs 2 --threads 1` (a clip's result does not depend on the jobs or threads).
#
#   base q8_0   every usable Spanish and French asterisk prompt of the benchmark's pools up to
#               8.5 s, and the English clips below (`--language es|fr|en`)
#   tiny.en f16 the English clips: the sentences of samples/ up to 8.5 s, cut as
#               benches/multilingual.sh cuts them, and 50 more sentences by espeak-ng
#               (bench_helper.py FLOOR_SENTENCES, five voices, 140–170 words a minute)
#
# A floor only matters for clips shorter than (floor − 64) / 50 s: below 8.96 s at 512, 3.84 s
# at 256, 1.28 s at 128, and for the tails a long message's pieces leave.
#
# Usage: benches/context-floor.sh [OUT.md]   (default: target/bench-context-floor/floor.md)
# Needs: sox, ffmpeg, espeak-ng, apt-get + dpkg-deb (the Debian audio), the base wheels in
#        models/.cache (models/build-model.sh base), and the base q8_0 model of
#        benches/multilingual.sh (target/bench-multilingual/models/ggml-base-q8_0.bin).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out_md="${1:-target/bench-context-floor/floor.md}"
floors="${FLOORS:-512 256 128}"
work="$root/target/bench-context-floor"
for tool in sox ffmpeg espeak-ng; do
    command -v "$tool" >/dev/null || { echo "context-floor.sh: $tool is missing" >&2; exit 2; }
done
base="$root/target/bench-multilingual/models/ggml-base-q8_0.bin"
[ -f "$base" ] || { echo "context-floor.sh: run benches/multilingual.sh first ($base)" >&2; exit 2; }
bash scripts/fetch-test-audio.sh
models/build-model.sh
cargo build --release --quiet
bin="$root/target/release/callscribe"
rm -rf "$work/clips"
mkdir -p "$work/clips" "$(dirname "$out_md")"
python3 benches/bench_helper.py floor-clips --out "$work/clips"

runs=()
for floor in $floors; do
    for lang in es fr en; do
        "$bin" process --jobs 2 --threads 1 --model "$base" --language "$lang" \
            --min-audio-ctx "$floor" "$work/clips/$lang" >"$work/base-$lang-$floor.jsonl" 2>/dev/null
        runs+=(--run "base q8_0:$floor:$work/base-$lang-$floor.jsonl")
    done
    "$bin" process --jobs 2 --threads 1 --model models/ggml-tiny.en.bin --language en \
        --min-audio-ctx "$floor" "$work/clips/en" >"$work/tiny-en-$floor.jsonl" 2>/dev/null
    runs+=(--run "tiny.en f16:$floor:$work/tiny-en-$floor.jsonl")
done
{
    echo "\`FLOORS=\"$floors\" benches/context-floor.sh\`, $(date -u +%Y-%m-%d), commit $(git rev-parse --short HEAD)"
    echo
    python3 benches/bench_helper.py floor-report --refs "$work/clips/refs.json" "${runs[@]}"
} | tee "$out_md"
