//! Silero VAD v6, evaluated with the weights of its ONNX file (the `silero_vad_v6.onnx` that
//! faster-whisper ships; `models/build-model.sh` takes it from faster-whisper's wheel on PyPI).
//!
//! callscribe asks it one question earshot answers badly: where a quiet caller's speech begins
//! and ends (BENCHMARKS.md, "Speech found: callscribe's detector against Silero"). Whether a
//! recording holds speech at all stays earshot's and the music detector's call
//! ([`crate::trim`]), because Silero alone takes more hold music for speech.
//!
//! Why evaluate it here rather than through a runtime: the crates that run Silero do it with
//! onnxruntime, whose build downloads prebuilt binaries from outside the package registries, and
//! whisper.cpp's `WhisperVadContext` needs the whisper feature and a ggml conversion of the
//! weights. The network is small (an STFT as a convolution, four 1-D convolutions, one LSTM
//! cell, a sigmoid), and its graph is read off the ONNX file: per chunk of 512 samples at
//! 16 kHz with the 64 samples before it, reflect-pad 128 on each side, the STFT by the
//! `forward_basis_buffer` convolution (stride 128) with its first frame dropped, magnitudes of
//! 129 bins over 4 frames, convolutions of kernel 3 and padding 1 with strides 1, 2, 2, 1 and a
//! ReLU after each, the LSTM cell (ONNX gate order: input, output, forget, cell) carried from
//! chunk to chunk, a ReLU, a 1×1 convolution and a sigmoid. A unit test pins the result
//! against onnxruntime's on two speech samples of `samples/`.
//!
//! The ONNX file is read by [`onnx_initializers`], a reader of the few protobuf fields that hold
//! the weights, with every length checked against the file: a protobuf crate would need the
//! ONNX schema compiled by `protoc`, which the build does not have.

use std::path::Path;

use crate::error::{Error, Result};

/// New samples per chunk: 32 ms at 16 kHz.
pub const CHUNK: usize = 512;
/// Samples of the previous chunk put before each chunk.
const CONTEXT: usize = 64;
const INPUT: usize = CHUNK + CONTEXT;
const PAD: usize = 128;
const PADDED: usize = INPUT + 2 * PAD;
const FILTER: usize = 256;
const HOP: usize = 128;
const BINS: usize = FILTER / 2 + 1;
/// STFT frames kept per chunk (the first of the five is dropped, as the graph does).
const FRAMES: usize = 4;
const HIDDEN: usize = 128;
const GATES: usize = 4 * HIDDEN;

/// Largest ONNX file read: the v6 file is 1.2 MB.
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// One convolution of kernel 3: weights as `[out][tap][in]`, so each tap is a dot product over
/// contiguous input channels.
struct Conv {
    inputs: usize,
    outputs: usize,
    stride: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl Conv {
    /// `input` is `[frame][channel]`; returns `[frame][channel]` after the ReLU.
    fn apply(&self, input: &[f32], frames: usize) -> (Vec<f32>, usize) {
        let out_frames = (frames + 2 - 3) / self.stride + 1;
        let mut out = vec![0f32; out_frames * self.outputs];
        for t in 0..out_frames {
            for o in 0..self.outputs {
                let mut sum = self.bias[o];
                for tap in 0..3 {
                    // Padding 1: input frame `stride·t + tap − 1`, zero outside.
                    let Some(frame) = (self.stride * t + tap).checked_sub(1) else {
                        continue;
                    };
                    if frame >= frames {
                        continue;
                    }
                    let w = &self.weights[(o * 3 + tap) * self.inputs..][..self.inputs];
                    sum += super::dot(&input[frame * self.inputs..][..self.inputs], w);
                }
                out[t * self.outputs + o] = sum.max(0.0);
            }
        }
        (out, out_frames)
    }
}

/// Silero VAD v6's weights, read from its ONNX file and checked against the shapes the network
/// needs.
pub struct SileroModel {
    /// `[258][256]`: 129 real rows, then 129 imaginary.
    basis: Vec<f32>,
    convs: [Conv; 4],
    /// `[512][128]` each, gates in ONNX order (input, output, forget, cell).
    w_input: Vec<f32>,
    w_hidden: Vec<f32>,
    /// Both LSTM biases summed.
    bias: Vec<f32>,
    out_weights: Vec<f32>,
    out_bias: f32,
}

impl std::fmt::Debug for SileroModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SileroModel(v6)")
    }
}

