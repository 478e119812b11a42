//! Test signals for the tone detectors: silence, sines, DTMF, seeded noise, speech-like audio,
//! and the path a telephony recording takes (G.711 µ-law → the crate's decode and resample
//! stages).

use std::f64::consts::TAU;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::dtmf::{COL_HZ, KEYPAD, ROW_HZ};
use super::{mean_square_at, DtmfTone, FS};
use crate::config::Limits;

/// Uniform in [0, 1) from a seeded generator, so every test signal is the same on every run.
fn uniform(rng: &mut StdRng) -> f64 {
    rng.random::<f64>()
}

/// Approximately standard normal: the Irwin–Hall sum of 12 uniforms (tails cut at ±6 σ, which
/// keeps noise from clipping).
fn gauss(rng: &mut StdRng) -> f64 {
    (0..12).map(|_| uniform(rng)).sum::<f64>() - 6.0
}

/// Sample count for `s` seconds at 16 kHz.
pub(super) fn n(s: f64) -> usize {
    (s * FS).round() as usize
}

/// Sine amplitude for a level in dBFS (AES17).
pub(super) fn amp(dbfs: f64) -> f64 {
    10f64.powf(dbfs / 20.0)
}

pub(super) fn silence(s: f64) -> Vec<f32> {
    vec![0.0; n(s)]
}

/// Sum of sines `(freq_hz, dbfs)` lasting `s` seconds at rate `fs`.
pub(super) fn sines_at(fs: f64, parts: &[(f64, f64)], s: f64) -> Vec<f32> {
    let len = (s * fs).round() as usize;
    (0..len)
        .map(|i| {
            let t = i as f64 / fs;
            parts
                .iter()
                .map(|&(f, db)| amp(db) * (TAU * f * t).sin())
                .sum::<f64>() as f32
        })
        .collect()
}

pub(super) fn sines(parts: &[(f64, f64)], s: f64) -> Vec<f32> {
    sines_at(FS, parts, s)
}

/// The (row, column) frequencies of a key.
pub(super) fn key_freqs(key: char) -> (f64, f64) {
    for (r, row) in KEYPAD.iter().enumerate() {
        for (c, &k) in row.iter().enumerate() {
            if k == key {
                return (ROW_HZ[r], COL_HZ[c]);
            }
        }
    }
    panic!("no such key {key}");
}

/// A DTMF press with each tone at `row_db` / `col_db` dBFS.
pub(super) fn dtmf_at(fs: f64, key: char, row_db: f64, col_db: f64, s: f64) -> Vec<f32> {
    let (r, c) = key_freqs(key);
    sines_at(fs, &[(r, row_db), (c, col_db)], s)
}

pub(super) fn dtmf(key: char, s: f64) -> Vec<f32> {
    dtmf_at(FS, key, -10.0, -10.0, s)
}

/// White Gaussian noise at `dbfs` (AES17: mean square 10^(L/10)/2).
pub(super) fn noise(dbfs: f64, s: f64, seed: u64) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let sigma = mean_square_at(dbfs).sqrt();
    (0..n(s))
        .map(|_| (sigma * gauss(&mut rng)) as f32)
        .collect()
}

/// Adds `b` into `a` (up to the shorter length).
pub(super) fn mix(mut a: Vec<f32>, b: &[f32]) -> Vec<f32> {
    for (x, y) in a.iter_mut().zip(b) {
        *x += y;
    }
    a
}

pub(super) fn concat(parts: &[Vec<f32>]) -> Vec<f32> {
    parts.concat()
}

/// Harmonic series on `f0` (with a linear glide to `f0_end`) shaped by formant resonances
/// `(centre, bandwidth)` and a -6 dB/octave tilt, normalised to `dbfs`.
pub(super) fn voiced(
    f0: f64,
    f0_end: f64,
    formants: &[(f64, f64)],
    dbfs: f64,
    s: f64,
    seed: u64,
) -> Vec<f32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let len = n(s);
    let harmonics = (3800.0 / f0.max(f0_end)) as usize;
    let phases: Vec<f64> = (0..harmonics).map(|_| uniform(&mut rng) * TAU).collect();
    let weight = |f: f64| {
        let resonance: f64 = formants
            .iter()
            .map(|&(fc, bw)| 1.0 / (1.0 + ((f - fc) / (bw / 2.0)).powi(2)).sqrt())
            .sum();
        resonance * 120.0 / f
    };
    let mut phase0 = 0.0;
    let mut out = Vec::with_capacity(len);
    for i in 0..len {
        let f = f0 + (f0_end - f0) * i as f64 / len.max(1) as f64;
        phase0 += TAU * f / FS;
        let x: f64 = (1..=harmonics)
            .map(|h| weight(h as f64 * f) * (h as f64 * phase0 + phases[h - 1]).sin())
            .sum();
        out.push(x as f32);
    }
    let ms = out
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        / len.max(1) as f64;
    let gain = (mean_square_at(dbfs) / ms.max(1e-20)).sqrt();
    out.iter().map(|&x| (f64::from(x) * gain) as f32).collect()
}

/// A steady /a/-like vowel: f0 = 120 Hz, formants 700, 1220, 2600 Hz. Its 6th and 10th
/// harmonics (720, 1200 Hz) sit next to DTMF's 697 and 1209 Hz.
pub(super) fn vowel(s: f64) -> Vec<f32> {
    voiced(
        120.0,
        120.0,
        &[(700.0, 110.0), (1220.0, 120.0), (2600.0, 160.0)],
        -20.0,
        s,
        7,
    )
}

