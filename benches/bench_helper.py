#!/usr/bin/env python3
"""Helpers for benches/compare.sh and benches/transcribe.sh (Python 3.9+, stdlib only, except
`fw` and `inproc`, which need `pip install faster-whisper`).

Subcommands:
  aggregate   hyperfine JSON exports of interleaved rounds -> markdown table with ratios
  fw          faster-whisper as a whole process: load the model, transcribe one file, print JSON
  inproc      in-process timings, interleaved: faster-whisper (int8 and float32, models loaded
              once) and callscribe's own `timings_ms` (model load excluded) on each clip
  wer         word error rate of hypotheses against a reference, after `normalize`
  wer-table   the WER table again from `inproc --json` output (after changing the normalizer)
  normalize   the text normalizer used for every WER here (prints the normalized text)
  criterion   the last `cargo bench --bench pipeline` run as a markdown table: criterion's mean
              estimate, the median and the fastest of its samples (per-iteration time)
"""

import argparse
import json
import os
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
    prev = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        cur = [i] + [0] * len(h)
        for j in range(1, len(h) + 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
        prev = cur
    return prev[len(h)], len(r)


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

def fw_transcribe(model, path):
    segments, _info = model.transcribe(path, beam_size=1, vad_filter=True, language="en")
    return " ".join(s.text.strip() for s in segments)  # the generator does the work


def fw(args):
    """The whole-process measurement: python start-up and imports happen before this runs."""
    t0 = time.perf_counter()
    from faster_whisper import WhisperModel
    t1 = time.perf_counter()
    model = WhisperModel(args.model_dir, device="cpu", compute_type=args.compute_type,
                         cpu_threads=args.threads)
    t2 = time.perf_counter()
    text = fw_transcribe(model, args.file)
    t3 = time.perf_counter()
    print(json.dumps({"text": text, "import_s": t1 - t0, "load_s": t2 - t1,
                      "transcribe_s": t3 - t2}))


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
    args = p.parse_args()
    if args.cmd == "normalize":
        print(normalize(args.text))
    else:
        {"aggregate": aggregate, "fw": fw, "inproc": inproc, "wer": wer,
         "wer-table": wer_from_json, "criterion": criterion}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
