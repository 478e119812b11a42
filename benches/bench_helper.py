#!/usr/bin/env python3
"""Helpers for benches/compare.sh, benches/transcribe.sh and benches/multilingual.sh (Python
3.9+, stdlib only, except `fw` and `inproc`, which need `pip install faster-whisper`).

Subcommands:
  aggregate   hyperfine JSON exports of interleaved rounds -> markdown table with ratios
  fw          faster-whisper as a whole process: load the model, transcribe one file, print JSON
  inproc      in-process timings, interleaved: faster-whisper (int8 and float32, models loaded
              once) and callscribe's own `timings_ms` (model load excluded) on each clip
  wer         word error rate of hypotheses against a reference, after `normalize`
  wer-table   the WER table again from `inproc --json` output (after changing the normalizer)
  normalize   the text normalizer used for every English WER here (prints the normalized text)
  voicemails  Spanish, French and English voicemails for benches/multilingual.sh (deterministic;
              with --en-pool wide, but for espeak-ng's and flite's versions)
  multilingual  whole-process rounds of benches/multilingual.sh: wall, CPU, peak RSS, transcripts
  multilingual-report  the markdown tables again from `multilingual --json` output
  floor-clips  the short clips of benches/context-floor.sh (deterministic but for espeak-ng)
  floor-report the word errors of benches/context-floor.sh's runs, per clip set, model, floor
  criterion   the last `cargo bench --bench pipeline` run as a markdown table: criterion's mean
              estimate, the median and the fastest of its samples (per-iteration time)
"""

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import time

# ---------------------------------------------------------------------------------------------
# Text normalization (the same for the reference and for every system)
# ---------------------------------------------------------------------------------------------

ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
        "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
        "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                 "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}


