#!/usr/bin/env bash
# Checks the build edits that replace arithmetic in ggml or whisper.cpp
# (.cargo/ggml-cpu-edits.cmake). The edits are applied by running the edit file with `cmake -P`
# on copies of the sources of the whisper-rs-sys in Cargo.lock; each check compiles the shipped
# and the edited code side by side and runs them on random and edge-case inputs
# (scripts/build-edit-checks/):
#   - edits 6 and 10, q8_0 and f16 products on AVX2 (.cargo/q8_0-panel-gemm.inc,
#     f16-panel-gemm.inc): llamafile's sgemm.cpp, built for AVX2 + FMA + F16C without AVX-512
#     and, on a CPU with AVX-512 (but not AMX), for this CPU, through llamafile_sgemm itself;
#     both the shipped and the edited kernels must stay within the textbook error bound of the
#     exact product on every output, and an f32 operand must give the f16 product of its
#     rounding bit for bit; edit 11, f16 products of one column, bit for bit ggml's own
#     ggml_vec_dot_f16; edit 12, q8_0 products of one column (.cargo/q8_0-gemv.inc), bit for bit
#     ggml's own ggml_vec_dot_q8_0_q8_0 (products.cpp);
#   - edit 7, the spectrogram's 25-point DFTs: whisper.cpp's FFT, built with whisper.cpp's own
#     flags (baseline x86-64), on 20,000 frames, bit for bit (dft.cpp).
# Edit 13 (zeros past the audio in a window read whole) changes what the model is given rather
# than arithmetic: this only checks that it applies to the locked sources, as the ones above do.
# Needs g++, cmake and the crate sources (`cargo fetch`); takes about 30 seconds (40 with the
# second build on a CPU with AVX-512). A CPU without AVX2, FMA and F16C cannot run the products'
# check: it says so and skips it (such a CPU never builds those kernels either).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

# shellcheck source=build-edit-checks/edited-sources.sh
source scripts/build-edit-checks/edited-sources.sh
checks="$root/scripts/build-edit-checks"
for edit in "q8_0 products on AVX2 by panels of 8 rows" "f16 products on AVX2 by packed f32 panels" \
    "f16 products of one column on AVX2" "q8_0 products of one column on AVX2, rows ahead prefetched" \
    "whisper.cpp's spectrogram DFTs four frequencies at a time" \
    "whisper.cpp's whole-window passes see zeros past the audio"; do
    grep -qF "callscribe: $edit" "$work/cmake.log" ||
        { echo "check-build-edits: edit not applied: $edit" >&2; cat "$work/cmake.log" >&2; exit 1; }
done

# Edit 7: whisper.cpp's FFT (the code from its sine/cosine table to the end of `fft`).
fft_region='/^#define SIN_COS_N_COUNT/,/^static void log_mel_spectrogram_worker_thread/ { /^static void log_mel_spectrogram_worker_thread/!p }'
sed -n "$fft_region" "$whisper" >"$work/fft-shipped.inc"
sed -n "$fft_region" "$work/edited/src/whisper.cpp" >"$work/fft-edited.inc"
g++ -O3 -march=x86-64 -std=gnu++17 -I"$work" "$checks/dft.cpp" -o "$work/dft"
"$work/dft"

# Edits 6, 10, 11 and 12: llamafile's q8_0 and f16 products, built as ggml builds them for a CPU
# with AVX2, FMA and F16C but no AVX-512 (where the one-column references are ggml's AVX2 code),
# and again with -march=native on a CPU with AVX-512 (ggml's 16-lane f16 dot product and tinyBLAS,
# its VNNI q8_0 row function), where the edits are built too; not on a CPU with AMX, which keeps
# ggml's own kernels.
products() {
    local name="$1"
    shift
    local flags=("$@" -std=c++17 -I"$ggml/include" -I"$ggml/src" -I"$ggml/src/ggml-cpu" -I"$ggml/src/ggml-cpu/llamafile")
    g++ "${flags[@]}" -Dllamafile_sgemm=llamafile_sgemm_ref -c "$ggml/$sgemm" -o "$work/ref.o"
    g++ "${flags[@]}" -c "$work/edited/ggml/$sgemm" -o "$work/edited.o"
    # ggml's own row-by-row f16 dot product, the reference for edit 11.
    g++ "${flags[@]}" -DNDEBUG -c "$ggml/src/ggml-cpu/vec.cpp" -o "$work/vec.o"  # as ggml is built: its NaN assert off
    # ggml's own row-by-row q8_0 dot product, the reference for edit 12.
    gcc "$@" -std=gnu11 -DNDEBUG -I"$ggml/include" -I"$ggml/src" -I"$ggml/src/ggml-cpu" \
        -c "$ggml/src/ggml-cpu/arch/x86/quants.c" -o "$work/quants.o"
    g++ "${flags[@]}" "$checks/products.cpp" "$work/ref.o" "$work/edited.o" "$work/vec.o" "$work/quants.o" \
        -o "$work/products" -lpthread
    echo "check-build-edits: products, $name build"
    "$work/products"
}
if ! grep -qw avx2 /proc/cpuinfo || ! grep -qw fma /proc/cpuinfo || ! grep -qw f16c /proc/cpuinfo; then
    echo "check-build-edits: products check SKIPPED: this CPU lacks AVX2, FMA or F16C, and builds ggml's own kernels" >&2
    exit 0
fi
products "AVX2" -O2 -mavx2 -mfma -mf16c
if grep -qw avx512f /proc/cpuinfo && ! grep -qw amx_int8 /proc/cpuinfo; then
    products "AVX-512 (-march=native)" -O2 -march=native
fi
