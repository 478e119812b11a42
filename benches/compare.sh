#!/usr/bin/env bash
# Whole-process comparison: `callscribe process --no-transcribe --jobs 1 FILE` against the
# ffmpeg + sox pair doing the same job (decode, downmix, resample to 16 kHz mono, trim leading
# and trailing silence) on the three 2-minute inputs of benches/pipeline.rs (same bytes: the
# bench writes them), and two made from its 16 kHz master by ffmpeg's encoders: GSM 06.10 in WAV
# (WAV49, 8 kHz, libgsm), which callscribe decodes with its own decoder (src/decode/gsm.rs), and
# G.722 in WAV (16 kHz), which it decodes with audio-codec's (src/decode/g722.rs).
# Writes a markdown table.
#
# Usage: benches/compare.sh [OUT.md]       (default: target/bench-compare/compare.md)
# Env:   ROUNDS (default 15) interleaved rounds; each round runs every command once, in one
#        hyperfine call (-N, no shell: `sh -c` is part of the ffmpeg|sox command), so load that
#        varies between rounds hits every command alike. Ratios are medians of per-round ratios.
# Needs: hyperfine, ffmpeg, sox, cargo (builds the release binary and writes the inputs).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out_md="${1:-target/bench-compare/compare.md}"
rounds="${ROUNDS:-15}"
work="target/bench-compare"
inputs="$work/inputs"
mkdir -p "$work/rounds" "$inputs"
rm -f "$work"/rounds/*.json

for tool in hyperfine ffmpeg sox; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool is missing (apt-get install -y hyperfine sox ffmpeg)" >&2; exit 2; }
done

# One cargo command at a time: build, then write the inputs with the bench binary.
cargo build --release --quiet
CALLSCRIBE_BENCH_INPUTS="$root/$inputs" cargo bench --quiet --bench pipeline >/dev/null
bin="$root/target/release/callscribe"
ffmpeg -nostdin -loglevel error -y -i "$inputs/pcm16-16000hz-mono-2min.wav" -ar 8000 \
    -c:a libgsm_ms "$inputs/gsm-8000hz-mono-2min.wav"
ffmpeg -nostdin -loglevel error -y -i "$inputs/pcm16-16000hz-mono-2min.wav" \
    -c:a g722 "$inputs/g722-16000hz-mono-2min.wav"

files=(ulaw-8000hz-mono pcm16-16000hz-mono pcm16-44100hz-stereo gsm-8000hz-mono g722-16000hz-mono)
cmds=()
for f in "${files[@]}"; do
    path="$inputs/$f-2min.wav"
    test -s "$path" || { echo "compare.sh: $path was not written" >&2; exit 2; }
    cmds+=(-n "$f | callscribe" "$bin process --no-transcribe --jobs 1 $path")
    cmds+=(-n "$f | ffmpeg+sox" "sh -c 'ffmpeg -nostdin -loglevel error -i $path -ac 1 -ar 16000 -f f32le - | sox -t f32 -r 16000 -c 1 - -t f32 - silence 1 0.1 1% reverse silence 1 0.1 1% reverse > /dev/null'")
done

# Both sides must succeed on every input before anything is timed.
for f in "${files[@]}"; do
    "$bin" process --no-transcribe --jobs 1 "$inputs/$f-2min.wav" >/dev/null 2>&1
done

load_before="$(uptime)"
for r in $(seq 1 "$rounds"); do
    hyperfine -N --runs 1 --style none --export-json "$work/rounds/$(printf %03d "$r").json" "${cmds[@]}" >/dev/null 2>&1
done
load_after="$(uptime)"

{
    echo "Whole process, $rounds interleaved rounds (one hyperfine -N --runs 1 call per round), $(nproc) cores."
    echo "Load before: \`${load_before# }\`; after: \`${load_after# }\`."
    echo
    python3 benches/bench_helper.py aggregate --anchor "ffmpeg+sox" --seconds-per-input 120 "$work"/rounds/*.json
} > "$out_md"
cat "$out_md"
