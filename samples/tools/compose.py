#!/usr/bin/env python3
"""Render, measure and compose the callscribe test-sample masters (stdlib only).

Usage: compose.py WORKDIR

For every sample this writes WORKDIR/masters/<master>.f32 (float32 little-endian,
interleaved) and WORKDIR/masters/<master>.fmt ("<rate> <channels>"); make.sh then
encodes the masters into the committed files.  WORKDIR/facts.json describes every
committed file (what was put where, at which level) and is merged with measurements
by describe.py into manifest.json and README.md.

How speech boundaries are defined (and why they are exact):
  1. espeak-ng renders the sentence (22050 Hz, 16-bit, with its own lead/trail silence).
  2. sox resamples it to the file's rate (float, no dither); telephone files are also
     band-limited to 300-3400 Hz (sox `sinc`).
  3. The clip is trimmed to the first..last sample whose magnitude is within
     TRIM_DB (50 dB) of the clip's peak, then scaled to the wanted level.
  4. The trimmed clip is placed at a sample offset chosen here, so the speech
     boundaries in the manifest are exact to one sample of the master.
"""
import json
import math
import os
import random
import subprocess
import sys
import zlib
from array import array

TRIM_DB = 50.0

# Representative bot prompt beep (Graph does not publish the exact tone): a 1000 Hz
# sine, 0.50 s, -10 dBFS peak, 10 ms raised-cosine ramps.  In a recordResponse file it
# stands for the prompt beep leaking into the recorded leg (echo / bridged playback).
BEEP_HZ = 1000.0
BEEP_DBFS = -10.0
BEEP_RAMP_S = 0.010

# DTMF: ITU-T Q.23 frequency pairs, each tone -10 dBFS peak (sum peaks at ~-4 dBFS),
# 3 ms ramps (a phone's keypad tone starts/stops almost abruptly).
DTMF_DBFS = -10.0
DTMF_RAMP_S = 0.003
DTMF = {
    "1": (697, 1209), "2": (697, 1336), "3": (697, 1477), "A": (697, 1633),
    "4": (770, 1209), "5": (770, 1336), "6": (770, 1477), "B": (770, 1633),
    "7": (852, 1209), "8": (852, 1336), "9": (852, 1477), "C": (852, 1633),
    "*": (941, 1209), "0": (941, 1336), "#": (941, 1477), "D": (941, 1633),
}

# Sentences: id -> (espeak-ng voice, words per minute, text as given to espeak-ng).
SENTENCES = {
    "maria":    ("en-us", 165, "Hi, this is Maria from the dental office, please call me back at five five five, one two three four."),
    "confirm":  ("en-us+f3", 155, "Yes, I would like to confirm my appointment for Tuesday at three thirty."),
    "account":  ("en-gb", 165, "My account number is four seven two, nine one eight. Please send the invoice again."),
    "david":    ("en-us+m3", 170, "Hello, this is David. I am running about ten minutes late for our meeting."),
    "cancel":   ("en-gb+f2", 160, "Please cancel my order and refund the full amount to my credit card."),
    "package":  ("en-us", 170, "The package was delivered to the wrong address on Oak Street."),
    "tomorrow": ("en-us+f4", 165, "Call me back tomorrow morning, thanks."),
    "works":    ("en-gb", 160, "Yes, that works for me."),
    "car":      ("en-us", 165, "I am calling from the car, so the line might be a bit noisy, sorry about that."),
    "jennifer": ("en-us+f3", 165, "Hi, it's Jennifer. The meeting has moved to room two oh four on the second floor."),
    "refill":   ("en-us+m3", 160, "I need to speak to someone about my prescription refill. My date of birth is March twelfth."),
    "friday":   ("en-gb", 160, "Your technician can arrive between nine and eleven on Friday morning."),
    "alex":     ("en-us+f2", 165, "This is a message for Alex, your car is ready for pickup at the service center."),
    "remove":   ("en-us", 165, "Please remove my number from your calling list."),
    "after5":   ("en-us", 165, "Please call me back after five."),
    "sam":      ("en-us", 165, "I will be at the office until seven tonight, ask for Sam at extension two one four."),
    "yes":      ("en-us", 200, "Yes, please."),
}

