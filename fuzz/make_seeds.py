#!/usr/bin/env python3
"""Write the fuzz seed corpora in fuzz/seeds/<target>/ (stdlib only; deterministic).

Usage: python3 fuzz/make_seeds.py        (from the repository root or anywhere)

decode_pipeline     the head of every sample and hostile fixture in samples/ (the header and
                    the first packets: enough for the fuzzer to learn each container), the small
                    unsupported files whole.
notification_parse  samples/notifications/*.json, and the malformed bodies of the unit tests in
                    src/notification.rs (body-level errors, deep nesting, per-operation problems).
ct2_parse           a miniature CTranslate2 WhisperSpec model.bin (the shape of the one the unit
                    tests in src/model_import.rs build: width 4, 2 heads, 3 mel bands, 1 encoder
                    and 2 decoder blocks, 6 tokens), f32 and bf16 variants, and malformed
                    variants (wrong version, truncated, bad string, unknown dtype, size
                    mismatch, duplicate, alias to nothing, trailing bytes).

Seeds stay small (the whole set is well under 1 MB) so an iteration is fast; the fuzzer grows
the working corpus (fuzz/corpus/, git-ignored) from them.
"""
import json
import os
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
SAMPLES = os.path.join(ROOT, "samples")

# Bytes kept from the start of each recording: headers plus a few packets.
HEAD_BYTES = 6144


