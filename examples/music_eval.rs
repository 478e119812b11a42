//! Measures how `trim::find_speech` tells music alone (hold music) from a caller's speech,
//! with `TrimOptions::reject_music` on and off, per clip class and set of music tracks.
//!
//! Clip classes (speech is 8 kHz, as a telephone line carries it, at -20 dBFS RMS):
//! - `music_full` / `music_tel`: music alone, 16 kHz full band / through a telephone line
//!   (300–3400 Hz, 8 kHz, G.711 µ-law), loops of 30, 60 and 120 s (60 s for the extra sets) at
//!   -18, -24 or -30 dBFS RMS. Correct: no span.
//! - `speech`: every speech file on its own, and sequences of them (≥ 20 s, pauses of
//!   0.4–1.2 s, 1 s of silence at each end); `speech_noisy` / `speech_noisier`: the sequences
//!   with pink line noise at -35 / -30 dBFS and µ-law. Correct: no span lost to rejection.
//! - `over_music_{10,15,20}dB_{full,tel}`: the sequences over a music bed that many dB below
//!   the speech (RMS over the speech), music throughout. Correct: a span over the speech.
//! - `music_then_speech_tel`: 20 s of music at -24 dBFS, then a sequence. Correct: a span over
//!   the speech; "non-speech kept" shows how much of the music stayed.
//!
//! `--music` tracks are split by sorted name: even positions are set `tuning`, odd `held`;
//! `--extra-tuning-music` tracks are set `tuning2`, `--extra-music` tracks `held2`. Speech of
//! `--tuning-speech` goes with the tuning sets, speech of `--held-speech` with the held-out
//! ones. Times are per minute of audio, the fastest of `--repeat` runs.
//!
//! ```text
//! cargo run --release --no-default-features --example music_eval -- --music DIR \
//!     [--extra-tuning-music DIR] [--extra-music DIR] --tuning-speech DIR --held-speech DIR \
//!     [--repeat N]
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use callscribe::audio::{Mono16k, Pcm, SampleRate};
use callscribe::config::{Limits, TrimOptions};
use callscribe::trim::find_speech;
use callscribe::{decode, resample};
use zeroize::Zeroizing;