/// Speech-like audio: syllables of gliding voiced sound with varying formants, separated by
/// short noise bursts (fricatives) and pauses.
pub(super) fn speechlike(s: f64, seed: u64) -> Vec<f32> {
    const VOWELS: [[(f64, f64); 3]; 5] = [
        [(700.0, 110.0), (1220.0, 120.0), (2600.0, 160.0)],
        [(300.0, 60.0), (2300.0, 100.0), (3000.0, 150.0)],
        [(500.0, 80.0), (1000.0, 90.0), (2400.0, 150.0)],
        [(400.0, 70.0), (2000.0, 100.0), (2600.0, 150.0)],
        [(350.0, 60.0), (800.0, 80.0), (2300.0, 150.0)],
    ];
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let mut i = 0;
    while out.len() < n(s) {
        let f0 = 95.0 + 120.0 * uniform(&mut rng);
        let glide = f0 * (0.85 + 0.3 * uniform(&mut rng));
        let dur = 0.12 + 0.15 * uniform(&mut rng);
        out.extend(voiced(
            f0,
            glide,
            &VOWELS[i % VOWELS.len()],
            -22.0,
            dur,
            seed + i as u64,
        ));
        out.extend(noise(
            -35.0,
            0.04 + 0.05 * uniform(&mut rng),
            seed * 31 + i as u64,
        ));
        if i % 3 == 2 {
            out.extend(noise(-60.0, 0.15, seed + 1000 + i as u64));
        }
        i += 1;
    }
    out.truncate(n(s));
    out
}

/// A linear chirp from `f_start` to `f_end` Hz at -15 dBFS.
pub(super) fn chirp(f_start: f64, f_end: f64, s: f64) -> Vec<f32> {
    let len = n(s);
    (0..len)
        .map(|i| {
            let t = i as f64 / FS;
            let k = (f_end - f_start) / s;
            (amp(-15.0) * (TAU * (f_start * t + k * t * t / 2.0)).sin()) as f32
        })
        .collect()
}

/// The 16 kHz samples the pipeline hands the tone detectors for a recording: the crate's own
/// decode (symphonia) and resample (rubato) stages.
pub(super) fn pipeline_16k(recording: &[u8]) -> Vec<f32> {
    decode_16k(recording).1
}

/// [`pipeline_16k`], with the codec symphonia decoded.
fn decode_16k(recording: &[u8]) -> (String, Vec<f32>) {
    let decoded = crate::decode::decode(recording, &Limits::default()).expect("decodes");
    let mono = crate::resample::to_mono16k(decoded.pcm).expect("resamples");
    (decoded.info.codec, mono.samples().to_vec())
}

/// `x` (at `rate` Hz) as a G.711 µ-law telephony recording, as the pipeline hears it: encoded,
/// put in a WAV, then decoded by symphonia and resampled to 16 kHz by [`pipeline_16k`].
///
/// The committed µ-law fixture (`samples/ulaw-8000hz-mono-beep-speech.wav`, checked in
/// `sample_recordings_match_their_manifest`) holds one 1 kHz beep; sweeping every DTMF key and
/// several beep frequencies through the codec needs an encoder, and neither symphonia (decode
/// only) nor hound (PCM and float only) has one.
pub(super) fn through_mulaw(x: &[f32], rate: u32) -> Vec<f32> {
    let (codec, samples) = decode_16k(&mulaw_wav(x, rate));
    assert_eq!(codec, "pcm_mulaw", "the test WAV is read as µ-law");
    samples
}

/// G.711 µ-law encoding of one sample (the recommendation's segment/mantissa algorithm on
/// 14-bit magnitudes, as in the ITU-T G.191 reference code).
fn mulaw_encode(x: f32) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut v = (f64::from(x).clamp(-1.0, 1.0) * 32_767.0) as i32;
    let sign = if v < 0 {
        v = -v;
        0x80
    } else {
        0
    };
    v = v.min(CLIP) + BIAS;
    let exponent = (7 - (v << 17).leading_zeros().min(7)) as i32;
    let mantissa = (v >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) as u8 | mantissa as u8)
}

/// A mono WAVE_FORMAT_MULAW (7) file of `x` at `rate` Hz. The fmt chunk is the 18-byte
/// WAVEFORMATEX that symphonia requires for µ-law (cbSize = 0).
fn mulaw_wav(x: &[f32], rate: u32) -> Vec<u8> {
    let mut data: Vec<u8> = x.iter().map(|&s| mulaw_encode(s)).collect();
    let data_len = u32::try_from(data.len()).expect("test signal fits a WAV");
    if data.len() % 2 == 1 {
        data.push(0); // RIFF chunks are padded to an even size
    }
    let mut wav = Vec::with_capacity(46 + data.len());
    wav.extend_from_slice(b"RIFF");
    // "WAVE", the fmt chunk (8 + 18 bytes), the data chunk (8 + padded data).
    wav.extend_from_slice(&(4 + 26 + 8 + data_len + (data_len % 2)).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&18u32.to_le_bytes());
    wav.extend_from_slice(&7u16.to_le_bytes()); // format tag: µ-law
    wav.extend_from_slice(&1u16.to_le_bytes()); // channels
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes()); // bytes per second: one byte per sample
    wav.extend_from_slice(&1u16.to_le_bytes()); // block align
    wav.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    wav.extend_from_slice(&0u16.to_le_bytes()); // cbSize
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    wav.extend_from_slice(&data);
    wav
}

/// The only press found.
pub(super) fn one_press(presses: &[DtmfTone]) -> DtmfTone {
    assert_eq!(
        presses.len(),
        1,
        "expected exactly one press, got {presses:?}"
    );
    presses[0]
}