def cardinal(n: int) -> str:
    """0..999999 as English words, without "and" ("two hundred four")."""
    if n < 20:
        return ONES[n]
    if n < 100:
        return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])
    if n < 1000:
        rest = n % 100
        return ONES[n // 100] + " hundred" + ("" if rest == 0 else " " + cardinal(rest))
    rest = n % 1000
    return cardinal(n // 1000) + " thousand" + ("" if rest == 0 else " " + cardinal(rest))


def ordinal(n: int) -> str:
    """12 -> "twelfth", 21 -> "twenty first", 30 -> "thirtieth"."""
    words = cardinal(n).split()
    last = words[-1]
    if last in ORDINAL_WORDS:
        words[-1] = ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def number_words(digits: str) -> str:
    """A run of digits as words. Two digits or fewer: the cardinal ("12" -> "twelve"). Three or
    more, or a leading zero: digit by digit ("204" -> "two zero four", "555" -> "five five
    five"), since on a call such numbers (phone, room, account numbers) are read digit by digit."""
    if len(digits) <= 2 and not (len(digits) == 2 and digits[0] == "0"):
        return cardinal(int(digits))
    return " ".join(ONES[int(d)] for d in digits)


def normalize(text: str) -> str:
    """Lowercase, numbers to words, punctuation removed, whitespace collapsed.

    Rules, in order: text in [brackets] or (parentheses) is dropped, as OpenAI's Whisper
    normalizer does ("[BLANK_AUDIO]"); "h:mm" times -> "h mm" in words ("3:30" -> "three
    thirty"); digit groups with thousands separators lose them ("1,000" -> "1000"); digit groups
    joined by dots are a digit sequence, not a decimal ("5.5.5.1" -> "five five five one": Whisper
    writes spoken phone numbers that way, and a call has few decimals); ordinals
    ("12th" -> "twelfth"); every other digit run via `number_words`; "oh" between two number
    words -> "zero" (so a spoken "two oh four" and a written "204" agree); then everything but
    letters and spaces is dropped (apostrophes too: "it's" -> "its", hyphens become spaces).
    """
    t = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", text.lower())
    t = re.sub(r"\b(\d{1,2}):(\d{2})\b",
               lambda m: f" {number_words(m.group(1))} "
               + ("" if m.group(2) == "00" else number_words(m.group(2))) + " ", t)
    t = re.sub(r"(?<=\d),(?=\d{3}\b)", "", t)
    t = re.sub(r"\d+(?:\.\d+)+",
               lambda m: " " + " ".join(number_words(g) for g in m.group(0).split(".")) + " ", t)
    t = re.sub(r"(\d+)(st|nd|rd|th)\b", lambda m: f" {ordinal(int(m.group(1)))} ", t)
    t = re.sub(r"\d+", lambda m: f" {number_words(m.group(0))} ", t)
    t = re.sub(r"[-/]", " ", t)
    t = re.sub(r"[^a-z\s]", "", t)
    words = t.split()
    digit_words = set(ONES[:10])
    for i in range(1, len(words) - 1):
        if words[i] == "oh" and words[i - 1] in digit_words and words[i + 1] in digit_words:
            words[i] = "zero"
    return " ".join(words)


def word_errors(ref: str, hyp: str):
    """(substitutions + deletions + insertions, reference words) after normalization."""
    r, h = normalize(ref).split(), normalize(hyp).split()
    return edit_distance(r, h), len(r)


# ---------------------------------------------------------------------------------------------
# hyperfine rounds -> table
# ---------------------------------------------------------------------------------------------

def median_ratio(rounds_a, rounds_b):
    """Median over rounds of median(a in round) / median(b in round)."""
    return statistics.median(statistics.median(a) / statistics.median(b)
                             for a, b in zip(rounds_a, rounds_b))


def table(groups, anchor_label, per_round, seconds_per_input=0.0, rtf_seconds=0.0, cpu=None):
    """Markdown table. `groups`: {group: [label, ...]}; `per_round[(group, label)]`: one list of
    times (seconds) per round; `cpu[(group, label)]`: user + system seconds, one per round."""
    speed = ""
    if seconds_per_input:
        speed = " × real time |"
    elif rtf_seconds:
        speed = " RTF |"
    cpu_head = " median CPU ms (user+sys) | CPU ratio |" if cpu else ""
    lines = [f"| input | system | runs | median ms | min ms |{speed} ratio to anchor |{cpu_head}",
             "|---|---|---:|---:|---:|" + ("---:|" if speed else "") + "---:|"
             + ("---:|---:|" if cpu else "")]
    for group, labels in groups.items():
        for label in labels:
            rounds = per_round[(group, label)]
            times = [t for r in rounds for t in r]
            med = statistics.median(times)
            if label == anchor_label:
                ratio = "1 (anchor)"
            elif (group, anchor_label) in per_round:
                ratio = f"{median_ratio(rounds, per_round[(group, anchor_label)]):.3f}"
            else:
                ratio = ""
            cell = ""
            if seconds_per_input:
                cell = f" {seconds_per_input / med:,.0f}× |"
            elif rtf_seconds:
                cell = f" {med / rtf_seconds:.4f} |"
            cpu_cell = ""
            if cpu:
                mine = cpu[(group, label)]
                cpu_ratio = "1 (anchor)" if label == anchor_label else \
                    f"{statistics.median(a / b for a, b in zip(mine, cpu[(group, anchor_label)])):.3f}"
                cpu_cell = f" {statistics.median(mine) * 1e3:,.1f} | {cpu_ratio} |"
            lines.append(f"| {group} | {label} | {len(times)} | {med * 1e3:,.1f} | "
                         f"{min(times) * 1e3:,.1f} |{cell} {ratio} |{cpu_cell}")
    return "\n".join(lines)


def aggregate(args):
    """Each JSON file is one hyperfine round (every command once, back to back); rounds are
    interleaved in time. Per command: median wall time over all runs, and the median over
    rounds of (command / anchor) from the same round, so load that changes between rounds
    cancels out of the ratio. Commands are named "<input> | <system>"."""
    rounds, cpu_rounds = [], []
    for path in args.json:
        with open(path) as f:
            results = json.load(f)["results"]
        rounds.append({r["command"]: r["times"] for r in results})
        # With --runs 1, hyperfine's "user"/"system" are that one run's CPU times.
        cpu_rounds.append({r["command"]: r["user"] + r["system"] for r in results})
    groups, per_round, cpu = {}, {}, {}
    for name in rounds[0]:
        group, _, label = name.partition(" | ")
        groups.setdefault(group, []).append(label)
        per_round[(group, label)] = [r[name] for r in rounds]
        cpu[(group, label)] = [r[name] for r in cpu_rounds]
    print(table(groups, args.anchor, per_round, args.seconds_per_input, args.rtf_seconds, cpu))


# ---------------------------------------------------------------------------------------------
# faster-whisper
# ---------------------------------------------------------------------------------------------

def fw_transcribe_info(model, path, language="en"):
    """(text, TranscriptionInfo); `language` None detects it (on the first 30 s of speech)."""
    segments, info = model.transcribe(path, beam_size=1, vad_filter=True, language=language)
    return " ".join(s.text.strip() for s in segments), info  # the generator does the work


def fw_transcribe(model, path):
    return fw_transcribe_info(model, path)[0]


def fw(args):
    """The whole-process measurement: python start-up and imports happen before this runs."""
    t0 = time.perf_counter()
    from faster_whisper import WhisperModel
    t1 = time.perf_counter()
    model = WhisperModel(args.model_dir, device="cpu", compute_type=args.compute_type,
                         cpu_threads=args.threads)
    t2 = time.perf_counter()
    language = None if args.language == "auto" else args.language
    text, info = fw_transcribe_info(model, args.file, language)
    t3 = time.perf_counter()
    print(json.dumps({"text": text, "language": info.language,
                      "language_probability": round(info.language_probability, 3),
                      "import_s": t1 - t0, "load_s": t2 - t1, "transcribe_s": t3 - t2}))


def inproc(args):
    """Interleaved in-process timings, then the WER table. Per round, per clip, each system
    once, in a rotating order. faster-whisper: `transcribe()` plus consuming its segments
    (decode with PyAV, Silero VAD, features, encoder, decoder), models loaded once before the
    loop. callscribe: its own `timings_ms.total` (read + decode + resample + trim + transcribe;
    process start and model load are outside it). whisper.cpp: its driver's whisper_full() time."""
    from faster_whisper import WhisperModel
    models = {ct: WhisperModel(args.model_dir, device="cpu", compute_type=ct,
                               cpu_threads=args.threads) for ct in ("int8", "float32")}
    for m in models.values():  # warm-up: the first call pays one-off allocations
        fw_transcribe(m, args.files[0])
    systems = ["callscribe", "faster-whisper int8", "faster-whisper float32"]
    if args.whispercpp:
        systems.append("whisper.cpp (whole file)")
    names = {f: os.path.basename(f).rsplit(".", 1)[0] for f in args.files}
    per_round = {(names[f], s): [] for f in args.files for s in systems}
    texts = {}
    for rnd in range(args.rounds):
        for f in args.files:
            k = rnd % len(systems)
            for s in systems[k:] + systems[:k]:
                key = (names[f], s)
                if s == "callscribe":
                    out = subprocess.run(
                        [args.callscribe, "process", "--model", args.model, "--threads",
                         str(args.threads), "--jobs", "1", f],
                        check=True, capture_output=True, text=True).stdout
                    res = json.loads(out.splitlines()[0])
                    per_round[key].append([res["timings_ms"]["total"] / 1e3])
                    texts[key] = res["transcript"]["text"]
                elif s.startswith("whisper.cpp"):
                    out = subprocess.run([args.whispercpp, args.model, str(args.threads), f],
                                         check=True, capture_output=True, text=True).stdout
                    res = json.loads(out)
                    per_round[key].append([res["transcribe_s"]])
                    texts[key] = res["text"].strip()
                else:
                    t = time.perf_counter()
                    text = fw_transcribe(models[s.split()[-1]], f)
                    per_round[key].append([time.perf_counter() - t])
                    texts[key] = text
    with open(args.json, "w") as out:
        json.dump({"times": {" | ".join(k): v for k, v in per_round.items()},
                   "texts": {" | ".join(k): v for k, v in texts.items()}}, out, indent=1)
    groups = {names[f]: systems for f in args.files}
    print("### In process (model loaded; see benches/bench_helper.py `inproc` for what each "
          "time covers)\n")
    print(table(groups, "faster-whisper int8", per_round, rtf_seconds=args.audio_seconds))
    print()
    print(wer_table(args.refs, {" | ".join(k): v for k, v in texts.items()}))


def wer_table(refs_path, texts):
    """Markdown WER table; `texts`: {"<clip> | <system>": transcript}."""
    with open(refs_path) as f:
        refs = {os.path.basename(k).rsplit(".", 1)[0]: v for k, v in json.load(f).items()}
    lines = ["### Word error rate (normalized: lowercase, numbers to words, no punctuation)", "",
             "| input | system | WER | errors / words | transcript |", "|---|---|---:|---:|---|"]
    for clip, ref in refs.items():
        lines.append(f"| {clip} | reference | | | {ref} |")
        for key, text in texts.items():
            c, _, system = key.partition(" | ")
            if c == clip:
                errors, n = word_errors(ref, text)
                lines.append(f"| {clip} | {system} | {errors / n:.3f} | {errors} / {n} | {text} |")
    return "\n".join(lines)


def wer_from_json(args):
    with open(args.json) as f:
        print(wer_table(args.refs, json.load(f)["texts"]))


def wer(args):
    errors, n = word_errors(args.ref, args.hyp)
    print(f"{errors / n:.4f} {errors} {n}")


# ---------------------------------------------------------------------------------------------
# Multilingual voicemails (benches/multilingual.sh): the layout of tests/support/voicemail.rs
# ---------------------------------------------------------------------------------------------

VOICEMAIL_RATE = 8000  # Hz: a telephone line, the rate of the asterisk prompts
ASTERISK_VOICES = {
    # Only the Spanish and French voices: the English, Russian and Italian ones are reserved.
    "es": ("usr/share/asterisk/sounds/es_MX_f_Allison",
           "usr/share/doc/asterisk-core-sounds-es/core-sounds-es.txt"),
    "fr": ("usr/share/asterisk/sounds/fr_CA_f_June",
           "usr/share/doc/asterisk-core-sounds-fr/core-sounds-fr.txt"),
}
# A second Italian speaker, not the reserved core-sounds voice: asterisk-prompt-it-menardi-wav
# (tests/support/voicemail.rs `italian_prompts`). It ships no transcripts, so its clips measure
# time and the language decision, not WER.
MENARDI_DIR = "usr/share/asterisk/sounds/it_IT_f_Menardi"
# A human Russian voice, not the reserved core-sounds one: the recordings festival's Russian voice
# (festvox-ru) is built from, with their transcripts (tests/support/voicemail.rs
# `russian_prompts`).
RUSSIAN_DIR = "usr/share/festival/voices/russian/msu_ru_nsh_clunits"
# The languages of the benchmark, in the order of its tables.
LANGUAGE_ORDER = ["es", "fr", "en", "it", "ru"]
DIGIT_WORDS = {
    "es": ["cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve"],
    "fr": ["zero", "un", "deux", "trois", "quatre", "cinq", "six", "sept", "huit", "neuf"],
}
ACCENTS = {**dict.fromkeys("áàâä", "a"), **dict.fromkeys("éèêë", "e"),
           **dict.fromkeys("íìîï", "i"), **dict.fromkeys("óòôö", "o"),
           **dict.fromkeys("úùûü", "u"), "ñ": "n", "ç": "c",
           # Russian writers, Whisper among them, mostly leave out the dots of "ё".
           "ё": "е"}
MASK64 = (1 << 64) - 1


class Lcg:
    """tests/support/voicemail.rs `Lcg`, in 64-bit wrapping arithmetic: same seed, same numbers."""

    def __init__(self, seed: int):
        self.state = ((seed * 0x9E3779B97F4A7C15) & MASK64) | 1

    def next_f64(self) -> float:
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & MASK64
        return (self.state >> 11) / float(1 << 53)

    def range(self, lo: float, hi: float) -> float:
        return lo + (hi - lo) * self.next_f64()


def usable_prompt(text: str) -> bool:
    """voicemail.rs `prompts`: a sentence of at least five words, no digits (the transcripts
    write some numbers as digits, some as words), no bracketed sound descriptions."""
    return (len(text.split()) >= 5 and not any(c in text for c in "[]()")
            and not any(c in "0123456789" for c in text))


def read_pcm16_mono(path):
    """Samples of an 8 kHz mono PCM16 WAV as floats (s / 32768, exact in f32), or None."""
    import array
    import wave
    try:
        with wave.open(path, "rb") as w:
            if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (VOICEMAIL_RATE, 1, 2):
                return None
            pcm = array.array("h", w.readframes(w.getnframes()))
    except (OSError, EOFError, wave.Error):
        return None
    if sys.byteorder == "big":
        pcm.byteswap()
    return [s / 32768.0 for s in pcm]


def asterisk_prompts(root, language):
    """The usable prompts of one asterisk voice, sorted by name: [(name, text, samples)]."""
    sounds, transcripts = ASTERISK_VOICES[language]
    texts = {}
    with open(os.path.join(root, transcripts), encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.startswith(";") or ":" not in line:
                continue
            name, _, text = line.partition(":")
            text = text.strip()
            if usable_prompt(text):
                texts[name.strip()] = text
    out = []
    for name in sorted(texts):
        samples = read_pcm16_mono(os.path.join(root, sounds, name + ".wav"))
        if samples is not None:
            out.append((name, texts[name], samples))
    return out


def russian_prompts(root, tmp):
    """voicemail.rs `russian_prompts`: the recordings of festvox-ru's voice database (Nickolay
    Shmyrev reading prose, 16 kHz) whose transcript is usable (`usable_prompt`), the transcript
    without its stress marks ("вол+ос"), each at 8 kHz by sox. [(name, text, samples)], sorted
    by name."""
    import re
    folder = os.path.join(root, RUSSIAN_DIR)
    with open(os.path.join(folder, "etc/txt.done.data"), encoding="utf-8") as f:
        entries = re.findall(r'\(\s*(\S+)\s+"(.*)"\s*\)', f.read())
    out = []
    for name, text in sorted(entries):
        text = text.replace("+", "")
        wav = os.path.join(folder, "wav", name + ".wav")
        if usable_prompt(text) and os.path.exists(wav):
            out.append((name, text, to_8k(wav, tmp)))
    return out


def italian_prompts(root):
    """voicemail.rs `italian_prompts`: every 8 kHz mono WAV of the Menardi prompt folder (not its
    subfolders) of at least 1.5 s but the monkeys' screeching (`tt-monkeys`, a sound effect),
    sorted by name, without text: [(name, "", samples)]."""
    folder = os.path.join(root, MENARDI_DIR)
    out = []
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".wav") or name == "tt-monkeys.wav":
            continue
        samples = read_pcm16_mono(os.path.join(folder, name))
        if samples is not None and len(samples) >= 1.5 * VOICEMAIL_RATE:
            out.append((name[:-4], "", samples))
    return out


def english_prompts(samples_dir, tmp):
    """The espeak-ng sentences of samples/ (manifest speech spans, hostile/ files left out), each
    cut at its exact position as benches/transcribe.sh does: decoded by ffmpeg (gapless), then
    sox `trim`, downmix, `rate -v` to 8 kHz, PCM16, no dither. [(file name, text, samples)]."""
    with open(os.path.join(samples_dir, "manifest.json")) as f:
        files = json.load(f)["files"]
    out = []
    for entry in files:
        if entry["name"].startswith("hostile/"):
            continue
        for seg in entry.get("segments") or []:
            if seg["kind"] != "speech" or not usable_prompt(seg["text"]):
                continue
            base = entry["name"].replace("/", "_")
            decoded, cut = os.path.join(tmp, base + ".f32.wav"), os.path.join(tmp, base + ".8k.wav")
            subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-y", "-i",
                            os.path.join(samples_dir, entry["name"]), "-c:a", "pcm_f32le",
                            decoded], check=True)
            subprocess.run(["sox", "-V1", "-D", decoded, "-e", "signed-integer", "-b", "16", cut,
                            "trim", str(seg["start_s"]), f"={seg['end_s']}", "remix", "-",
                            "rate", "-v", str(VOICEMAIL_RATE)], check=True)
            out.append((entry["name"], seg["text"], read_pcm16_mono(cut)))
    return sorted(out)