const RATE: f64 = 16_000.0;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut music = None;
    let mut extra = None;
    let mut extra_tuning = None;
    let mut tuning_speech = None;
    let mut held_speech = None;
    let mut repeat = 1usize;
    let mut i = 0;
    while i + 1 < args.len() {
        let value = PathBuf::from(&args[i + 1]);
        match args[i].as_str() {
            "--music" => music = Some(value),
            "--extra-music" => extra = Some(value),
            "--extra-tuning-music" => extra_tuning = Some(value),
            "--tuning-speech" => tuning_speech = Some(value),
            "--held-speech" => held_speech = Some(value),
            "--repeat" => repeat = args[i + 1].parse().unwrap_or(1).max(1),
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
        i += 2;
    }
    let (Some(music), Some(tuning_speech), Some(held_speech)) = (music, tuning_speech, held_speech)
    else {
        eprintln!(
            "usage: music_eval --music DIR [--extra-tuning-music DIR] [--extra-music DIR] \
             --tuning-speech DIR --held-speech DIR [--repeat N]"
        );
        std::process::exit(2);
    };

    let tracks = list(&music);
    let mut sets: Vec<(&str, Vec<PathBuf>)> = vec![
        ("tuning", tracks.iter().step_by(2).cloned().collect()),
        ("held", tracks.iter().skip(1).step_by(2).cloned().collect()),
    ];
    if let Some(dir) = &extra_tuning {
        sets.push(("tuning2", list(dir)));
    }
    if let Some(dir) = &extra {
        sets.push(("held2", list(dir)));
    }
    for (name, files) in &sets {
        let names: Vec<String> = files.iter().map(|p| file_name(p)).collect();
        println!("# {name} music: {}", names.join(", "));
    }

    let mut eval = Eval::new(repeat);
    let speech_tuning = load_speech(&tuning_speech);
    let speech_held = load_speech(&held_speech);
    println!(
        "# speech files: tuning {}, held {}",
        speech_tuning.len(),
        speech_held.len()
    );
    let seq_tuning = sequences(&speech_tuning, 0x51);
    let seq_held = sequences(&speech_held, 0x77);

    // Speech alone.
    for (set, files, seqs) in [
        ("tuning", &speech_tuning, &seq_tuning),
        ("held", &speech_held, &seq_held),
    ] {
        for (name, pcm) in files {
            let audio = to16k(pcm.clone(), 8_000);
            eval.run(set, "speech", name, &audio, Truth::Speech(None));
        }
        for (k, seq) in seqs.iter().enumerate() {
            // The same with pink line noise (seeded) and µ-law, at two levels.
            for (class, noise_db, seed) in [
                ("speech_noisy", -35.0, k as u64 + 1),
                ("speech_noisier", -30.0, k as u64 + 1001),
            ] {
                let noisy = add_noise(&seq.samples, 10f64.powf(noise_db / 20.0), seed);
                let audio = to16k(mulaw(&noisy), 8_000);
                eval.run(
                    set,
                    class,
                    &format!("sequence{k}"),
                    &audio,
                    Truth::Speech(Some(seq.spans.clone())),
                );
            }
            let audio = to16k(seq.samples.clone(), 8_000);
            eval.run(
                set,
                "speech",
                &format!("sequence{k}"),
                &audio,
                Truth::Speech(Some(seq.spans.clone())),
            );
        }
    }

    // Music, alone and under speech.
    for (set, files) in &sets {
        let seqs = if set.starts_with("tuning") {
            &seq_tuning
        } else {
            &seq_held
        };
        for (t, path) in files.iter().enumerate() {
            let track = load_music(path);
            let name = file_name(path);
            let lengths: &[f64] = if set.ends_with('2') {
                &[60.0]
            } else {
                &[30.0, 60.0, 120.0]
            };
            for (l, &len) in lengths.iter().enumerate() {
                let level = [-18.0, -24.0, -30.0][(t + l) % 3];
                let start = track.len() / 7 * (l + 1) % track.len().max(1);
                let full = set_rms(looped(&track, start, (len * RATE) as usize), level);
                let tel = telephone(&full);
                let id = format!("{name}@{len}s");
                eval.run(set, "music_full", &id, &mono(full.clone()), Truth::Music);
                eval.run(set, "music_tel", &id, &to16k(tel, 8_000), Truth::Music);
            }
            // Speech over this track: the sequences assigned to it (round robin).
            for (k, seq) in seqs.iter().enumerate() {
                if k % files.len() != t {
                    continue;
                }
                let speech8 = &seq.samples;
                let speech16 = to16k(speech8.clone(), 8_000);
                let speech_rms = rms_over(speech16.samples(), &seq.spans);
                let start = (k * 7919 * 16) % track.len().max(1);
                let bed = looped(&track, start, speech16.samples().len());
                for db in [10.0, 15.0, 20.0] {
                    let level = 20.0 * speech_rms.max(1e-9).log10() - db;
                    let bed = set_rms(bed.clone(), level);
                    let full: Vec<f32> = speech16
                        .samples()
                        .iter()
                        .zip(&bed)
                        .map(|(s, m)| s + m)
                        .collect();
                    let bed8 = band_limit_8k(&bed);
                    let mixed8: Vec<f32> = speech8
                        .iter()
                        .zip(bed8.iter().chain(std::iter::repeat(&0.0)))
                        .map(|(s, m)| s + m)
                        .collect();
                    let tel = mulaw(&mixed8);
                    let id = format!("seq{k}+{name}");
                    let class_full = format!("over_music_{db:.0}dB_full");
                    let class_tel = format!("over_music_{db:.0}dB_tel");
                    let truth = Truth::Speech(Some(seq.spans.clone()));
                    eval.run(set, &class_full, &id, &mono(full), truth.clone());
                    eval.run(set, &class_tel, &id, &to16k(tel, 8_000), truth);
                }
                // Hold music, then the caller speaks (no music under the speech).
                let hold = 20 * 8_000;
                let music8 = telephone(&set_rms(looped(&track, start, 2 * hold), -24.0));
                let mut joined = music8[..hold.min(music8.len())].to_vec();
                joined.extend_from_slice(speech8);
                let offset = joined.len() - speech8.len();
                let spans = seq
                    .spans
                    .iter()
                    .map(|&(a, b)| (a + offset as f64 / 8_000.0, b + offset as f64 / 8_000.0))
                    .collect();
                let id = format!("{name}+seq{k}");
                eval.run(
                    set,
                    "music_then_speech_tel",
                    &id,
                    &to16k(mulaw(&joined), 8_000),
                    Truth::Speech(Some(spans)),
                );
            }
        }
    }
    eval.report();
}