# ---------------------------------------------------------------------------
# Committed files built from a master.  Timeline ops:
#   ("silence", s)            digital silence (or the background, if any)
#   ("beep", s)               bot beep (BEEP_*)
#   ("dtmf", key, s)          DTMF key
#   ("speech", id, level)     level = {"peak": dBFS} or {"rms": dBFS (over the speech span)}
#   ("pad",)                  extend the last silence so the total is a whole 10 ms
# ---------------------------------------------------------------------------
FILES = [
    dict(name="pcm16-16000hz-mono-speech.wav", container="wav", codec="pcm_s16le", bits=16,
         wav_format_tag="0x0001", rate=16000, channels=1, writer="sox",
         timeline=[("silence", 0.80), ("speech", "maria", {"peak": -3.0}), ("silence", 1.00), ("pad",)],
         notes="Baseline: the format callscribe resamples to. Digital silence around the speech."),
    dict(name="ulaw-8000hz-mono-beep-speech.wav", container="wav", codec="pcm_mulaw", bits=8,
         wav_format_tag="0x0007", rate=8000, channels=1, band="telephone", writer="sox",
         timeline=[("silence", 0.30), ("beep", 0.50), ("silence", 0.60),
                   ("speech", "confirm", {"peak": -6.0}), ("silence", 0.80), ("pad",)],
         notes="G.711 mu-law telephony WAV (fmt size 18 + fact chunk). Beep, caller reaction gap, speech."),
    dict(name="alaw-8000hz-mono-speech-dtmf-hash.wav", container="wav", codec="pcm_alaw", bits=8,
         wav_format_tag="0x0006", rate=8000, channels=1, band="telephone", writer="ffmpeg",
         timeline=[("silence", 0.50), ("speech", "account", {"peak": -6.0}), ("silence", 0.60),
                   ("dtmf", "#", 0.30), ("silence", 0.50), ("pad",)],
         notes="G.711 A-law telephony WAV; caller presses # after a short pause. "
               "A-law has no code for exact zero: 'silence' decodes to a constant +8/32768 (about -72 dBFS)."),
    dict(name="pcm16-8000hz-mono-beep-speech-dtmf-hash.wav", container="wav", codec="pcm_s16le", bits=16,
         wav_format_tag="0x0001", rate=8000, channels=1, band="telephone", writer="ffmpeg",
         background=("pink", -65.0),
         timeline=[("silence", 0.25), ("beep", 0.50), ("silence", 0.70),
                   ("speech", "david", {"peak": -9.0}), ("silence", 0.80),
                   ("dtmf", "#", 0.25), ("silence", 0.15), ("pad",)],
         notes="The full Graph recordResponse shape: beep, speech, # stop tone, recording ends shortly after. "
               "Faint pink line noise (-65 dBFS RMS) under the whole file."),
    dict(name="pcm24-44100hz-stereo-speech.wav", container="wav", codec="pcm_s24le", bits=24,
         wav_format_tag="0x0001", rate=44100, channels=2, gains_db=[0.0, -4.0], writer="sox",
         timeline=[("silence", 0.30), ("speech", "tomorrow", {"peak": -3.0}), ("silence", 0.40), ("pad",)],
         notes="24-bit stereo with a plain WAVE_FORMAT_PCM header (sox -t wavpcm). Same speech in both channels; "
               "right channel 4 dB quieter."),
    dict(name="float32-48000hz-mono-extensible-list-speech.wav", container="wav", codec="pcm_f32le", bits=32,
         wav_format_tag="0xFFFE", rate=48000, channels=1, writer="ffmpeg",
         timeline=[("silence", 0.50), ("speech", "package", {"peak": -4.0}), ("silence", 0.50), ("pad",)],
         notes="IEEE float, WAVE_FORMAT_EXTENSIBLE (fmt size 40, subformat IEEE_FLOAT), then fact, "
               "then a LIST/INFO chunk (INAM, ICMT) before data."),
    dict(name="pcm8u-8000hz-mono-speech.wav", container="wav", codec="pcm_u8", bits=8,
         wav_format_tag="0x0001", rate=8000, channels=1, writer="sox",
         timeline=[("silence", 0.40), ("speech", "cancel", {"peak": -3.0}), ("silence", 0.60), ("pad",)],
         notes="8-bit unsigned PCM (silence = 0x80)."),
    dict(name="pcm32-16000hz-mono-extensible-speech.wav", container="wav", codec="pcm_s32le", bits=32,
         wav_format_tag="0xFFFE", rate=16000, channels=1, writer="ffmpeg",
         timeline=[("silence", 0.50), ("speech", "works", {"peak": -6.0}), ("silence", 1.00), ("pad",)],
         notes="32-bit signed integer PCM, WAVE_FORMAT_EXTENSIBLE (subformat PCM). Short answer."),
    dict(name="pcm16-16000hz-mono-speech-pink-noise-snr25.wav", container="wav", codec="pcm_s16le", bits=16,
         wav_format_tag="0x0001", rate=16000, channels=1, writer="sox",
         background=("pink", -45.0),
         timeline=[("silence", 1.00), ("speech", "car", {"rms": -20.0}), ("silence", 1.20), ("pad",)],
         notes="Speech over pink background noise at -45 dBFS RMS; speech RMS over its span -20 dBFS, "
               "so SNR = 25 dB (espeak's ~18 dB crest factor leaves no room for -15/-40 without clipping)."),
    dict(name="pcm16-16000hz-mono-silence-zeros.wav", container="wav", codec="pcm_s16le", bits=16,
         wav_format_tag="0x0001", rate=16000, channels=1, writer="sox", expect="no_speech",
         timeline=[("silence", 3.00)],
         notes="Digital silence only (all samples 0)."),
    dict(name="pcm16-16000hz-mono-near-silence-white-60dbfs.wav", container="wav", codec="pcm_s16le", bits=16,
         wav_format_tag="0x0001", rate=16000, channels=1, writer="sox", expect="no_speech",
         background=("white", -60.0), timeline=[("noise", 4.00)],
         notes="Near-silence: Gaussian white noise at -60 dBFS RMS, no speech."),
    dict(name="pcm16-16000hz-mono-pink-noise-30dbfs.wav", container="wav", codec="pcm_s16le", bits=16,
         wav_format_tag="0x0001", rate=16000, channels=1, writer="sox", expect="no_speech",
         background=("pink", -30.0), timeline=[("noise", 4.00)],
         notes="Pink noise at -30 dBFS RMS, no speech (a VAD / hallucination trap)."),
    dict(name="mp3-44100hz-stereo-speech.mp3", container="mp3", codec="mp3", bits=None,
         rate=44100, channels=2, gains_db=[0.0, -2.0], writer="ffmpeg", lossy=True,
         timeline=[("silence", 0.60), ("speech", "jennifer", {"peak": -3.0}), ("silence", 0.80), ("pad",)],
         notes="MPEG-1 Layer III, libmp3lame CBR 96 kbit/s joint stereo, ID3v2.3 tag (TIT2) in front, "
               "Xing/LAME info frame with encoder delay/padding (gapless). Right channel 2 dB quieter."),
    dict(name="flac-16000hz-mono-speech-dtmf-star.flac", container="flac", codec="flac", bits=16,
         rate=16000, channels=1, writer="ffmpeg",
         timeline=[("silence", 0.50), ("speech", "refill", {"peak": -6.0}), ("silence", 0.50),
                   ("dtmf", "*", 0.30), ("silence", 0.50), ("pad",)],
         notes="FLAC 16-bit; the caller presses * (not #) after speaking."),
    dict(name="vorbis-22050hz-mono-speech.ogg", container="ogg", codec="vorbis", bits=None,
         rate=22050, channels=1, writer="ffmpeg", lossy=True,
         timeline=[("silence", 0.70), ("speech", "friday", {"peak": -6.0}), ("silence", 0.70), ("pad",)],
         notes="Ogg Vorbis, libvorbis -q:a 3."),
    dict(name="aac-24000hz-mono-beep-speech.m4a", container="mp4", codec="aac", bits=None,
         rate=24000, channels=1, writer="ffmpeg", lossy=True,
         timeline=[("silence", 0.30), ("beep", 0.50), ("silence", 0.50),
                   ("speech", "alex", {"peak": -6.0}), ("silence", 0.80), ("pad",)],
         notes="AAC-LC (ffmpeg native encoder, 48 kbit/s) in M4A, moov first (+faststart). "
               "Priming (1024 samples) is signalled by an edit list."),
    dict(name="unsupported/opus-48000hz-mono-speech.opus", container="ogg", codec="opus", bits=None,
         rate=48000, channels=1, writer="ffmpeg", lossy=True, expect="unsupported_format",
         timeline=[("silence", 0.50), ("speech", "remove", {"peak": -6.0}), ("silence", 0.50), ("pad",)],
         notes="Ogg Opus (libopus 24 kbit/s). Valid audio with speech, but not a codec callscribe accepts."),
]