impl SileroModel {
    /// Reads the weights from Silero VAD v6's ONNX file. Errors: `model` when the file cannot be
    /// read, is not ONNX, or lacks a tensor of the expected shape.
    pub fn load(path: &Path) -> Result<Self> {
        let bad = |detail: String| Error::Config {
            detail: format!("VAD model {}: {detail}", path.display()),
        };
        let size = std::fs::metadata(path)
            .map_err(|e| bad(format!("cannot read it: {e}")))?
            .len();
        if size > MAX_FILE_BYTES {
            return Err(bad(format!(
                "{size} bytes; Silero VAD's file is under {MAX_FILE_BYTES}"
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| bad(format!("cannot read it: {e}")))?;
        Self::from_onnx(&bytes).map_err(|e| bad(format!("not Silero VAD v6's ONNX file ({e})")))
    }

    fn from_onnx(bytes: &[u8]) -> std::result::Result<Self, String> {
        let tensors = onnx_initializers(bytes)?;
        let take = |name: &str, dims: &[i64]| -> std::result::Result<Vec<f32>, String> {
            let tensor = tensors
                .iter()
                .find(|t| t.name == name)
                .ok_or_else(|| format!("no tensor {name:?}"))?;
            if tensor.dims != dims {
                return Err(format!(
                    "tensor {name:?} has shape {:?}, expected {dims:?}",
                    tensor.dims
                ));
            }
            Ok(tensor.values.clone())
        };
        let conv = |n: usize, inputs: usize, outputs: usize, stride: usize| {
            let w = take(
                &format!("encoder.conv_layers.{n}.weight"),
                &[outputs as i64, inputs as i64, 3],
            )?;
            // `[out][in][tap]` → `[out][tap][in]`.
            let mut weights = vec![0f32; w.len()];
            for o in 0..outputs {
                for c in 0..inputs {
                    for tap in 0..3 {
                        weights[(o * 3 + tap) * inputs + c] = w[(o * inputs + c) * 3 + tap];
                    }
                }
            }
            let bias = take(&format!("encoder.conv_layers.{n}.bias"), &[outputs as i64])?;
            Ok::<_, String>(Conv {
                inputs,
                outputs,
                stride,
                weights,
                bias,
            })
        };
        let b = take("onnx::LSTM_211", &[1, 2 * GATES as i64])?;
        let bias = (0..GATES).map(|g| b[g] + b[GATES + g]).collect();
        Ok(Self {
            basis: take(
                "encoder.feature_extractor.forward_basis_buffer",
                &[2 * BINS as i64, 1, FILTER as i64],
            )?,
            convs: [
                conv(0, BINS, 128, 1)?,
                conv(1, 128, 64, 2)?,
                conv(2, 64, 64, 2)?,
                conv(3, 64, 128, 1)?,
            ],
            w_input: take("onnx::LSTM_209", &[1, GATES as i64, HIDDEN as i64])?,
            w_hidden: take("onnx::LSTM_210", &[1, GATES as i64, HIDDEN as i64])?,
            bias,
            out_weights: take("decoder.conv1d.weight", &[1, HIDDEN as i64, 1])?,
            out_bias: take("decoder.conv1d.bias", &[1])?[0],
        })
    }
}

/// One stream of 16 kHz audio through Silero: feed consecutive chunks of [`CHUNK`] samples, get
/// a speech probability for each.
pub struct Silero<'m> {
    model: &'m SileroModel,
    h: [f32; HIDDEN],
    c: [f32; HIDDEN],
    /// The last [`CONTEXT`] samples of the previous chunk (zeros at the start).
    context: [f32; CONTEXT],
    padded: Vec<f32>,
    /// STFT magnitudes of the chunk, `[frame][bin]`.
    magnitudes: Vec<f32>,
}

impl<'m> Silero<'m> {
    pub fn new(model: &'m SileroModel) -> Self {
        Self {
            model,
            h: [0.0; HIDDEN],
            c: [0.0; HIDDEN],
            context: [0.0; CONTEXT],
            padded: vec![0.0; PADDED],
            magnitudes: vec![0.0; FRAMES * BINS],
        }
    }

    /// The speech probability of `chunk` (zero-padded to [`CHUNK`] samples when shorter).
    pub fn score(&mut self, chunk: &[f32]) -> f32 {
        let model = self.model;
        let n = chunk.len().min(CHUNK);
        // The input: context, then the chunk, reflect-padded by PAD on each side.
        let input = &mut self.padded[PAD..PAD + INPUT];
        input[..CONTEXT].copy_from_slice(&self.context);
        input[CONTEXT..CONTEXT + n].copy_from_slice(&chunk[..n]);
        input[CONTEXT + n..].fill(0.0);
        self.context
            .copy_from_slice(&self.padded[PAD + INPUT - CONTEXT..PAD + INPUT]);
        for i in 0..PAD {
            self.padded[i] = self.padded[2 * PAD - i];
            self.padded[PAD + INPUT + i] = self.padded[PAD + INPUT - 2 - i];
        }

        // STFT magnitudes, frames 1..=4 of the five.
        for t in 0..FRAMES {
            let frame = &self.padded[(t + 1) * HOP..][..FILTER];
            for k in 0..BINS {
                let re = super::dot(frame, &model.basis[k * FILTER..][..FILTER]);
                let im = super::dot(frame, &model.basis[(BINS + k) * FILTER..][..FILTER]);
                self.magnitudes[t * BINS + k] = (re * re + im * im).sqrt();
            }
        }
        let (mut features, mut frames) = model.convs[0].apply(&self.magnitudes, FRAMES);
        for conv in &model.convs[1..] {
            (features, frames) = conv.apply(&features, frames);
        }
        // One frame of 128 channels is left.
        let x = &features[..HIDDEN];

        let sigmoid = |v: f32| 1.0 / (1.0 + (-v).exp());
        let mut gates = [0f32; GATES];
        for (g, gate) in gates.iter_mut().enumerate() {
            *gate = model.bias[g]
                + super::dot(x, &model.w_input[g * HIDDEN..][..HIDDEN])
                + super::dot(&self.h, &model.w_hidden[g * HIDDEN..][..HIDDEN]);
        }
        for j in 0..HIDDEN {
            let input_gate = sigmoid(gates[j]);
            let output_gate = sigmoid(gates[HIDDEN + j]);
            let forget_gate = sigmoid(gates[2 * HIDDEN + j]);
            let cell = gates[3 * HIDDEN + j].tanh();
            self.c[j] = forget_gate * self.c[j] + input_gate * cell;
            self.h[j] = output_gate * self.c[j].tanh();
        }
        let relu: Vec<f32> = self.h.iter().map(|v| v.max(0.0)).collect();
        sigmoid(model.out_bias + super::dot(&relu, &model.out_weights))
    }
}

impl Drop for Silero<'_> {
    fn drop(&mut self) {
        // The last samples of the recording and their spectrum, zeroized like every media
        // buffer.
        zeroize::Zeroize::zeroize(&mut self.padded);
        zeroize::Zeroize::zeroize(&mut self.context);
        zeroize::Zeroize::zeroize(&mut self.magnitudes);
    }
}

/// A float tensor of an ONNX file.
struct Tensor {
    name: String,
    dims: Vec<i64>,
    values: Vec<f32>,
}

/// Every float initializer of an ONNX model: `ModelProto.graph` (field
/// 7), `GraphProto.initializer` (field 5), and of each `TensorProto` its `dims` (1),
/// `data_type` (2, 1 = float), `float_data` (4), `name` (8) and `raw_data` (9, little-endian).
/// Other fields are skipped by their wire type.
fn onnx_initializers(bytes: &[u8]) -> std::result::Result<Vec<Tensor>, String> {
    let mut out = Vec::new();
    for (field, value) in Fields::new(bytes) {
        if let (7, Value::Bytes(graph)) = (field?, value) {
            for (field, value) in Fields::new(graph) {
                if let (5, Value::Bytes(tensor)) = (field?, value) {
                    if let Some(t) = tensor_proto(tensor)? {
                        out.push(t);
                    }
                }
            }
        }
    }
    if out.is_empty() {
        return Err("no weights found".to_owned());
    }
    Ok(out)
}

fn tensor_proto(bytes: &[u8]) -> std::result::Result<Option<Tensor>, String> {
    let (mut name, mut dims, mut data_type) = (String::new(), Vec::new(), 0u64);
    let mut values: Vec<f32> = Vec::new();
    for (field, value) in Fields::new(bytes) {
        match (field?, value) {
            (1, Value::Varint(d)) => dims.push(d as i64),
            (1, Value::Bytes(packed)) => {
                let mut at = 0;
                while at < packed.len() {
                    dims.push(varint(packed, &mut at)? as i64);
                }
            }
            (2, Value::Varint(t)) => data_type = t,
            // `float_data` (packed) and `raw_data` hold the same little-endian floats.
            (4 | 9, Value::Bytes(floats)) => values.extend(
                floats
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            ),
            (8, Value::Bytes(n)) => name = String::from_utf8_lossy(n).into_owned(),
            _ => {}
        }
    }
    if data_type != 1 {
        return Ok(None);
    }
    let count = dims
        .iter()
        .try_fold(1i64, |n, &d| if d < 0 { None } else { n.checked_mul(d) });
    if count != Some(values.len() as i64) {
        return Err(format!(
            "tensor {name:?}: {} values for dims {dims:?}",
            values.len()
        ));
    }
    Ok(Some(Tensor { name, dims, values }))
}

enum Value<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// The fields of one protobuf message: `(field number, value)`; an error ends the iteration.
struct Fields<'a> {
    bytes: &'a [u8],
    at: usize,
    failed: bool,
}