#[derive(Clone)]
enum Truth {
    Music,
    /// Speech, with its spans in seconds when known.
    Speech(Option<Vec<(f64, f64)>>),
}

#[derive(Default)]
struct Tally {
    clips: usize,
    correct: usize,
    /// Speech clips that had a span without music rejection.
    had_span: usize,
    /// … and lost it with music rejection.
    lost: usize,
    /// Music clips with a span without rejection.
    music_span_before: usize,
    /// Seconds of known speech, and how much of it the segments cover with and without
    /// music rejection.
    speech_s: f64,
    covered_on: f64,
    covered_off: f64,
    /// Seconds the segments cover outside known speech (music kept), with and without.
    extra_on: f64,
    extra_off: f64,
    seconds: f64,
    time: Duration,
    time_off: Duration,
    failures: Vec<String>,
}

struct Eval {
    on: TrimOptions,
    off: TrimOptions,
    tallies: BTreeMap<(String, String), Tally>,
    /// Runs per clip and setting; the fastest run is the time reported.
    repeat: usize,
}

impl Eval {
    fn new(repeat: usize) -> Self {
        Self {
            on: TrimOptions::default(),
            off: TrimOptions {
                reject_music: false,
                ..TrimOptions::default()
            },
            tallies: BTreeMap::new(),
            repeat,
        }
    }

    fn run(&mut self, set: &str, class: &str, id: &str, audio: &Mono16k, truth: Truth) {
        let (mut time, mut time_off) = (Duration::MAX, Duration::MAX);
        let (mut on, mut off) = (None, None);
        // Alternate the settings so that load from other processes hits both alike.
        for _ in 0..self.repeat {
            let t = Instant::now();
            off = Some(find_speech(audio, &self.off));
            time_off = time_off.min(t.elapsed());
            let t = Instant::now();
            on = Some(find_speech(audio, &self.on));
            time = time.min(t.elapsed());
        }
        let (Some(on), Some(off)) = (on, off) else {
            return;
        };
        let tally = self
            .tallies
            .entry((class.to_owned(), set.to_owned()))
            .or_default();
        tally.clips += 1;
        tally.seconds += audio.duration().0;
        if let Truth::Speech(Some(spans)) = &truth {
            let known: f64 = spans.iter().map(|(a, b)| b - a).sum();
            let cover = |segs: &[callscribe::trim::Segment]| -> f64 {
                segs.iter()
                    .map(|s| {
                        spans
                            .iter()
                            .map(|&(a, b)| (s.end_s.min(b) - s.start_s.max(a)).max(0.0))
                            .sum::<f64>()
                    })
                    .sum()
            };
            let total = |segs: &[callscribe::trim::Segment]| -> f64 {
                segs.iter().map(|s| s.end_s - s.start_s).sum()
            };
            tally.speech_s += known;
            tally.covered_on += cover(&on.segments);
            tally.covered_off += cover(&off.segments);
            tally.extra_on += total(&on.segments) - cover(&on.segments);
            tally.extra_off += total(&off.segments) - cover(&off.segments);
        }
        tally.time += time;
        tally.time_off += time_off;
        let ok = match &truth {
            Truth::Music => {
                tally.music_span_before += usize::from(off.span.is_some());
                on.span.is_none()
            }
            Truth::Speech(spans) => {
                if class.starts_with("speech") {
                    // Speech alone: nothing may be lost.
                    tally.had_span += usize::from(off.span.is_some());
                    let lost = off.span.is_some() && on.span.is_none();
                    tally.lost += usize::from(lost);
                    !lost
                } else {
                    match (on.span, spans) {
                        (None, _) => false,
                        (Some(span), Some(spans)) => spans
                            .iter()
                            .any(|&(a, b)| span.start_s < b && span.end_s > a),
                        (Some(_), None) => true,
                    }
                }
            }
        };
        tally.correct += usize::from(ok);
        if !ok {
            tally.failures.push(id.to_owned());
        }
    }

