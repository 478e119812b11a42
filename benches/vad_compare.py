#!/usr/bin/env python3
"""Speech found by two voice-activity front ends on the same folders of recordings.

- callscribe: `callscribe process --no-transcribe` (earshot, the level gate, the beep and stop
  tone search and the music detector, and Silero's edges when `models/silero_vad_v6.onnx` is
  there), the seconds of its `audio.segments`.
- faster-whisper: the Silero VAD (v6, ONNX) that `WhisperModel.transcribe(vad_filter=True)`
  runs, with the `VadOptions` it uses by default, on the audio as faster-whisper decodes it.

For each folder: how many files get any speech, the seconds of speech, and per file (with
`--per-file`) the first speech onset. Music loops should get none; speech recordings should
keep their speech. faster-whisper (pip) must be installed; nothing leaves the machine.

    python3 benches/vad_compare.py [--callscribe BIN] [--per-file] DIR...
"""

import argparse
import json
import os
import subprocess
import sys

AUDIO = (".wav", ".ogg", ".flac", ".mp3")


def silero(path):
    """faster-whisper's speech chunks for `path`, as (start_s, end_s) pairs."""
    from faster_whisper.audio import decode_audio
    from faster_whisper.vad import VadOptions, get_speech_timestamps

    audio = decode_audio(path, sampling_rate=16000)
    chunks = get_speech_timestamps(audio, VadOptions())
    return [(c["start"] / 16000, c["end"] / 16000) for c in chunks]


def callscribe(binary, folder):
    """callscribe's speech segments per file of `folder` (one process over the folder)."""
    out = subprocess.run(
        [binary, "process", "--no-transcribe", "--format", "jsonl", folder],
        check=False,
        capture_output=True,
        text=True,
    ).stdout
    found = {}
    for line in out.splitlines():
        result = json.loads(line)
        name = os.path.basename(result["source"]["path"])
        segments = (result.get("audio") or {}).get("segments") or []
        found[name] = [(s["start_s"], s["end_s"]) for s in segments]
    return found


def seconds(segments):
    return sum(end - start for start, end in segments)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--callscribe", default="target/release/callscribe")
    parser.add_argument("--per-file", action="store_true")
    parser.add_argument("folders", nargs="+")
    args = parser.parse_args()
    print("| folder | files | with speech: callscribe | with speech: Silero | "
          "seconds: callscribe | seconds: Silero |")
    print("|---|---:|---:|---:|---:|---:|")
    rows = []
    for folder in args.folders:
        names = sorted(n for n in os.listdir(folder) if n.endswith(AUDIO))
        ours = callscribe(args.callscribe, folder)
        missing = [n for n in names if n not in ours]
        if missing:
            sys.exit(f"callscribe gave no result for {missing[:3]} in {folder}")
        theirs = {n: silero(os.path.join(folder, n)) for n in names}
        with_cs = sum(1 for n in names if ours[n])
        with_si = sum(1 for n in names if theirs[n])
        print(f"| {os.path.basename(os.path.normpath(folder))} | {len(names)} | {with_cs} | "
              f"{with_si} | {sum(seconds(ours[n]) for n in names):.1f} | "
              f"{sum(seconds(theirs[n]) for n in names):.1f} |")
        for n in names:
            onset = lambda s: f"{s[0][0]:.2f}" if s else "-"
            rows.append(f"| {n} | {onset(ours[n])} | {seconds(ours[n]):.1f} | "
                        f"{onset(theirs[n])} | {seconds(theirs[n]):.1f} |")
    if args.per_file:
        print()
        print("| file | onset: callscribe | seconds | onset: Silero | seconds |")
        print("|---|---:|---:|---:|---:|")
        print("\n".join(rows))


if __name__ == "__main__":
    main()
