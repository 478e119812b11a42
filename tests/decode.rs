//! Decode: every sample the manifest expects to decode gives the right container, codec, rate,
//! channels and duration, from bytes in memory.

use callscribe::config::Limits;
use callscribe::decode::{decode, decode_named};
use callscribe::result::Source;

use crate::support::samples::codec_fixture;
use crate::support::{Manifest, SampleEntry};

/// Container names symphonia may use for the manifest's container (symphonia calls RIFF WAVE
/// `wave` and ISO BMFF `isomp4`; RF64 is read by the same WAVE reader).
fn container_family(manifest_container: &str) -> &'static [&'static str] {
    match manifest_container {
        "wav" | "rf64" => &["wav", "wave"],
        "mp3" => &["mp3"],
        "flac" => &["flac"],
        "ogg" => &["ogg"],
        "mp4" => &["isomp4", "mp4"],
        other => panic!("no container family for manifest container {other:?}"),
    }
}

/// Allowed difference between our decoded frame count and the manifest's gapless count for a
/// lossy file, in frames: half a codec frame. MP3 frames hold 1152 samples, AAC-LC 1024,
/// Vorbis at most 2048 (long blocks; a packet's output is half a block). The manifest's counts
/// are ffmpeg's gapless decode; a decoder that drops or keeps the last partial frame differs by
/// less than half a frame (the README allows ±576 for MP3), while a decoder that ignores the
/// encoder delay (MP3 +1593, AAC +1024 frames, see the README's "Encoder delay") or an edit list
/// falls outside it.
fn lossy_tolerance_frames(codec: &str) -> u64 {
    match codec {
        "mp3" => 576,
        "aac" => 512,
        "vorbis" => 1024,
        other => panic!("no lossy tolerance for codec {other:?}"),
    }
}