impl<'a> Fields<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            at: 0,
            failed: false,
        }
    }

    fn next_field(&mut self) -> std::result::Result<(u64, Value<'a>), String> {
        let key = varint(self.bytes, &mut self.at)?;
        let value = match key & 7 {
            0 => Value::Varint(varint(self.bytes, &mut self.at)?),
            1 => self.skip(8)?,
            5 => self.skip(4)?,
            2 => {
                let len = varint(self.bytes, &mut self.at)?;
                let end = usize::try_from(len)
                    .ok()
                    .and_then(|len| self.at.checked_add(len))
                    .filter(|&end| end <= self.bytes.len())
                    .ok_or("a field runs past the end of the file")?;
                let bytes = &self.bytes[self.at..end];
                self.at = end;
                Value::Bytes(bytes)
            }
            other => return Err(format!("unknown protobuf wire type {other}")),
        };
        Ok((key >> 3, value))
    }

    fn skip(&mut self, n: usize) -> std::result::Result<Value<'a>, String> {
        if self.bytes.len() - self.at < n {
            return Err("a field runs past the end of the file".to_owned());
        }
        self.at += n;
        Ok(Value::Fixed)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (std::result::Result<u64, String>, Value<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.at >= self.bytes.len() {
            return None;
        }
        match self.next_field() {
            Ok((field, value)) => Some((Ok(field), value)),
            Err(e) => {
                self.failed = true;
                Some((Err(e), Value::Fixed))
            }
        }
    }
}