    fn report(&self) {
        println!(
            "{:<26} {:<7} {:>6} {:>9} {:>8} {:>8} {:>10} {:>10}",
            "class", "set", "clips", "correct", "frac", "minutes", "ms/min on", "ms/min off"
        );
        for ((class, set), t) in &self.tallies {
            let minutes = t.seconds / 60.0;
            println!(
                "{:<26} {:<7} {:>6} {:>9} {:>8.3} {:>8.1} {:>10.1} {:>10.1}",
                class,
                set,
                t.clips,
                t.correct,
                t.correct as f64 / t.clips.max(1) as f64,
                minutes,
                t.time.as_secs_f64() * 1000.0 / minutes,
                t.time_off.as_secs_f64() * 1000.0 / minutes,
            );
            if class.starts_with("music") {
                println!(
                    "    (span without rejection: {}/{})",
                    t.music_span_before, t.clips
                );
            }
            if t.speech_s > 0.0 {
                println!(
                    "    (speech covered: {:.3} on, {:.3} off; non-speech kept: {:.1} s on, {:.1} s off)",
                    t.covered_on / t.speech_s,
                    t.covered_off / t.speech_s,
                    t.extra_on,
                    t.extra_off
                );
            }
            if class.starts_with("speech") {
                println!("    (had a span: {}, lost it: {})", t.had_span, t.lost);
            }
            if !t.failures.is_empty() {
                let shown: Vec<&str> = t.failures.iter().take(8).map(String::as_str).collect();
                println!("    failures: {}", shown.join(" "));
            }
        }
    }
}

/// A composed speech recording at 8 kHz, with where its speech is.
struct Sequence {
    samples: Vec<f32>,
    spans: Vec<(f64, f64)>,
}

/// Sequences of ≥ 20 s from the speech files, in a seeded shuffled order, each file used once.
fn sequences(files: &[(String, Vec<f32>)], seed: u64) -> Vec<Sequence> {
    let mut order: Vec<usize> = (0..files.len()).collect();
    let mut rng = Rng(seed);
    for i in (1..order.len()).rev() {
        let j = (rng.next() % (i as u64 + 1)) as usize;
        order.swap(i, j);
    }
    let mut out = Vec::new();
    let mut cur = Sequence {
        samples: vec![0.0; 8_000],
        spans: Vec::new(),
    };
    for &i in &order {
        let speech = &files[i].1;
        let t0 = cur.samples.len() as f64 / 8_000.0;
        cur.samples.extend_from_slice(speech);
        cur.spans.push((t0, cur.samples.len() as f64 / 8_000.0));
        let pause = 0.4 + 0.8 * (rng.next() % 1000) as f64 / 1000.0;
        cur.samples
            .extend(std::iter::repeat_n(0.0, (pause * 8_000.0) as usize));
        if cur.samples.len() >= 20 * 8_000 {
            cur.samples.extend(std::iter::repeat_n(0.0, 8_000));
            out.push(std::mem::replace(
                &mut cur,
                Sequence {
                    samples: vec![0.0; 8_000],
                    spans: Vec::new(),
                },
            ));
        }
    }
    out
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn list(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e, "wav" | "ogg" | "flac" | "mp3" | "m4a"))
        })
        .collect();
    files.sort();
    files
}

