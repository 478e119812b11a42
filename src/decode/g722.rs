//! G.722 wideband speech → 16 kHz PCM: WAVE files in G.722 (format tag 0x028F, as ffmpeg
//! writes them, or mmreg.h's 0x0065) and raw `.g722` files (Asterisk's format: one byte per
//! pair of samples at 64 kbit/s, no header).
//!
//! The codec is audio-codec's (`audio_codec::g722`, a pure-Rust port of spandsp's decoder, the
//! one ffmpeg's own derives from). Its output is within 8 LSB of ffmpeg 5.1's decode of the same
//! stream, 0.04 LSB on average (`tests/fixtures/g722/README.md`).
//!
//! Raw G.722 has no header and any byte is a valid code, so it can't be sniffed: it is read
//! only when the recording's name says so ([`super::headerless`]).

use audio_codec::g722::{Bitrate, G722Decoder};

use super::headerless::decode_stream;
use super::{Decoded, OwnWave};
use crate::config::Limits;
use crate::error::{Error, Result};

/// WAVE format tags of G.722: ffmpeg's (`riff.c`) and mmreg.h's `WAVE_FORMAT_G722_ADPCM`.
pub(super) const WAVE_FORMAT_G722: [u16; 2] = [0x028F, 0x0065];

/// G.722 always samples at 16 kHz (two sub-bands of 8 kHz); a WAVE header may say 8000, the
/// codec's RTP clock rate, for the same stream.
const RATE: u32 = 16_000;

/// A RIFF/WAVE file in G.722 (a format tag of [`WAVE_FORMAT_G722`]).
///
/// Errors: `corrupt_media` (no `data` chunk, a sample rate other than 8 or 16 kHz),
/// `unsupported_format` (more than one channel), `too_long` (more codes than the duration limit
/// allows, refused before any is decoded), `empty_media` (no codes).
pub(super) fn decode_wave(wave: OwnWave<'_>, limits: &Limits) -> Result<Decoded> {
    let (channels, rate) = (wave.channels, wave.rate);
    if channels != 1 {
        return Err(Error::UnsupportedFormat {
            detail: format!("wav with G.722 audio in {channels} channels (callscribe reads mono)"),
        });
    }
    if rate != RATE && rate != RATE / 2 {
        return Err(Error::CorruptMedia {
            detail: format!("wav with G.722 audio at {rate} Hz (G.722 samples at 16 kHz)"),
        });
    }
    let (codes, cut_off) = wave.data()?;
    decode_codes(codes, "wav", cut_off, limits)
}

/// Decodes `bytes` as raw G.722 at 64 kbit/s (a stream at 56 or 48 kbit/s in the same
/// byte-per-code layout decodes too, its unused low bits heard as faint noise).
///
/// Errors: `too_long`, `empty_media`, `too_large` (a sample rate limit under 16 kHz).
pub(super) fn decode_raw(bytes: &[u8], limits: &Limits) -> Result<Decoded> {
    decode_codes(bytes, "g722", false, limits)
}

fn decode_codes(
    codes: &[u8],
    container: &str,
    truncated: bool,
    limits: &Limits,
) -> Result<Decoded> {
    let mut decoder = G722Decoder::with_options(Bitrate::Mode1_64000, false, false);
    let decoded = decode_stream(
        codes,
        &mut decoder,
        container,
        "adpcm_g722",
        truncated,
        limits,
    );
    // The decoder's state (its last 24 sub-band samples, both bands' predictors) is private to
    // audio-codec and can't be zeroized in place: a fresh decoder is written over it, and
    // `black_box` keeps that store from being optimised away as dead.
    decoder = G722Decoder::with_options(Bitrate::Mode1_64000, false, false);
    std::hint::black_box(&decoder);
    decoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn every_byte_is_a_code_of_two_samples_at_16_khz() {
        let bytes: Vec<u8> = (0..=255).cycle().take(8000).collect();
        let decoded = decode_raw(&bytes, &limits()).expect("any codes decode");
        assert_eq!(decoded.pcm.samples.len(), 16_000);
        assert_eq!(decoded.info.sample_rate, 16_000);
        assert_eq!(decoded.info.codec, "adpcm_g722");
        assert_eq!(decoded.info.container, "g722");
        assert!(decoded
            .pcm
            .samples
            .iter()
            .all(|s| s.is_finite() && s.abs() <= 1.0));
    }

    #[test]
    fn decoding_in_chunks_gives_the_stream_decoded_at_once() {
        let bytes: Vec<u8> = (0u32..20_000)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let ours = decode_raw(&bytes, &limits()).expect("any codes decode");
        let mut whole = G722Decoder::with_options(Bitrate::Mode1_64000, false, false);
        let reference: Vec<f32> = whole
            .decode_frame(&bytes)
            .iter()
            .map(|&s| f32::from(s) / 32768.0)
            .collect();
        assert_eq!(ours.pcm.samples.as_slice(), reference.as_slice());
    }
}