def human_english_prompts(pypi_root, tmp):
    """The human English readers of the tests (scripts/fetch-test-audio.sh): pocketsphinx's five
    LibriVox sentences and the LJ Speech sentences of Coqui TTS 0.0.15.1 whose raw text is
    usable (`usable_prompt`: no digits, so no year that `normalize` would read digit by digit),
    each at 8 kHz by sox. [(name, text, samples)], sorted by name."""
    out = []
    librivox = os.path.join(pypi_root, "pocketsphinx-5.1.1/test/data/librivox")
    for name in sorted(os.listdir(librivox)):
        if name.endswith(".wav"):
            with open(os.path.join(librivox, name[:-4] + ".txt"), encoding="utf-8") as f:
                text = f.read().strip()
            out.append((name[:-4], text, to_8k(os.path.join(librivox, name), tmp)))
    ljspeech = os.path.join(pypi_root, "TTS-0.0.15.1/tests/data/ljspeech")
    with open(os.path.join(ljspeech, "metadata.csv"), encoding="utf-8") as f:
        for line in f.read().splitlines():
            clip, raw, text = line.split("|")[:3]
            wav = os.path.join(ljspeech, "wavs", clip + ".wav")
            if usable_prompt(raw) and os.path.exists(wav):
                out.append((clip, text, to_8k(wav, tmp)))
    return sorted(out)


def to_8k(raw, tmp):
    """A synthesizer's WAV as 8 kHz mono PCM16 samples (sox, no dither: its noise is drawn
    afresh on every run)."""
    cut = os.path.join(tmp, "synth-8k.wav")
    subprocess.run(["sox", "-V1", "-D", raw, "-r", str(VOICEMAIL_RATE), "-b", "16", "-e",
                    "signed-integer", cut, "remix", "-"], check=True)
    return read_pcm16_mono(cut)


def espeak_8k(text, voice, speed, tmp):
    raw = os.path.join(tmp, "espeak.wav")
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", raw, text], check=True)
    return to_8k(raw, tmp)


def flite_8k(text, voice, tmp):
    raw = os.path.join(tmp, "flite.wav")
    subprocess.run(["flite", "-voice", voice, "-t", text, "-o", raw], check=True)
    return to_8k(raw, tmp)


def compose_voicemail(prompts, language, seed, target_speech_s):
    """tests/support/voicemail.rs `compose`, sample for sample (f32 rounding included): 0.5 s
    of silence, the bot's 1 kHz beep (0.4 s), a 0.6–1.2 s pause, prompts in a seeded shuffle
    with 0.5–1.2 s pauses between them until the speech passes 80 % of `target_speech_s`
    (never more than it), a 0.6–1.0 s pause, the caller's `#` (941 + 1477 Hz, 0.3 s), 0.4 s;
    line noise at about −60 dBFS throughout. Returns (PCM16 frames, metadata)."""
    import array
    import math
    rate = VOICEMAIL_RATE
    rng = Lcg(seed)
    order = list(range(len(prompts)))
    for i in range(len(order) - 1, 0, -1):  # Fisher–Yates with the seed
        j = int(rng.next_f64() * (i + 1))
        order[i], order[min(j, i)] = order[min(j, i)], order[i]
    audio = array.array("f")  # f32, as in the Rust composer

    def silence(seconds):
        audio.extend([0.0] * int(seconds * rate))

    def tone(freqs, amplitude, seconds):
        audio.extend([sum(amplitude * math.sin(2 * math.pi * f * i / rate) for f in freqs)
                      for i in range(int(seconds * rate))])

    silence(0.5)
    tone([1000.0], 0.3, 0.4)
    silence(rng.range(0.6, 1.2))
    speech_s, texts, used = 0.0, [], []
    for i in order:
        name, text, samples = prompts[i]
        length = len(samples) / rate
        if speech_s + length > target_speech_s:
            continue
        if used:
            silence(rng.range(0.5, 1.2))
        audio.extend(samples)
        speech_s += length
        texts.append(text)
        used.append(name)
        if speech_s > 0.8 * target_speech_s:
            break
    silence(rng.range(0.6, 1.0))
    tone([941.0, 1477.0], 0.25, 0.3)
    silence(0.4)
    noise = array.array("f", [rng.range(-1.0, 1.0) * 0.001 for _ in range(len(audio))])
    audio = array.array("f", [a + n for a, n in zip(audio, noise)])
    scaled = array.array("f", [max(-1.0, min(1.0, a)) * 32767.0 for a in audio])
    # Rust's f32::round: halves away from zero.
    pcm = array.array("h", [int(math.copysign(math.floor(abs(x) + 0.5), x)) for x in scaled])
    if sys.byteorder == "big":
        pcm.byteswap()
    return pcm.tobytes(), {"language": language, "seed": seed,
                           "target_speech_s": target_speech_s, "speech_s": round(speech_s, 3),
                           "duration_s": round(len(audio) / rate, 3),
                           "reference": " ".join(texts), "prompts": used, "sentences": texts}


