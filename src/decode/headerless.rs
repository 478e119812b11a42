//! Streams with no header, known only by the name of the file they came from: Asterisk's own
//! sound formats. Any byte is a valid G.711 or G.722 code and any pair a valid 16-bit sample, so
//! nothing in the bytes can tell these apart from each other or from noise; a user who names a
//! file `prompt.ulaw` has said what it is ([`super::decode_named`]).
//!
//! | extension | format | rate |
//! |---|---|---|
//! | `.ulaw` | G.711 µ-law | 8 kHz |
//! | `.alaw` | G.711 A-law | 8 kHz |
//! | `.sln` | signed 16-bit little-endian PCM ("signed linear") | 8 kHz |
//! | `.sln16` | the same | 16 kHz |
//! | `.g722` | G.722 at 64 kbit/s, one byte per code | 16 kHz |
//!
//! (Raw GSM 06.10 has a magic number in every frame and is sniffed: `gsm`.) G.711 is decoded by
//! audio-codec's `pcmu` and `pcma`, G.722 by its `g722` ([`super::g722`]); signed linear needs
//! no codec.

use audio_codec::pcma::PcmaDecoder;
use audio_codec::pcmu::PcmuDecoder;
use audio_codec::{CodecError, Decoder as CodecDecoder, Sample};
use zeroize::Zeroizing;

use super::{check_sample_rate, g722, max_samples, push_pcm16, too_long, Decoded, Source};
use crate::config::Limits;
use crate::error::{Error, Result};

/// A headerless format, named by a file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Headerless {
    MuLaw,
    ALaw,
    /// Signed linear at this rate.
    Slin(u32),
    G722,
}

impl Headerless {
    /// The format a file's extension (any case) names, as Asterisk names its formats.
    pub(super) fn from_extension(extension: &str) -> Option<Headerless> {
        Some(match extension.to_ascii_lowercase().as_str() {
            "ulaw" => Headerless::MuLaw,
            "alaw" => Headerless::ALaw,
            "sln" => Headerless::Slin(8000),
            "sln16" => Headerless::Slin(16_000),
            "g722" => Headerless::G722,
            _ => return None,
        })
    }

    /// Decodes `bytes` in this format.
    ///
    /// Errors: `too_long` (more samples than the duration limit allows, refused before any is
    /// decoded), `empty_media` (no whole sample), `too_large` (a sample rate limit under the
    /// format's rate).
    pub(super) fn decode(self, bytes: &[u8], limits: &Limits) -> Result<Decoded> {
        match self {
            Headerless::MuLaw => decode_stream(
                bytes,
                &mut PcmuDecoder::new(),
                "ulaw",
                "pcm_mulaw",
                false,
                limits,
            ),
            Headerless::ALaw => decode_stream(
                bytes,
                &mut PcmaDecoder::new(),
                "alaw",
                "pcm_alaw",
                false,
                limits,
            ),
            Headerless::Slin(rate) => {
                let container = if rate == 8000 { "sln" } else { "sln16" };
                // An odd last byte is half a sample: left out, and the stream is cut off.
                let whole = bytes.len() & !1;
                let truncated = whole != bytes.len();
                let mut slin = Slin(rate);
                decode_stream(
                    &bytes[..whole],
                    &mut slin,
                    container,
                    "pcm_s16le",
                    truncated,
                    limits,
                )
            }
            Headerless::G722 => g722::decode_raw(bytes, limits),
        }
    }
}

/// Signed 16-bit little-endian samples, in audio-codec's decoder shape so that they go through
/// [`decode_stream`] as the codecs do.
struct Slin(u32);

impl CodecDecoder for Slin {
    fn decode_into(&mut self, data: &[u8], out: &mut [Sample]) -> Result<usize, CodecError> {
        let n = data.len() / 2;
        let out = out.get_mut(..n).ok_or(CodecError::BufferTooSmall)?;
        for (sample, bytes) in out.iter_mut().zip(data.chunks_exact(2)) {
            *sample = i16::from_le_bytes([bytes[0], bytes[1]]);
        }
        Ok(n)
    }

    fn max_decode_samples(&self, n_bytes: usize) -> usize {
        n_bytes / 2
    }

    fn sample_rate(&self) -> u32 {
        self.0
    }

    fn channels(&self) -> u16 {
        1
    }
}

/// Bytes handed to the decoder per call (even, so no 16-bit sample is split), so the 16-bit
/// buffer stays small and is wiped as it is reused.
const CHUNK_BYTES: usize = 4096;