# Masters used by hostile/make_hostile.py (not committed as such).
HOSTILE_MASTERS = ["trunc8k", "trunc22k", "yes8k"]


def log(*a):
    print("compose:", *a, file=sys.stderr)


def db(x):
    return 20.0 * math.log10(x) if x > 0 else -math.inf


def undb(d):
    return 10.0 ** (d / 20.0)


def read_f32(path):
    a = array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder == "big":
        a.byteswap()
    return a


def write_f32(path, a):
    b = array("f", a)
    if sys.byteorder == "big":
        b.byteswap()
    with open(path, "wb") as f:
        f.write(b.tobytes())


class Clips:
    """espeak-ng render + sox resample, cached per (sentence, rate, band)."""

    def __init__(self, work):
        self.work = work
        self.cache = {}
        os.makedirs(os.path.join(work, "speech"), exist_ok=True)

    def get(self, sid, rate, band):
        key = (sid, rate, band)
        if key in self.cache:
            return self.cache[key]
        voice, wpm, text = SENTENCES[sid]
        raw = os.path.join(self.work, "speech", f"{sid}.wav")
        if not os.path.exists(raw):
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-w", raw, text], check=True)
        out = os.path.join(self.work, "speech", f"{sid}-{rate}-{band or 'full'}.f32")
        cmd = ["sox", "-R", "-D", "-V1", raw, "-t", "f32", "-c", "1", out, "rate", "-v", str(rate)]
        if band == "telephone":
            cmd += ["sinc", "300-3400"]
        subprocess.run(cmd, check=True)
        x = read_f32(out)
        peak = max(abs(v) for v in x)
        thr = peak * undb(-TRIM_DB)
        first = next(i for i, v in enumerate(x) if abs(v) >= thr)
        last = len(x) - 1 - next(i for i, v in enumerate(reversed(x)) if abs(v) >= thr)
        clip = x[first:last + 1]
        self.cache[key] = (clip, peak, first / rate, (len(x) - 1 - last) / rate)
        return self.cache[key]


