//! GSM 06.10 full-rate speech → 8 kHz PCM: the WAVE files telephone systems write with it
//! (format tag 0x0031: Asterisk's and Windows' "WAV49", 65-byte blocks of two frames) and raw
//! `.gsm` files (Asterisk's own format: 33-byte frames, no header).
//!
//! Written here because no maintained crate decodes it: symphonia has no GSM codec, and the one
//! crate that does (`gsm-sys`, 0.0.2) is an unsafe binding to the C libgsm. The codec is small
//! and fixed: the decoder below is the standard's fixed-point algorithm (ETSI EN 300 961,
//! section 4.3: RPE decoding, long-term and short-term synthesis, de-emphasis), with the
//! saturating 16-bit arithmetic of its section 4.1, so it gives libgsm's output (Jutta Degener
//! and Carsten Bormann's reference implementation, which ffmpeg and sox also give) sample for
//! sample: `tests/decode.rs` checks that against ffmpeg's decode of the same files.

use zeroize::{Zeroize, Zeroizing};

use super::{check_sample_rate, max_samples, push_pcm16, too_long};
use super::{Decoded, OwnWave, Source};
use crate::config::Limits;
use crate::error::{Error, Result};

/// The WAVE format tag of GSM 6.10 (`WAVE_FORMAT_GSM610`).
pub(super) const WAVE_FORMAT_GSM610: u16 = 0x0031;

/// Samples one frame decodes to (20 ms at 8 kHz).
const FRAME_SAMPLES: usize = 160;

/// Bytes of one frame in the standard packing: a 4-bit magic number and 260 bits of parameters.
const FRAME_BYTES: usize = 33;

/// Bytes of one WAV49 block: two frames' 520 bits, packed without the magic numbers.
const WAV49_BLOCK_BYTES: usize = 65;

/// The magic number in the first four bits of every frame in the standard packing.
const FRAME_MAGIC: u8 = 0xD;

/// Fewest frames an input without a header (or a name saying `.gsm`) must hold to be taken for
/// raw GSM: every one of them must start with the magic number, which an input that is
/// something else does by chance with odds of 16⁻¹⁶ (and 0.32 s is too short to hold a caller's
/// answer anyway).
const MIN_RAW_FRAMES: usize = 16;

/// Decodes `bytes` when they are raw GSM 6.10 frames: [`MIN_RAW_FRAMES`] of them, or one when the
/// recording is `named` `.gsm`, each starting with the magic number. `None` otherwise (a RIFF
/// file's first byte is no magic number). WAVE files in GSM 6.10 come through [`decode_wave`].
///
/// Errors: `too_long` (more frames than the duration limit allows, refused before any is
/// decoded), `too_large` (a sample rate limit under 8 kHz).
pub(super) fn decode_raw(bytes: &[u8], named: bool, limits: &Limits) -> Result<Option<Decoded>> {
    let min_frames = if named { 1 } else { MIN_RAW_FRAMES };
    if !is_raw_gsm(bytes, min_frames) {
        return Ok(None);
    }
    let frames = bytes.chunks(FRAME_BYTES);
    decode_frames(frames, Packing::Frames, 8000, "gsm", limits).map(Some)
}

/// How frames are packed into the blocks of a stream.
#[derive(Clone, Copy)]
enum Packing {
    /// 33-byte frames, each starting with the magic number, most significant bit first.
    Frames,
    /// 65-byte WAV49 blocks of two frames, least significant bit first.
    Wav49,
}

impl Packing {
    fn block_bytes(self) -> usize {
        match self {
            Packing::Frames => FRAME_BYTES,
            Packing::Wav49 => WAV49_BLOCK_BYTES,
        }
    }

    fn frames_per_block(self) -> usize {
        match self {
            Packing::Frames => 1,
            Packing::Wav49 => 2,
        }
    }

    /// The codec's name in results (ffmpeg's names for the two packings).
    fn codec(self) -> &'static str {
        match self {
            Packing::Frames => "gsm",
            Packing::Wav49 => "gsm_ms",
        }
    }
}

fn is_raw_gsm(bytes: &[u8], min_frames: usize) -> bool {
    bytes.len() / FRAME_BYTES >= min_frames
        && bytes
            .chunks(FRAME_BYTES)
            .all(|frame| frame[0] >> 4 == FRAME_MAGIC)
}

