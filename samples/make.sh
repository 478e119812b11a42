#!/usr/bin/env bash
# Regenerates every committed audio fixture in samples/ (except samples/notifications/,
# which belongs to someone else), plus manifest.json, README.md and SHA256SUMS.
#
#   bash samples/make.sh
#
# Needs: espeak-ng, sox (with FLAC/WAV support), ffmpeg + ffprobe (with libmp3lame,
# libvorbis, libopus, the native aac encoder), python3 (stdlib only). It installs
# nothing; on Debian/Ubuntu:  apt-get install -y espeak-ng sox libsox-fmt-all ffmpeg python3
#
# Deterministic: the same tool versions give the same bytes on every run (sox -R -D,
# fixed noise seeds, ffmpeg -fflags +bitexact -flags:a +bitexact -map_metadata -1, no
# timestamps anywhere). Other tool versions may give different bytes: README.md records
# the versions that produced the committed files, and tools/describe.py re-verifies the
# timings in manifest.json against the decoded files on every run.
set -euo pipefail
export LC_ALL=C TZ=UTC

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

# ------------------------------------------------------------------ tool check
missing=()
for t in espeak-ng sox ffmpeg ffprobe python3; do
  command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
if ((${#missing[@]})); then
  echo "make.sh: missing tools: ${missing[*]}" >&2
  echo "make.sh: install them with: apt-get install -y espeak-ng sox libsox-fmt-all ffmpeg python3" >&2
  exit 1
fi
encoders="$(ffmpeg -hide_banner -encoders 2>/dev/null)"
for e in libmp3lame libvorbis libopus aac flac pcm_alaw pcm_s32le pcm_f32le; do
  grep -qE "^ A[^ ]* +$e " <<<"$encoders" || missing+=("ffmpeg encoder $e")
done
sox -h 2>/dev/null | grep -q 'AUDIO FILE FORMATS:.* wav' || missing+=("sox wav support")
if ((${#missing[@]})); then
  echo "make.sh: missing: ${missing[*]}" >&2
  exit 1
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# ------------------------------------------------------------------ clean old outputs
rm -f ./*.wav ./*.mp3 ./*.flac ./*.ogg ./*.m4a manifest.json README.md SHA256SUMS
rm -f unsupported/*.opus unsupported/*.txt unsupported/*.html
rm -f hostile/*.wav hostile/*.mp3 hostile/*.flac
mkdir -p unsupported hostile

# ------------------------------------------------------------------ speech + masters
python3 tools/compose.py "$tmp"

# sox_enc MASTER OUT [sox output options...]: float master -> OUT, no dither, repeatable
sox_enc() {
  local m="$1" out="$2"; shift 2
  local rate ch; read -r rate ch <"$tmp/masters/$m.fmt"
  sox -R -D -V1 -t f32 -r "$rate" -c "$ch" "$tmp/masters/$m.f32" "$@" "$out"
}
# ff_enc MASTER OUT [ffmpeg output options...]: float master -> OUT, bit-exact, no metadata
ff_enc() {
  local m="$1" out="$2"; shift 2
  local rate ch; read -r rate ch <"$tmp/masters/$m.fmt"
  ffmpeg -nostdin -hide_banner -loglevel error -y -threads 1 \
    -f f32le -ar "$rate" -ac "$ch" -i "$tmp/masters/$m.f32" \
    -map_metadata -1 -fflags +bitexact -flags:a +bitexact "$@" "$out"
}

# ------------------------------------------------------------------ WAV
sox_enc pcm16-16000hz-mono-speech                    pcm16-16000hz-mono-speech.wav                    -e signed-integer -b 16
sox_enc ulaw-8000hz-mono-beep-speech                 ulaw-8000hz-mono-beep-speech.wav                 -e u-law -b 8
ff_enc  alaw-8000hz-mono-speech-dtmf-hash            alaw-8000hz-mono-speech-dtmf-hash.wav            -c:a pcm_alaw
ff_enc  pcm16-8000hz-mono-beep-speech-dtmf-hash      pcm16-8000hz-mono-beep-speech-dtmf-hash.wav      -c:a pcm_s16le
sox_enc pcm24-44100hz-stereo-speech                  pcm24-44100hz-stereo-speech.wav                  -t wavpcm -e signed-integer -b 24
ff_enc  float32-48000hz-mono-extensible-list-speech  float32-48000hz-mono-extensible-list-speech.wav  -c:a pcm_f32le -rf64 never \
        -metadata title="callscribe sample: float32 extensible" -metadata comment="LIST/INFO chunk before data"
sox_enc pcm8u-8000hz-mono-speech                     pcm8u-8000hz-mono-speech.wav                     -e unsigned-integer -b 8
ff_enc  pcm32-16000hz-mono-extensible-speech         pcm32-16000hz-mono-extensible-speech.wav         -c:a pcm_s32le
sox_enc pcm16-16000hz-mono-speech-pink-noise-snr25   pcm16-16000hz-mono-speech-pink-noise-snr25.wav   -e signed-integer -b 16
sox_enc pcm16-16000hz-mono-silence-zeros             pcm16-16000hz-mono-silence-zeros.wav             -e signed-integer -b 16
sox_enc pcm16-16000hz-mono-near-silence-white-60dbfs pcm16-16000hz-mono-near-silence-white-60dbfs.wav -e signed-integer -b 16
sox_enc pcm16-16000hz-mono-pink-noise-30dbfs         pcm16-16000hz-mono-pink-noise-30dbfs.wav         -e signed-integer -b 16

# ------------------------------------------------------------------ compressed
ff_enc mp3-44100hz-stereo-speech           mp3-44100hz-stereo-speech.mp3           -c:a libmp3lame -b:a 96k \
       -id3v2_version 3 -metadata title="callscribe sample: mp3 stereo"
ff_enc flac-16000hz-mono-speech-dtmf-star  flac-16000hz-mono-speech-dtmf-star.flac -c:a flac -sample_fmt s16
ff_enc vorbis-22050hz-mono-speech          vorbis-22050hz-mono-speech.ogg          -c:a libvorbis -q:a 3
ff_enc aac-24000hz-mono-beep-speech        aac-24000hz-mono-beep-speech.m4a        -c:a aac -b:a 48k -movflags +faststart

# ------------------------------------------------------------------ unsupported
ff_enc unsupported__opus-48000hz-mono-speech unsupported/opus-48000hz-mono-speech.opus -c:a libopus -b:a 24k
cat >unsupported/plain-text.txt <<'EOF'
This is not audio.
It is a plain UTF-8 text file that a misconfigured download could hand to callscribe
instead of a recording. callscribe must reject it as an unsupported format.
EOF
cat >unsupported/html-error-page.html <<'EOF'
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>403 Forbidden</title>
</head>
<body>
<h1>403 Forbidden</h1>
<p>You do not have permission to access this recording. The link may have expired.</p>
<p>Request ID: 00000000-0000-0000-0000-000000000000</p>
</body>
</html>
EOF

# ------------------------------------------------------------------ hostile
ff_enc trunc22k "$tmp/trunc22k-full.mp3" -c:a libmp3lame -b:a 48k -id3v2_version 3 -metadata title="truncated"
python3 hostile/make_hostile.py "$tmp" hostile

# ------------------------------------------------------------------ verify + describe
python3 tools/describe.py "$tmp" .

echo "make.sh: done; $(du -sh --exclude=notifications . | cut -f1) in samples/ (without notifications/)"
