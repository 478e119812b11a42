#!/usr/bin/env python3
"""Write the hostile fixtures byte by byte (stdlib only).  Called by ../make.sh.

Usage: make_hostile.py WORKDIR OUTDIR

Reads   WORKDIR/masters/{trunc8k,yes8k}.f32  (float32 LE mono, from tools/compose.py)
        WORKDIR/trunc22k-full.mp3            (libmp3lame encode of trunc22k, from make.sh)
Writes  OUTDIR/<fixtures>  and  WORKDIR/hostile_facts.json (what each header claims,
        what is really there, and how much of it is decodable).
"""
import hashlib
import json
import os
import struct
import sys
from array import array

HOURS = 6
FLAC_RATE = 8000
FLAC_BLOCK = 4608  # the largest FLAC "subset" block size for rates <= 48 kHz


def read_f32(path):
    a = array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    if sys.byteorder == "big":
        a.byteswap()
    return a


def to_s16le(x):
    """Round-to-nearest float -> int16 (no dither), little-endian bytes."""
    out = array("h", (max(-32768, min(32767, int(round(v * 32768.0)))) for v in x))
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def fmt_chunk(channels, rate, bits, tag=1):
    block = channels * bits // 8
    return b"fmt " + struct.pack("<IHHIIHH", 16, tag, channels, rate, rate * block, block, bits)


def wav(data, channels=1, rate=8000, bits=16, riff_size=None, data_size=None):
    fmt = fmt_chunk(channels, rate, bits)
    if data_size is None:
        data_size = len(data)
    if riff_size is None:
        riff_size = 4 + len(fmt) + 8 + len(data)
    return b"RIFF" + struct.pack("<I", riff_size) + b"WAVE" + fmt + b"data" + struct.pack("<I", data_size) + data


# ---------------------------------------------------------------- FLAC writer
def crc8(data):
    c = 0
    for b in data:
        c ^= b
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c


_CRC16 = []
for _i in range(256):
    _c = _i << 8
    for _ in range(8):
        _c = ((_c << 1) ^ 0x8005) & 0xFFFF if _c & 0x8000 else (_c << 1) & 0xFFFF
    _CRC16.append(_c)


def crc16(data):
    c = 0
    for b in data:
        c = ((c << 8) & 0xFFFF) ^ _CRC16[(c >> 8) ^ b]
    return c


def utf8_num(n):
    if n < 0x80:
        return bytes([n])
    if n < 0x800:
        return bytes([0xC0 | (n >> 6), 0x80 | (n & 0x3F)])
    if n < 0x10000:
        return bytes([0xE0 | (n >> 12), 0x80 | ((n >> 6) & 0x3F), 0x80 | (n & 0x3F)])
    raise ValueError(n)


def flac_silence(path, rate, seconds, block):
    """Mono 16-bit FLAC of digital silence: fixed blocks, one CONSTANT subframe each."""
    total = rate * seconds
    assert total % block == 0
    nframes = total // block
    bs_code = {192: 1, 576: 2, 1152: 3, 2304: 4, 4608: 5}[block]
    sr_code = {8000: 4, 16000: 5, 22050: 6, 24000: 7, 32000: 8, 44100: 9, 48000: 10}[rate]
    frames = bytearray()
    sizes = set()
    for i in range(nframes):
        hdr = bytes([0xFF, 0xF8, (bs_code << 4) | sr_code, (0 << 4) | (4 << 1)]) + utf8_num(i)
        hdr += bytes([crc8(hdr)])
        body = hdr + b"\x00" + b"\x00\x00"  # subframe: CONSTANT, no wasted bits, value 0
        fr = body + struct.pack(">H", crc16(body))
        sizes.add(len(fr))
        frames += fr
    md5 = hashlib.md5()
    zeros = bytes(1 << 20)
    left = total * 2
    while left:
        k = min(left, len(zeros))
        md5.update(zeros[:k])
        left -= k
    # STREAMINFO (34 bytes), last metadata block
    si = struct.pack(">HH", block, block)
    si += min(sizes).to_bytes(3, "big") + max(sizes).to_bytes(3, "big")
    packed = (rate << 44) | (0 << 41) | (15 << 36) | total  # rate:20 ch-1:3 bps-1:5 samples:36
    si += packed.to_bytes(8, "big") + md5.digest()
    data = b"fLaC" + bytes([0x80]) + len(si).to_bytes(3, "big") + si + bytes(frames)
    with open(path, "wb") as f:
        f.write(data)
    return dict(frames=total, flac_frames=nframes, block_size=block, frame_bytes=sorted(sizes))


# ---------------------------------------------------------------- MP3 frames
_BR = {  # (version_id, layer) -> bitrate table (kbit/s) for layer III
    3: [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0],
    2: [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160, 0],
}
_BR[0] = _BR[2]
_SR = {3: [44100, 48000, 32000], 2: [22050, 24000, 16000], 0: [11025, 12000, 8000]}