/// A RIFF/WAVE file in GSM 6.10 (format tag [`WAVE_FORMAT_GSM610`]).
///
/// Errors: `corrupt_media` (a block size that is neither a WAV49 block nor a frame, no `data`
/// chunk, a sample rate of 0, no whole frame), `unsupported_format` (more than one channel:
/// GSM 6.10 is mono), `too_large` (a sample rate over the limit), `too_long` (more frames than
/// the duration limit allows, refused before any is decoded), `empty_media` (no frames).
pub(super) fn decode_wave(wave: OwnWave<'_>, limits: &Limits) -> Result<Decoded> {
    let (channels, rate, block_align) = (wave.channels, wave.rate, wave.block_align);
    if channels != 1 {
        return Err(Error::UnsupportedFormat {
            detail: format!("wav with GSM 6.10 audio in {channels} channels (GSM 6.10 is mono)"),
        });
    }
    let packing = match usize::from(block_align) {
        // A writer that left the block size out means WAV49's, as ffmpeg reads it.
        0 | WAV49_BLOCK_BYTES => Packing::Wav49,
        FRAME_BYTES => Packing::Frames,
        other => {
            return Err(Error::CorruptMedia {
                detail: format!(
                    "wav with GSM 6.10 audio in blocks of {other} bytes (a WAV49 block is \
                     {WAV49_BLOCK_BYTES}, a frame {FRAME_BYTES})"
                ),
            })
        }
    };
    let (audio, cut_off) = wave.data()?;
    let blocks = audio.chunks(packing.block_bytes());
    let mut decoded = decode_frames(blocks, packing, rate, "wav", limits)?;
    decoded.info.truncated |= cut_off;
    Ok(decoded)
}

/// Decodes `blocks` (the last one may be cut short: it is left out and the result is
/// `truncated`) packed as `packing`, played at `rate`.
fn decode_frames<'a>(
    blocks: impl ExactSizeIterator<Item = &'a [u8]>,
    packing: Packing,
    rate: u32,
    container: &str,
    limits: &Limits,
) -> Result<Decoded> {
    check_sample_rate(rate, limits)?;
    let block_samples = FRAME_SAMPLES * packing.frames_per_block();
    let samples = blocks.len() as u64 * block_samples as u64;
    let max_samples = max_samples(limits, rate);
    if samples > max_samples + block_samples as u64 {
        // One block of slack: the last block may be the cut-off one, which is not decoded.
        return Err(too_long(samples, rate, limits));
    }

    let mut decoder = Decoder::new();
    let mut mono: Zeroizing<Vec<f32>> = Zeroizing::new(Vec::with_capacity(samples as usize));
    let mut frame_out = Zeroizing::new([0i16; FRAME_SAMPLES]);
    let mut truncated = false;
    let mut clipped = 0u64;
    for block in blocks {
        if block.len() < packing.block_bytes() {
            truncated = true;
            break;
        }
        let frames = match packing {
            Packing::Frames => [Some(Frame::read_frame(block)), None],
            Packing::Wav49 => {
                let [first, second] = Frame::read_wav49(block);
                [Some(first), Some(second)]
            }
        };
        for frame in frames.into_iter().flatten() {
            decoder.decode(&frame, &mut frame_out);
            clipped += push_pcm16(&mut mono, &frame_out[..]);
        }
    }
    if mono.len() as u64 > max_samples {
        return Err(too_long(mono.len() as u64, rate, limits));
    }
    if mono.is_empty() {
        return Err(if truncated {
            Error::CorruptMedia {
                detail: format!(
                    "no whole GSM 6.10 block (a block is {} bytes)",
                    packing.block_bytes()
                ),
            }
        } else {
            Error::EmptyMedia {
                detail: format!("the {container} stream has no GSM 6.10 frames"),
            }
        });
    }
    let total = mono.len() as u64;
    let source = Source {
        container: container.to_owned(),
        codec: packing.codec().to_owned(),
        channels: 1,
        truncated,
    };
    Ok(Decoded::new(mono, rate, source, clipped, total))
}

/// One frame's parameters, as the standard names them (table 1.1): the log-area ratios `LARc`
/// of the short-term filter, then per 5 ms sub-frame the long-term lag `Nc` and gain `bc`, the
/// RPE grid position `Mc`, the block amplitude `xmaxc` and the 13 RPE pulses `xMc`.
#[derive(Default)]
struct Frame {
    lar: [i16; 8],
    lag: [i16; 4],
    gain: [i16; 4],
    grid: [i16; 4],
    xmax: [i16; 4],
    pulses: [[i16; 13]; 4],
}

/// Bits of each log-area ratio (`LARc[1..8]`).
const LAR_BITS: [u32; 8] = [6, 6, 5, 5, 4, 4, 3, 3];