def write(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def decode_seeds():
    for folder, whole_limit in (("", 0), ("hostile", 0), ("unsupported", 16384)):
        src = os.path.join(SAMPLES, folder)
        for name in sorted(os.listdir(src)):
            path = os.path.join(src, name)
            if not os.path.isfile(path) or name.startswith(".") or name.endswith((".py", ".md", ".json", ".sh")):
                continue
            if name in ("SHA256SUMS",):
                continue
            with open(path, "rb") as f:
                data = f.read()
            if len(data) > whole_limit:
                # An MP4 keeps its index (moov) at the end: keep the whole file, it is small.
                data = data if name.endswith(".m4a") else data[:HEAD_BYTES]
            write("decode_pipeline", (folder + "-" if folder else "") + name, data)
    # Headers src/decode.rs treats on its own before symphonia reads them: a streaming writer's
    # WAV with its RIFF and data sizes left at 0 (read to the end from a filled-in copy), a WAV
    # whose format tag is GSM 6.10 over PCM data (GSM's own decoder, src/decode/gsm.rs, refuses
    # its block size), and an AIFF head (named, unsupported).
    with open(os.path.join(SAMPLES, "pcm16-8000hz-mono-beep-speech-dtmf-hash.wav"), "rb") as f:
        wav = f.read()[:HEAD_BYTES]
    data = wav.index(b"data")
    write("decode_pipeline", "streamed-wav-sizes-0.wav",
          b"RIFF" + bytes(4) + wav[8:data + 4] + bytes(4) + wav[data + 8:])
    write("decode_pipeline", "wav-gsm610-format-tag.wav", wav[:20] + b"\x31\x00" + wav[22:])
    write("decode_pipeline", "aiff-head.aiff", b"FORM\x00\x00\x3e\x80AIFFCOMM" + wav[44:1068])
    # GSM 6.10, decoded by src/decode/gsm.rs: the fixtures of tests/decode.rs (a WAV49 file and
    # raw frames), their heads.
    gsm = os.path.join(ROOT, "tests", "fixtures", "gsm")
    for name in ("beep-speech-dtmf-hash-wav49.wav", "beep-speech-dtmf-hash.gsm"):
        with open(os.path.join(gsm, name), "rb") as f:
            write("decode_pipeline", "gsm-" + name, f.read()[:HEAD_BYTES])
    # G.722, decoded by src/decode/g722.rs: the head of tests/decode.rs's WAV fixture, and raw
    # codes, which are read only under a `.g722` name: the target names an input by its length
    # (a length of 5 mod 8 is `.g722`, 6 mod 8 `.gsm`). Ten raw GSM frames (0.2 s, too few to be
    # sniffed without the name) with the start of an eleventh, for `.gsm`.
    g722 = os.path.join(ROOT, "tests", "fixtures", "g722")
    with open(os.path.join(g722, "beep-speech-2s.wav"), "rb") as f:
        write("decode_pipeline", "g722-beep-speech-2s.wav", f.read()[:HEAD_BYTES])
    with open(os.path.join(g722, "beep-speech-dtmf-hash.g722"), "rb") as f:
        raw = f.read()
        write("decode_pipeline", "g722-raw-named.g722", raw[:HEAD_BYTES - HEAD_BYTES % 8 + 5])
    with open(os.path.join(gsm, "beep-speech-dtmf-hash.gsm"), "rb") as f:
        write("decode_pipeline", "gsm-10-frames-named.gsm", f.read()[:10 * 33 + 4])


def notification_seeds():
    src = os.path.join(SAMPLES, "notifications")
    for name in sorted(os.listdir(src)):
        if name.endswith(".json"):
            with open(os.path.join(src, name), "rb") as f:
                write("notification_parse", name, f.read())
    # src/notification.rs unit tests: body-level errors.
    bodies = {
        "empty": "",
        "array": "[1,2]",
        "string": '"x"',
        "value-not-array": '{"value": {}}',
        "no-value": '{"hello": 1}',
        "other-collection": '{"@odata.type":"#microsoft.graph.changeNotificationCollection","value":[]}',
        "call-not-envelope": '{"@odata.type":"#microsoft.graph.call","resourceData":{}}',
        "deep-nesting": "[" * 4000 + "]" * 4000,
        "token-then-garbage": '{"value":[{"resourceData":{"recordingAccessToken":"eyJSECRET" oops}}]}',
    }
    for name, body in bodies.items():
        write("notification_parse", "body-" + name + ".json", body)

    def record_op(extra):
        op = {
            "@odata.type": "#microsoft.graph.recordOperation",
            "id": "op-1",
            "clientContext": "ctx-1",
            "status": "completed",
            "resultInfo": {"code": 200, "subcode": 8515, "message": "done"},
            "recordingLocation": "https://media.example.test/rec/1?sig=SECRETSIG&se=2030",
            "recordingAccessToken": "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.SEED.fake",
        }
        op.update(extra)
        return {"resourceUrl": "/communications/calls/CALL1/operations/OP1", "resourceData": op}

    ops = [
        record_op({"recordingLocation": "not a url ?sig=SECRETSIG"}),
        record_op({"clientContext": "x" * 257}),
        record_op({"recordingAccessToken": 12345}),
        record_op({"id": None}),
        record_op({"status": "running"}),
        record_op({"status": "failed", "resultInfo": None}),
        record_op({"recordingLocation": None}),
        record_op({"recordingAccessToken": "  "}),
        record_op({"resultInfo": {"code": 200, "subcode": 0}, "completionReason": "MAXRECORDDURATIONREACHED"}),
        record_op({"recordingLocation": "http://[::ffff:127.0.0.1]:8080/r?x=1#frag"}),
        record_op({}),
        42,
        {"resourceUrl": "/communications/calls/C/participants", "resourceData": [{"id": "p"}]},
    ]
    write(
        "notification_parse",
        "per-operation-problems.json",
        json.dumps({"@odata.type": "#microsoft.graph.commsNotifications", "value": ops}, indent=1),
    )
    bare = record_op({})
    bare["@odata.type"] = "#microsoft.graph.commsNotification"
    write("notification_parse", "bare-notification.json", json.dumps(bare))


# --- CTranslate2 model.bin -------------------------------------------------------------------

F32, I8, I16, F16, BF16 = 0, 1, 2, 4, 6
SIZE = {F32: 4, I8: 1, I16: 2, F16: 2, BF16: 2}


def put_string(s):
    b = s.encode("utf-8")
    return struct.pack("<H", len(b) + 1) + b + b"\0"


def f16_bits(x):
    return struct.unpack("<H", struct.pack("<e", x))[0]


class Model:
    def __init__(self, float_dtype=F16):
        self.version = 6
        self.spec = "WhisperSpec"
        self.vars = []
        self.aliases = []
        self.float_dtype = float_dtype

    def floats(self, name, shape, seed, zero_rows=None):
        n = 1
        for d in shape:
            n *= d
        row = n // shape[0] if shape and shape[0] else 0
        out = bytearray()
        for i in range(n):
            v = seed + i / 8.0
            if zero_rows and row and zero_rows[0] <= i // row < zero_rows[1]:
                v = 0.0
            if self.float_dtype == F32:
                out += struct.pack("<f", v)
            elif self.float_dtype == BF16:
                out += struct.pack("<H", struct.unpack("<I", struct.pack("<f", v))[0] >> 16)
            else:
                out += struct.pack("<H", f16_bits(v))
        self.vars.append((name, list(shape), self.float_dtype, bytes(out)))
        return self

    def raw(self, name, shape, dtype, data):
        self.vars.append((name, list(shape), dtype, data))
        return self

    def bytes(self):
        out = struct.pack("<I", self.version) + put_string(self.spec) + struct.pack("<I", 3)
        out += struct.pack("<I", len(self.vars))
        for name, shape, dtype, data in sorted(self.vars, key=lambda v: v[0]):
            out += put_string(name) + bytes([len(shape)])
            out += b"".join(struct.pack("<I", d) for d in shape)
            out += bytes([dtype]) + struct.pack("<I", len(data)) + data
        out += struct.pack("<I", len(self.aliases))
        for a, t in self.aliases:
            out += put_string(a) + put_string(t)
        return out


def tiny_whisper(float_dtype=F16, s=4, n_mels=3, audio_ctx=5, text_ctx=3, vocab=6):
    m = Model(float_dtype)
    m.raw("encoder/num_heads", [], I16, struct.pack("<h", 2))
    m.raw("decoder/num_heads", [], I16, struct.pack("<h", 2))
    m.raw("decoder/activation", [], I8, b"\x03")
    m.floats("encoder/conv1/weight", [s, n_mels, 3], 1.0)
    m.floats("encoder/conv1/bias", [s], 2.0)
    m.floats("encoder/conv2/weight", [s, s, 3], 3.0)
    m.floats("encoder/conv2/bias", [s], 4.0)
    m.floats("encoder/position_encodings/encodings", [audio_ctx, s], 5.0)
    m.floats("encoder/layer_norm/gamma", [s], 6.0)
    m.floats("encoder/layer_norm/beta", [s], 7.0)
    m.floats("decoder/embeddings/weight", [vocab, s], 8.0)
    m.floats("decoder/position_encodings/encodings", [text_ctx, s], 9.0)
    m.floats("decoder/layer_norm/gamma", [s], 10.0)
    m.floats("decoder/layer_norm/beta", [s], 11.0)
    for n, (layer, cross) in enumerate(
        [("encoder/layer_0", False), ("decoder/layer_0", True), ("decoder/layer_1", True)]
    ):
        seed = 20.0 * (n + 1)
        sa = layer + "/self_attention"
        m.floats(sa + "/layer_norm/gamma", [s], seed)
        m.floats(sa + "/layer_norm/beta", [s], seed + 1)
        m.floats(sa + "/linear_0/weight", [3 * s, s], seed + 2)
        # OpenAI's key projection has no bias: CTranslate2 stores zeros for the k rows.
        m.floats(sa + "/linear_0/bias", [3 * s], seed + 3, zero_rows=(s, 2 * s))
        m.floats(sa + "/linear_1/weight", [s, s], seed + 4)
        m.floats(sa + "/linear_1/bias", [s], seed + 5)
        if cross:
            ca = layer + "/attention"
            m.floats(ca + "/layer_norm/gamma", [s], seed + 6)
            m.floats(ca + "/layer_norm/beta", [s], seed + 7)
            m.floats(ca + "/linear_0/weight", [s, s], seed + 8)
            m.floats(ca + "/linear_0/bias", [s], seed + 9)
            m.floats(ca + "/linear_1/weight", [2 * s, s], seed + 10)
            m.floats(ca + "/linear_1/bias", [2 * s], seed + 11, zero_rows=(0, s))
            m.floats(ca + "/linear_2/weight", [s, s], seed + 12)
            m.floats(ca + "/linear_2/bias", [s], seed + 13)
        ffn = layer + "/ffn"
        m.floats(ffn + "/layer_norm/gamma", [s], seed + 14)
        m.floats(ffn + "/layer_norm/beta", [s], seed + 15)
        m.floats(ffn + "/linear_0/weight", [4 * s, s], seed + 16)
        m.floats(ffn + "/linear_0/bias", [4 * s], seed + 17)
        m.floats(ffn + "/linear_1/weight", [s, 4 * s], seed + 18)
        m.floats(ffn + "/linear_1/bias", [s], seed + 19)
    m.aliases.append(("decoder/projection/weight", "decoder/embeddings/weight"))
    return m


def ct2_seeds():
    good = tiny_whisper().bytes()
    write("ct2_parse", "tiny-whisper-f16.bin", good)
    write("ct2_parse", "tiny-whisper-f32.bin", tiny_whisper(F32).bytes())
    write("ct2_parse", "tiny-whisper-bf16.bin", tiny_whisper(BF16).bytes())
    write("ct2_parse", "truncated-half.bin", good[: len(good) // 2])
    write("ct2_parse", "trailing-bytes.bin", good + b"\0\0\0")
    v5 = tiny_whisper()
    v5.version = 5
    write("ct2_parse", "version-5.bin", v5.bytes())
    other = Model()
    other.spec = "TransformerSpec"
    other.raw("x", [2], F32, b"\0" * 8)
    write("ct2_parse", "other-spec.bin", other.bytes())
    bad = Model()
    bad.raw("unknown-dtype", [1], 9, b"\0")
    write("ct2_parse", "unknown-dtype.bin", bad.bytes())
    bad = Model()
    bad.raw("size-mismatch", [2, 3], F32, b"\0" * 8)
    write("ct2_parse", "size-mismatch.bin", bad.bytes())
    bad = Model()
    bad.raw("dup", [1], I8, b"\0").raw("dup", [1], I8, b"\1")
    write("ct2_parse", "duplicate.bin", bad.bytes())
    bad = Model()
    bad.raw("a", [1], I8, b"\0")
    bad.aliases.append(("b", "nowhere"))
    write("ct2_parse", "alias-to-nothing.bin", bad.bytes())
    # A string whose length prefix runs past the end, and one without its NUL.
    write("ct2_parse", "bad-string-length.bin", struct.pack("<IH", 6, 0xFFFF) + b"Whisper")
    write("ct2_parse", "bad-string-nul.bin", struct.pack("<IH", 6, 3) + b"abc")


def main():
    decode_seeds()
    notification_seeds()
    ct2_seeds()
    total = 0
    for d, _, files in os.walk(SEEDS):
        total += sum(os.path.getsize(os.path.join(d, f)) for f in files)
    print(f"seeds: {total} bytes", file=sys.stderr)
    if total >= 1 << 20:
        sys.exit("seeds are over 1 MB: keep them small")


if __name__ == "__main__":
    main()
