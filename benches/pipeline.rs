//! Criterion benches of the audio stages (decode, resample, trim, and the three chained) on
//! 2-minute recordings, the longest a Graph `recordResponse` produces.
//!
//! The inputs are built here, in memory and deterministically, from the committed speech sample
//! `samples/pcm16-16000hz-mono-speech.wav` (8.07 s: 0.8 s silence, 6.27 s speech, 1.0 s
//! silence): the sample followed by 1.93 s of digital silence is one 10 s period, repeated 12
//! times = 120 s at 16 kHz. That master is then
//!
//! | input | made by |
//! |---|---|
//! | `ulaw-8000hz-mono` | rubato 16 → 8 kHz, G.711 µ-law (WAV format tag 7, with `fact`) |
//! | `pcm16-16000hz-mono` | the master, PCM16 (hound) |
//! | `pcm16-44100hz-stereo` | rubato 16 → 44.1 kHz; left = master, right = master × 0.5 (-6 dB) |
//!
//! Every bench sets `Throughput::Elements(1_920_000)`: the recording's length in 16 kHz samples,
//! so criterion's `elem/s` ÷ 16 000 is the speed in × real time (see BENCHMARKS.md).
//!
//! Groups: `decode` (symphonia → mono `Pcm`), `resample` (→ `Mono16k`; 16 kHz is a pass-through),
//! `trim` (earshot VAD + beep + stop-tone scan, the pipeline's defaults), `trim_parts` (the same
//! split into VAD alone, stop-tone scan alone, beep scan alone), `chain` (decode + resample + trim,
//! what `callscribe process --no-transcribe` does per file) and `anchor` (hound reading the PCM16
//! file with its per-sample iterator: a second WAV reader to compare `decode` against in the
//! same run).
//!
//! `CALLSCRIBE_BENCH_INPUTS=DIR cargo bench --bench pipeline` writes the three inputs to `DIR`
//! (as `ulaw-8000hz-mono-2min.wav`, `pcm16-16000hz-mono-2min.wav`,
//! `pcm16-44100hz-stereo-2min.wav`) and exits without benchmarking; `benches/compare.sh` uses
//! that so the whole-process comparison runs on the same bytes.
//! `CALLSCRIBE_BENCH_ROUNDS=N cargo bench --bench pipeline` times the chain per stage in N
//! interleaved rounds instead of running criterion (see `chain_rounds`). Results: BENCHMARKS.md.

use std::hint::black_box;
use std::io::Cursor;
use std::path::Path;
use std::time::{Duration, Instant};

use callscribe::audio::Pcm;
use callscribe::config::{Limits, TrimOptions};
use callscribe::{decode, resample, tones, trim};
use criterion::{BatchSize, Criterion, Throughput};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use zeroize::Zeroizing;

#[path = "../tests/support/wav.rs"]
mod wav;

/// Rate of the master and of every stage after resampling, in Hz.
const MASTER_RATE: u32 = 16_000;
/// Length of every input, in seconds (Graph's longest `recordResponse`).
const DURATION_S: u32 = 120;
/// One period of the master: the speech sample then silence, in seconds.
const PERIOD_S: u32 = 10;
/// The committed speech sample the inputs are built from.
const SPEECH_SAMPLE: &str = "samples/pcm16-16000hz-mono-speech.wav";

/// One benchmark input: a complete file in memory.
struct Input {
    /// File stem, also the bench id (`decode/ulaw-8000hz-mono`).
    name: &'static str,
    /// The file's bytes.
    bytes: Vec<u8>,
}

/// The 120 s, 16 kHz master: the speech sample padded with silence to a 10 s period, 12 times.
fn master() -> Vec<f32> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(SPEECH_SAMPLE);
    let mut reader =
        hound::WavReader::open(&path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    let spec = reader.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (MASTER_RATE, 1, 16)
    );
    let speech: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| f32::from(s.expect("valid PCM16 sample")) / 32768.0)
        .collect();
    let period = (PERIOD_S * MASTER_RATE) as usize;
    assert!(
        speech.len() <= period,
        "the speech sample is longer than one period"
    );
    let mut out = Vec::with_capacity((DURATION_S * MASTER_RATE) as usize);
    for _ in 0..DURATION_S / PERIOD_S {
        out.extend_from_slice(&speech);
        out.resize(out.len() + period - speech.len(), 0.0);
    }
    out
}