def mp3_frames(b):
    """(offset, length) of every Layer III frame after an ID3v2 tag."""
    pos = 0
    if b[:3] == b"ID3":
        size = (b[6] << 21) | (b[7] << 14) | (b[8] << 7) | b[9]
        pos = 10 + size
    out = []
    while pos + 4 <= len(b):
        h = int.from_bytes(b[pos:pos + 4], "big")
        if h >> 21 != 0x7FF:
            raise ValueError(f"lost mp3 sync at {pos}")
        ver, layer = (h >> 19) & 3, (h >> 17) & 3
        assert layer == 1, "layer III only"
        br = _BR[ver][(h >> 12) & 15] * 1000
        sr = _SR[ver][(h >> 10) & 3]
        pad = (h >> 9) & 1
        n = (144 if ver == 3 else 72) * br // sr + pad
        out.append((pos, n))
        pos += n
    return out


def main():
    work, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    facts = {}

    def put(name, data, **kw):
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
        kw["size_bytes"] = len(data)
        facts["hostile/" + name] = kw

    yes = to_s16le(read_f32(os.path.join(work, "masters", "yes8k.f32")))
    assert len(yes) == 16000

    # 1. six hours of digital silence (valid FLAC; only its length is hostile)
    name = f"flac-8000hz-mono-{HOURS}h-silence.flac"
    info = flac_silence(os.path.join(outdir, name), FLAC_RATE, HOURS * 3600, FLAC_BLOCK)
    facts["hostile/" + name] = dict(info, size_bytes=os.path.getsize(os.path.join(outdir, name)),
                                    header_duration_s=HOURS * 3600.0)

    # 2. truncated WAV: a correct header for the whole file, file cut at half its size
    full = wav(to_s16le(read_f32(os.path.join(work, "masters", "trunc8k.f32"))))
    cut = (len(full) // 2) | 1  # odd, so the last sample is split in two: one dangling byte
    data_present = cut - 44
    put("pcm16-8000hz-mono-truncated-half.wav", full[:cut],
        header_data_bytes=len(full) - 44, header_frames=(len(full) - 44) // 2,
        header_duration_s=(len(full) - 44) / 2 / 8000,
        cut_at_byte=cut, full_size_bytes=len(full), data_bytes_present=data_present,
        frames=data_present // 2, dangling_bytes=data_present % 2)

    # 3. truncated MP3: cut in the middle of the frame that holds the file's middle byte
    with open(os.path.join(work, "trunc22k-full.mp3"), "rb") as f:
        mp3 = f.read()
    frames = mp3_frames(mp3)
    mid = len(mp3) // 2
    k = next(i for i, (o, n) in enumerate(frames) if o <= mid < o + n)
    o, n = frames[k]
    cut = o + n // 2
    put("mp3-22050hz-mono-truncated-half.mp3", mp3[:cut],
        full_size_bytes=len(mp3), cut_at_byte=cut, mp3_frames_total=len(frames),
        mp3_frames_whole=k, cut_frame_offset=o, cut_frame_length=n)

    # 4. RIFF and data sizes claim 0xFFFFFFFF (4 GiB); 1 s (16000 bytes) really present
    put("pcm16-8000hz-mono-size-fields-0xffffffff.wav",
        wav(yes, riff_size=0xFFFFFFFF, data_size=0xFFFFFFFF),
        header_riff_size=0xFFFFFFFF, header_data_bytes=0xFFFFFFFF,
        header_duration_s=0xFFFFFFFF / 16000, data_bytes_present=len(yes), frames=len(yes) // 2)

    # 5. 255 channels, self-consistent header (block align 510), 31 frames of data
    data255 = yes[:31 * 510]
    put("pcm16-8000hz-255-channels.wav", wav(data255, channels=255),
        header_channels=255, header_block_align=510, header_byte_rate=8000 * 510,
        data_bytes_present=len(data255))

    # 6. sample rate 0 (byte rate 0), otherwise a normal mono 16-bit header, 16000 data bytes
    put("pcm16-0hz-sample-rate.wav", wav(yes, rate=0),
        header_sample_rate=0, header_byte_rate=0, data_bytes_present=len(yes))

    # 7. RF64 whose ds64 claims a 2^63-byte data chunk; 1 s really present
    fmt = fmt_chunk(1, 8000, 16)
    data_claim = 1 << 63
    riff_claim = 4 + (8 + 28) + len(fmt) + 8 + data_claim
    ds64 = b"ds64" + struct.pack("<IQQQI", 28, riff_claim, data_claim, data_claim // 2, 0)
    rf64 = (b"RF64" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE" + ds64 + fmt
            + b"data" + struct.pack("<I", 0xFFFFFFFF) + yes)
    put("rf64-pcm16-8000hz-mono-ds64-data-size-2pow63.wav", rf64,
        header_riff_size_32=0xFFFFFFFF, header_data_size_32=0xFFFFFFFF,
        ds64_riff_size=riff_claim, ds64_data_size=data_claim, ds64_sample_count=data_claim // 2,
        data_bytes_present=len(yes))

    # 8. zero-byte file
    put("empty.wav", b"")

    # 9. a well-formed WAV header with no samples at all
    put("pcm16-8000hz-mono-header-only.wav", wav(b""), header_data_bytes=0, frames=0)

    with open(os.path.join(work, "hostile_facts.json"), "w") as f:
        json.dump(facts, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()