def voicemails(args):
    """Writes the clips and refs.json ({clip file name: metadata with "reference"})."""
    import hashlib
    import tempfile
    os.makedirs(args.out, exist_ok=True)
    pools = {lang: asterisk_prompts(args.debian_root, lang) for lang in ("es", "fr")}
    pools["it"] = italian_prompts(args.debian_root)
    with tempfile.TemporaryDirectory() as tmp:
        pools["en"] = english_prompts(args.samples, tmp)
        if args.en_pool == "wide":
            pools["en"] += wide_english_prompts(tmp)
        elif args.en_pool == "human":
            pools["en"] = human_english_prompts(args.pypi_root, tmp)
        if "ru" in args.languages.split(","):
            pools["ru"] = russian_prompts(args.debian_root, tmp)
    refs = {}
    for lang in args.languages.split(","):
        targets = args.long
        if lang == "en":
            # samples/ alone holds about 59 s of distinct speech; the wide pool has enough for
            # the targets of the other languages.
            targets = args.en_long or (args.long if args.en_pool != "samples" else "38,46,56")
        long_targets = [float(x) for x in targets.split(",")]
        plan = [("long", t) for t in long_targets] + [("short", args.short)] * args.short_count
        # Further sets of long messages come after the short ones, so the default clips keep
        # their seeds whatever the number of sets.
        plan += [("long", t) for t in long_targets] * (args.long_sets - 1)
        for k, (length, target) in enumerate(plan):
            seed = args.seed + k
            frames, meta = compose_voicemail(pools[lang], lang, seed, target)
            name = f"{lang}-{seed}-{target:.0f}s.wav"
            write_wav(os.path.join(args.out, name), frames)
            if args.line == "gsm":
                through_gsm(os.path.join(args.out, name))
            meta["line"] = args.line
            with open(os.path.join(args.out, name), "rb") as f:
                meta["sha256"] = hashlib.sha256(f.read()).hexdigest()
            meta["length"] = length
            meta["words"] = len(reference_words(lang, meta["reference"]))
            meta["pool"] = len(pools[lang])
            refs[name] = meta
            print(f"{name}: {meta['speech_s']:.1f} s speech in {meta['duration_s']:.1f} s, "
                  f"{len(meta['prompts'])} prompts, {meta['words']} words, "
                  f"sha256 {meta['sha256'][:12]}", file=sys.stderr)
    with open(os.path.join(args.out, "refs.json"), "w") as f:
        json.dump(refs, f, indent=1, ensure_ascii=False)