impl Frame {
    /// Reads the 260 bits of a frame's parameters, in the standard's order, from `bits`.
    fn read(bits: &mut BitReader<'_>) -> Frame {
        let mut frame = Frame::default();
        for (lar, &width) in frame.lar.iter_mut().zip(&LAR_BITS) {
            *lar = bits.read(width);
        }
        for sub in 0..4 {
            frame.lag[sub] = bits.read(7);
            frame.gain[sub] = bits.read(2);
            frame.grid[sub] = bits.read(2);
            frame.xmax[sub] = bits.read(6);
            for pulse in &mut frame.pulses[sub] {
                *pulse = bits.read(3);
            }
        }
        frame
    }

    /// A frame in the standard packing: most significant bit first, after the magic number
    /// (not checked here: ffmpeg decodes a frame without it too, and so does this).
    fn read_frame(bytes: &[u8]) -> Frame {
        let mut bits = BitReader::new(bytes, BitOrder::MsbFirst);
        bits.read(4);
        Frame::read(&mut bits)
    }

    /// The two frames of a WAV49 block: one stream of 520 bits, least significant bit first.
    fn read_wav49(bytes: &[u8]) -> [Frame; 2] {
        let mut bits = BitReader::new(bytes, BitOrder::LsbFirst);
        let first = Frame::read(&mut bits);
        [first, Frame::read(&mut bits)]
    }
}

#[derive(Clone, Copy)]
enum BitOrder {
    MsbFirst,
    LsbFirst,
}

/// Reads fields of a few bits from a block. The caller reads at most the block's bits (a
/// frame's 264, a WAV49 block's 520); past its end, bits read as 0.
struct BitReader<'a> {
    bytes: &'a [u8],
    order: BitOrder,
    at: usize,
}

impl<'a> BitReader<'a> {
    fn new(bytes: &'a [u8], order: BitOrder) -> BitReader<'a> {
        BitReader {
            bytes,
            order,
            at: 0,
        }
    }

    fn read(&mut self, width: u32) -> i16 {
        let mut value = 0i16;
        for i in 0..width {
            let byte = self.bytes.get(self.at / 8).copied().unwrap_or(0);
            let bit = self.at % 8;
            self.at += 1;
            match self.order {
                BitOrder::MsbFirst => value = value << 1 | i16::from(byte >> (7 - bit) & 1),
                BitOrder::LsbFirst => value |= i16::from(byte >> bit & 1) << i,
            }
        }
        value
    }
}

// The standard's arithmetic (section 4.1): 16-bit words, saturating additions, and a rounded
// product scaled by 2⁻¹⁵ whose one overflow (−1 × −1) saturates.

fn add(a: i16, b: i16) -> i16 {
    a.saturating_add(b)
}

fn sub(a: i16, b: i16) -> i16 {
    a.saturating_sub(b)
}

fn mult_r(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        i16::MAX
    } else {
        ((i32::from(a) * i32::from(b) + 16384) >> 15) as i16
    }
}

/// Table 4.1: `2 × B` and `MIC` of each log-area ratio; table 4.2: `INVA`, 1/A scaled.
const LAR_B2: [i16; 8] = [0, 0, 4096, -5120, 188, -3584, -682, -2288];
const LAR_MIC: [i16; 8] = [-32, -32, -16, -16, -8, -8, -4, -4];
const LAR_INVA: [i16; 8] = [13107, 13107, 13107, 13107, 19223, 17476, 31454, 29708];

/// Table 4.3b: the long-term gain's quantisation levels.
const LTP_GAIN: [i16; 4] = [3277, 11469, 21299, 32767];

/// Table 4.6: the RPE block amplitude's mantissas.
const RPE_MANTISSA: [i16; 8] = [18431, 20479, 22527, 24575, 26623, 28671, 30719, 32767];

/// The decoder's memory between frames (the standard's `dp`, `LARpp(j-1)`, `nrp`, `v`, `msr`),
/// wiped when it is dropped: it holds the caller's speech.
struct Decoder {
    /// The reconstructed short-term residual: 120 samples of history, then the sub-frame being
    /// built.
    residual: [i16; 160],
    /// The previous frame's decoded log-area ratios.
    lar_previous: [i16; 8],
    /// The last valid long-term lag.
    lag: i16,
    /// The short-term synthesis filter's lattice state.
    lattice: [i16; 9],
    /// The de-emphasis filter's state.
    emphasis: i16,
}

impl Drop for Decoder {
    fn drop(&mut self) {
        self.residual.zeroize();
        self.lar_previous.zeroize();
        self.lattice.zeroize();
        self.lag.zeroize();
        self.emphasis.zeroize();
    }
}

impl Decoder {
    fn new() -> Decoder {
        Decoder {
            residual: [0; 160],
            lar_previous: [0; 8],
            lag: 40,
            lattice: [0; 9],
            emphasis: 0,
        }
    }

