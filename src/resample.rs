//! Resample: mono PCM at any rate → [`Mono16k`], time-aligned with the original, with rubato.
//!
//! rubato's synchronous FFT resampler is used for the fixed ratio (it is both the fastest and
//! the cleanest of rubato's resamplers for a ratio known up front), and `process_all_into_buffer`
//! trims the resampler's startup delay, so output sample `i` sits at `i / 16000` s of the
//! original. Input that is already 16 kHz is passed through untouched.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};
use zeroize::Zeroizing;

use crate::audio::{extend_zeroizing, Mono16k, Pcm, TARGET_RATE};
use crate::error::{Error, Result};

/// Frames per FFT chunk at the input rate. 1024 keeps the FFTs small (fast, cache-resident)
/// while the startup delay it causes is trimmed anyway.
const CHUNK_FRAMES: usize = 1024;

/// Appends the mean of each interleaved frame's channels to `out`.
///
/// The mean, not the left channel: a caller recorded on one side of a stereo pair must not
/// vanish, and averaging keeps the level of a signal present in both channels.
pub fn downmix_into(interleaved: &[f32], channels: usize, out: &mut Zeroizing<Vec<f32>>) {
    if channels <= 1 {
        extend_zeroizing(out, interleaved);
        return;
    }
    // Stereo is the common case; a constant channel count lets the compiler unroll and
    // vectorise the per-frame sum, which it can't over a runtime count.
    match channels {
        2 => downmix_blocks(interleaved, 2, out),
        n => downmix_blocks(interleaved, n, out),
    }
}

/// Averages a block at a time on the stack, so no unzeroized heap copy is made. Inlined so
/// that a constant `channels` reaches the inner loop.
#[inline(always)]
fn downmix_blocks(interleaved: &[f32], channels: usize, out: &mut Zeroizing<Vec<f32>>) {
    let mut block = [0f32; 1024];
    let scale = 1.0 / channels as f32;
    for frames in interleaved.chunks(block.len() * channels) {
        let n = frames.len() / channels;
        for (dst, frame) in block.iter_mut().zip(frames.chunks_exact(channels)) {
            *dst = frame.iter().sum::<f32>() * scale;
        }
        extend_zeroizing(out, &block[..n]);
    }
    zeroize::Zeroize::zeroize(&mut block);
}

/// Resamples mono PCM to 16 kHz.
///
/// Errors: only if rubato refuses the rate (it accepts any rate > 0, which
/// [`crate::decode::decode`] guarantees), reported as `corrupt_media`.
pub fn to_mono16k(pcm: Pcm) -> Result<Mono16k> {
    let rate_in = pcm.rate.hz();
    if rate_in == TARGET_RATE {
        return Ok(Mono16k::from_samples(pcm.samples));
    }
    let frames_in = pcm.samples.len();
    if frames_in == 0 {
        return Ok(Mono16k::from_samples(Zeroizing::new(Vec::new())));
    }
    let rubato_error = |e: &dyn std::fmt::Display| Error::CorruptMedia {
        detail: format!("resampling from {rate_in} Hz failed: {e}"),
    };
    // One FFT per chunk (no sub-chunks), and a chunk long enough that each yields at least
    // 256 output frames: rubato's default sub-chunking gives a 192 kHz → 16 kHz ratio an
    // anti-alias filter of ~21 taps, which measurably attenuates 3 kHz.
    let chunk = CHUNK_FRAMES.max((256 * rate_in as usize).div_ceil(TARGET_RATE as usize));
    let mut resampler = Fft::<f32>::new_custom(
        rate_in as usize,
        TARGET_RATE as usize,
        chunk,
        1,
        1,
        rubato::WindowFunction::BlackmanHarris2,
        FixedSync::Input,
    )
    .map_err(|e| rubato_error(&e))?;

    let needed = resampler.process_all_needed_output_len(frames_in);
    let mut out = Zeroizing::new(vec![0f32; needed]);
    let input =
        InterleavedSlice::new(&pcm.samples[..], 1, frames_in).map_err(|e| rubato_error(&e))?;
    let produced = {
        let mut output =
            InterleavedSlice::new_mut(&mut out[..], 1, needed).map_err(|e| rubato_error(&e))?;
        let (_, produced) = resampler
            .process_all_into_buffer(&input, &mut output, frames_in, None)
            .map_err(|e| rubato_error(&e))?;
        produced
    };
    // Exactly the duration of the input at the new rate; the rest of the buffer is padding.
    let expected = ((frames_in as u64 * u64::from(TARGET_RATE)) / u64::from(rate_in)) as usize;
    out.truncate(produced.min(expected.max(1)));
    Ok(Mono16k::from_samples(out))
}
