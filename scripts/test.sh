#!/usr/bin/env bash
# Quick start, command 2: sets up, builds the Whisper model (the model tests need it), and runs
# the whole test suite: unit tests, the integration binary, doctests.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
# The dev profile is optimised here (Cargo.toml), and reusing it for the model import spares a
# second whisper.cpp build.
CARGO_PROFILE=dev bash models/build-model.sh
cargo test --all-features "$@"