fn file_name(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The file's audio. A file that cannot be read or decoded (a broken symlink, a format the
/// decoder refuses) stops the evaluation: skipping it would count a class short, silently.
fn decode_file(path: &Path) -> Pcm {
    let fail = |what: String| -> ! {
        eprintln!("{}: {what}", path.display());
        std::process::exit(1)
    };
    let bytes = std::fs::read(path).unwrap_or_else(|e| fail(format!("cannot read: {e}")));
    let limits = Limits {
        max_bytes: 1 << 31,
        max_duration_s: 3600.0,
        ..Limits::default()
    };
    decode::decode(&bytes, &limits)
        .unwrap_or_else(|e| fail(format!("cannot decode: {e}")))
        .pcm
}

/// `pcm` at 16 kHz mono; a failure stops the evaluation as in [`decode_file`].
fn mono16k_of(path: &Path, pcm: Pcm) -> Mono16k {
    resample::to_mono16k(pcm).unwrap_or_else(|e| {
        eprintln!("{}: cannot resample: {e}", path.display());
        std::process::exit(1)
    })
}

/// A music track at 16 kHz mono.
fn load_music(path: &Path) -> Vec<f32> {
    mono16k_of(path, decode_file(path)).samples().to_vec()
}

/// Speech files at 8 kHz (as a telephone line carries them), each normalised to -20 dBFS RMS.
fn load_speech(dir: &Path) -> Vec<(String, Vec<f32>)> {
    list(dir)
        .iter()
        .filter_map(|p| {
            let pcm = decode_file(p);
            let rate = pcm.rate.hz();
            let s16 = mono16k_of(p, pcm);
            let s8 = if rate == 8_000 {
                // Already telephone rate: keep the samples as they are, through the 16 kHz
                // round trip only to share the code path below.
                band_limit_8k_wide(s16.samples())
            } else {
                band_limit_8k(s16.samples())
            };
            let rms = rms_over_all(&s8);
            if rms < 1e-5 {
                eprintln!("{}: silent, left out of the speech set", p.display());
                return None;
            }
            let gain = (0.1 / rms) as f32;
            Some((file_name(p), s8.iter().map(|x| x * gain).collect()))
        })
        .collect()
}

fn mono(samples: Vec<f32>) -> Mono16k {
    Mono16k::from_samples(Zeroizing::new(samples))
}

fn to16k(samples: Vec<f32>, rate: u32) -> Mono16k {
    resample::to_mono16k(Pcm {
        samples: Zeroizing::new(samples),
        rate: SampleRate(rate),
    })
    .expect("resample")
}

fn looped(track: &[f32], start: usize, len: usize) -> Vec<f32> {
    if track.is_empty() {
        return vec![0.0; len];
    }
    (0..len).map(|i| track[(start + i) % track.len()]).collect()
}

fn rms_over_all(x: &[f32]) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    (x.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() / x.len() as f64).sqrt()
}

fn rms_over(x: &[f32], spans: &[(f64, f64)]) -> f64 {
    let mut sum = 0.0;
    let mut n = 0usize;
    for &(a, b) in spans {
        let (a, b) = ((a * RATE) as usize, ((b * RATE) as usize).min(x.len()));
        for &v in &x[a.min(b)..b] {
            sum += f64::from(v) * f64::from(v);
            n += 1;
        }
    }
    (sum / n.max(1) as f64).sqrt()
}

fn set_rms(mut x: Vec<f32>, dbfs: f64) -> Vec<f32> {
    let rms = rms_over_all(&x);
    if rms > 0.0 {
        let gain = (10f64.powf(dbfs / 20.0) / rms) as f32;
        for v in &mut x {
            *v *= gain;
        }
    }
    x
}

/// A biquad section (RBJ cookbook), direct form I.
#[derive(Clone, Copy)]
struct Biquad {
    b: [f64; 3],
    a: [f64; 2],
}

impl Biquad {
    fn new(kind: char, f0: f64, q: f64, fs: f64) -> Self {
        let w = 2.0 * std::f64::consts::PI * f0 / fs;
        let (s, c) = w.sin_cos();
        let alpha = s / (2.0 * q);
        let a0 = 1.0 + alpha;
        let (b0, b1, b2) = if kind == 'l' {
            ((1.0 - c) / 2.0, 1.0 - c, (1.0 - c) / 2.0)
        } else {
            ((1.0 + c) / 2.0, -(1.0 + c), (1.0 + c) / 2.0)
        };
        Self {
            b: [b0 / a0, b1 / a0, b2 / a0],
            a: [-2.0 * c / a0, (1.0 - alpha) / a0],
        }
    }