def pink_noise(n, rng):
    """Paul Kellet's refined pink filter over Gaussian white noise (after a warm-up)."""
    b0 = b1 = b2 = b3 = b4 = b5 = b6 = 0.0
    out = array("d")
    warm = 8192
    for i in range(n + warm):
        w = rng.gauss(0.0, 1.0)
        b0 = 0.99886 * b0 + w * 0.0555179
        b1 = 0.99332 * b1 + w * 0.0750759
        b2 = 0.96900 * b2 + w * 0.1538520
        b3 = 0.86650 * b3 + w * 0.3104856
        b4 = 0.55000 * b4 + w * 0.5329522
        b5 = -0.7616 * b5 - w * 0.0168980
        p = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362
        b6 = w * 0.115926
        if i >= warm:
            out.append(p)
    return out


def white_noise(n, rng):
    return array("d", (rng.gauss(0.0, 1.0) for _ in range(n)))


def rms(x, a=0, b=None):
    b = len(x) if b is None else b
    if b <= a:
        return 0.0
    return math.sqrt(sum(v * v for v in x[a:b]) / (b - a))


def ramp_env(i, n, r):
    """Raised-cosine ramp of r samples at both ends of an n-sample burst."""
    if r <= 0:
        return 1.0
    if i < r:
        return 0.5 - 0.5 * math.cos(math.pi * (i + 0.5) / r)
    if i >= n - r:
        return 0.5 - 0.5 * math.cos(math.pi * (n - i - 0.5) / r)
    return 1.0


