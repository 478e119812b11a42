#!/usr/bin/env python3
"""Word error rate on every usable prompt once: callscribe against faster-whisper, sentence by
sentence.

benches/multilingual.sh draws its messages' prompts at random with replacement, so a sentence
recurs across messages and one word read wrong in it counts once per recurrence. Here every
usable prompt of a human voice is spoken exactly once, in voicemails of at most `--max-speech`
seconds (the layout of tests/support/voicemail.rs, `bench_helper.compose_voicemail`): the
Spanish and French asterisk voices (`asterisk_prompts`) and the tests' human English readers
(`human_english_prompts`). Each system runs over each language's folder in one process:

  callscribe, language given and `auto`: `callscribe process --model M --language L
      --threads 2 --jobs 1 FOLDER`;
  faster-whisper int8 on the same CTranslate2 weights, language given and detected, as in the
      benchmark: `transcribe(path, beam_size=1, vad_filter=True, language=L)`;
  with `--ffmpeg-input`, callscribe (language given) also on the clips upsampled to 16 kHz by
      `ffmpeg -ar 16000` first (swr's default filter, as faster-whisper's PyAV and OpenAI
      Whisper's `load_audio` resample), which then skips its own resampler.

Prints a Markdown table: WER, the difference to faster-whisper with the same language setting
(callscribe − faster-whisper, points) and its 95 % bootstrap interval over the sentences (10,000
resamplings, seed 0; each sentence is spoken once, so sentences are independent units), and the
messages given a wrong language. Quality only: time is benches/multilingual.sh's.

Usage (from the repository root; needs the test audio of scripts/fetch-test-audio.sh, the
model, the CTranslate2 weights and `pip install faster-whisper`):
  python3 benches/every_prompt.py --model models/ggml-base-q8_0.bin \
      --ct2 target/bench-multilingual/ct2/base [--ffmpeg-input] [--work DIR]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench_helper as bh  # noqa: E402

NAMES = {"es": "Spanish", "fr": "French", "en": "English (human)"}


def messages(prompts, language, max_speech_s, folder):
    """Writes each prompt once, in seeded order, into messages of at most `max_speech_s` of
    speech; returns {clip name: metadata} (bench_helper.compose_voicemail's)."""
    order = list(range(len(prompts)))
    random.Random(7).shuffle(order)
    groups, current, speech = [], [], 0.0
    for i in order:
        length = len(prompts[i][2]) / bh.VOICEMAIL_RATE
        if current and speech + length > max_speech_s:
            groups.append(current)
            current, speech = [], 0.0
        current.append(prompts[i])
        speech += length
    if current:
        groups.append(current)
    os.makedirs(folder, exist_ok=True)
    refs = {}
    for k, group in enumerate(groups):
        total = sum(len(p[2]) for p in group) / bh.VOICEMAIL_RATE
        # compose_voicemail stops once the speech passes 80 % of its target: this target takes
        # the whole group, in the group's own (shuffled) order.
        frames, meta = bh.compose_voicemail(group, language, 5000 + k, total / 0.8 + 1.0)
        assert len(meta["prompts"]) == len(group), "every prompt of the group is spoken"
        name = f"{language}-every-{k:03d}.wav"
        bh.write_wav(os.path.join(folder, name), frames)
        refs[name] = meta
    return refs


def callscribe(binary, model, language, folder):
    out = subprocess.run([binary, "process", "--model", model, "--language", language,
                          "--threads", "2", "--jobs", "1", folder],
                         capture_output=True, text=True, check=False)
    rows = {}
    for line in out.stdout.splitlines():
        r = json.loads(line)
        t = r.get("transcript") or {}
        rows[os.path.basename(r["source"]["path"])] = (t.get("text", ""), t.get("language"))
    return rows


def faster_whisper(model, language, folder):
    rows = {}
    for name in sorted(os.listdir(folder)):
        if name.endswith(".wav"):
            text, info = bh.fw_transcribe_info(model, os.path.join(folder, name), language)
            rows[name] = (text, info.language)
    return rows


def by_sentence(refs, rows, language):
    """[(edits, words)] per sentence, over all messages, in a fixed order."""
    out = []
    for name in sorted(refs):
        sentences = [bh.reference_words(language, s) for s in refs[name]["sentences"]]
        hyp = bh.reference_words(language, rows.get(name, ("", None))[0])
        edits = bh.edits_by_sentence(sentences, hyp)
        out += [(e, len(words)) for e, words in zip(edits, sentences)]
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", required=True, help="callscribe's ggml model")
    p.add_argument("--ct2", required=True, help="the same weights for faster-whisper")
    p.add_argument("--callscribe", default="target/release/callscribe")
    p.add_argument("--languages", default="es,fr,en")
    p.add_argument("--max-speech", type=float, default=45.0, help="seconds of speech per message")
    p.add_argument("--ffmpeg-input", action="store_true")
    p.add_argument("--work", help="folder for the clips (default: a temporary one)")
    args = p.parse_args()

    from faster_whisper import WhisperModel
    fw = WhisperModel(args.ct2, device="cpu", compute_type="int8", cpu_threads=2)
    work = args.work or tempfile.mkdtemp(prefix="every-prompt-")
    print("| language | messages, sentences, words | system | WER | difference to "
          "faster-whisper | 95 % interval, sentences | wrong language |")
    print("|---|---|---|---:|---:|---|---|")
    for lang in args.languages.split(","):
        with tempfile.TemporaryDirectory() as tmp:
            if lang == "en":
                prompts = bh.human_english_prompts("tests/.cache/pypi", tmp)
            else:
                prompts = bh.asterisk_prompts("tests/.cache/debian/root", lang)
        folder = os.path.join(work, lang)
        refs = messages(prompts, lang, args.max_speech, folder)
        runs = {
            ("callscribe", lang): callscribe(args.callscribe, args.model, lang, folder),
            ("callscribe", "auto"): callscribe(args.callscribe, args.model, "auto", folder),
            ("faster-whisper", lang): faster_whisper(fw, lang, folder),
            ("faster-whisper", "auto"): faster_whisper(fw, None, folder),
        }
        if args.ffmpeg_input:
            upsampled = folder + "-ffmpeg"
            os.makedirs(upsampled, exist_ok=True)
            for name in refs:
                subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i",
                                os.path.join(folder, name), "-ar", "16000",
                                os.path.join(upsampled, name)], check=True)
            runs[("callscribe, ffmpeg's 16 kHz", lang)] = callscribe(
                args.callscribe, args.model, lang, upsampled)
        scored = {key: by_sentence(refs, rows, lang) for key, rows in runs.items()}
        words = sum(n for _, n in scored[("faster-whisper", "auto")])
        shape = f"{len(refs)}, {len(prompts)}, {words:,}"
        for (system, setting), units in scored.items():
            anchor = scored[("faster-whisper", setting)]
            wer = sum(e for e, _ in units) / words
            label = f"{system}, {'auto' if setting == 'auto' else 'language given'}"
            wrong = "—"
            if setting == "auto":
                wrong = f"{sum(l != lang for _, l in runs[(system, setting)].values())} / {len(refs)}"
            diff, interval = "", ""
            if system != "faster-whisper":
                pairs = [(e, f, n) for (e, n), (f, _) in zip(units, anchor)]
                low, high = bh.bootstrap_interval(pairs, bh.edit_difference)
                diff = f"{bh.edit_difference(pairs) * 100:+.2f}"
                interval = f"{low * 100:+.2f} to {high * 100:+.2f}"
            print(f"| {NAMES[lang]} | {shape} | {label} | {wer:.2%} | {diff} | {interval} | "
                  f"{wrong} |", flush=True)


if __name__ == "__main__":
    main()
