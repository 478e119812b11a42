#!/usr/bin/env bash
# The encoder's matrix products alone: llamafile's sgemm.cpp as ggml ships it against the same file
# after .cargo/ggml-cpu-edits.cmake (the q8_0 and f16 panel kernels, edits 6 and 10), both built
# with -O2 -march=native as ggml builds them for this CPU, on Whisper base's shapes, 1 and 2
# threads (benches/kernels.cpp says how it times them). A CPU with AMX builds neither edit and
# times the shipped kernels twice.
#
# Usage: benches/kernels.sh [OUT.md]   (default: target/bench-kernels/kernels.md)
# Needs: g++, cmake and the crate sources (`cargo fetch`).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out_md="${1:-target/bench-kernels/kernels.md}"
mkdir -p "$(dirname "$out_md")"
# shellcheck source=../scripts/build-edit-checks/edited-sources.sh
source scripts/build-edit-checks/edited-sources.sh
flags=(-O2 -march=native -std=c++17 -I"$ggml/include" -I"$ggml/src" -I"$ggml/src/ggml-cpu" -I"$ggml/src/ggml-cpu/llamafile"
    -I"$root/scripts/build-edit-checks")
g++ "${flags[@]}" -Dllamafile_sgemm=llamafile_sgemm_ref -c "$ggml/$sgemm" -o "$work/ref.o"
g++ "${flags[@]}" -c "$work/edited/ggml/$sgemm" -o "$work/edited.o"
g++ "${flags[@]}" benches/kernels.cpp "$work/ref.o" "$work/edited.o" -o "$work/kernels" -lpthread
{
    echo "\`benches/kernels.sh\`, $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)," \
        "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') (family" \
        "$(grep -m1 'cpu family' /proc/cpuinfo | cut -d: -f2- | tr -d ' '), model $(grep -m1 '^model' /proc/cpuinfo | cut -d: -f2- | tr -d ' '))"
    echo
    "$work/kernels"
} | tee "$out_md"