/// Resamples mono audio with rubato's FFT resampler, delay removed, exactly
/// `len × rate_out / rate_in` samples long.
fn resample_to(samples: &[f32], rate_in: u32, rate_out: u32) -> Vec<f32> {
    let mut resampler = Fft::<f32>::new(
        rate_in as usize,
        rate_out as usize,
        1024,
        1,
        FixedSync::Input,
    )
    .expect("valid rates");
    let needed = resampler.process_all_needed_output_len(samples.len());
    let mut out = vec![0f32; needed];
    let input = InterleavedSlice::new(samples, 1, samples.len()).expect("mono input");
    let produced = {
        let mut output = InterleavedSlice::new_mut(&mut out[..], 1, needed).expect("mono output");
        resampler
            .process_all_into_buffer(&input, &mut output, samples.len(), None)
            .expect("resampling")
            .1
    };
    let expected = samples.len() * rate_out as usize / rate_in as usize;
    out.truncate(produced.min(expected));
    out
}

/// f32 in [-1, 1] → PCM16, rounded and clamped.
fn to_i16(x: f32) -> i16 {
    (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16
}

/// G.711 µ-law encoding of one PCM16 sample (ITU-T G.711, the classic Sun/CCITT reference
/// algorithm: bias 0x84, clip at 32635, inverted bits).
fn ulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    let s = s.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0F;
    !(sign | (exponent << 4) | mantissa) as u8
}

/// A WAV file with one µ-law channel: `fmt ` of 18 bytes (format tag 7, as sox writes it), a
/// `fact` chunk (required for non-PCM formats), then the data.
fn ulaw_wav(samples: &[f32], rate: u32) -> Vec<u8> {
    let data: Vec<u8> = samples.iter().map(|&x| ulaw_encode(to_i16(x))).collect();
    let pad = data.len() % 2;
    let riff_len = 4 + (8 + 18) + (8 + 4) + (8 + data.len() + pad);
    let mut out = Vec::with_capacity(8 + riff_len);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(riff_len as u32).to_le_bytes());
    out.extend_from_slice(b"WAVE");
    out.extend_from_slice(b"fmt ");
    out.extend_from_slice(&18u32.to_le_bytes());
    out.extend_from_slice(&7u16.to_le_bytes()); // WAVE_FORMAT_MULAW
    out.extend_from_slice(&1u16.to_le_bytes()); // channels
    out.extend_from_slice(&rate.to_le_bytes());
    out.extend_from_slice(&rate.to_le_bytes()); // bytes per second: 1 byte per frame
    out.extend_from_slice(&1u16.to_le_bytes()); // block align
    out.extend_from_slice(&8u16.to_le_bytes()); // bits per sample
    out.extend_from_slice(&0u16.to_le_bytes()); // cbSize
    out.extend_from_slice(b"fact");
    out.extend_from_slice(&4u32.to_le_bytes());
    out.extend_from_slice(&(samples.len() as u32).to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out.extend_from_slice(&data);
    out.resize(out.len() + pad, 0);
    out
}

/// A PCM16 WAV file (through the tests' WAV writer); `channels` holds one slice per channel,
/// all of one length.
fn pcm16_wav(channels: &[&[f32]], rate: u32) -> Vec<u8> {
    let interleaved: Vec<i16> = (0..channels[0].len())
        .flat_map(|i| channels.iter().map(move |channel| to_i16(channel[i])))
        .collect();
    wav::pcm16_wav(&interleaved, rate, channels.len() as u16)
}

/// The three 2-minute inputs, built from [`master`].
fn inputs() -> Vec<Input> {
    // G.711 table values: silence, full scale positive and negative.
    assert_eq!(
        [ulaw_encode(0), ulaw_encode(32_767), ulaw_encode(-32_768)],
        [0xFF, 0x80, 0x00]
    );
    let master = master();
    let at_8k = resample_to(&master, MASTER_RATE, 8_000);
    let at_44k = resample_to(&master, MASTER_RATE, 44_100);
    let right: Vec<f32> = at_44k.iter().map(|&x| x * 0.5).collect();
    vec![
        Input {
            name: "ulaw-8000hz-mono",
            bytes: ulaw_wav(&at_8k, 8_000),
        },
        Input {
            name: "pcm16-16000hz-mono",
            bytes: pcm16_wav(&[&master], MASTER_RATE),
        },
        Input {
            name: "pcm16-44100hz-stereo",
            bytes: pcm16_wav(&[&at_44k, &right], 44_100),
        },
    ]
}

