//! Decode: every sample the manifest expects to decode gives the right container, codec, rate,
//! channels and duration, from bytes in memory.

use callscribe::config::Limits;
use callscribe::decode::decode;

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
