//! The tests' and benchmarks' one PCM WAV writer (hound, in memory): for recordings of a given
//! length, rate or count that the committed samples do not have (a 2-minute call, a batch of 50
//! files, a sine at 37 kHz). Deliberately malformed headers are built byte by byte elsewhere
//! (`samples::wav_bytes`, `malformed.rs`). Shared with `benches/` (through `#[path]`), so it
//! depends on nothing else in `tests/support/`.

#![allow(dead_code)]

use std::io::Cursor;
use std::path::Path;

/// 16-bit PCM WAV bytes of interleaved `samples` (`channels` per frame) at `rate` Hz.
pub fn pcm16_wav(samples: &[i16], rate: u32, channels: u16) -> Vec<u8> {
    hound_wav(samples, channels, rate, 16, hound::SampleFormat::Int)
}

/// 32-bit float WAV bytes of mono `samples` at `rate` Hz (values are written as given, so
/// NaN and infinities too).
pub fn float32_wav(samples: &[f32], rate: u32) -> Vec<u8> {
    hound_wav(samples, 1, rate, 32, hound::SampleFormat::Float)
}

fn hound_wav<S: hound::Sample + Copy>(
    samples: &[S],
    channels: u16,
    sample_rate: u32,
    bits_per_sample: u16,
    sample_format: hound::SampleFormat,
) -> Vec<u8> {
    let spec = hound::WavSpec {
        channels,
        sample_rate,
        bits_per_sample,
        sample_format,
    };
    let mut out = Cursor::new(Vec::new());
    {
        let mut writer = hound::WavWriter::new(&mut out, spec).expect("wav header");
        for &s in samples {
            writer.write_sample(s).expect("wav sample");
        }
        writer.finalize().expect("wav finalize");
    }
    out.into_inner()
}

/// The interleaved 16-bit samples and spec of a PCM16 sample in `samples/`.
pub fn read_pcm16_sample(name: &str) -> (Vec<i16>, hound::WavSpec) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("samples")
        .join(name);
    let reader =
        hound::WavReader::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!(
        (spec.bits_per_sample, spec.sample_format),
        (16, hound::SampleFormat::Int),
        "{name} is not 16-bit PCM"
    );
    let samples = reader
        .into_samples::<i16>()
        .collect::<Result<Vec<_>, _>>()
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    (samples, spec)
}

/// `name` (a 16-bit PCM sample) repeated until it lasts at least `seconds`, as WAV bytes.
pub fn looped_pcm16_wav(name: &str, seconds: f64) -> Vec<u8> {
    let (samples, spec) = read_pcm16_sample(name);
    let frames_needed = (seconds * f64::from(spec.sample_rate)).ceil() as usize;
    let wanted = frames_needed * usize::from(spec.channels);
    let looped: Vec<i16> = samples.iter().copied().cycle().take(wanted).collect();
    pcm16_wav(&looped, spec.sample_rate, spec.channels)
}
