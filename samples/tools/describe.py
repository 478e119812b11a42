#!/usr/bin/env python3
"""Verify the generated samples and write manifest.json, README.md and SHA256SUMS.

Usage: describe.py WORKDIR SAMPLESDIR        (called by ../make.sh; stdlib only)

Everything written here comes from compose.py's facts (what was placed where), the
hostile script's facts (what each header claims) and measurements of the committed
files: ffprobe, `sox --i`, and a decode of every file with ffmpeg that is compared
sample by sample with the float master (lossless) or checked by onset/offset and tone
analysis (lossy).  A check that fails stops make.sh with a non-zero exit.
"""
import hashlib
import json
import math
import os
import subprocess
import sys
from array import array

WORK, ROOT = sys.argv[1], sys.argv[2]
FAILS = []


def fail(msg):
    FAILS.append(msg)
    print("describe: FAIL:", msg, file=sys.stderr)


def db(x):
    return round(20.0 * math.log10(x), 2) if x > 0 else None


def undb(d):
    return 10.0 ** (d / 20.0)


def sh(argv):
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def read_f32_bytes(b):
    a = array("f")
    a.frombytes(b[: len(b) // 4 * 4])
    if sys.byteorder == "big":
        a.byteswap()
    return a


def ffprobe(path):
    rc, out, err = sh(["ffprobe", "-v", "error", "-of", "json", "-show_format", "-show_streams", path])
    if rc != 0:
        return None, (err.strip().splitlines()[-1].replace(path + ": ", "") if err.strip() else f"exit {rc}")
    j = json.loads(out)
    st = (j.get("streams") or [{}])[0]
    fm = j.get("format", {})
    d = dict(format=fm.get("format_name"), codec=st.get("codec_name"),
             sample_rate=int(st["sample_rate"]) if st.get("sample_rate") else None,
             channels=st.get("channels"), duration=st.get("duration") or fm.get("duration"),
             bits_per_sample=st.get("bits_per_sample") or None,
             bits_per_raw_sample=int(st["bits_per_raw_sample"]) if st.get("bits_per_raw_sample") else None)
    return d, (err.strip().splitlines()[-1] if err.strip() else None)


def soxi(path):
    rc, out, err = sh(["sox", "--i", path])
    if rc != 0:
        return None, err.strip().replace(path, "FILE").replace("sox FAIL formats: ", "")
    info = {}
    for line in out.decode().splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            info[k.strip()] = v.strip()
    return info, None


def decode(path, extra_in=()):
    """ffmpeg decode to interleaved float32 at the native rate and channel count."""
    rc, out, err = sh(["ffmpeg", "-nostdin", "-v", "error", *extra_in, "-i", path,
                       "-f", "f32le", "-c:a", "pcm_f32le", "-"])
    return rc, read_f32_bytes(out), err.strip().replace(path + ": ", "")


def channel(x, ch, c):
    return x[c::ch] if ch > 1 else x


def rms(x, a, b):
    if b <= a:
        return 0.0
    return math.sqrt(sum(v * v for v in x[a:b]) / (b - a))


def peak(x, a, b):
    return max((abs(v) for v in x[a:b]), default=0.0)


def goertzel(x, a, b, f, rate):
    w = 2 * math.pi * f / rate
    c = 2 * math.cos(w)
    s1 = s2 = 0.0
    for v in x[a:b]:
        s0 = v + c * s1 - s2
        s2, s1 = s1, s0
    return (s1 * s1 + s2 * s2 - c * s1 * s2) / max(1, b - a) ** 2


def dominant_freq(x, a, b, rate, lo=300, hi=3500, step=5):
    best = max(range(lo, hi + 1, step), key=lambda f: goertzel(x, a, b, f, rate))
    fine = [best + d / 10 for d in range(-step * 10, step * 10 + 1)]
    return max(fine, key=lambda f: goertzel(x, a, b, f, rate))


DTMF_LO = [697, 770, 852, 941]
DTMF_HI = [1209, 1336, 1477, 1633]
KEYS = ["123A", "456B", "789C", "*0#D"]


def dtmf_key(x, a, b, rate):
    pl = [goertzel(x, a, b, f, rate) for f in DTMF_LO]
    ph = [goertzel(x, a, b, f, rate) for f in DTMF_HI]
    i, j = pl.index(max(pl)), ph.index(max(ph))
    # each winner must stand 20 dB above the runner-up of its group
    sl, shh = sorted(pl), sorted(ph)
    ok = sl[-1] > 100 * sl[-2] and shh[-1] > 100 * shh[-2]
    return KEYS[i][j] if ok else None


def onset_offset(x, a, b, thr):
    a, b = max(0, a), min(len(x), b)
    first = next((i for i in range(a, b) if abs(x[i]) >= thr), None)
    last = next((i for i in range(b - 1, a - 1, -1) if abs(x[i]) >= thr), None)
    return first, last


def fmt_t(t):
    return f"{t:.3f}"


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


# ------------------------------------------------------------------ load facts
with open(os.path.join(WORK, "facts.json")) as f:
    FACTS = json.load(f)
with open(os.path.join(WORK, "hostile_facts.json")) as f:
    HFACTS = json.load(f)
SENT = FACTS["sentences"]
CONST = FACTS["constants"]

# Quantisation tolerance for the lossless decode-vs-master comparison.
TOL = {"pcm_s16le": 1.0001 / 32768, "flac": 1.0001 / 32768, "pcm_u8": 1.0001 / 128,
       "pcm_s24le": 1.0001 / 2 ** 23, "pcm_s32le": 1e-6, "pcm_f32le": 0.0}


def g711_ok(err, ref):
    # half a step in the upper segments (<3.2 %), up to one 16/32768 step in the lowest ones
    return err <= 0.04 * abs(ref) + 16.01 / 32768


def verify_composed(e, path):
    """Decode and check one composed file; returns a dict of measurements."""
    rate, ch = e["rate"], e["channels"]
    v = {}
    rc, x, err = decode(path)
    if rc != 0 or not x:
        fail(f"{e['name']}: ffmpeg cannot decode: {err}")
        return v
    frames = len(x) // ch
    v["decoded_frames"] = frames
    with open(os.path.join(WORK, "masters", e["master"] + ".f32"), "rb") as f:
        m = read_f32_bytes(f.read())
    mframes = len(m) // ch
    if not e.get("lossy"):
        if frames != mframes:
            fail(f"{e['name']}: decoded {frames} frames, master has {mframes}")
        else:
            maxerr = 0.0
            bad = 0
            for i in range(len(m)):
                d = abs(x[i] - m[i])
                if d > maxerr:
                    maxerr = d
                if e["codec"] in ("pcm_mulaw", "pcm_alaw"):
                    if not g711_ok(d, m[i]):
                        bad += 1
                elif d > TOL[e["codec"]]:
                    bad += 1
            v["max_abs_error_vs_master"] = maxerr
            if bad:
                fail(f"{e['name']}: {bad} samples differ from the master by more than the quantisation step")
    else:
        v["master_frames"] = mframes
        rc2, raw, _ = decode(path, ["-flags2", "+skip_manual"])
        rawframes = len(raw) // ch
        v["raw_frames"] = rawframes
        # where does the gapless output start inside the raw (un-trimmed) decode?
        sp = next(s for s in e["segments"] if s["kind"] == "speech")
        k = sp["start_frame"] + rate // 10
        xs, rs = channel(x, ch, 0), channel(raw, ch, 0)
        win = xs[k:k + 256]
        lead = None
        for d in range(0, rawframes - frames + 1):
            if all(abs(rs[k + d + i] - win[i]) < 1e-6 for i in range(len(win))):
                lead = d
                break
        v["leading_skip_frames"] = lead
        v["trailing_extra_frames"] = None if lead is None else rawframes - frames - lead
        v["gapless_extra_frames"] = frames - mframes
        if frames < mframes:
            fail(f"{e['name']}: decoded {frames} frames < master {mframes}")
    # per-segment measurements (channel 0 = left; stereo right is gains_db[1] quieter)
    x0 = channel(x, ch, 0)
    segm = []
    for s in e["segments"]:
        a, b = s["start_frame"], min(s["end_frame"], frames)
        d = dict(kind=s["kind"], rms_dbfs=db(rms(x0, a, b)), peak_dbfs=db(peak(x0, a, b)))
        mid_a, mid_b = a + (b - a) // 5, b - (b - a) // 5
        if s["kind"] == "beep":
            f = dominant_freq(x0, mid_a, mid_b, rate)
            d["freq_hz"] = round(f, 1)
            if abs(f - s["freq_hz"]) > 5:
                fail(f"{e['name']}: beep measured at {f} Hz")
        if s["kind"] == "dtmf":
            key = dtmf_key(x0, mid_a, mid_b, rate)
            d["key"] = key
            if key != s["key"]:
                fail(f"{e['name']}: DTMF decoded as {key!r}, expected {s['key']!r}")
        segm.append(d)
    v["segments"] = segm
    if ch > 1:
        v["channel_rms_dbfs"] = [db(rms(channel(x, ch, c), 0, frames)) for c in range(ch)]
    # non-speech regions must be quiet (relative to background) and speech loud
    bg = e.get("background")
    quiet_limit = (bg["rms_dbfs"] + 3) if bg else -55.0
    if e["codec"] == "pcm_alaw":
        quiet_limit = -70.0
    for s, d in zip(e["segments"], segm):  # noqa: B007
        if s["kind"] in ("silence",) and (d["rms_dbfs"] or -200) > quiet_limit:
            # lossy codecs smear a little energy into silence right after loud parts
            if not e.get("lossy") or (d["rms_dbfs"] or -200) > quiet_limit + 10:
                fail(f"{e['name']}: silence {s['start_s']}-{s['end_s']} has RMS {d['rms_dbfs']} dBFS")
    # speech onset/offset measured in the decoded file
    nonsil = [s for s in e["segments"] if s["kind"] in ("beep", "dtmf")]
    meas = []
    for s in e["segments"]:
        if s["kind"] != "speech":
            continue
        thr_db = s["peak_dbfs"] - 40.0
        if bg:
            thr_db = max(thr_db, bg["rms_dbfs"] + 20.0)
        a = max([n["end_frame"] for n in nonsil if n["end_frame"] <= s["start_frame"]] + [0]) + rate // 20
        b = min([n["start_frame"] for n in nonsil if n["start_frame"] >= s["end_frame"]] + [frames]) - rate // 20
        f0, f1 = onset_offset(x0, a, b, undb(thr_db))
        mf0, mf1 = onset_offset(channel(m, ch, 0), a, b, undb(thr_db))
        r = dict(threshold_dbfs=round(thr_db, 1),
                 onset_s=round(f0 / rate, 4), offset_s=round((f1 + 1) / rate, 4),
                 master_onset_s=round(mf0 / rate, 4), master_offset_s=round((mf1 + 1) / rate, 4))
        r["onset_vs_master_ms"] = round((f0 - mf0) / rate * 1000, 1)
        r["offset_vs_master_ms"] = round((f1 - mf1) / rate * 1000, 1)
        tol = 25.0 if e.get("lossy") else 5.0  # lossless: quantisation near the threshold (u8)
        if abs(r["onset_vs_master_ms"]) > tol or abs(r["offset_vs_master_ms"]) > tol:
            fail(f"{e['name']}: decoded speech onset/offset moved vs master: {r}")
        if not bg and (r["master_onset_s"] - s["start_s"] > 0.06 or s["end_s"] - r["master_offset_s"] > 0.15):
            fail(f"{e['name']}: speech at -40 dB far from manifest boundary: {r} vs {s['start_s']}-{s['end_s']}")
        meas.append(r)
    v["speech_measured"] = meas
    return v


# ------------------------------------------------------------------ entries
FORMAT_TAGS = {}


def wav_layout(path):
    """Chunk list and fmt tag of a RIFF/RF64 file (for the README)."""
    with open(path, "rb") as f:
        b = f.read(4096)
    if b[:4] not in (b"RIFF", b"RF64") or b[8:12] != b"WAVE":
        return None
    pos, chunks, tag = 12, [], None
    while pos + 8 <= len(b):
        cid = b[pos:pos + 4].decode("latin-1")
        size = int.from_bytes(b[pos + 4:pos + 8], "little")
        chunks.append(f"{cid.strip()}({size})")
        if cid == "fmt ":
            tag = int.from_bytes(b[pos + 8:pos + 10], "little")
        if cid == "data":
            break
        pos += 8 + size + (size & 1)
    return dict(chunks=chunks, format_tag=None if tag is None else f"0x{tag:04X}")


def base_entry(name):
    p = os.path.join(ROOT, name)
    return dict(name=name, size_bytes=os.path.getsize(p), sha256=sha256(p))


def describe_composed(e):
    name = e["name"]
    path = os.path.join(ROOT, name)
    out = base_entry(name)
    probe, perr = ffprobe(path)
    sx, sxerr = soxi(path) if not name.endswith((".m4a", ".opus")) else (None, "not read by sox")
    v = verify_composed(e, path)
    frames = v.get("decoded_frames", e["frames"])
    if probe:
        if probe["codec"] != e["codec"] or probe["sample_rate"] != e["rate"] or probe["channels"] != e["channels"]:
            fail(f"{name}: ffprobe says {probe}, expected {e['codec']} {e['rate']} {e['channels']}")
    else:
        fail(f"{name}: ffprobe failed: {perr}")
    if sx and not e.get("lossy"):
        want = f"{frames} samples"
        if want not in sx.get("Duration", ""):
            fail(f"{name}: sox --i duration {sx.get('Duration')} != {want}")
    speech = [s for s in e["segments"] if s["kind"] == "speech"]
    beep = next((s for s in e["segments"] if s["kind"] == "beep"), None)
    tone = next((s for s in e["segments"] if s["kind"] == "dtmf"), None)
    lay = wav_layout(path) if e["container"] == "wav" else None
    if lay and e.get("wav_format_tag") and lay["format_tag"] != e["wav_format_tag"]:
        fail(f"{name}: fmt tag {lay['format_tag']} != {e['wav_format_tag']}")
    out.update(
        container=e["container"], codec=e["codec"], sample_rate=e["rate"], channels=e["channels"],
        bits_per_sample=e.get("bits"), wav_format_tag=e.get("wav_format_tag"),
        duration_s=round(frames / e["rate"], 6), frames=frames,
        speech_start_s=speech[0]["start_s"] if speech else None,
        speech_end_s=speech[-1]["end_s"] if speech else None,
        beep=dict(start_s=beep["start_s"], end_s=beep["end_s"], freq_hz=beep["freq_hz"],
                  peak_dbfs=beep["peak_dbfs"]) if beep else None,
        stop_tone=dict(key=tone["key"], start_s=tone["start_s"], end_s=tone["end_s"], freqs_hz=tone["freqs_hz"],
                       peak_dbfs_per_tone=tone["peak_dbfs_per_tone"]) if tone else None,
        text=" ".join(s["text"] for s in speech) if speech else None,
        voice=[dict(voice=s["voice"], wpm=s["wpm"]) for s in speech] or None,
        expect=e["expect"], truncated=False,
        segments=[{k: s[k] for k in s if k not in ("sentence", "espeak_lead_trimmed_s", "espeak_trail_trimmed_s")}
                  for s in e["segments"]],
        background=e.get("background"), channel_gains_db=e["gains_db"] if e["channels"] > 1 else None,
        snr_db=e.get("snr_db"), notes=e["notes"],
    )
    if e.get("lossy") and frames > e["frames"]:
        out["segments"].append(dict(kind="silence", start_frame=e["frames"], end_frame=frames,
                                    start_s=e["duration_s"], end_s=round(frames / e["rate"], 6),
                                    encoder_padding=True))
    if e.get("lossy"):
        out["lossy"] = dict(
            gapless_frames=frames, master_frames=v.get("master_frames"), raw_frames=v.get("raw_frames"),
            leading_skip_frames=v.get("leading_skip_frames"), trailing_extra_frames=v.get("trailing_extra_frames"),
            gapless_extra_frames=v.get("gapless_extra_frames"))
    out["verified"] = dict(ffprobe=probe, sox=(sx or {}).get("Duration") if sx else sxerr, decode=v,
                           wav_chunks=lay["chunks"] if lay else None)
    return out


def trunc_segments(master, frames_avail):
    segs = FACTS["hostile_masters"][master]["segments"]
    rate = FACTS["hostile_masters"][master]["rate"]
    out = []
    for s in segs:
        d = {k: s[k] for k in ("kind", "start_s", "end_s", "start_frame", "end_frame")}
        if s["kind"] == "speech":
            d.update(text=s["text"], voice=s["voice"], wpm=s["wpm"], peak_dbfs=s["peak_dbfs"])
        d["beyond_truncation"] = s["start_frame"] >= frames_avail
        out.append(d)
    return out, rate


HOSTILE = {
    "hostile/flac-8000hz-mono-6h-silence.flac": dict(
        container="flac", codec="flac", sample_rate=8000, channels=1, bits_per_sample=16, expect="too_long",
        notes="A valid FLAC (STREAMINFO total_samples = 172,800,000, MD5 of the zeros included) of 6 hours of "
              "digital silence: 37,500 fixed 4608-sample blocks (the FLAC subset maximum), each a single CONSTANT "
              "subframe. Reject from STREAMINFO before decoding."),
    "hostile/pcm16-8000hz-mono-truncated-half.wav": dict(
        container="wav", codec="pcm_s16le", sample_rate=8000, channels=1, bits_per_sample=16, expect="ok",
        truncated=True, master="trunc8k",
        notes="Header describes the whole 11.78 s file; the file is cut at half its size (an odd byte offset, so "
              "the last sample is split: one dangling byte). The first sentence lies wholly before the cut, the "
              "second wholly after it, so the expected transcript is exactly the first sentence."),
    "hostile/mp3-22050hz-mono-truncated-half.mp3": dict(
        container="mp3", codec="mp3", sample_rate=22050, channels=1, bits_per_sample=None, expect="ok",
        truncated=True, master="trunc22k",
        notes="libmp3lame MPEG-2 Layer III 48 kbit/s CBR with ID3v2.3 tag and Xing/LAME info frame (which still "
              "claims the full frame count), cut in the middle of the frame holding the file's middle byte. "
              "Same two-sentence layout as the truncated WAV."),
    "hostile/pcm16-8000hz-mono-size-fields-0xffffffff.wav": dict(
        container="wav", codec="pcm_s16le", sample_rate=8000, channels=1, bits_per_sample=16, expect="ok",
        accept=["too_long"], truncated=None, master="yes8k",
        notes="RIFF size and data size are 0xFFFFFFFF (about 74.6 h of audio claimed); 1.000 s (16000 bytes) is "
              "really there: 'Yes, please.'. 0xFFFFFFFF is what streaming writers put in size fields they cannot "
              "seek back to fix, so the data should be read to EOF, never pre-allocated from the header."),
    "hostile/pcm16-8000hz-255-channels.wav": dict(
        container="wav", codec="pcm_s16le", sample_rate=8000, channels=255, bits_per_sample=16,
        expect="too_large", accept=["corrupt_media", "unsupported_format"],
        notes="Self-consistent WAVE_FORMAT_PCM header for 255 channels (block align 510, byte rate 4,080,000) "
              "followed by 31 such frames."),
    "hostile/pcm16-0hz-sample-rate.wav": dict(
        container="wav", codec="pcm_s16le", sample_rate=0, channels=1, bits_per_sample=16, expect="corrupt_media",
        notes="Mono 16-bit PCM header with sample rate 0 and byte rate 0, then 16000 bytes of real audio. "
              "Any duration or resampling-ratio computation divides by zero."),
    "hostile/rf64-pcm16-8000hz-mono-ds64-data-size-2pow63.wav": dict(
        container="rf64", codec="pcm_s16le", sample_rate=8000, channels=1, bits_per_sample=16,
        expect="corrupt_media", accept=["too_large", "too_long"],
        notes="RF64 (EBU Tech 3306): RIFF and data sizes 0xFFFFFFFF defer to the ds64 chunk, which claims "
              "dataSize = 2^63 (does not fit in i64; riffSize = 2^63+72), sampleCount = 2^62; 16000 bytes are "
              "really there."),
    "hostile/empty.wav": dict(
        container=None, codec=None, sample_rate=None, channels=None, bits_per_sample=None,
        expect="empty_media",
        notes="Zero bytes (extra fixture: an empty download)."),
    "hostile/pcm16-8000hz-mono-header-only.wav": dict(
        container="wav", codec="pcm_s16le", sample_rate=8000, channels=1, bits_per_sample=16, expect="empty_media", accept=["no_speech"],
        notes="A correct 44-byte WAV header with data size 0 and no samples (extra fixture: the caller pressed # "
              "at once). Valid media with nothing in it."),
}

UNSUPPORTED_STATIC = {
    "unsupported/plain-text.txt": dict(container="text", notes="Plain UTF-8 text, no audio."),
    "unsupported/html-error-page.html": dict(
        container="html", notes="A small HTML '403 Forbidden' page, as an expired or unauthorised download returns."),
}


def describe_hostile(name, meta):
    path = os.path.join(ROOT, name)
    hf = HFACTS.get(name, {})
    out = base_entry(name)
    probe, perr = ffprobe(path)
    sx, sxerr = soxi(path)
    out.update({k: v for k, v in meta.items() if k not in ("master", "notes", "accept", "truncated")})
    out["duration_s"] = None
    out["frames"] = None
    for k in ("speech_start_s", "speech_end_s", "beep", "stop_tone", "text", "voice"):
        out[k] = None
    out["expect"] = meta["expect"]
    if meta.get("accept"):
        out["accept"] = meta["accept"]
    out["truncated"] = meta.get("truncated", False)
    header = {k: v for k, v in hf.items() if k != "size_bytes"}
    out["header"] = header or None
    # decode attempt (informative for the broken ones, checked for the decodable ones)
    rc, x, err = decode(path) if not name.endswith(".flac") else (None, None, None)
    dec = dict(ffmpeg_exit=rc, ffmpeg_frames=(len(x) // (meta["channels"] or 1)) if x is not None else None,
               ffmpeg_error=(err.splitlines()[-1] if err else None))
    if name.endswith(".flac"):
        rc, out_md5, err = sh(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-c:a", "pcm_s16le",
                               "-f", "md5", "-"])
        dec = dict(ffmpeg_exit=rc, ffmpeg_error=err or None, decoded_s16le_md5=out_md5.decode().strip())
        zeros_md5 = hashlib.md5()
        z = bytes(1 << 20)
        left = hf["frames"] * 2
        while left:
            k = min(left, len(z))
            zeros_md5.update(z[:k])
            left -= k
        if out_md5.decode().strip() != "MD5=" + zeros_md5.hexdigest() or rc != 0:
            fail(f"{name}: decode is not {hf['frames']} zero samples ({out_md5!r}, {err})")
        out["duration_s"] = hf["frames"] / 8000
        out["frames"] = hf["frames"]
        if not probe or abs(float(probe["duration"]) - 21600) > 0.01:
            fail(f"{name}: ffprobe duration {probe}")
    if meta.get("master"):
        if name.endswith(".mp3"):
            frames = dec["ffmpeg_frames"]
        else:
            frames = hf["frames"]
            if dec["ffmpeg_frames"] != frames:
                fail(f"{name}: ffmpeg decoded {dec['ffmpeg_frames']} frames, expected {frames}")
        segs, rate = trunc_segments(meta["master"], frames)
        sp = [s for s in segs if s["kind"] == "speech" and not s["beyond_truncation"]]
        if any(s["kind"] == "speech" and s["start_frame"] < frames < s["end_frame"] for s in segs):
            fail(f"{name}: truncation point falls inside speech")
        out.update(duration_s=round(frames / rate, 6), frames=frames,
                   speech_start_s=sp[0]["start_s"], speech_end_s=sp[-1]["end_s"],
                   text=" ".join(s["text"] for s in sp), voice=[dict(voice=s["voice"], wpm=s["wpm"]) for s in sp],
                   segments=segs)
        # measured: speech is really there, the part after the first sentence is silent
        x0 = x
        a, b = sp[0]["start_frame"], sp[0]["end_frame"]
        dec["speech_rms_dbfs"] = db(rms(x0, a, b))
        dec["after_speech_peak_dbfs"] = db(peak(x0, b + rate // 10, frames))
        if (dec["speech_rms_dbfs"] or -200) < -40 or (dec["after_speech_peak_dbfs"] or -200) > -50:
            fail(f"{name}: unexpected decode levels {dec}")
    if name.endswith("header-only.wav"):
        out["duration_s"], out["frames"] = 0.0, 0
    out["segments"] = out.get("segments")
    out["notes"] = meta["notes"]
    out["verified"] = dict(ffprobe=probe if probe else None, ffprobe_error=perr,
                           sox=(sx or {}).get("Duration") if sx else sxerr, decode=dec,
                           wav_chunks=(wav_layout(path) or {}).get("chunks"))
    return out


def describe_static(name, meta):
    out = base_entry(name)
    out.update(container=meta["container"], codec=None, sample_rate=None, channels=None, bits_per_sample=None,
               duration_s=None, frames=None, speech_start_s=None, speech_end_s=None, beep=None, stop_tone=None,
               text=None, voice=None, expect="unsupported_format", truncated=False, segments=None,
               notes=meta["notes"])
    probe, perr = ffprobe(os.path.join(ROOT, name))
    out["verified"] = dict(ffprobe=probe, ffprobe_error=perr)
    return out


# ------------------------------------------------------------------ run
entries = []
for e in FACTS["files"]:
    print("describe:", e["name"], file=sys.stderr)
    entries.append(describe_composed(e))
for name, meta in UNSUPPORTED_STATIC.items():
    entries.append(describe_static(name, meta))
for name, meta in HOSTILE.items():
    print("describe:", name, file=sys.stderr)
    entries.append(describe_hostile(name, meta))

on_disk = set()
for d in (".", "unsupported", "hostile"):
    for fn in os.listdir(os.path.join(ROOT, d)):
        p = os.path.join(d, fn) if d != "." else fn
        if os.path.isfile(os.path.join(ROOT, p)) and not fn.endswith((".py", ".sh", ".md", ".json")) \
                and fn != "SHA256SUMS":
            on_disk.add(p)
listed = {e["name"] for e in entries}
if on_disk != listed:
    fail(f"files on disk vs manifest differ: {sorted(on_disk ^ listed)}")


def tool_versions():
    v = {}
    v["espeak-ng"] = sh(["espeak-ng", "--version"])[1].decode().split("Data at")[0].strip()
    v["sox"] = sh(["sox", "--version"])[1].decode().split(":", 1)[1].strip()
    ff = sh(["ffmpeg", "-hide_banner", "-version"])[1].decode().splitlines()
    v["ffmpeg"] = ff[0].split(" Copyright")[0]
    v["ffmpeg libs"] = "; ".join(l.split("/")[0].split(None, 1)[0] + " " + l.split("/")[0].split(None, 1)[1]
                                 .replace(" ", "") for l in ff if l.startswith("lib"))
    v["python3"] = sys.version.split()[0]
    return v


VERSIONS = tool_versions()
manifest = dict(
    about="callscribe test samples; generated by samples/make.sh, see samples/README.md",
    conventions=dict(
        times="seconds from the first decoded sample (lossy: after the decoder's own gapless trimming)",
        speech_boundaries=f"first/last sample of the clean speech within {CONST['trim_db']:.0f} dB of its peak",
        dbfs="0 dBFS = full-scale; tone levels are sine peak amplitude; noise levels are RMS",
        expect="ok | no_speech | unsupported_format | corrupt_media | too_long (accept: also-acceptable kinds)",
        truncated="true: the file ends before its header says; false: complete; null: either report is fine",
        segments="in order, covering the whole decoded file; start_frame/end_frame are sample indices",
    ),
    beep=dict(freq_hz=CONST["beep_hz"], duration_s=0.5, peak_dbfs=CONST["beep_dbfs"], ramp_s=CONST["beep_ramp_s"]),
    dtmf=dict(peak_dbfs_per_tone=CONST["dtmf_dbfs_per_tone"], ramp_s=CONST["dtmf_ramp_s"]),
    tool_versions=VERSIONS,
    files=entries,
)
ENTRY_ORDER = ["name", "container", "codec", "sample_rate", "channels", "bits_per_sample", "wav_format_tag",
               "duration_s", "frames", "speech_start_s", "speech_end_s", "beep", "stop_tone", "text", "voice",
               "expect", "accept", "truncated", "header", "lossy", "background", "channel_gains_db", "snr_db",
               "segments", "notes", "size_bytes", "sha256", "verified"]
SEG_ORDER = ["kind", "start_s", "end_s", "start_frame", "end_frame"]


def ordered(d, order):
    return {**{k: d[k] for k in order if k in d}, **{k: d[k] for k in sorted(d) if k not in order}}


manifest["files"] = [ordered(e, ENTRY_ORDER) for e in manifest["files"]]
for e in manifest["files"]:
    if e.get("segments"):
        e["segments"] = [ordered(s, SEG_ORDER) for s in e["segments"]]
with open(os.path.join(ROOT, "manifest.json"), "w") as f:
    json.dump(manifest, f, indent=1, sort_keys=False, ensure_ascii=False)
    f.write("\n")

with open(os.path.join(ROOT, "SHA256SUMS"), "w") as f:
    for e in sorted(entries, key=lambda e: e["name"]):
        f.write(f"{e['sha256']}  {e['name']}\n")

# ------------------------------------------------------------------ README
KIND_LABEL = {"silence": "silence", "noise": "noise only", "beep": "beep", "dtmf": "DTMF", "speech": "speech"}


def seg_text(e):
    if not e.get("segments"):
        return ""
    parts = []
    bg = e.get("background")
    for s in e["segments"]:
        k = s["kind"]
        if k == "beep":
            lab = f"beep {s['freq_hz']:.0f} Hz"
        elif k == "dtmf":
            lab = f"DTMF {s['key']} ({s['freqs_hz'][0]}+{s['freqs_hz'][1]} Hz)"
        elif k == "speech":
            lab = "speech"
        elif k == "noise":
            lab = f"{bg['kind']} noise {bg['rms_dbfs']:.0f} dBFS"
        else:
            lab = "silence" if not bg else "background only"
        if s.get("encoder_padding"):
            lab = "encoder padding (silence)"
        if s.get("beyond_truncation"):
            lab += " (cut off)"
        parts.append(f"{fmt_t(s['start_s'])}–{fmt_t(s['end_s'])} {lab}")
    txt = " · ".join(parts)
    if bg and any(s["kind"] != "noise" for s in e["segments"]):
        txt += f"; {bg['kind']} noise {bg['rms_dbfs']:.0f} dBFS RMS under everything"
    return txt


def codec_label(e):
    c = {"pcm_s16le": "PCM s16", "pcm_mulaw": "G.711 µ-law", "pcm_alaw": "G.711 A-law", "pcm_s24le": "PCM s24",
         "pcm_f32le": "IEEE float32", "pcm_u8": "PCM u8", "pcm_s32le": "PCM s32", "mp3": "MP3", "flac": "FLAC",
         "vorbis": "Vorbis", "aac": "AAC-LC", "opus": "Opus", None: "—"}[e["codec"]]
    tag = f" ({e['wav_format_tag']})" if e.get("wav_format_tag") else ""
    return f"{e['container'] or '—'} / {c}{tag}"


def num(v, f="{}"):
    return "—" if v is None else f.format(v)


def lvl(v):
    return "digital zero" if v is None else f"{v} dBFS"


rows = []
for e in entries:
    exp = e["expect"] + (f" (or {', '.join(e['accept'])})" if e.get("accept") else "")
    if e.get("truncated"):
        exp += ", truncated"
    rows.append("| `{}` | {} | {} | {} | {} | {} | {} | {} | {} |".format(
        e["name"], codec_label(e), num(e["sample_rate"]), num(e["channels"]), num(e.get("bits_per_sample")),
        num(e["duration_s"], "{:.3f}"), seg_text(e) or e["notes"], ("“" + e["text"] + "”") if e["text"] else "—",
        exp))


def verification_lines(e):
    v = e.get("verified") or {}
    lines = []
    p = v.get("ffprobe")
    if p:
        lines.append(f"ffprobe: {p['format']}/{p['codec']}, {p['sample_rate']} Hz, {p['channels']} ch, "
                     f"duration {p['duration']}")
    if v.get("ffprobe_error"):
        lines.append(f"ffprobe error: `{v['ffprobe_error']}`")
    if v.get("sox"):
        lines.append(f"sox --i: {v['sox']}")
    if v.get("wav_chunks"):
        lines.append("chunks: " + " ".join(v["wav_chunks"]))
    d = v.get("decode") or {}
    if "max_abs_error_vs_master" in d:
        lines.append(f"decoded {d['decoded_frames']} frames = master; max |decoded − master| = "
                     f"{d['max_abs_error_vs_master']:.3g} (within the format's quantisation step)")
    if "raw_frames" in d:
        lines.append(f"decoded (gapless) {d['decoded_frames']} frames vs master {d['master_frames']} "
                     f"(+{d['gapless_extra_frames']}); without gapless trimming {d['raw_frames']} frames: "
                     f"{d['leading_skip_frames']} leading + {d['trailing_extra_frames']} trailing decoder/encoder "
                     f"delay frames")
    if d.get("segments"):
        segs = []
        for s, ms in zip(e["segments"], d["segments"]):
            t = f"{s['kind']} {fmt_t(s['start_s'])}–{fmt_t(s['end_s'])}: " + (
                f"RMS {ms['rms_dbfs']}, peak {ms['peak_dbfs']} dBFS" if ms["peak_dbfs"] is not None
                else "digital zero")
            if "freq_hz" in ms:
                t += f", measured {ms['freq_hz']} Hz"
            if "key" in ms:
                t += f", decodes as DTMF {ms['key']}"
            segs.append(t)
        lines.append("levels (ch 0): " + "; ".join(segs))
    if d.get("channel_rms_dbfs"):
        lines.append("whole-file RMS per channel: " + ", ".join(f"{c} dBFS" for c in d["channel_rms_dbfs"]))
    for m in d.get("speech_measured", []):
        lines.append(f"speech at {m['threshold_dbfs']} dBFS threshold: decoded {m['onset_s']}–{m['offset_s']} s, "
                     f"master {m['master_onset_s']}–{m['master_offset_s']} s "
                     f"(decoded − master: {m['onset_vs_master_ms']} / {m['offset_vs_master_ms']} ms)")
    if "ffmpeg_exit" in d:
        t = f"ffmpeg decode: exit {d['ffmpeg_exit']}"
        if d.get("ffmpeg_frames") is not None:
            t += f", {d['ffmpeg_frames']} frames"
        if d.get("ffmpeg_error"):
            t += f", `{d['ffmpeg_error']}`"
        if d.get("decoded_s16le_md5"):
            t += f", decoded s16le {d['decoded_s16le_md5']} (= MD5 of all-zero samples, matches STREAMINFO)"
        if d.get("speech_rms_dbfs") is not None:
            t += f"; speech RMS {d['speech_rms_dbfs']} dBFS, from 0.1 s after it to the end: {lvl(d['after_speech_peak_dbfs'])} peak"
        lines.append(t)
    if e.get("header"):
        h = ", ".join(f"{k}={v}" for k, v in e["header"].items())
        lines.append(f"header/bytes: {h}")
    return lines


details = []
for e in entries:
    details.append(f"#### `{e['name']}`\n")
    details.append(e["notes"] + "\n")
    details.append(f"- size {e['size_bytes']} bytes, sha256 `{e['sha256']}`")
    if e.get("voice"):
        details.append("- voice: " + ", ".join(f"espeak-ng `-v {v['voice']} -s {v['wpm']}`" for v in e["voice"]))
    for line in verification_lines(e):
        details.append(f"- {line}")
    details.append("")

total = sum(e["size_bytes"] for e in entries)
README = f"""# callscribe test samples

Generated by `bash samples/make.sh` (do not edit this file or `manifest.json` by hand: the prose lives in
`tools/describe.py`). Everything here is synthetic: espeak-ng speech, sine beeps and DTMF, seeded noise.
`notifications/` is not part of this set.

- `manifest.json` — the same facts, machine-readable, one object per file (tests read it).
- `SHA256SUMS` — checksums of every fixture listed below (`cd samples && sha256sum -c SHA256SUMS`).
- `make.sh` → `tools/compose.py` (speech, timing, masters) → sox/ffmpeg encodes →
  `hostile/make_hostile.py` (byte-exact broken files) → `tools/describe.py` (verify + write these docs).

{len(entries)} files, {total} bytes ({total / 1e6:.2f} MB) of fixtures.

## How the contents are known exactly

1. espeak-ng renders each sentence (22050 Hz). sox resamples it to the file's rate (`rate -v`, float, no
   dither); the µ-law, A-law and 8 kHz beep+speech+DTMF files are also band-limited to 300–3400 Hz
   (`sinc 300-3400`), as a phone line would.
2. espeak's own leading/trailing silence is removed: the clip is cut to its first..last sample whose
   magnitude is within {CONST['trim_db']:.0f} dB of the clip's peak (for a −3 dBFS peak that is −53 dBFS). It is
   then scaled to the level in the file's notes and placed at a chosen sample offset. **`speech_start_s` /
   `speech_end_s` are those exact positions** (± one sample of the file's rate).
3. Beep: {CONST['beep_hz']:.0f} Hz sine, 0.50 s, {CONST['beep_dbfs']:.0f} dBFS peak, {CONST['beep_ramp_s'] * 1000:.0f} ms
   raised-cosine ramps. Graph does not publish its prompt beep; 1 kHz / 0.5 s is a typical voicemail beep,
   and in a `recordResponse` recording it appears only as leakage/echo of the prompt, so treat it as
   "may be present".
4. DTMF: ITU-T Q.23 pairs (`#` = 941+1477 Hz, `*` = 941+1209 Hz), each tone {CONST['dtmf_dbfs_per_tone']:.0f} dBFS peak
   (sum ≈ −4 dBFS peak), {CONST['dtmf_ramp_s'] * 1000:.0f} ms ramps, 0.25–0.30 s, after a 0.6–0.8 s pause.
5. Noise: Gaussian white, or pink (Paul Kellet's filter over Gaussian white), Python `random.Random` seeded
   with the CRC-32 of the file name, scaled to the exact RMS stated. Levels: tones are peak dBFS, noise RMS dBFS.
6. Every committed file is decoded again with ffmpeg and checked: lossless files equal their float master to
   within one quantisation step (so the timings above hold sample-exactly); beeps are re-measured by a
   Goertzel scan, DTMF keys re-decoded, silence checked quiet, and speech onset/offset re-measured at
   40 dB below the speech peak. `sox --i` and `ffprobe` must agree on rate, channels and sample count.
   Per-file results are under "Verification" below.

Durations are decoded sample counts ÷ rate. For lossy files they are what a gapless decoder (ffmpeg) returns;
see "Encoder delay" for what a decoder that ignores gapless metadata returns.

## Files

| name | container / codec (WAV fmt tag) | rate Hz | ch | bits | duration s | contents (s) | spoken text (espeak-ng input) | expect |
|---|---|---|---|---|---|---|---|---|
""" + "\n".join(rows) + """

`expect` is what callscribe should report: `ok` (a transcript), `no_speech`, `unsupported_format`,
`corrupt_media`, `empty_media`, `too_large`, `too_long`. "(or …)" lists kinds that are also defensible (`accept` in the manifest);
the first one is the recommendation. `truncated` in the manifest: `true` = the file ends before its header
says (decode what is there, flag it), `false` = complete, `null` = either report is fine.

Spoken texts are written the way they were given to espeak-ng (numbers spelled out); Whisper will render
them its own way ("555-1234", "3:30", "204", "Oak St."), so compare transcripts loosely (normalised words / WER).

## Encoder delay (lossy files)

""" + "\n".join(
    f"- `{e['name']}`: master {e['lossy']['master_frames']} frames; gapless decode "
    f"{e['lossy']['gapless_frames']} frames ({e['lossy']['gapless_extra_frames']:+d}); without gapless "
    f"trimming (`ffmpeg -flags2 +skip_manual`) {e['lossy']['raw_frames']} frames, of which "
    f"{e['lossy']['leading_skip_frames']} lead "
    f"({e['lossy']['leading_skip_frames'] / e['sample_rate'] * 1000:.1f} ms) and "
    f"{e['lossy']['trailing_extra_frames']} trail."
    for e in entries if e.get("lossy")) + """

- MP3: the LAME tag in the Xing frame carries encoder delay and padding. A decoder that ignores it starts
  the audio ~25 ms late (1105 samples at 44.1 kHz) and ends with extra padding.
- AAC/M4A: the 1024-sample priming is signalled by an edit list. ffmpeg 5.1's mov muxer does not trim the
  last frame's padding, so even the gapless decode is a little longer than the master (shown above; it is
  trailing silence). A decoder that ignores the edit list shifts every time by 1024 samples (42.7 ms at 24 kHz).
- Vorbis and Opus: granule positions (and Opus pre-skip) give exact lengths.
- The speech times in the table are valid for the gapless decode; the onset/offset re-measured on it are
  within a few ms of the master's (pre-echo), see "Verification".

## Unsupported and hostile fixtures: reasoning

- `unsupported/*`: an Ogg **Opus** file (valid, with speech, but not an accepted codec), a text file and an
  HTML error page — `unsupported_format`.
- `hostile/flac-8000hz-mono-6h-silence.flac` — `too_long`. The brief asked for ~6 h at 8 kHz; libFLAC (via sox)
  uses 4096-sample blocks and made 546 KB, so `make_hostile.py` writes the FLAC itself with 4608-sample blocks
  (subset maximum) and CONSTANT subframes: 13 bytes per 0.576 s, under 500 KB. ffmpeg decodes it and its
  decoded MD5 matches STREAMINFO. The length is known from STREAMINFO: reject it without decoding.
- Truncated WAV / MP3 — `ok`, `truncated: true`: the decodable first half holds one whole sentence
  ("Please call me back after five."), the second sentence starts after the cut. `duration_s` / `frames` are
  what is decodable (ffmpeg's count for the MP3; the last, partial MP3 frame may or may not be emitted by
  other decoders, ±576 samples); `header.header_duration_s` is what the header promised.
- `size-fields-0xffffffff` — `ok` (1.000 s, "Yes, please."): 0xFFFFFFFF is the conventional "size unknown"
  value of streaming writers; read to EOF and never allocate from the header. A decoder that trusts the
  header sees 74.6 h and may say `too_long`; that is listed as acceptable, a crash or a 4 GiB allocation is not.
- `255-channels` — `too_large`: the header is self-consistent, but 255 exceeds callscribe's channel limit
  (default 8), and exceeding a limit is `too_large` (`corrupt_media` / `unsupported_format` are defensible).
- `0hz-sample-rate` — `corrupt_media`: no valid reading exists (duration and resampling ratio divide by zero).
- `rf64 … ds64 2^63` — `corrupt_media`: ds64 sizes are meant to be real (not sentinels), and 2^63 bytes exceeds
  i64 and any file; a decoder that rejects on size or duration first may say `too_large` / `too_long`.
- Extras not in the brief: `empty.wav` (0 bytes, `empty_media`) and `header-only.wav` (valid header, zero
  samples, `empty_media`: no audio at all, as opposed to audio that holds no speech).

## Determinism and tool versions

`make.sh` run twice gives byte-identical output (checked with `sha256sum` over the whole folder). Other tool
versions may change bytes (and lossy encoders may change the exact delays), but `tools/describe.py` re-verifies
every timing on every run and fails loudly if the manifest no longer holds. Committed files were produced by:

""" + "\n".join(f"- {k}: `{v}`" for k, v in VERSIONS.items()) + """

## Verification (measured on the committed files)

""" + "\n".join(details) + "\n"

with open(os.path.join(ROOT, "README.md"), "w") as f:
    f.write(README)

if FAILS:
    print(f"describe: {len(FAILS)} check(s) failed", file=sys.stderr)
    sys.exit(1)
print(f"describe: {len(entries)} files verified", file=sys.stderr)