fn varint(bytes: &[u8], at: &mut usize) -> std::result::Result<u64, String> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let &byte = bytes
            .get(*at)
            .ok_or("a number runs past the end of the file")?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err("a number longer than 64 bits".to_owned())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    /// The bytes of the weights file `models/build-model.sh` puts in place, read once for every
    /// test; a failure on CI when missing, a loud skip elsewhere.
    fn model_file() -> Option<&'static [u8]> {
        static FILE: std::sync::OnceLock<Option<Vec<u8>>> = std::sync::OnceLock::new();
        FILE.get_or_init(|| {
            let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/silero_vad_v6.onnx");
            if !path.exists() {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "{} is missing on CI; make it with `bash models/build-model.sh`",
                    path.display()
                );
                eprintln!(
                    "\n***** SKIPPED: {} missing (run `bash models/build-model.sh`) *****\n",
                    path.display()
                );
                return None;
            }
            Some(std::fs::read(&path).expect("the weights read"))
        })
        .as_deref()
    }

    fn model() -> Option<SileroModel> {
        model_file().map(|bytes| SileroModel::from_onnx(bytes).expect("Silero VAD v6 loads"))
    }

    fn sample(name: &str) -> Vec<f32> {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("samples")
            .join(name);
        let mut reader = hound::WavReader::open(path).expect("sample opens");
        reader
            .samples::<i16>()
            .map(|s| f32::from(s.expect("sample reads")) / 32768.0)
            .collect()
    }

    /// Every twelfth chunk's probability from onnxruntime 1.32 running faster-whisper 1.2.1's
    /// `silero_vad_v6.onnx` through faster-whisper's own `SileroVADModel` (the recording
    /// zero-padded to whole chunks), for two samples of `samples/`.
    #[test]
    fn probabilities_match_onnxruntime_on_speech_samples() {
        let Some(model) = model() else { return };
        let cases: [(&str, usize, &[f32]); 2] = [
            (
                "pcm16-16000hz-mono-speech.wav",
                253,
                &[
                    0.02383, 0.00122, 0.00140, 0.96241, 0.98903, 0.99092, 0.99104, 0.99099,
                    0.98502, 0.99235, 0.99311, 0.99347, 0.91885, 0.91866, 0.98396, 0.94489,
                    0.99517, 0.99507, 0.99222, 0.03352, 0.01420, 0.00728,
                ],
            ),
            (
                "pcm16-16000hz-mono-speech-pink-noise-snr25.wav",
                213,
                &[
                    0.04794, 0.00837, 0.02628, 0.97301, 0.99464, 0.99463, 0.99380, 0.99013,
                    0.99482, 0.95766, 0.80732, 0.99306, 0.85893, 0.99370, 0.99215, 0.11329,
                    0.03912, 0.02149,
                ],
            ),
        ];
        for (name, chunks, expected) in cases {
            let audio = sample(name);
            let mut silero = Silero::new(&model);
            let probs: Vec<f32> = audio.chunks(CHUNK).map(|c| silero.score(c)).collect();
            assert_eq!(probs.len(), chunks, "{name}");
            for (i, want) in expected.iter().enumerate() {
                let got = probs[i * 12];
                assert!(
                    (got - want).abs() < 2e-4,
                    "{name} chunk {}: {got} against onnxruntime's {want}",
                    i * 12
                );
            }
        }
    }

    proptest::proptest! {
        /// Whatever the bytes, the reader returns weights or an error, never a panic or a read
        /// past the end: arbitrary bytes, and the real file with a byte changed, then cut short
        /// (a cut inside its weights is refused: `files_that_are_not_silero_onnx_are_refused`).
        #[test]
        fn any_bytes_are_read_or_refused(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            cut in 0.0f64..1.0,
            at in 0.0f64..1.0,
            value in proptest::prelude::any::<u8>(),
        ) {
            let _ = SileroModel::from_onnx(&bytes);
            if let Some(file) = model_file() {
                let mut file = file.to_vec();
                let n = file.len();
                file[((n - 1) as f64 * at) as usize] = value;
                let _ = SileroModel::from_onnx(&file);
                file.truncate((n as f64 * cut) as usize);
                let _ = SileroModel::from_onnx(&file);
            }
        }
    }

    #[test]
    fn files_that_are_not_silero_onnx_are_refused() {
        // Not protobuf at all, a truncated length, and a protobuf message without weights.
        for bytes in [
            &b"RIFF\x24\x00\x00\x00WAVE"[..],
            &[0x3a, 0xff, 0x01, 0x00],
            &[0x08, 0x07],
        ] {
            assert!(SileroModel::from_onnx(bytes).is_err(), "{bytes:?}");
        }
        let Some(file) = model_file() else { return };
        assert!(SileroModel::from_onnx(&file[..file.len() / 2]).is_err());
    }
}