    /// Section 4.3: one frame → 160 samples.
    fn decode(&mut self, frame: &Frame, out: &mut [i16; FRAME_SAMPLES]) {
        let mut excitation = Zeroizing::new([0i16; FRAME_SAMPLES]);
        for sub in 0..4 {
            let pulses = rpe_decode(frame.xmax[sub], frame.grid[sub], &frame.pulses[sub]);
            self.long_term_synthesis(frame.lag[sub], frame.gain[sub], &pulses);
            excitation[sub * 40..sub * 40 + 40].copy_from_slice(&self.residual[120..]);
            self.residual.copy_within(40.., 0);
        }
        self.short_term_synthesis(&frame.lar, &excitation, out);
        // Section 4.3.5: de-emphasis, then the 13-bit output scaled up to 16 bits.
        for sample in out.iter_mut() {
            self.emphasis = add(*sample, mult_r(self.emphasis, 28180));
            *sample = add(self.emphasis, self.emphasis) & !7;
        }
    }

    /// Section 4.3.2: the sub-frame's residual from its RPE pulses and the residual `lag`
    /// samples back, scaled by the coded gain. A lag outside 40..=120 keeps the previous one.
    fn long_term_synthesis(&mut self, lag: i16, gain: i16, pulses: &[i16; 40]) {
        if (40..=120).contains(&lag) {
            self.lag = lag;
        }
        let back = self.lag as usize;
        let gain = LTP_GAIN[gain as usize & 3];
        for (k, &pulse) in pulses.iter().enumerate() {
            let predicted = mult_r(gain, self.residual[120 + k - back]);
            self.residual[120 + k] = add(pulse, predicted);
        }
    }

    /// Sections 4.3.3–4.3.4: the frame's reflection coefficients, interpolated from the
    /// previous frame's over the first 40 samples, drive the lattice synthesis filter.
    fn short_term_synthesis(
        &mut self,
        coded: &[i16; 8],
        excitation: &[i16; FRAME_SAMPLES],
        out: &mut [i16; FRAME_SAMPLES],
    ) {
        let mut current = [0i16; 8];
        for i in 0..8 {
            let lar = (i32::from(add(coded[i], LAR_MIC[i])) << 10) as i16;
            let lar = mult_r(LAR_INVA[i], sub(lar, LAR_B2[i]));
            current[i] = add(lar, lar);
        }
        let previous = self.lar_previous;
        let segments: [(std::ops::Range<usize>, Interpolate); 4] = [
            (0..13, |p, c| add(add(p >> 2, c >> 2), p >> 1)),
            (13..27, |p, c| add(p >> 1, c >> 1)),
            (27..40, |p, c| add(add(p >> 2, c >> 2), c >> 1)),
            (40..160, |_, c| c),
        ];
        for (range, interpolate) in segments {
            let mut reflection = [0i16; 8];
            for i in 0..8 {
                reflection[i] = lar_to_reflection(interpolate(previous[i], current[i]));
            }
            for k in range {
                let mut sample = excitation[k];
                for i in (0..8).rev() {
                    sample = sub(sample, mult_r(reflection[i], self.lattice[i]));
                    self.lattice[i + 1] = add(self.lattice[i], mult_r(reflection[i], sample));
                }
                self.lattice[0] = sample;
                out[k] = sample;
            }
        }
        self.lar_previous = current;
    }
}

/// How a sub-range of a frame weighs the previous (first argument) and the current log-area
/// ratios (section 4.2.9.1).
type Interpolate = fn(i16, i16) -> i16;

/// Section 4.2.16–4.2.17 (as the decoder uses them): the 13 pulses of a sub-frame, scaled by
/// the block amplitude coded as exponent and mantissa, on every third sample from `grid`.
fn rpe_decode(xmax: i16, grid: i16, coded: &[i16; 13]) -> [i16; 40] {
    let (exponent, mantissa) = amplitude(xmax);
    let factor = RPE_MANTISSA[mantissa as usize];
    let shift = 6 - exponent; // 0..=10
    let rounding = if shift > 0 { 1 << (shift - 1) } else { 0 };
    let mut out = [0i16; 40];
    for (i, &pulse) in coded.iter().enumerate() {
        // 3 bits → an odd level in −7..=7, as a 16-bit fraction.
        let level = ((pulse << 1) - 7) << 12;
        out[grid as usize + 3 * i] = add(mult_r(factor, level), rounding) >> shift;
    }
    out
}