def through_gsm(path):
    """Replaces the 8 kHz WAV at `path` by itself encoded with GSM 06.10 full rate (13 kbit/s,
    sox's `gsm` format) and decoded again to PCM16."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        coded = os.path.join(tmp, "line.gsm")
        subprocess.run(["sox", "-V1", "-D", path, "-t", "gsm", coded], check=True)
        subprocess.run(["sox", "-V1", "-D", "-t", "gsm", "-r", str(VOICEMAIL_RATE), "-c", "1",
                        coded, "-b", "16", path], check=True)


def plain_words(text):
    """tests/support/voicemail.rs `plain_words`: lowercase, accents stripped (the transcripts drop
    some: "numero", "contrasena"), "ё" as "е", everything but letters and digits a word break (so
    apostrophes split words: "l'appel" -> "l appel", and "из-за" is two words)."""
    return "".join(ACCENTS.get(c, c if c.isalnum() else " ") for c in text.lower()).split()


def words_es_fr(language, text):
    """tests/support/voicemail.rs `words`: `plain_words`, a lone digit read in the language,
    "œ" -> "oe"."""
    digits = DIGIT_WORDS[language]
    return [digits[int(w)] if w.isdigit() and w.isascii() and int(w) < 10
            else w.replace("œ", "oe") for w in plain_words(text)]


def reference_words(language, text):
    """The normalized words used for WER: `normalize` for English, `plain_words` for Russian (as
    `multilingual::a_human_russian_voice_is_decided_russian_and_transcribed`), `words_es_fr`
    otherwise."""
    if language == "it":
        return []  # no transcripts: no WER
    if language == "ru":
        return plain_words(text)
    return normalize(text).split() if language == "en" else words_es_fr(language, text)


def edit_distance(r, h):
    prev = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        cur = [i] + [0] * len(h)
        for j in range(1, len(h) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
        prev = cur
    return prev[len(h)]


def edits_by_sentence(sentences, hyp):
    """The edits of `hyp` (words) against the reference spoken as `sentences` (each a list of
    its reference words, in order), each charged to the sentence it falls in: a substitution or
    deletion to its reference word's sentence, an insertion to the sentence of the reference word
    before it (the first sentence's at the start). One minimum-edit alignment, so the list sums
    to `edit_distance`; `edit_distance` keeps one row, this needs the whole table to trace."""
    ref, owner = [], []
    for k, words in enumerate(sentences):
        ref += words
        owner += [k] * len(words)
    d = [list(range(len(hyp) + 1))]
    for i in range(1, len(ref) + 1):
        row = [i] + [0] * len(hyp)
        for j in range(1, len(hyp) + 1):
            row[j] = min(d[i - 1][j] + 1, row[j - 1] + 1,
                         d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]))
        d.append(row)
    edits = [0] * len(sentences)
    i, j = len(ref), len(hyp)
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i][j] == d[i - 1][j - 1] + (ref[i - 1] != hyp[j - 1]):
            edits[owner[i - 1]] += ref[i - 1] != hyp[j - 1]
            i, j = i - 1, j - 1
        elif i > 0 and d[i][j] == d[i - 1][j] + 1:
            edits[owner[i - 1]] += 1
            i -= 1
        else:
            edits[owner[i - 1] if i > 0 else 0] += 1
            j -= 1
    return edits


def edit_difference(sample):
    """(edits of a system − edits of its anchor) / reference words, over `sample`: a list of
    (system edits, anchor edits, reference words) per unit (a clip or a sentence)."""
    words = sum(n for _, _, n in sample)
    return (sum(m for m, _, _ in sample) - sum(f for _, f, _ in sample)) / words


def bootstrap_interval(units, statistic, resamplings=10_000, seed=0):
    """The 95 % percentile bootstrap interval of `statistic` over `units`, resampled with
    replacement: (2.5th, 97.5th percentile)."""
    rng = random.Random(seed)
    boot = sorted(statistic(rng.choices(units, k=len(units))) for _ in range(resamplings))
    return boot[resamplings // 40], boot[resamplings - resamplings // 40 - 1]


def repeated_ngram(words, n=4):
    """The most repeated n-gram of `words` and its count (a decoding loop repeats a phrase)."""
    counts = {}
    for i in range(len(words) - n + 1):
        g = " ".join(words[i:i + n])
        counts[g] = counts.get(g, 0) + 1
    return max(counts.items(), key=lambda kv: kv[1], default=("", 0))


# One system of benches/multilingual.sh: `label`, the `family` of weights (base, tiny.en,
# base@known) whose faster-whisper run is its anchor, the argv without the clip, and the clip
# languages it runs on. `base@known` is base told each clip's language (`{lang}` in argv), as a
# service configured per tenant (`by_client_context`) runs it: no detection on either side.
def multilingual_systems(args):
    def language(family):
        name, _, mode = family.partition("@")
        if mode == "known":
            return name, "{lang}", " (language given)"
        return name, "auto" if name == "base" else "en", ""

    systems = []
    for spec in args.callscribe_model:
        family, variant, path = spec.split(":", 2)
        name, lang, note = language(family)
        systems.append({"label": f"callscribe {name} {variant}{note}", "family": family,
                        "kind": "callscribe", "forced": None if lang == "auto" else lang,
                        "languages": ["en"] if lang == "en" else None,
                        "argv": [args.callscribe, "process", "--model", path, "--language",
                                 lang, "--threads", str(args.threads), "--jobs", "1"]})
    for spec in args.fw_model:
        family, path = spec.split(":", 1)
        name, lang, note = language(family)
        systems.append({"label": f"faster-whisper {name} int8{note}", "family": family,
                        "kind": "fw", "forced": None if lang == "auto" else lang,
                        "languages": ["en"] if lang == "en" else None,
                        "argv": [sys.executable, os.path.abspath(__file__), "fw", "--model-dir",
                                 path, "--compute-type", "int8", "--threads", str(args.threads),
                                 "--language", lang]})
    return systems


def run_measured(argv, pin):
    """One whole-process run: wall seconds (fork to reap), CPU seconds (user + system of the
    process tree, from wait4), peak RSS in KiB (`/usr/bin/time -f %M`), stdout."""
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        rss_path = os.path.join(tmp, "rss")
        with open(os.path.join(tmp, "out"), "w+") as out, \
                open(os.path.join(tmp, "err"), "w+") as err:
            t0 = time.perf_counter()
            p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", rss_path] + pin + argv,
                                 stdout=out, stderr=err, stdin=subprocess.DEVNULL)
            _, status, usage = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
            p.returncode = os.waitstatus_to_exitcode(status)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        with open(rss_path) as f:
            rss_lines = f.read().split()
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {p.returncode}: {stderr[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, int(rss_lines[-1]), stdout


def parse_system_output(kind, stdout):
    """(text, language, probability) from callscribe's first JSON line or `fw`'s JSON."""
    res = json.loads(stdout.splitlines()[0])
    if kind == "callscribe":
        t = res.get("transcript") or {}
        return t.get("text", ""), t.get("language"), t.get("language_probability")
    return res["text"], res["language"], res["language_probability"]


def multilingual(args):
    """Whole-process rounds: round r runs every (clip, system) pair once; clips in a fixed order,
    the systems of each clip in an order rotated by round and clip, so no system always runs
    first or right after the same one. Writes every run to --json after each round."""
    with open(args.refs) as f:
        refs = json.load(f)
    systems = multilingual_systems(args)
    pin = args.pin.split() if args.pin else []
    clips = sorted(refs, key=lambda c: (LANGUAGE_ORDER.index(refs[c]["language"]),
                                        refs[c]["length"], c))
    runs = []
    t_start = time.time()
    for rnd in range(args.rounds):
        for ci, clip in enumerate(clips):
            lang = refs[clip]["language"]
            mine = [s for s in systems if s["languages"] is None or lang in s["languages"]]
            k = (rnd + ci) % len(mine)
            for s in mine[k:] + mine[:k]:
                argv = [a.replace("{lang}", lang) for a in s["argv"]]
                wall, cpu, rss, stdout = run_measured(argv + [os.path.join(args.clips, clip)], pin)
                text, language, prob = parse_system_output(s["kind"], stdout)
                runs.append({"round": rnd, "clip": clip, "system": s["label"], "wall_s": wall,
                             "cpu_s": cpu, "rss_kib": rss, "text": text, "language": language,
                             "language_probability": prob})
            # After every clip, so an interrupted run still leaves its complete rounds for
            # `multilingual-report`.
            with open(args.json, "w") as f:
                json.dump({"systems": systems, "refs": refs, "runs": runs}, f, indent=1,
                          ensure_ascii=False)
            print(f"multilingual: round {rnd + 1}/{args.rounds}, clip {ci + 1}/{len(clips)}, "
                  f"{(time.time() - t_start) / 60:.1f} min", file=sys.stderr)
    print(multilingual_markdown(systems, refs, runs))


def multilingual_report(args):
    with open(args.json) as f:
        data = json.load(f)
    print(multilingual_markdown(data["systems"], data["refs"], data["runs"]))


def multilingual_markdown(systems, refs, runs):
    """The tables of benches/multilingual.sh, from its runs."""
    anchors = {s["family"]: s["label"] for s in systems if s["kind"] == "fw"}
    pairs = {(r["clip"], r["system"]) for r in runs}
    rounds = sorted(rnd for rnd in {r["round"] for r in runs}
                    if {(r["clip"], r["system"]) for r in runs if r["round"] == rnd} == pairs)
    runs = [r for r in runs if r["round"] in rounds]  # complete rounds only
    by = {}
    for r in runs:
        by.setdefault((r["clip"], r["system"]), []).append(r)
    groups = {}
    for clip, meta in refs.items():
        groups.setdefault((meta["language"], meta["length"]), []).append(clip)
    names = {"es": "Spanish", "fr": "French", "en": "English", "it": "Italian (no WER)",
             "ru": "Russian"}

    def clip_quality(clip, system):
        """(edits, reference words, wrong-language runs, transcripts differ, notes)."""
        meta = refs[clip]
        lang = meta["language"]
        ref = reference_words(lang, meta["reference"])
        mine = by[(clip, system["label"])]
        edits = sum(edit_distance(ref, reference_words(lang, r["text"])) for r in mine)
        wrong = 0 if system["forced"] else sum(r["language"] != lang for r in mine)
        notes = []
        hyp = reference_words(lang, mine[0]["text"])
        gram, count = repeated_ngram(hyp)
        if count >= 3 and count > repeated_ngram(ref)[1]:
            notes.append(f"“{gram}” ×{count}")
        if ref and len(hyp) > 1.3 * len(ref):
            notes.append(f"{len(hyp)} words for {len(ref)}")
        if ref and len(hyp) < 0.7 * len(ref):
            notes.append(f"only {len(hyp)} words of {len(ref)}")
        if len({r["text"] for r in mine}) > 1:
            notes.append("transcript differs between rounds")
        if wrong:
            notes.append("language " + ", ".join(sorted({f"{r['language']} "
                         f"(p {r['language_probability']})" for r in mine if r["language"] != lang})))
        return edits, len(ref) * len(mine), wrong, notes

    def sentence_edits(clip, system):
        """{sentence (its normalized words): [edits, reference words]} over the rounds, or None
        when the clip's metadata predates "sentences" or they do not spell its reference."""
        meta = refs[clip]
        lang = meta["language"]
        sentences = [reference_words(lang, t) for t in meta.get("sentences") or []]
        if not sentences or sum(sentences, []) != reference_words(lang, meta["reference"]):
            return None
        out = {}
        for r in by[(clip, system["label"])]:
            edits = edits_by_sentence(sentences, reference_words(lang, r["text"]))
            for words, e in zip(sentences, edits):
                acc = out.setdefault(" ".join(words), [0, 0])
                acc[0] += e
                acc[1] += len(words)
        return out

    # Every (clip, system) scored once, for the three tables that use it.
    system_of = {s["label"]: s for s in systems}
    quality = {(c, label): clip_quality(c, system_of[label]) for (c, label) in by}
    by_sentence = {(c, label): sentence_edits(c, system_of[label]) for (c, label) in by
                   if refs[c]["language"] != "it"}
    ordered_groups = sorted(groups, key=lambda g: (LANGUAGE_ORDER.index(g[0]), g[1] != "long"))

    def transcribes(system, lang):
        return system["languages"] is None or lang in system["languages"]

    out = ["### Clips", "",
           "| clip | language | length | seed | duration s | speech s | prompts | words | sha256 |",
           "|---|---|---|---:|---:|---:|---:|---:|---|"]
    for clip in sorted(refs, key=lambda c: (LANGUAGE_ORDER.index(refs[c]["language"]),
                                            refs[c]["length"], c)):
        m = refs[clip]
        out.append(f"| {clip} | {m['language']} | {m['length']} | {m['seed']} | "
                   f"{m['duration_s']:.1f} | {m['speech_s']:.1f} | {len(m['prompts'])} | "
                   f"{m['words']} | `{m['sha256'][:12]}…` |")
    out += ["", "### Whole process, per language and message length", "",
           "Per group of clips: wall and CPU (user + system) time per file, the median over rounds "
           "of the group's mean; ratio = median over rounds of (the system's total ÷ the total of "
           "faster-whisper int8 with the same weights) on the same clips; WER = edits ÷ reference "
           "words over the group's clips (and rounds); wrong language = files whose detected "
           "language was not the spoken one in any round (— where the language is forced).", "",
           "| language | length | system | files | median wall ms | ratio to fw int8 | "
           "median CPU ms | CPU ratio | WER | wrong language |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for (lang, length) in ordered_groups:
        clips = groups[(lang, length)]
        speech = sum(refs[c]["speech_s"] for c in clips) / len(clips)
        for s in systems:
            if not transcribes(s, lang):
                continue

            def per_round(label, field):
                return [sum(next(r[field] for r in by[(c, label)] if r["round"] == rnd)
                            for c in clips) for rnd in rounds]
            wall, cpu = per_round(s["label"], "wall_s"), per_round(s["label"], "cpu_s")
            anchor = anchors.get(s["family"])
            if s["label"] == anchor:
                ratio = cpu_ratio = "1 (anchor)"
            else:
                aw, ac = per_round(anchor, "wall_s"), per_round(anchor, "cpu_s")
                ratio = f"{statistics.median(a / b for a, b in zip(wall, aw)):.3f}"
                cpu_ratio = f"{statistics.median(a / b for a, b in zip(cpu, ac)):.3f}"
            edits = words = wrong_files = 0
            for c in clips:
                e, n, wrong, _ = quality[(c, s["label"])]
                edits, words, wrong_files = edits + e, words + n, wrong_files + (wrong > 0)
            wrong_cell = "—" if s["forced"] else f"{wrong_files} / {len(clips)}"
            out.append(f"| {names[lang]} | {length} (≈ {speech:.0f} s speech) | {s['label']} | "
                       f"{len(clips)} | {statistics.median(wall) / len(clips) * 1e3:,.0f} | "
                       f"{ratio} | {statistics.median(cpu) / len(clips) * 1e3:,.0f} | "
                       f"{cpu_ratio} | {f'{edits / words:.1%}' if words else '—'} | "
                       f"{wrong_cell} |")
    out += ["", "### WER against faster-whisper, clip by clip", "",
            "Per group and callscribe system, paired with faster-whisper int8 on the same weights "
            "and the same clips: the clips where callscribe made fewer, as many and more edits "
            "(summed over rounds); the WER difference (callscribe − faster-whisper, in points); "
            "and its 95 % bootstrap intervals (10,000 resamplings, seed 0): of the group's clips, "
            "and of the sentences its clips are made of, each edit charged to the sentence it falls "
            "in. Clips share sentences (a pool's prompts recur across messages), so their errors "
            "are not independent and the clip interval is too narrow; the sentence interval counts "
            "a sentence with all its recurrences. An interval holding 0 means these clips cannot "
            "tell the two apart.", "",
            "| language | length | system | clips | fewer / same / more edits | WER difference | "
            "95 % interval, clips | sentences | 95 % interval, sentences |",
            "|---|---|---|---:|---|---:|---|---:|---|"]
    for (lang, length) in ordered_groups:
        clips = groups[(lang, length)]
        for s in systems:
            anchor = anchors.get(s["family"])
            if s["kind"] == "fw" or anchor is None or not transcribes(s, lang) or lang == "it":
                continue
            # (callscribe edits, faster-whisper edits, reference words) per clip
            paired = [(quality[(c, s["label"])][0], quality[(c, anchor)][0],
                       quality[(c, s["label"])][1]) for c in clips]
            fewer = sum(m < f for m, f, _ in paired)
            more = sum(m > f for m, f, _ in paired)

            def interval(units):
                low, high = bootstrap_interval(units, edit_difference)
                return f"{low * 100:+.1f} to {high * 100:+.1f}"
            # The same (callscribe edits, faster-whisper edits, words) per distinct sentence.
            sentences, clustered = {}, "—"
            if all(by_sentence[(c, label)] is not None for c in clips
                   for label in (s["label"], anchor)):
                for c in clips:
                    for text, (e, n) in by_sentence[(c, s["label"])].items():
                        acc = sentences.setdefault(text, [0, 0, 0])
                        acc[0], acc[2] = acc[0] + e, acc[2] + n
                    for text, (e, _) in by_sentence[(c, anchor)].items():
                        sentences[text][1] += e
                clustered = interval([tuple(v) for v in sentences.values()])
            out.append(f"| {names[lang]} | {length} | {s['label']} | {len(clips)} | "
                       f"{fewer} / {len(clips) - fewer - more} / {more} | "
                       f"{edit_difference(paired) * 100:+.1f} | {interval(paired)} | "
                       f"{len(sentences) or '—'} | {clustered} |")
    out += ["", "### Peak resident memory per system (`/usr/bin/time -f %M`, every run)", "",
            "| system | runs | median MiB | max MiB |", "|---|---:|---:|---:|"]
    for s in systems:
        rss = [r["rss_kib"] for r in runs if r["system"] == s["label"]]
        out.append(f"| {s['label']} | {len(rss)} | {statistics.median(rss) / 1024:,.0f} | "
                   f"{max(rss) / 1024:,.0f} |")
    out += ["", "### Per clip", "",
            "| clip | speech s | system | median wall ms | WER | detected language (p) | notes |",
            "|---|---:|---|---:|---:|---|---|"]
    for clip in sorted(refs, key=lambda c: (LANGUAGE_ORDER.index(refs[c]["language"]),
                                            refs[c]["length"], c)):
        for s in systems:
            if (clip, s["label"]) not in by:
                continue
            mine = by[(clip, s["label"])]
            e, n, _, notes = quality[(clip, s["label"])]
            forced = refs[clip]["language"] if s["forced"] == "{lang}" else s["forced"]
            langs = f"{forced} (forced)" if forced else ", ".join(
                sorted({f"{r['language']} ({r['language_probability']})" for r in mine}))
            out.append(f"| {clip} | {refs[clip]['speech_s']:.1f} | {s['label']} | "
                       f"{statistics.median(r['wall_s'] for r in mine) * 1e3:,.0f} | "
                       f"{f'{e / n:.1%}' if n else '—'} "
                       f"| {langs} | {'; '.join(notes)} |")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# Criterion summary
# ---------------------------------------------------------------------------------------------

def criterion(args):
    """On a shared VM, load comes in bursts of seconds: criterion's mean moves by ±20 % between
    runs of the same code, while its fastest sample (the mean of one batch of iterations that
    ran without interference) is stable. Both are reported."""
    root = args.dir
    rows = []
    for group in sorted(os.listdir(root)):
        gdir = os.path.join(root, group)
        if not os.path.isdir(gdir) or group == "report":
            continue
        for bench in sorted(os.listdir(gdir)):
            new = os.path.join(gdir, bench, "new")
            try:
                with open(os.path.join(new, "estimates.json")) as f:
                    est = json.load(f)
                with open(os.path.join(new, "sample.json")) as f:
                    sample = json.load(f)
            except FileNotFoundError:
                continue
            per_iter = [t / n for t, n in zip(sample["times"], sample["iters"])]
            rows.append((f"{group}/{bench}", est["mean"]["point_estimate"],
                         statistics.median(per_iter), min(per_iter), len(per_iter)))

    def ms(ns):
        return f"{ns / 1e6:.4f}" if ns < 1e5 else f"{ns / 1e6:.3f}" if ns < 1e6 else f"{ns / 1e6:.1f}"

    def rt(ns):
        return f"{args.audio_seconds * 1e9 / ns:,.0f}×"

    print("| bench | mean ms (criterion) | median sample ms | fastest sample ms | × real time (fastest) | samples |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, mean, median, fastest, n in rows:
        print(f"| `{name}` | {ms(mean)} | {ms(median)} | {ms(fastest)} | {rt(fastest)} | {n} |")


# ---------------------------------------------------------------------------------------------
# benches/context-floor.sh: short clips decoded at several encoder context floors
# ---------------------------------------------------------------------------------------------

FLOOR_MAX_S = 8.5  # the floors measured matter only below 8.96 s (the 512 floor's reach)

# English sentences written for the floor measurement, spoken by espeak-ng in FLOOR_VOICES at
# FLOOR_SPEEDS (`espeak_voice`).
FLOOR_SENTENCES = [
    "Hi, it's Laura, just checking whether the meeting is still on.",
    "Please call me back when you get this message.",
    "I wanted to let you know that the delivery will arrive tomorrow.",
    "This is the front desk, your room is ready now.",
    "Can you send me the contract before the end of the week?",
    "I'm outside the building, I can't find the entrance.",
    "The doctor would like to move your appointment to next Monday.",
    "We received your payment, thank you very much.",
    "Your order has shipped and should arrive on Thursday.",
    "Sorry I missed your call, I was driving.",
    "I'll be at the airport around noon, see you there.",
    "Could you remind Peter about the dinner tonight?",
    "The heating in the apartment is not working again.",
    "I need a copy of the invoice for my records.",
    "Tell the kids I'll be home late.",
    "This is a reminder about your dental cleaning on Friday.",
    "The school called, Emma forgot her lunch box.",
    "I'd like to book a table for four people on Saturday evening.",
    "Please confirm that you received the documents.",
    "The car needs new tires before the winter.",
    "We are running a special offer on all garden furniture this week.",
    "Your prescription is ready for pickup at the pharmacy.",
    "I think I left my umbrella in your office.",
    "The flight has been delayed by two hours.",
    "Let me know if you need anything else from me.",
    "The plumber will come between eight and ten in the morning.",
    "Hello, this is Mark from the bank, please return my call.",
    "I can't make it to practice today, my knee still hurts.",
    "We need to talk about the budget for next year.",
    "The package is waiting for you at the post office.",
    "Good morning, this is the reception of the city hospital.",
    "I forgot my password and I'm locked out of my account.",
    "Could you pick up some milk and bread on your way home?",
    "The concert starts at eight, don't be late.",
    "Your subscription will expire at the end of the month.",
    "I just wanted to say happy birthday.",
    "The meeting room on the third floor is booked all afternoon.",
    "Please don't forget to water the plants while I'm away.",
    "The insurance company needs a signed form from you.",
    "I'm calling about the apartment you advertised online.",
    "The train was cancelled, I'll take the bus instead.",
    "Your test results came back and everything looks normal.",
    "We'd love to have you over for dinner next weekend.",
    "The printer on the second floor is out of paper again.",
    "I've sent you the photos from the wedding.",
    "Please bring your identity card to the appointment.",
    "The garage says the repair will take another day.",
    "I'm sorry, but I have to cancel our lunch tomorrow.",
    "Your new credit card has been mailed to your home address.",
    "Can we move the call to later this afternoon?",
]
FLOOR_VOICES = ["en-us", "en-gb", "en-us+m3", "en-gb-x-rp", "en-us+f2"]
FLOOR_SPEEDS = [150, 165, 140, 170, 155]


def espeak_voice(k):
    """The espeak-ng voice and speed of sentence k of a list: voice k mod 5 of FLOOR_VOICES,
    speed (k div 5) mod 5 of FLOOR_SPEEDS, so every voice meets every speed."""
    return FLOOR_VOICES[k % 5], FLOOR_SPEEDS[(k // 5) % 5]


# English sentences written for the wide English pool of benches/multilingual.sh (EN_POOL=wide):
# ordinary voicemail content, no digits (numbers in words only where a caller would say them),
# never used to choose a setting.
WIDE_SENTENCES = [
    "Hi, this is Robert from the insurance office, returning your call.",
    "I got your message about the kitchen cabinets and I have a few questions.",
    "The landlord wants to inspect the apartment on Wednesday afternoon.",
    "Could you please send me the report before the board meeting?",
    "We are closed for the holidays and will reopen on Monday.",
    "This is the library, the book you reserved is now available.",
    "I am stuck in traffic on the highway, start without me.",
    "Your application has been approved, please call us to finish the paperwork.",
    "The electrician found a problem with the wiring in the basement.",
    "Hey, it's Sam, are we still going fishing this weekend?",
    "The veterinarian says the dog can come home tomorrow morning.",
    "Please let me know which color you picked for the living room.",
    "I left the keys with the neighbor across the street.",
    "The bank noticed an unusual charge on your account and needs to verify it.",
    "Your daughter's teacher would like to schedule a short meeting.",
    "We have a cancellation, so we can see you earlier this week.",
    "I'm returning the jacket because it's too small.",
    "The conference call has been moved to the afternoon.",
    "Hello, I'm calling about the bicycle you are selling.",
    "The hotel confirmed our reservation for three nights.",
    "Please water the garden if it doesn't rain tonight.",
    "This is a courtesy call to remind you that your lease ends next month.",
    "My flight lands late tonight, so I'll take a taxi from the airport.",
    "The pharmacy needs your doctor to approve the new medication.",
    "I found your wallet in the parking lot of the supermarket.",
    "We would like to invite you to an interview next Thursday.",
    "Grandma is feeling much better and says hello to everyone.",
    "The technician could not access the meter, please call to reschedule.",
    "Don't forget that the rent is due at the end of the week.",
    "I'm at the hospital with my brother, I'll call you later.",
    "The furniture store will deliver the sofa on Saturday morning.",
    "Your car failed the inspection because of the brakes.",
    "Can you help me move some boxes on Sunday?",
    "The water will be shut off for repairs between noon and four.",
    "Hi, it's Olivia, I just landed and I'm waiting for my luggage.",
    "We noticed that you haven't logged in for a while.",
    "The warranty covers the repair, so there is nothing to pay.",
    "I tried to reach you at the office but nobody answered.",
    "The children's soccer game was cancelled because of the storm.",
    "Please bring a jacket, it gets cold in the mountains at night.",
    "This message is for Daniel, your tailor has finished the suit.",
    "The accountant needs your signature on the tax forms.",
    "I'm calling to check on the status of my refund.",
    "The new schedule starts on the first of next month.",
    "Could you feed the cat while we are on vacation?",
    "Your internet service will be upgraded tonight after midnight.",
    "I have good news about the house, they accepted our offer.",
    "The museum is open late on Fridays, we could go after work.",
    "Please call the school office as soon as you can.",
    "I'd like to order flowers for my mother's birthday.",
    "The mechanic said the parts will arrive next week.",
    "We are having a small party on Friday, and you are welcome to join.",
    "The dentist asked me to confirm your cleaning appointment.",
    "I think there's a leak under the bathroom sink.",
    "Hi, this is Thomas, I'm outside, can you open the gate?",
    "The city will collect large items from the curb on Tuesday.",
    "Your package requires a signature, so we will try again tomorrow.",
    "I just wanted to thank you for your help last week.",
    "The shop is out of the model you asked for, but we can order it.",
    "Call me when you get this, it's about the contract.",
]
FLITE_VOICES = ["slt", "rms", "awb", "kal16"]


def wide_english_prompts(tmp):
    """WIDE_SENTENCES, each twice: by espeak-ng (`espeak_voice`) and by flite (voice k mod 4
    of FLITE_VOICES), at 8 kHz. [(name, text, samples)]."""
    out = []
    for k, text in enumerate(WIDE_SENTENCES):
        voice, speed = espeak_voice(k)
        out.append((f"wide-espeak-{k:02d}", text, espeak_8k(text, voice, speed, tmp)))
        out.append((f"wide-flite-{k:02d}", text, flite_8k(text, FLITE_VOICES[k % 4], tmp)))
    return out


def write_wav(path, frames):
    """An 8 kHz mono PCM16 WAV of `frames` (little-endian 16-bit bytes)."""
    import wave
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(VOICEMAIL_RATE)
        w.writeframes(frames)


def write_pcm16_mono(path, samples):
    """An 8 kHz mono PCM16 WAV of `samples` (floats of `read_pcm16_mono`, so exact)."""
    import array
    pcm = array.array("h", [max(-32768, min(32767, round(s * 32768))) for s in samples])
    if sys.byteorder == "big":
        pcm.byteswap()
    write_wav(path, pcm.tobytes())


def floor_clips(args):
    """Writes OUT/{es,fr,en}/*.wav and OUT/refs.json ({path: language, text, seconds}): every
    usable Spanish and French asterisk prompt (the benchmark's pools) and every English sentence
    of samples/ shorter than FLOOR_MAX_S, and FLOOR_SENTENCES by espeak-ng, at 8 kHz."""
    import tempfile
    refs = {}

    def add(lang, name, text, samples):
        seconds = len(samples) / VOICEMAIL_RATE
        if seconds <= FLOOR_MAX_S:
            path = os.path.join(args.out, lang, name.replace("/", "_") + ".wav")
            write_pcm16_mono(path, samples)
            refs[path] = {"language": lang, "text": text, "seconds": round(seconds, 3)}

    for lang in ("es", "fr", "en"):
        os.makedirs(os.path.join(args.out, lang), exist_ok=True)
    for lang in ("es", "fr"):
        for name, text, samples in asterisk_prompts(args.debian_root, lang):
            add(lang, name, text, samples)
    with tempfile.TemporaryDirectory() as tmp:
        for k, (name, text, samples) in enumerate(english_prompts(args.samples, tmp)):
            add("en", f"samples-{k:02d}-{name}", text, samples)
        for k, text in enumerate(FLOOR_SENTENCES):
            voice, speed = espeak_voice(k)
            add("en", f"espeak-{k:02d}", text, espeak_8k(text, voice, speed, tmp))
    with open(os.path.join(args.out, "refs.json"), "w") as f:
        json.dump(refs, f, indent=1, ensure_ascii=False)
    print(f"{len(refs)} clips in {args.out}", file=sys.stderr)


def floor_report(args):
    """Word errors of each RUN (LABEL:FLOOR:JSONL, callscribe's results) per language."""
    with open(args.refs) as f:
        refs = json.load(f)
    rows = {}
    for run in args.run:
        label, floor, path = run.split(":", 2)
        with open(path) as f:
            results = [json.loads(line) for line in f if line.strip()]
        for r in results:
            ref = refs[r["source"]["path"]]
            text = (r.get("transcript") or {}).get("text", "")
            lang = ref["language"]
            words = reference_words(lang, ref["text"])
            row = rows.setdefault((label, lang), {}).setdefault(floor, [0, 0, 0, 0])
            row[0] += edit_distance(words, reference_words(lang, text))
            row[1] += len(words)
            row[2] += 1
            row[3] += r["status"] == "ok"
    floors = sorted({fl for row in rows.values() for fl in row}, key=int, reverse=True)
    print("| model | clips | words | " + " | ".join(f"floor {fl}" for fl in floors) + " |")
    print("|---|---|---:|" + "---:|" * len(floors))
    for (label, lang), row in sorted(rows.items()):
        first = row[floors[0]]
        cells = [f"{row[fl][0]} ({100 * row[fl][0] / row[fl][1]:.1f} %), {row[fl][3]} ok"
                 if fl in row else "" for fl in floors]
        print(f"| {label} | {first[2]} {lang} | {first[1]:,} | " + " | ".join(cells) + " |")


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("aggregate")
    a.add_argument("--anchor", required=True, help="label of the anchor command in each group")
    a.add_argument("--seconds-per-input", type=float, default=0.0,
                   help="audio length, to print × real time")
    a.add_argument("--rtf-seconds", type=float, default=0.0,
                   help="audio length, to print the real-time factor (time / audio)")
    a.add_argument("json", nargs="+")
    f = sub.add_parser("fw")
    f.add_argument("--model-dir", required=True)
    f.add_argument("--compute-type", default="int8")
    f.add_argument("--threads", type=int, default=2)
    f.add_argument("--language", default="en", help="a code, or auto (detect)")
    f.add_argument("file")
    i = sub.add_parser("inproc")
    i.add_argument("--model-dir", required=True)
    i.add_argument("--callscribe", required=True)
    i.add_argument("--model", required=True, help="ggml model for callscribe and whisper.cpp")
    i.add_argument("--whispercpp", help="the whisper.cpp driver built by transcribe.sh")
    i.add_argument("--refs", required=True, help="JSON: clip path -> reference text")
    i.add_argument("--json", required=True, help="where to write all times and transcripts")
    i.add_argument("--audio-seconds", type=float, default=40.0, help="clip length, for RTF")
    i.add_argument("--threads", type=int, default=2)
    i.add_argument("--rounds", type=int, default=5)
    i.add_argument("files", nargs="+")
    w = sub.add_parser("wer")
    w.add_argument("--ref", required=True)
    w.add_argument("--hyp", required=True)
    t = sub.add_parser("wer-table", help="the WER table again, from inproc's --json output")
    t.add_argument("--refs", required=True)
    t.add_argument("--json", required=True)
    n = sub.add_parser("normalize")
    n.add_argument("text")
    c = sub.add_parser("criterion", help="summary of the last criterion run")
    c.add_argument("--dir", default="target/criterion")
    c.add_argument("--audio-seconds", type=float, default=120.0,
                   help="length of the benched recordings, for × real time")
    v = sub.add_parser("voicemails", help="the clips of benches/multilingual.sh")
    v.add_argument("--debian-root", default="tests/.cache/debian/root")
    v.add_argument("--samples", default="samples")
    v.add_argument("--out", required=True, help="folder for the clips and refs.json")
    v.add_argument("--languages", default="es,fr,en")
    v.add_argument("--seed", type=int, default=101, help="seed of the first clip of a language")
    v.add_argument("--long", default="38,50,65", help="speech targets (s) of the long messages")
    v.add_argument("--en-long", default=None,
                   help="English long targets (default 38,46,56: the samples hold about 59 s of "
                   "distinct speech; with --en-pool wide or human, those of --long)")
    v.add_argument("--en-pool", choices=["samples", "wide", "human"], default="samples",
                   help="English sentences: those of samples/, those and WIDE_SENTENCES by "
                   "espeak-ng and flite, or the human readers of the tests (LibriVox, LJ Speech)")
    v.add_argument("--pypi-root", default="tests/.cache/pypi")
    v.add_argument("--short", type=float, default=10.0, help="speech target (s), short messages")
    v.add_argument("--short-count", type=int, default=3)
    v.add_argument("--long-sets", type=int, default=1,
                   help="how many long messages per target, each of its own seed")
    v.add_argument("--line", choices=["pcm", "gsm"], default="pcm",
                   help="pcm: the composed clip as it is; gsm: through sox's GSM 06.10 full-rate "
                   "codec and back (a caller on a mobile network), as 8 kHz PCM16")
    m = sub.add_parser("multilingual", help="the rounds of benches/multilingual.sh")
    m.add_argument("--callscribe", required=True)
    m.add_argument("--callscribe-model", action="append", default=[],
                   help="FAMILY:VARIANT:PATH, e.g. base:f16:models/ggml-base.bin (repeatable)")
    m.add_argument("--fw-model", action="append", default=[],
                   help="FAMILY:CT2_DIR, faster-whisper int8 on those weights (repeatable)")
    m.add_argument("--clips", required=True)
    m.add_argument("--refs", required=True)
    m.add_argument("--json", required=True, help="where to write every run")
    m.add_argument("--pin", default="", help="prefix of every command, e.g. 'taskset -c 0-1'")
    m.add_argument("--threads", type=int, default=2)
    m.add_argument("--rounds", type=int, default=3)
    mr = sub.add_parser("multilingual-report", help="the tables again from multilingual --json")
    mr.add_argument("--json", required=True)
    fc = sub.add_parser("floor-clips", help="the clips of benches/context-floor.sh")
    fc.add_argument("--debian-root", default="tests/.cache/debian/root")
    fc.add_argument("--samples", default="samples")
    fc.add_argument("--out", required=True, help="folder for the clips and refs.json")
    fr = sub.add_parser("floor-report", help="the word errors of benches/context-floor.sh")
    fr.add_argument("--refs", required=True)
    fr.add_argument("--run", action="append", required=True, help="LABEL:FLOOR:JSONL")
    args = p.parse_args()
    if args.cmd == "normalize":
        print(normalize(args.text))
    else:
        {"aggregate": aggregate, "fw": fw, "inproc": inproc, "wer": wer,
         "wer-table": wer_from_json, "criterion": criterion, "voicemails": voicemails,
         "multilingual": multilingual, "multilingual-report": multilingual_report,
         "floor-clips": floor_clips, "floor-report": floor_report}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