class Timeline:
    def __init__(self, rate, band, clips):
        self.rate = rate
        self.band = band
        self.clips = clips
        self.x = array("d")
        self.segs = []

    def _n(self, secs):
        return int(round(secs * self.rate))

    def _seg(self, kind, start, end, **kw):
        d = dict(kind=kind, start_frame=start, end_frame=end)
        d.update(kw)
        self.segs.append(d)

    def silence(self, secs, kind="silence"):
        n = self._n(secs)
        s = len(self.x)
        self.x.extend([0.0] * n)
        if self.segs and self.segs[-1]["kind"] == kind:
            self.segs[-1]["end_frame"] = len(self.x)
        else:
            self._seg(kind, s, len(self.x))

    def beep(self, secs):
        n = self._n(secs)
        s = len(self.x)
        a = undb(BEEP_DBFS)
        r = self._n(BEEP_RAMP_S)
        w = 2 * math.pi * BEEP_HZ / self.rate
        self.x.extend(a * ramp_env(i, n, r) * math.sin(w * i) for i in range(n))
        self._seg("beep", s, len(self.x), freq_hz=BEEP_HZ, peak_dbfs=BEEP_DBFS)

    def dtmf(self, key, secs):
        lo, hi = DTMF[key]
        n = self._n(secs)
        s = len(self.x)
        a = undb(DTMF_DBFS)
        r = self._n(DTMF_RAMP_S)
        wl, wh = 2 * math.pi * lo / self.rate, 2 * math.pi * hi / self.rate
        self.x.extend(a * ramp_env(i, n, r) * (math.sin(wl * i) + math.sin(wh * i)) for i in range(n))
        self._seg("dtmf", s, len(self.x), key=key, freqs_hz=[lo, hi], peak_dbfs_per_tone=DTMF_DBFS)

    def speech(self, sid, level):
        clip, raw_peak, lead, trail = self.clips.get(sid, self.rate, self.band)
        if "peak" in level:
            gain = undb(level["peak"]) / max(abs(v) for v in clip)
        else:
            gain = undb(level["rms"]) / rms(clip)
        s = len(self.x)
        self.x.extend(v * gain for v in clip)
        voice, wpm, text = SENTENCES[sid]
        seg_peak = max(abs(v) for v in self.x[s:])
        self._seg("speech", s, len(self.x), sentence=sid, text=text, voice=voice, wpm=wpm,
                  peak_dbfs=round(db(seg_peak), 2), rms_dbfs=round(db(rms(self.x, s)), 2),
                  espeak_lead_trimmed_s=round(lead, 4), espeak_trail_trimmed_s=round(trail, 4))

    def pad(self):
        step = self.rate // 100 if self.rate % 100 == 0 else self.rate // 50
        extra = (-len(self.x)) % step
        if extra:
            self.x.extend([0.0] * extra)
            if self.segs and self.segs[-1]["kind"] in ("silence", "noise"):
                self.segs[-1]["end_frame"] = len(self.x)
            else:
                self._seg("silence", len(self.x) - extra, len(self.x))

    def run(self, ops):
        for op in ops:
            kind = op[0]
            if kind in ("silence", "noise"):
                self.silence(op[1], kind)
            elif kind == "beep":
                self.beep(op[1])
            elif kind == "dtmf":
                self.dtmf(op[1], op[2])
            elif kind == "speech":
                self.speech(op[1], op[2])
            elif kind == "pad":
                self.pad()
            else:
                raise ValueError(op)


def add_background(x, kind, dbfs, seed):
    rng = random.Random(seed)
    n = len(x)
    noise = pink_noise(n, rng) if kind == "pink" else white_noise(n, rng)
    g = undb(dbfs) / rms(noise)
    for i in range(n):
        x[i] += noise[i] * g
    return dict(kind=kind, rms_dbfs=dbfs, seed=seed, measured_rms_dbfs=round(db(rms(noise) * g), 3))


def seconds(segs, rate):
    for s in segs:
        s["start_s"] = round(s["start_frame"] / rate, 6)
        s["end_s"] = round(s["end_frame"] / rate, 6)
    return segs


def write_master(work, master, x, channels, gains_db):
    gains = [undb(g) for g in gains_db]
    out = array("f")
    for v in x:
        for g in gains:
            out.append(v * g)
    peak = max((abs(v) for v in out), default=0.0)
    if peak >= 1.0:
        raise SystemExit(f"compose: {master} clips (peak {peak:.3f})")
    write_f32(os.path.join(work, "masters", master + ".f32"), out)
    return peak