/// Section 4.2.15: a coded block amplitude (6 bits) as (exponent −4..=6, mantissa 0..=7).
fn amplitude(xmax: i16) -> (i16, i16) {
    let mut exponent = if xmax > 15 { (xmax >> 3) - 1 } else { 0 };
    let mut mantissa = xmax - (exponent << 3);
    if mantissa == 0 {
        return (-4, 7);
    }
    while mantissa <= 7 {
        mantissa = mantissa << 1 | 1;
        exponent -= 1;
    }
    (exponent, mantissa - 8)
}

/// Section 4.2.9.2: an interpolated log-area ratio → a reflection coefficient (a piecewise
/// linear approximation, odd in its argument).
fn lar_to_reflection(lar: i16) -> i16 {
    let magnitude = if lar == i16::MIN { i16::MAX } else { lar.abs() };
    let r = if magnitude < 11059 {
        magnitude << 1
    } else if magnitude < 20070 {
        magnitude + 11059
    } else {
        add(magnitude >> 2, 26112)
    };
    if lar < 0 {
        -r
    } else {
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every coded amplitude maps into the ranges the inverse quantiser's shift and table need.
    #[test]
    fn every_coded_amplitude_has_an_exponent_and_mantissa_in_range() {
        for xmax in 0..64 {
            let (exponent, mantissa) = amplitude(xmax);
            assert!(
                (-4..=6).contains(&exponent),
                "xmax {xmax}: exponent {exponent}"
            );
            assert!(
                (0..=7).contains(&mantissa),
                "xmax {xmax}: mantissa {mantissa}"
            );
        }
        // The table's ends (section 4.2.15): 0 is the smallest step, 63 the largest.
        assert_eq!(amplitude(0), (-4, 7));
        assert_eq!(amplitude(63), (6, 7));
    }

    /// The two packings read the same parameters: a frame of known fields, packed by hand both
    /// ways, reads back the same.
    #[test]
    fn both_packings_read_the_fields_in_the_standards_order() {
        // Fields in order, with their widths: LARc, then per sub-frame Nc, bc, Mc, xmaxc, xMc.
        let mut fields: Vec<(u32, u32)> = LAR_BITS.iter().map(|&w| (w, w - 1)).collect();
        for sub in 0..4u32 {
            fields.extend([(7, 40 + 20 * sub), (2, sub), (2, 3 - sub), (6, 10 + sub)]);
            fields.extend((0..13).map(|i| (3, (i + sub) % 8)));
        }
        let mut msb = vec![0u8; FRAME_BYTES];
        let mut lsb = vec![0u8; WAV49_BLOCK_BYTES];
        let mut at = 4; // after the magic number
        msb[0] = FRAME_MAGIC << 4;
        let mut at_lsb = 0;
        for _ in 0..2 {
            for &(width, value) in &fields {
                for b in 0..width {
                    let bit = (value >> b & 1) as u8;
                    lsb[at_lsb / 8] |= bit << (at_lsb % 8);
                    at_lsb += 1;
                }
            }
        }
        for &(width, value) in &fields {
            for b in (0..width).rev() {
                let bit = (value >> b & 1) as u8;
                msb[at / 8] |= bit << (7 - at % 8);
                at += 1;
            }
        }
        assert_eq!((at, at_lsb), (264, 520));
        let check = |frame: &Frame, what: &str| {
            let mut read = frame.lar.to_vec();
            for sub in 0..4 {
                read.extend([
                    frame.lag[sub],
                    frame.gain[sub],
                    frame.grid[sub],
                    frame.xmax[sub],
                ]);
                read.extend(frame.pulses[sub]);
            }
            let want: Vec<i16> = fields.iter().map(|&(_, v)| v as i16).collect();
            assert_eq!(read, want, "{what}");
        };
        check(&Frame::read_frame(&msb), "standard packing");
        let [first, second] = Frame::read_wav49(&lsb);
        check(&first, "WAV49, first frame");
        check(&second, "WAV49, second frame");
    }

    /// The decoder's arithmetic saturates instead of wrapping: a frame of extreme parameters,
    /// decoded many times over, never panics (debug builds check overflow) and stays in range.
    #[test]
    fn extreme_frames_saturate_without_overflow() {
        let mut decoder = Decoder::new();
        let mut out = [0i16; FRAME_SAMPLES];
        for fill in [0x00u8, 0xFF, 0xAA, 0x55, 0xD7] {
            let block = [fill; WAV49_BLOCK_BYTES];
            for _ in 0..50 {
                for frame in Frame::read_wav49(&block) {
                    decoder.decode(&frame, &mut out);
                    assert!(out.iter().all(|s| s & 7 == 0), "13-bit output scaled by 8");
                }
            }
        }
    }
}