fn check(entry: &SampleEntry) -> Result<(), String> {
    let bytes = entry.bytes();
    let decoded = decode(&bytes, &Limits::default()).map_err(|e| format!("decode failed: {e}"))?;
    let info = &decoded.info;
    let mut problems = Vec::new();

    let container = entry
        .container
        .as_deref()
        .expect("a decodable entry names its container");
    if !container_family(container).contains(&info.container.as_str()) {
        problems.push(format!(
            "container {:?}, manifest {container:?}",
            info.container
        ));
    }
    let codec = entry
        .codec
        .as_deref()
        .expect("a decodable entry names its codec");
    if info.codec != codec {
        problems.push(format!("codec {:?}, manifest {codec:?}", info.codec));
    }
    let rate = entry.sample_rate.expect("sample_rate");
    if info.sample_rate != rate || decoded.pcm.rate.hz() != rate {
        problems.push(format!(
            "sample rate {} (pcm {}), manifest {rate}",
            info.sample_rate,
            decoded.pcm.rate.hz()
        ));
    }
    let channels = entry.channels.expect("channels");
    if info.channels != channels {
        problems.push(format!("channels {}, manifest {channels}", info.channels));
    }

    // The PCM is mono whatever the source: one sample per frame.
    let frames = decoded.pcm.samples.len() as u64;
    let truth = entry.frames.expect("frames");
    let tolerance = if entry.is_lossless() {
        // ±1 ms.
        u64::from(rate) / 1000
    } else {
        lossy_tolerance_frames(codec)
    };
    if frames.abs_diff(truth) > tolerance {
        problems.push(format!(
            "{frames} frames ({:.4} s), manifest {truth} ({:.4} s), tolerance ±{tolerance} frames",
            frames as f64 / f64::from(rate),
            truth as f64 / f64::from(rate)
        ));
    }
    let duration = entry.duration_s.expect("duration_s");
    let duration_tolerance = tolerance as f64 / f64::from(rate) + 1e-9;
    if (info.duration_s - duration).abs() > duration_tolerance {
        problems.push(format!(
            "duration_s {}, manifest {duration}",
            info.duration_s
        ));
    }
    if (info.duration_s - frames as f64 / f64::from(rate)).abs() > 1e-9 {
        problems.push(format!(
            "duration_s {} disagrees with {frames} frames",
            info.duration_s
        ));
    }
    if let Some(truncated) = entry.truncated {
        if info.truncated != truncated {
            problems.push(format!(
                "truncated {}, manifest {truncated}",
                info.truncated
            ));
        }
    }
    // Float sources may overshoot full scale a little; beyond 2.0 is a scaling bug.
    if decoded
        .pcm
        .samples
        .iter()
        .any(|s| !s.is_finite() || s.abs() > 2.0)
    {
        problems.push("samples are not finite or far outside [-1, 1]".into());
    }
    if !(0.0..=1.0).contains(&decoded.clipped_ratio) {
        problems.push(format!(
            "clipped_ratio {} is not a fraction",
            decoded.clipped_ratio
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// Every file the manifest expects to decode, with at least one frame (the header-only WAV has
/// none and is covered in `malformed`), hostile ones included (truncated WAV and MP3, the WAV
/// whose size fields say 0xFFFFFFFF).
#[test]
fn every_decodable_sample_matches_the_manifest() {
    let manifest = Manifest::get();
    let entries = manifest.select(17, |f| f.expects_audio() && f.frames.is_some_and(|n| n > 0));
    let failures: Vec<String> = entries
        .iter()
        .filter_map(|entry| check(entry).err().map(|e| format!("{}: {e}", entry.name)))
        .collect();
    assert!(
        failures.is_empty(),
        "{} of {} samples:\n{}",
        failures.len(),
        entries.len(),
        failures.join("\n")
    );
}

/// Every container and codec family the manifest's decodable files use is covered above, so a
/// manifest that lost its MP3 or AAC file would not silently shrink the test.
#[test]
fn the_decodable_samples_cover_every_supported_family() {
    let manifest = Manifest::get();
    for codec in [
        "pcm_s16le",
        "pcm_s24le",
        "pcm_s32le",
        "pcm_f32le",
        "pcm_u8",
        "pcm_mulaw",
        "pcm_alaw",
        "mp3",
        "flac",
        "vorbis",
        "aac",
    ] {
        assert!(
            manifest
                .files
                .iter()
                .any(|f| f.expects_audio() && f.codec.as_deref() == Some(codec)),
            "no decodable {codec} sample in the manifest"
        );
    }
}

/// Decoding the same bytes twice gives bit-identical PCM (no hidden state between calls).
#[test]
fn decoding_is_deterministic() {
    let manifest = Manifest::get();
    for name in [
        "mp3-44100hz-stereo-speech.mp3",
        "aac-24000hz-mono-beep-speech.m4a",
    ] {
        let bytes = manifest.entry(name).bytes();
        let a = decode(&bytes, &Limits::default()).expect("decode");
        let b = decode(&bytes, &Limits::default()).expect("decode");
        assert_eq!(a.info, b.info, "{name}");
        assert!(
            a.pcm.samples[..] == b.pcm.samples[..],
            "{name}: PCM differs between runs"
        );
    }
}

/// A stereo file is downmixed to the mean of its channels (the 24-bit WAV's channels differ:
/// the right one is the left at -4 dB), checked sample by sample against an independent decode
/// with hound.
#[test]
fn stereo_wav_is_downmixed_to_the_channel_mean() {
    let entry = Manifest::get().entry("pcm24-44100hz-stereo-speech.wav");
    let decoded = decode(&entry.bytes(), &Limits::default()).expect("decode");
    let mut reader = hound::WavReader::open(entry.path()).expect("hound opens the sample");
    assert_eq!(reader.spec().channels, 2);
    let scale = 1.0 / f64::from(1u32 << 23);
    let raw: Vec<f64> = reader
        .samples::<i32>()
        .map(|s| f64::from(s.expect("sample")) * scale)
        .collect();
    let mean: Vec<f64> = raw.chunks_exact(2).map(|f| (f[0] + f[1]) / 2.0).collect();
    assert_eq!(decoded.pcm.samples.len(), mean.len());
    let worst = decoded
        .pcm
        .samples
        .iter()
        .zip(&mean)
        .map(|(&a, &b)| (f64::from(a) - b).abs())
        .fold(0.0, f64::max);
    // f32 holds 24-bit samples exactly; the mean adds one rounding step.
    assert!(
        worst < 1e-6,
        "decoded mono differs from the channel mean by up to {worst}"
    );
}

/// The SHA-256 of `samples` as 16-bit PCM, little-endian: the form the reference decodes are
/// kept in.
fn pcm16_sha256(samples: &[f32]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for &s in samples {
        hash.update(((s * 32768.0) as i16).to_le_bytes());
    }
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// GSM 06.10, in a WAV49 file and as raw `.gsm` frames, decodes sample for sample as libgsm and
/// ffmpeg's decoder do (their PCM's SHA-256, from the fixtures' README), every sample a whole
/// 16-bit value, with the container and codec named as ffmpeg names them.
#[test]
fn gsm_610_decodes_sample_for_sample_as_libgsm_does() {
    let cases = [
        (
            "beep-speech-dtmf-hash-wav49.wav",
            ("wav", "gsm_ms"),
            173 * 320,
            "57eefde75786624600ae080b29389f89fdfbbaa04e413e79528f78b0f6599641",
        ),
        (
            "beep-speech-dtmf-hash.gsm",
            ("gsm", "gsm"),
            345 * 160,
            "e85083216853379f2c0f47a6caa35141730734747f7f7033ec37209939cc76ab",
        ),
    ];
    for (name, (container, codec), samples, reference) in cases {
        let decoded = decode(&codec_fixture("gsm", name), &Limits::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let info = &decoded.info;
        assert_eq!(
            (info.container.as_str(), info.codec.as_str()),
            (container, codec),
            "{name}"
        );
        assert_eq!((info.sample_rate, info.channels), (8000, 1), "{name}");
        assert!(!info.truncated, "{name}: truncated");
        assert_eq!(decoded.pcm.samples.len(), samples, "{name}: samples");
        assert!(
            decoded
                .pcm
                .samples
                .iter()
                .all(|s| (s * 32768.0).fract() == 0.0),
            "{name}: a sample that is no 16-bit value"
        );
        assert_eq!(pcm16_sha256(&decoded.pcm.samples), reference, "{name}");
    }
}

/// A GSM or G.722 recording goes through the whole chain as its PCM original does: the same
/// speech span, beep and stop tone as `samples/pcm16-8000hz-mono-beep-speech-dtmf-hash.wav`, of
/// which the fixtures are the GSM and G.722 encodes (the raw G.722 file known by its name).
#[test]
fn a_gsm_or_g722_recording_is_heard_as_its_pcm_original() {
    let pipeline = crate::support::pipeline_without_transcription(|_| {});
    let heard = |bytes: &[u8], name: &str| {
        let source = Source {
            path: Some(name.to_owned()),
            ..Source::default()
        };
        let result = pipeline.process(bytes, source);
        let audio = result.audio.expect("audio facts");
        let beep = audio.beep.map(|b| (b.start_s, b.end_s));
        let stop = audio.stop_tone.map(|t| (t.key, t.start_s));
        (
            result.status,
            audio.speech_start_s,
            audio.speech_end_s,
            beep,
            stop,
        )
    };
    let original = Manifest::get()
        .entry("pcm16-8000hz-mono-beep-speech-dtmf-hash.wav")
        .bytes();
    let original = heard(&original, "original.wav");
    for (codec, name) in [
        ("gsm", "beep-speech-dtmf-hash-wav49.wav"),
        ("gsm", "beep-speech-dtmf-hash.gsm"),
        ("g722", "beep-speech-dtmf-hash.g722"),
    ] {
        let (status, start, end, beep, stop) = heard(&codec_fixture(codec, name), name);
        assert_eq!(status, original.0, "{name}");
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() <= 0.05,
            _ => false,
        };
        assert!(
            close(start, original.1) && close(end, original.2),
            "{name}: speech {start:?}–{end:?}, original {:?}–{:?}",
            original.1,
            original.2
        );
        let (beep, original_beep) = (beep.expect("a beep"), original.3.expect("a beep"));
        assert!(
            (beep.0 - original_beep.0).abs() <= 0.02 && (beep.1 - original_beep.1).abs() <= 0.02,
            "{name}: beep {beep:?}, original {original_beep:?}"
        );
        let stop = stop.expect("a stop tone");
        let original_stop = original.4.clone().expect("a stop tone");
        assert_eq!(stop.0, original_stop.0, "{name}: stop key");
        assert!(
            (stop.1 - original_stop.1).abs() <= 0.02,
            "{name}: stop tone at {}",
            stop.1
        );
    }
}

/// G.722 decodes to 16 kHz PCM that is its encoder's input to within 35 dB: the raw fixture
/// (known by its `.g722` name) is ffmpeg's encode of the 8 kHz sample upsampled to 16 kHz, and
/// is compared with that sample upsampled by callscribe's resampler, 22 samples later (the
/// codec's filter-bank delay). The WAV fixture holds the raw file's first 16,000 codes and
/// decodes to its first 32,000 samples exactly. Without the name, the raw bytes are not taken
/// for G.722; a RIFF file named `.g722` is read by its header.
#[test]
fn g722_decodes_raw_and_in_wav_to_its_encoders_input() {
    let limits = Limits::default();
    let raw = codec_fixture("g722", "beep-speech-dtmf-hash.g722");
    let decoded = decode_named(&raw, Some("prompts/Beep.G722"), &limits).expect("raw G.722");
    let info = &decoded.info;
    assert_eq!(
        (info.container.as_str(), info.codec.as_str()),
        ("g722", "adpcm_g722")
    );
    assert_eq!((info.sample_rate, info.channels), (16_000, 1));
    assert_eq!(decoded.pcm.samples.len(), raw.len() * 2);

    let original = Manifest::get()
        .entry("pcm16-8000hz-mono-beep-speech-dtmf-hash.wav")
        .bytes();
    let original = decode(&original, &limits).expect("the PCM original");
    let original = callscribe::resample::to_mono16k(original.pcm).expect("16 kHz");
    const DELAY: usize = 22;
    let (mut signal, mut noise) = (0f64, 0f64);
    for (heard, sent) in decoded.pcm.samples[DELAY..].iter().zip(original.samples()) {
        signal += f64::from(*sent).powi(2);
        noise += f64::from(heard - sent).powi(2);
    }
    let snr_db = 10.0 * (signal / noise).log10();
    assert!(snr_db >= 35.0, "G.722 decode at {snr_db:.1} dB SNR");

    let wav = codec_fixture("g722", "beep-speech-2s.wav");
    for name in [None, Some("beep-speech-2s.g722")] {
        let in_wav = decode_named(&wav, name, &limits).expect("G.722 in WAV");
        assert_eq!(
            (in_wav.info.container.as_str(), in_wav.info.codec.as_str()),
            ("wav", "adpcm_g722"),
            "{name:?}"
        );
        assert_eq!(
            in_wav.pcm.samples.as_slice(),
            &decoded.pcm.samples[..32_000],
            "{name:?}"
        );
    }

    for name in [None, Some("beep.wav"), Some("g722")] {
        if let Ok(other) = decode_named(&raw, name, &limits) {
            panic!("{name:?}: raw G.722 read as {:?}", other.info);
        }
    }
}

/// The Spanish prompts as Asterisk ships them in raw GSM 06.10 (`.gsm`) and raw G.722
/// (`.g722`, 16 kHz), each heard as its 8 kHz WAV twin: every one decoded (the 0.2 s tones too:
/// 10 GSM frames, known by the name), the same status, the same duration to a GSM frame, and
/// the speech found at the same place. The bounds are the largest differences measured over
/// the 293 prompts (2026-12-07: starts 32 ms for both, ends 80 ms for GSM and 96 ms for G.722)
/// with room for a frame of the VAD either way.
#[test]
fn asterisk_prompts_in_gsm_and_g722_are_heard_as_their_wav_twins() {
    let Some(root) = crate::support::voicemail::require_debian_audio() else {
        return;
    };
    let dir = root.join("usr/share/asterisk/sounds/es_MX_f_Allison");
    let pipeline = crate::support::pipeline_without_transcription(|_| {});
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("the Spanish prompts")
        .filter_map(|entry| {
            let path = entry.ok()?.path();
            (path.extension()? == "wav").then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    names.sort();
    let mut failures = Vec::new();
    let mut largest = [(0f64, 0f64); 2];
    for name in &names {
        let wav = pipeline.process_file(&dir.join(format!("{name}.wav")));
        let wav_audio = wav.audio.as_ref().expect("a WAV prompt decodes");
        for (n, (ext, codec)) in [("gsm", "gsm"), ("g722", "adpcm_g722")]
            .into_iter()
            .enumerate()
        {
            let path = dir.join(format!("{name}.{ext}"));
            let other = pipeline.process_file(&path);
            let Some(audio) = other.audio.as_ref() else {
                failures.push(format!("{name}.{ext}: {:?}", other.error));
                continue;
            };
            if audio.codec != codec || other.status != wav.status {
                failures.push(format!(
                    "{name}.{ext}: {} {:?}, the WAV {:?}",
                    audio.codec, other.status, wav.status
                ));
            }
            if (audio.duration_s - wav_audio.duration_s).abs() > 0.021 {
                failures.push(format!(
                    "{name}.{ext}: {} s, the WAV {} s",
                    audio.duration_s, wav_audio.duration_s
                ));
            }
            let span = |a: &callscribe::result::AudioReport| (a.speech_start_s, a.speech_end_s);
            match (span(audio), span(wav_audio)) {
                ((Some(s), Some(e)), (Some(ws), Some(we))) => {
                    largest[n].0 = largest[n].0.max((s - ws).abs());
                    largest[n].1 = largest[n].1.max((e - we).abs());
                }
                ((None, None), (None, None)) => {}
                (theirs, ours) => {
                    failures.push(format!("{name}.{ext}: speech {theirs:?}, the WAV {ours:?}"))
                }
            }
        }
    }
    eprintln!(
        "{} prompts; largest start/end differences (gsm, g722): {largest:?}",
        names.len()
    );
    assert!(names.len() >= 290, "{} Spanish prompts", names.len());
    for (n, ext) in ["gsm", "g722"].into_iter().enumerate() {
        let (start, end) = largest[n];
        if start > 0.07 || end > 0.15 {
            failures.push(format!(
                "{ext}: speech starts up to {start:.3} s and ends up to {end:.3} s from the WAV's"
            ));
        }
    }
    crate::support::report(failures);
}

/// Asterisk's headerless formats, known by their names: the `data` chunk of a µ-law, A-law and
/// 16-bit PCM sample, written as `.ulaw`, `.alaw`, `.sln` or `.sln16`, decodes to exactly the
/// samples the WAV gives (symphonia's decoders), at the WAV's rate; in capitals too. A `.ulaw`
/// name on a WAV file is overruled by its header, and the same bytes without a name are no
/// format at all.
#[test]
fn asterisks_headerless_formats_decode_as_their_wav_twins() {
    let limits = Limits::default();
    for (sample, name, codec) in [
        (
            "ulaw-8000hz-mono-beep-speech.wav",
            "prompt.ulaw",
            "pcm_mulaw",
        ),
        (
            "alaw-8000hz-mono-speech-dtmf-hash.wav",
            "prompt.ALAW",
            "pcm_alaw",
        ),
        (
            "pcm16-8000hz-mono-beep-speech-dtmf-hash.wav",
            "prompt.sln",
            "pcm_s16le",
        ),
        ("pcm16-16000hz-mono-speech.wav", "prompt.sln16", "pcm_s16le"),
    ] {
        let wav = Manifest::get().entry(sample).bytes();
        let twin = decode(&wav, &limits).unwrap_or_else(|e| panic!("{sample}: {e}"));
        let data = wav.windows(4).position(|w| w == b"data").expect("data") + 8;
        let len = u32::from_le_bytes(wav[data - 4..data].try_into().expect("4 bytes")) as usize;
        let raw = &wav[data..data + len];
        let decoded =
            decode_named(raw, Some(name), &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(decoded.info.codec, codec, "{name}");
        assert_eq!(decoded.info.sample_rate, twin.info.sample_rate, "{name}");
        assert!(!decoded.info.truncated, "{name}");
        assert!(
            decoded.pcm.samples.as_slice() == twin.pcm.samples.as_slice(),
            "{name}: samples differ from {sample}'s"
        );
        let by_header = decode_named(&wav, Some(name), &limits).expect("the WAV, named otherwise");
        assert_eq!(by_header.info, twin.info, "{name} on a WAV file");
    }
    let mu = Manifest::get()
        .entry("ulaw-8000hz-mono-beep-speech.wav")
        .bytes();
    let data = mu.windows(4).position(|w| w == b"data").expect("data") + 8;
    if let Ok(other) = decode(&mu[data..], &limits) {
        panic!("µ-law codes without a name read as {:?}", other.info);
    }
}