/// Decodes a mono stream of `codes` with `decoder` (whose `max_decode_samples` is exact for
/// these codecs) into a result named `container` / `codec`.
///
/// Errors: `too_long` (refused before decoding), `empty_media` (no samples), `too_large` (the
/// decoder's rate over the limit), `corrupt_media` (the decoder refused its input).
pub(super) fn decode_stream(
    codes: &[u8],
    decoder: &mut dyn CodecDecoder,
    container: &str,
    codec: &str,
    truncated: bool,
    limits: &Limits,
) -> Result<Decoded> {
    let rate = decoder.sample_rate();
    check_sample_rate(rate, limits)?;
    let samples = decoder.max_decode_samples(codes.len()) as u64;
    if samples > max_samples(limits, rate) {
        return Err(too_long(samples, rate, limits));
    }
    if samples == 0 {
        return Err(Error::EmptyMedia {
            detail: format!("the {container} stream has no {codec} samples"),
        });
    }

    let mut mono: Zeroizing<Vec<f32>> = Zeroizing::new(Vec::with_capacity(samples as usize));
    let mut out = Zeroizing::new(vec![0 as Sample; decoder.max_decode_samples(CHUNK_BYTES)]);
    let mut clipped = 0u64;
    for chunk in codes.chunks(CHUNK_BYTES) {
        let n = decoder
            .decode_into(chunk, &mut out)
            .map_err(|e| Error::CorruptMedia {
                detail: format!("{codec} decoder: {e}"),
            })?;
        clipped += push_pcm16(&mut mono, &out[..n]);
    }
    let total = mono.len() as u64;
    let source = Source {
        container: container.to_owned(),
        codec: codec.to_owned(),
        channels: 1,
        truncated,
    };
    Ok(Decoded::new(mono, rate, source, clipped, total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asterisks_extensions_name_their_formats_in_any_case() {
        assert_eq!(Headerless::from_extension("ULAW"), Some(Headerless::MuLaw));
        assert_eq!(Headerless::from_extension("alaw"), Some(Headerless::ALaw));
        assert_eq!(
            Headerless::from_extension("sln"),
            Some(Headerless::Slin(8000))
        );
        assert_eq!(
            Headerless::from_extension("Sln16"),
            Some(Headerless::Slin(16_000))
        );
        assert_eq!(Headerless::from_extension("g722"), Some(Headerless::G722));
        for other in ["wav", "gsm", "raw", "pcm", "ul", ""] {
            assert_eq!(Headerless::from_extension(other), None, "{other}");
        }
    }

    #[test]
    fn signed_linear_is_read_sample_for_sample_and_an_odd_byte_is_a_cut() {
        let values: Vec<i16> = vec![0, 1, -1, i16::MAX, i16::MIN, 1234, -4321];
        let mut bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let decoded = Headerless::Slin(16_000)
            .decode(&bytes, &Limits::default())
            .expect("signed linear");
        let expected: Vec<f32> = values.iter().map(|&v| f32::from(v) / 32768.0).collect();
        assert_eq!(decoded.pcm.samples.as_slice(), expected.as_slice());
        assert_eq!(
            (decoded.info.sample_rate, decoded.info.truncated),
            (16_000, false)
        );
        assert_eq!(decoded.clipped_ratio, 2.0 / 7.0);
        bytes.push(7);
        let cut = Headerless::Slin(8000)
            .decode(&bytes, &Limits::default())
            .expect("signed linear, cut");
        assert_eq!(cut.pcm.samples.as_slice(), expected.as_slice());
        assert_eq!((cut.info.sample_rate, cut.info.truncated), (8000, true));
        let err = Headerless::Slin(8000)
            .decode(&[1], &Limits::default())
            .expect_err("half a sample");
        assert_eq!(err.kind(), crate::error::ErrorKind::EmptyMedia);
    }

    #[test]
    fn g711_decodes_as_the_standard_tables_say() {
        // µ-law 0xFF and A-law 0xD5 are the codes for 0; µ-law 0x00 is -32124 and A-law 0x2A
        // is -32256 (ITU-T G.711, tables 1 and 2; the codes as transmitted).
        let mu = Headerless::MuLaw
            .decode(&[0xFF, 0x00], &Limits::default())
            .expect("µ-law");
        assert_eq!(mu.pcm.samples.as_slice(), &[0.0, -32124.0 / 32768.0]);
        let a = Headerless::ALaw
            .decode(&[0xD5, 0x2A], &Limits::default())
            .expect("A-law");
        assert_eq!(
            a.pcm.samples.as_slice(),
            &[8.0 / 32768.0, -32256.0 / 32768.0]
        );
        assert_eq!(
            (mu.info.codec.as_str(), a.info.codec.as_str()),
            ("pcm_mulaw", "pcm_alaw")
        );
    }

    #[test]
    fn a_stream_over_the_duration_limit_is_refused_before_decoding() {
        let limits = Limits {
            max_duration_s: 1.0,
            ..Limits::default()
        };
        for (format, bytes_per_second) in [
            (Headerless::MuLaw, 8000),
            (Headerless::Slin(16_000), 32_000),
            (Headerless::G722, 8000),
        ] {
            assert!(
                format.decode(&vec![0; bytes_per_second], &limits).is_ok(),
                "{format:?}"
            );
            let err = format
                .decode(&vec![0; bytes_per_second + 2], &limits)
                .expect_err("over the limit");
            assert_eq!(err.kind(), crate::error::ErrorKind::TooLong, "{format:?}");
        }
    }
}
