#!/usr/bin/env bash
# Checks that the build edits that replace ggml kernels (.cargo/ggml-cpu-edits.cmake, edit 6:
# q8_0 products on AVX2, .cargo/q8_0-panel-gemm.inc) give bit for bit what ggml's own kernels
# give. It compiles llamafile's sgemm.cpp from the whisper-rs-sys in Cargo.lock twice, as ggml
# ships it and as the edits leave it (applied by running the edit file with `cmake -P` on a copy),
# for AVX2 + FMA + F16C without AVX-512, and compares the two on random and edge-case q8_0
# products (scripts/gemm-check/harness.cpp). Needs g++, cmake and the crate sources
# (`cargo fetch`); takes a few seconds. A CPU without AVX2, FMA and F16C cannot run the check:
# it says so and exits 0 (such a CPU never builds the edited kernel either).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

if ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo || ! grep -qw f16c /proc/cpuinfo; then
    echo "check-gemm-edit: SKIPPED: this CPU lacks AVX2, FMA or F16C, and builds ggml's own kernels" >&2
    exit 0
fi
version="$(awk '/^name = "whisper-rs-sys"/ { getline; gsub(/[^0-9.]/, ""); print; exit }' Cargo.lock)"
src="$(cargo metadata --format-version 1 --locked 2>/dev/null |
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(next(p["manifest_path"] for p in d["packages"] if p["name"]=="whisper-rs-sys" and p["version"]==sys.argv[1]))' "$version")"
ggml="$(dirname "$src")/whisper.cpp/ggml"
[ -f "$ggml/src/ggml-cpu/llamafile/sgemm.cpp" ] || { echo "check-gemm-edit: no sgemm.cpp under $ggml" >&2; exit 2; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/edited/ggml/src/ggml-cpu/llamafile"
cp "$ggml/src/ggml-cpu/llamafile/sgemm.cpp" "$work/edited/ggml/src/ggml-cpu/llamafile/"
(cd "$work/edited" && cmake -P "$root/.cargo/ggml-cpu-edits.cmake") >"$work/cmake.log" 2>&1 || { cat "$work/cmake.log" >&2; exit 2; }
grep -q "callscribe: q8_0 products on AVX2 by panels of 8 rows" "$work/cmake.log" ||
    { echo "check-gemm-edit: the q8_0 edit did not apply:" >&2; cat "$work/cmake.log" >&2; exit 1; }

flags=(-O2 -std=c++17 -mavx2 -mfma -mf16c -I"$ggml/include" -I"$ggml/src" -I"$ggml/src/ggml-cpu" -I"$ggml/src/ggml-cpu/llamafile")
g++ "${flags[@]}" -Dllamafile_sgemm=llamafile_sgemm_ref -c "$ggml/src/ggml-cpu/llamafile/sgemm.cpp" -o "$work/ref.o"
g++ "${flags[@]}" -c "$work/edited/ggml/src/ggml-cpu/llamafile/sgemm.cpp" -o "$work/edited.o"
g++ "${flags[@]}" "$root/scripts/gemm-check/harness.cpp" "$work/ref.o" "$work/edited.o" -o "$work/harness" -lpthread
"$work/harness"