def build_file(work, clips, spec):
    rate, ch = spec["rate"], spec["channels"]
    tl = Timeline(rate, spec.get("band"), clips)
    tl.run(spec["timeline"])
    bg = None
    if spec.get("background"):
        kind, dbfs = spec["background"]
        bg = add_background(tl.x, kind, dbfs, zlib.crc32(spec["name"].encode()))
    master = spec["name"].replace("/", "__").rsplit(".", 1)[0]
    gains_db = spec.get("gains_db") or [0.0] * ch
    peak = write_master(work, master, tl.x, ch, gains_db)
    with open(os.path.join(work, "masters", master + ".fmt"), "w") as f:
        f.write(f"{rate} {ch}\n")
    segs = seconds(tl.segs, rate)
    sp = [s for s in segs if s["kind"] == "speech"]
    fact = {k: v for k, v in spec.items() if k != "timeline"}
    fact.update(master=master, frames=len(tl.x), duration_s=round(len(tl.x) / rate, 6),
                segments=segs, background=bg, gains_db=gains_db, master_peak_dbfs=round(db(peak), 2),
                expect=spec.get("expect", "ok"))
    if sp:
        fact["speech_start_s"] = sp[0]["start_s"]
        fact["speech_end_s"] = sp[-1]["end_s"]
        fact["text"] = " ".join(s["text"] for s in sp)
        if bg:
            fact["snr_db"] = round(sp[0]["rms_dbfs"] - bg["rms_dbfs"], 2)
    log(f"{spec['name']}: {len(tl.x) / rate:.3f} s, peak {db(peak):.1f} dBFS")
    return fact


def build_trunc(work, clips, rate, band, master):
    """Sentence A entirely in the first half of the frames, sentence B entirely in the second."""
    a, _, _, _ = clips.get("after5", rate, band)
    b, _, _, _ = clips.get("sam", rate, band)
    la, lb = len(a) / rate, len(b) / rate
    lead, margin, tail = 0.5, 0.4, 0.5
    # half point M: A ends <= M - margin, B starts at M + margin, total = 2 M
    m = max(lead + la + margin, margin + lb + tail)
    m = math.ceil(m * 100) / 100
    tl = Timeline(rate, band, clips)
    tl.run([("silence", lead), ("speech", "after5", {"peak": -6.0})])
    tl.silence(m + margin - len(tl.x) / rate)
    tl.speech("sam", {"peak": -6.0})
    tl.silence(2 * m - len(tl.x) / rate)
    write_master(work, master, tl.x, 1, [0.0])
    with open(os.path.join(work, "masters", master + ".fmt"), "w") as f:
        f.write(f"{rate} 1\n")
    return dict(master=master, rate=rate, channels=1, frames=len(tl.x), half_s=m,
                segments=seconds(tl.segs, rate))


def build_yes(work, clips):
    """Exactly 1.000 s at 8 kHz: 0.05 s silence, 'Yes, please.', silence to 1 s."""
    tl = Timeline(8000, None, clips)
    tl.run([("silence", 0.05), ("speech", "yes", {"peak": -6.0})])
    if len(tl.x) > 7600:
        raise SystemExit("compose: 'yes' sentence too long for the 1 s hostile fixtures")
    tl.silence((8000 - len(tl.x)) / 8000)
    write_master(work, "yes8k", tl.x, 1, [0.0])
    return dict(master="yes8k", rate=8000, channels=1, frames=len(tl.x), segments=seconds(tl.segs, 8000))


def main():
    work = sys.argv[1]
    os.makedirs(os.path.join(work, "masters"), exist_ok=True)
    clips = Clips(work)
    facts = {"files": [build_file(work, clips, spec) for spec in FILES],
             "hostile_masters": {
                 "trunc8k": build_trunc(work, clips, 8000, None, "trunc8k"),
                 "trunc22k": build_trunc(work, clips, 22050, None, "trunc22k"),
                 "yes8k": build_yes(work, clips)},
             "sentences": {k: dict(voice=v[0], wpm=v[1], text=v[2]) for k, v in SENTENCES.items()},
             "constants": dict(trim_db=TRIM_DB, beep_hz=BEEP_HZ, beep_dbfs=BEEP_DBFS, beep_ramp_s=BEEP_RAMP_S,
                               dtmf_dbfs_per_tone=DTMF_DBFS, dtmf_ramp_s=DTMF_RAMP_S)}
    with open(os.path.join(work, "facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