    fn run(&self, x: &mut [f64]) {
        let (mut x1, mut x2, mut y1, mut y2) = (0.0, 0.0, 0.0, 0.0);
        for v in x.iter_mut() {
            let y =
                self.b[0] * *v + self.b[1] * x1 + self.b[2] * x2 - self.a[0] * y1 - self.a[1] * y2;
            x2 = x1;
            x1 = *v;
            y2 = y1;
            y1 = y;
            *v = y;
        }
    }
}

/// Butterworth Q values of the sections of an order-2n filter.
fn butterworth_q(n: usize) -> Vec<f64> {
    (0..n)
        .map(|k| {
            let theta = std::f64::consts::PI * (2 * k + 1) as f64 / (4 * n) as f64;
            1.0 / (2.0 * theta.cos())
        })
        .collect()
}

/// 16 kHz → 8 kHz through a 300–3400 Hz band (4th-order high-pass, 8th-order low-pass).
fn band_limit_8k(x: &[f32]) -> Vec<f32> {
    let mut y: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    for q in butterworth_q(2) {
        Biquad::new('h', 300.0, q, RATE).run(&mut y);
    }
    for q in butterworth_q(4) {
        Biquad::new('l', 3400.0, q, RATE).run(&mut y);
    }
    y.iter().step_by(2).map(|&v| v as f32).collect()
}

/// 16 kHz → 8 kHz keeping everything below 3.8 kHz (for sources that were 8 kHz already).
fn band_limit_8k_wide(x: &[f32]) -> Vec<f32> {
    let mut y: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
    for q in butterworth_q(4) {
        Biquad::new('l', 3800.0, q, RATE).run(&mut y);
    }
    y.iter().step_by(2).map(|&v| v as f32).collect()
}

/// The telephone line: band limit to 8 kHz, then G.711 µ-law.
fn telephone(x: &[f32]) -> Vec<f32> {
    mulaw(&band_limit_8k(x))
}

/// G.711 µ-law encode and decode (the segment/step tables of ITU-T G.711).
fn mulaw(x: &[f32]) -> Vec<f32> {
    const BIAS: i32 = 0x84;
    x.iter()
        .map(|&v| {
            let pcm = (f64::from(v) * 32768.0).round().clamp(-32768.0, 32767.0) as i32;
            let sign = if pcm < 0 { 0x80 } else { 0 };
            let mag = (pcm.abs().min(32635) + BIAS) as u32;
            let exponent = (31 - mag.leading_zeros()).saturating_sub(7).min(7);
            let mantissa = (mag >> (exponent + 3)) & 0x0F;
            let code = !(sign | (exponent << 4) as i32 | mantissa as i32) & 0xFF;
            // decode
            let code = !code & 0xFF;
            let sign = code & 0x80;
            let exponent = (code >> 4) & 0x07;
            let mantissa = code & 0x0F;
            let mag = (((mantissa << 3) + BIAS) << exponent) - BIAS;
            let pcm = if sign != 0 { -mag } else { mag };
            pcm as f32 / 32768.0
        })
        .collect()
}

/// `x` plus pink noise (Paul Kellet's filter over seeded uniform white noise) of RMS `rms`.
fn add_noise(x: &[f32], rms: f64, seed: u64) -> Vec<f32> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut b = [0f64; 7];
    let mut noise: Vec<f64> = (0..x.len())
        .map(|_| {
            let w = (rng.next() >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
            b[0] = 0.99886 * b[0] + w * 0.0555179;
            b[1] = 0.99332 * b[1] + w * 0.0750759;
            b[2] = 0.96900 * b[2] + w * 0.1538520;
            b[3] = 0.86650 * b[3] + w * 0.3104856;
            b[4] = 0.55000 * b[4] + w * 0.5329522;
            b[5] = -0.7616 * b[5] - w * 0.0168980;
            let pink = b.iter().sum::<f64>() + w * 0.5362;
            b[6] = w * 0.115926;
            pink
        })
        .collect();
    let have = (noise.iter().map(|v| v * v).sum::<f64>() / noise.len().max(1) as f64).sqrt();
    if have > 0.0 {
        for v in &mut noise {
            *v *= rms / have;
        }
    }
    x.iter().zip(&noise).map(|(&s, &n)| s + n as f32).collect()
}