/// Writes the inputs to `dir` as `<name>-2min.wav`.
fn write_inputs(dir: &Path, inputs: &[Input]) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    for input in inputs {
        let path = dir.join(format!("{}-2min.wav", input.name));
        std::fs::write(&path, &input.bytes)
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        println!("{}", path.display());
    }
}

/// Decodes an input once, for the benches of the later stages.
fn decoded(input: &Input) -> Pcm {
    decode::decode(&input.bytes, &Limits::default())
        .expect("the bench inputs decode")
        .pcm
}

fn benches(c: &mut Criterion) {
    let inputs = inputs();
    // Every input is 120 s; counted in 16 kHz samples so elem/s ÷ 16 000 = × real time.
    let elements = Throughput::Elements(u64::from(DURATION_S * MASTER_RATE));
    let limits = Limits::default();
    let trim_opts = TrimOptions::default();
    let vad_only = TrimOptions {
        detect_beep: false,
        detect_stop_tone: false,
        ..TrimOptions::default()
    };

    // Sanity: the chain finds the 12 utterances, so the benches measure realistic work.
    for input in &inputs {
        let mono = resample::to_mono16k(decoded(input)).expect("resampling");
        let report = trim::find_speech(&mono, &trim_opts);
        assert_eq!(
            report.segments.len(),
            12,
            "{}: {:?}",
            input.name,
            report.segments
        );
    }

    let mut group = c.benchmark_group("anchor");
    group.throughput(elements.clone());
    let pcm16 = inputs
        .iter()
        .find(|i| i.name == "pcm16-16000hz-mono")
        .expect("pcm16 input");
    group.bench_function("hound-read-pcm16-16000hz-mono", |b| {
        b.iter(|| {
            let reader =
                hound::WavReader::new(Cursor::new(black_box(&pcm16.bytes[..]))).expect("wav");
            reader
                .into_samples::<i16>()
                .map(|s| f32::from(s.unwrap_or(0)) / 32768.0)
                .collect::<Vec<f32>>()
        })
    });
    group.finish();

    let mut group = c.benchmark_group("decode");
    group.throughput(elements.clone());
    for input in &inputs {
        group.bench_function(input.name, |b| {
            b.iter(|| decode::decode(black_box(&input.bytes), &limits).expect("decode"))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("resample");
    group.throughput(elements.clone());
    for input in &inputs {
        let pcm = decoded(input);
        group.bench_function(input.name, |b| {
            b.iter_batched(
                || Pcm {
                    samples: Zeroizing::new(pcm.samples.to_vec()),
                    rate: pcm.rate,
                },
                |pcm| resample::to_mono16k(pcm).expect("resample"),
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();

    let monos: Vec<_> = inputs
        .iter()
        .map(|input| {
            (
                input.name,
                resample::to_mono16k(decoded(input)).expect("resample"),
            )
        })
        .collect();

    let mut group = c.benchmark_group("trim");
    group.throughput(elements.clone());
    for (name, mono) in &monos {
        group.bench_function(*name, |b| {
            b.iter(|| trim::find_speech(black_box(mono), &trim_opts))
        });
    }
    group.finish();

    // The parts of `trim` on one input (the 16 kHz one; after resampling all are alike).
    let mono = &monos
        .iter()
        .find(|(name, _)| *name == "pcm16-16000hz-mono")
        .expect("input")
        .1;
    let mut group = c.benchmark_group("trim_parts");
    group.throughput(elements.clone());
    group.bench_function("vad-only", |b| {
        b.iter(|| trim::find_speech(black_box(mono), &vad_only))
    });
    // With Silero's edges, as the command line runs it (`models/build-model.sh` makes the file).
    let silero = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/silero_vad_v6.onnx");
    if silero.exists() {
        let with_silero = TrimOptions {
            vad_model: Some(silero),
            ..TrimOptions::default()
        };
        group.bench_function("with-silero-edges", |b| {
            b.iter(|| trim::find_speech(black_box(mono), &with_silero))
        });
    } else {
        println!(
            "trim_parts/with-silero-edges: skipped, {} missing",
            silero.display()
        );
    }
    group.bench_function("stop-tone-scan", |b| {
        b.iter(|| tones::find_stop_tone(black_box(mono.samples()), tones::DEFAULT_STOP_TAIL_S))
    });
    group.bench_function("beep-scan", |b| {
        b.iter(|| tones::find_leading_beep(black_box(mono.samples()), tones::DEFAULT_BEEP_SEARCH_S))
    });
    group.finish();

    let mut group = c.benchmark_group("chain");
    group.throughput(elements);
    for input in &inputs {
        group.bench_function(input.name, |b| {
            b.iter(|| {
                let decoded = decode::decode(black_box(&input.bytes), &limits).expect("decode");
                let mono = resample::to_mono16k(decoded.pcm).expect("resample");
                trim::find_speech(&mono, &trim_opts)
            })
        });
    }
    group.finish();
}

/// A shared 2-core machine: few, longer samples; each stage takes 1–100 ms per 2-minute input.
fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .configure_from_args()
}

fn main() {
    if let Some(dir) = std::env::var_os("CALLSCRIBE_BENCH_INPUTS") {
        write_inputs(Path::new(&dir), &inputs());
        return;
    }
    if let Some(rounds) = std::env::var_os("CALLSCRIBE_BENCH_ROUNDS") {
        let rounds = rounds
            .to_str()
            .and_then(|r| r.parse().ok())
            .filter(|&r: &usize| (1..=1000).contains(&r))
            .expect("CALLSCRIBE_BENCH_ROUNDS is a number of rounds, 1..=1000");
        chain_rounds(&inputs(), rounds);
        return;
    }
    let mut criterion = config();
    benches(&mut criterion);
    criterion.final_summary();
}

/// The chain per stage, in interleaved rounds (every input once per round), as a markdown
/// table of the fastest and the median round. The machine this was written on is a shared VM
/// whose load comes in bursts of seconds; criterion benches one input for seconds at a time, so
/// a burst can slow one input's every sample, while here every input sees the same bursts and
/// the fastest round shows the code's own speed.
fn chain_rounds(inputs: &[Input], rounds: usize) {
    let limits = Limits::default();
    let opts = TrimOptions::default();
    // Per input, per round: decode, resample, trim, whole chain (seconds).
    let mut times = vec![Vec::with_capacity(rounds); inputs.len()];
    for _ in 0..rounds {
        for (input, input_times) in inputs.iter().zip(&mut times) {
            let start = Instant::now();
            let decoded = decode::decode(black_box(&input.bytes), &limits).expect("decode");
            let decoded_at = start.elapsed();
            let mono = resample::to_mono16k(decoded.pcm).expect("resample");
            let resampled_at = start.elapsed();
            black_box(trim::find_speech(&mono, &opts));
            let done_at = start.elapsed();
            input_times.push([
                decoded_at,
                resampled_at - decoded_at,
                done_at - resampled_at,
                done_at,
            ]);
        }
    }
    println!("{rounds} interleaved rounds; ms, fastest / median round");
    println!();
    println!("| input | decode | resample | trim | **chain** | chain × real time (fastest) |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (input, input_times) in inputs.iter().zip(&times) {
        let stat = |stage: usize| {
            let mut v: Vec<Duration> = input_times.iter().map(|t| t[stage]).collect();
            v.sort();
            (v[0], v[v.len() / 2])
        };
        let cell = |stage: usize| {
            let (fastest, median) = stat(stage);
            format!(
                "{:.1} / {:.1}",
                fastest.as_secs_f64() * 1e3,
                median.as_secs_f64() * 1e3
            )
        };
        let fastest_chain = stat(3).0.as_secs_f64();
        println!(
            "| `{}` | {} | {} | {} | **{}** | {:.0}× |",
            input.name,
            cell(0),
            cell(1),
            cell(2),
            cell(3),
            f64::from(DURATION_S) / fastest_chain
        );
    }
}
