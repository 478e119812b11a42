//! Decode: recording bytes in memory → mono PCM at the source's sample rate, with symphonia
//! (GSM 06.10 with callscribe's own decoder, G.711 and G.722 streams with audio-codec's).
//!
//! The container is sniffed from the bytes (never a Content-Type); a file's name is used only
//! for what bytes can't tell ([`decode_named`]: Asterisk's headerless formats, short raw GSM).
//! Channels are averaged into mono packet by packet ([`crate::resample::downmix_into`]), so
//! memory is bounded by one channel. Limits are checked on the stream's parameters before any
//! sample is stored, and the decoded length is enforced while decoding: a small file whose
//! header claims hours stops at the duration limit, not at an out-of-memory.

use std::io::Cursor;

use serde::{Deserialize, Serialize};
use symphonia::core::codecs::audio::AudioDecoderOptions;
use symphonia::core::errors::Error as SymError;
use symphonia::core::formats::probe::Hint;
use symphonia::core::formats::{FormatOptions, TrackType};
use symphonia::core::io::{MediaSourceStream, MediaSourceStreamOptions};
use symphonia::core::meta::MetadataOptions;
use zeroize::Zeroizing;

use crate::audio::{grow_zeroizing, Pcm, SampleRate};
use crate::config::Limits;
use crate::error::{Error, Limit, Result};
use crate::resample::downmix_into;

mod g722;
mod gsm;
mod headerless;

/// What the decoder found out about a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MediaInfo {
    /// Container short name as symphonia names it (`wav`, `mp3`, `flac`, `ogg`, `isomp4`).
    pub container: String,
    /// Codec short name (`pcm_s16le`, `pcm_mulaw`, `mp3`, `aac`, `vorbis`, `flac`, …).
    pub codec: String,
    /// The source's sample rate in Hz.
    pub sample_rate: u32,
    /// The source's channel count.
    pub channels: u32,
    /// Decoded duration in seconds.
    pub duration_s: f64,
    /// True when the stream ended early (cut-off file, damaged packets): what was valid was
    /// decoded and the rest is missing.
    pub truncated: bool,
}

/// A decoded recording: mono samples and what was learnt about the source.
#[derive(Debug)]
pub struct Decoded {
    /// Mono samples (mean of all channels) at the source rate.
    pub pcm: Pcm,
    /// Container and codec facts.
    pub info: MediaInfo,
    /// Fraction of decoded samples (all channels, whole recording) at digital full scale.
    pub clipped_ratio: f64,
}

/// Packets that fail to decode in a row before the stream is declared corrupt. One bad packet
/// in a lossy stream is survivable; an endless run means the rest is garbage.
const MAX_CONSECUTIVE_DECODE_ERRORS: usize = 16;

/// |sample| at or above this counts as clipped (within 1 LSB of 16-bit full scale).
const CLIP_LEVEL: f32 = 32766.0 / 32768.0;

/// Decodes a complete recording held in memory: with symphonia, GSM 6.10 (in WAV or raw
/// frames) with callscribe's own decoder (`gsm`), or G.722 in WAV with audio-codec's (`g722`).
///
/// Errors: `empty_media` (no bytes, no frames), `too_large` (bytes, channels, sample rate over
/// the limits), `too_long` (decoded duration over the limit), `unsupported_format` (no reader or
/// no decoder for it: Opus, text, random bytes, a WAV in G.729), `corrupt_media` (recognised
/// but nothing usable). A stream that breaks off after valid audio is returned with
/// `truncated = true`; a WAV whose header sizes a streaming writer left at 0 is read to its end.
pub fn decode(bytes: &[u8], limits: &Limits) -> Result<Decoded> {
    decode_named(bytes, None, limits)
}

/// Decodes like [`decode`], and reads what only a name can tell: the recording's name (a file's
/// path, [`crate::result::Source::path`]; what a user gave, never a download's) says the format
/// of bytes with no header of their own.
/// - Asterisk's headerless formats (`decode/headerless.rs`): `*.ulaw`, `*.alaw` (G.711, 8 kHz),
///   `*.sln`, `*.sln16` (16-bit PCM at 8 and 16 kHz) and `*.g722` (G.722 at 64 kbit/s), in any
///   case, unless the bytes start with a RIFF header. Any byte is a valid code in these, so
///   only the name can tell.
/// - `*.gsm` is raw GSM 06.10 when every 33-byte frame starts with the magic number, however
///   few frames (Asterisk's 0.2 s tones hold 10); without the name, 16 frames are needed.
///
/// Anything else, or a file whose bytes are not what its name says, is decoded as [`decode`]
/// does. Errors: those of [`decode`].
pub fn decode_named(bytes: &[u8], name: Option<&str>, limits: &Limits) -> Result<Decoded> {
    check_length(bytes, limits)?;
    let extension = name
        .and_then(|name| std::path::Path::new(name).extension())
        .and_then(|ext| ext.to_str());
    let headerless = extension.and_then(headerless::Headerless::from_extension);
    if let Some(format) = headerless.filter(|_| !bytes.starts_with(b"RIFF")) {
        return format.decode(bytes, limits);
    }
    if let Some(decoded) = decode_own_wave(bytes, limits)? {
        return Ok(decoded);
    }
    let named_gsm = extension.is_some_and(|ext| ext.eq_ignore_ascii_case("gsm"));
    if let Some(decoded) = gsm::decode_raw(bytes, named_gsm, limits)? {
        return Ok(decoded);
    }
    refuse_unread_container(bytes)?;
    check_wave_format(bytes)?;
    let filled = fill_streamed_wave_sizes(bytes)?;
    let bytes: &[u8] = filled.as_deref().map_or(bytes, Vec::as_slice);

    let mss = MediaSourceStream::new(
        Box::new(Cursor::new(bytes)),
        MediaSourceStreamOptions::default(),
    );
    let mut format = symphonia::default::get_probe()
        .probe(
            &Hint::new(),
            mss,
            FormatOptions::default(),
            MetadataOptions::default(),
        )
        .map_err(probe_error)?;
    // symphonia calls RIFF WAVE "wave"; results use the common name.
    let container = match format.format_info().short_name {
        "wave" => "wav".to_owned(),
        other => other.to_owned(),
    };

    let track = format
        .default_track(TrackType::Audio)
        .ok_or_else(|| Error::UnsupportedFormat {
            detail: format!("{container} container without an audio track"),
        })?;
    let track_id = track.id;
    let claimed_frames = track.num_frames;
    let params = track
        .codec_params
        .as_ref()
        .and_then(|p| p.audio())
        .ok_or_else(|| Error::UnsupportedFormat {
            detail: format!("{container} track is not audio"),
        })?
        .clone();

    let rate = params.sample_rate.unwrap_or(0);
    check_sample_rate(rate, limits)?;
    if let Some(channels) = params.channels.as_ref().map(|c| c.count() as u64) {
        check_channels(channels, limits)?;
    }

    let registry = symphonia::default::get_codecs();
    let mut decoder = registry
        .make_audio_decoder(&params, &AudioDecoderOptions::default())
        .map_err(|e| Error::UnsupportedFormat {
            detail: format!("no decoder for the codec in this {container} stream ({e})"),
        })?;
    let codec = decoder.codec_info().short_name.to_owned();

    let max_frames = max_samples(limits, rate);
    // Reserve what the header claims, but never more than the limit allows: headers lie.
    let reserve = claimed_frames.unwrap_or(0).min(max_frames) as usize;
    let mut mono: Zeroizing<Vec<f32>> = Zeroizing::new(Vec::with_capacity(reserve));
    let mut scratch: Zeroizing<Vec<f32>> = Zeroizing::new(Vec::new());
    let mut channels = params.channels.as_ref().map_or(0, |c| c.count() as u32);
    let mut clipped: u64 = 0;
    let mut total_samples: u64 = 0;
    let mut truncated = false;
    let mut consecutive_errors = 0usize;
    let mut last_error = String::new();

    loop {
        let packet = match format.next_packet() {
            Ok(Some(packet)) => packet,
            Ok(None) => break,
            // A chained stream (a second Ogg stream): callscribe takes the first one.
            Err(SymError::ResetRequired) => break,
            Err(e) => {
                truncated = true;
                last_error = e.to_string();
                break;
            }
        };
        if packet.track_id != track_id {
            continue;
        }
        let buf = match decoder.decode(&packet) {
            Ok(buf) => buf,
            Err(SymError::DecodeError(e)) => {
                consecutive_errors += 1;
                truncated = true;
                last_error = e.to_owned();
                if consecutive_errors >= MAX_CONSECUTIVE_DECODE_ERRORS {
                    break;
                }
                continue;
            }
            Err(SymError::IoError(e)) => {
                truncated = true;
                last_error = e.to_string();
                break;
            }
            Err(e) => {
                if mono.is_empty() {
                    return Err(Error::CorruptMedia {
                        detail: e.to_string(),
                    });
                }
                truncated = true;
                break;
            }
        };
        consecutive_errors = 0;
        let spec_channels = buf.spec().channels().count();
        if spec_channels == 0 {
            return Err(Error::CorruptMedia {
                detail: "a packet has no channels".into(),
            });
        }
        check_channels(spec_channels as u64, limits)?;
        channels = channels.max(spec_channels as u32);
        if (mono.len() + buf.frames()) as u64 > max_frames {
            return Err(too_long((mono.len() + buf.frames()) as u64, rate, limits));
        }
        // Mono (telephony) goes straight into the output; more channels through the scratch
        // buffer, to be averaged.
        let packet_samples = if spec_channels == 1 {
            grow_zeroizing(&mut mono, buf.frames())
        } else {
            scratch.clear();
            scratch.resize(buf.samples_interleaved(), 0.0);
            &mut scratch[..]
        };
        buf.copy_to_slice_interleaved(&mut packet_samples[..]);
        clipped += sanitize(packet_samples);
        total_samples += packet_samples.len() as u64;
        if spec_channels > 1 {
            downmix_into(&scratch, spec_channels, &mut mono);
        }
    }

    if let Some(claimed) = claimed_frames {
        // Lossy codecs' frame counts are approximate; flag only a real shortfall (5% and
        // 100 ms).
        let shortfall = claimed.saturating_sub(mono.len() as u64);
        if shortfall as f64 > (0.05 * claimed as f64).max(0.1 * f64::from(rate)) {
            truncated = true;
        }
    }

    if container == "isomp4" {
        if let Some(priming) = mp4_priming_frames(bytes, rate) {
            let priming = (priming as usize).min(mono.len());
            // Shift in place; the tail is then cut, so no unzeroized copy is made.
            mono.copy_within(priming.., 0);
            let keep = mono.len() - priming;
            zeroize::Zeroize::zeroize(&mut mono[keep..]);
            mono.truncate(keep);
        }
    }

    // Checked after the priming is cut: a stream whose only frames are encoder priming has
    // no audio either.
    if mono.is_empty() {
        return Err(if truncated {
            Error::CorruptMedia {
                detail: format!("no decodable audio ({last_error})"),
            }
        } else {
            Error::EmptyMedia {
                detail: format!("the {container} stream has no audio frames"),
            }
        });
    }
    let source = Source {
        container,
        codec,
        channels,
        truncated,
    };
    Ok(Decoded::new(mono, rate, source, clipped, total_samples))
}

/// Errors: `empty_media` for no bytes, `too_large` over the byte limit.
fn check_length(bytes: &[u8], limits: &Limits) -> Result<()> {
    if bytes.is_empty() {
        return Err(Error::EmptyMedia {
            detail: "the input has no bytes".into(),
        });
    }
    if bytes.len() as u64 > limits.max_bytes {
        return Err(Error::TooLarge {
            what: Limit::Bytes,
            actual: bytes.len() as u64,
            limit: limits.max_bytes,
        });
    }
    Ok(())
}

/// What a decoder found out about its source, beside the samples.
struct Source {
    container: String,
    codec: String,
    channels: u32,
    truncated: bool,
}

impl Decoded {
    /// The result of a decode: `mono` at `rate`, with `clipped` of the `total` samples decoded
    /// (all channels) at full scale.
    fn new(mono: Zeroizing<Vec<f32>>, rate: u32, source: Source, clipped: u64, total: u64) -> Self {
        let pcm = Pcm {
            samples: mono,
            rate: SampleRate(rate),
        };
        let info = MediaInfo {
            container: source.container,
            codec: source.codec,
            sample_rate: rate,
            channels: source.channels,
            duration_s: pcm.duration().0,
            truncated: source.truncated,
        };
        tracing::debug!(
            container = %info.container,
            codec = %info.codec,
            rate,
            channels = info.channels,
            duration_s = info.duration_s,
            truncated = info.truncated,
            "decoded"
        );
        Decoded {
            pcm,
            info,
            clipped_ratio: if total == 0 {
                0.0
            } else {
                clipped as f64 / total as f64
            },
        }
    }
}

/// Makes a packet's samples safe for every later stage and counts the clipped ones, in one pass.
///
/// Float sources can carry NaN or infinities; they would poison every later sum (levels, the
/// resampler's FFT, the VAD), so they become silence. Finite but absurd float values (1e38)
/// overflow the resampler's FFT, so samples are clamped to ±2 (6 dB over full scale, already
/// clipped for any listener). Written branch-free so it vectorises.
fn sanitize(samples: &mut [f32]) -> u64 {
    let mut clipped = 0u64;
    for sample in samples.iter_mut() {
        let finite = if sample.is_finite() { *sample } else { 0.0 };
        *sample = finite.clamp(-2.0, 2.0);
        clipped += u64::from(sample.abs() >= CLIP_LEVEL);
    }
    clipped
}

/// Errors: `corrupt_media` for a rate of 0 (or none), `too_large` over the limit.
fn check_sample_rate(rate: u32, limits: &Limits) -> Result<()> {
    if rate == 0 {
        return Err(Error::CorruptMedia {
            detail: "sample rate is 0 or missing".into(),
        });
    }
    if rate > limits.max_sample_rate {
        return Err(Error::TooLarge {
            what: Limit::SampleRate,
            actual: u64::from(rate),
            limit: u64::from(limits.max_sample_rate),
        });
    }
    Ok(())
}

/// Most samples per channel `limits` allow at `rate`.
fn max_samples(limits: &Limits, rate: u32) -> u64 {
    (limits.max_duration_s * f64::from(rate)).ceil() as u64
}

/// `too_long` for `samples` per channel at `rate`.
fn too_long(samples: u64, rate: u32, limits: &Limits) -> Error {
    Error::TooLong {
        actual_s: samples as f64 / f64::from(rate),
        limit_s: limits.max_duration_s,
    }
}

/// Appends 16-bit samples to `mono` as floats in [-1, 1); returns how many are clipped.
fn push_pcm16(mono: &mut Vec<f32>, samples: &[i16]) -> u64 {
    let mut clipped = 0;
    for &sample in samples {
        let sample = f32::from(sample) / 32768.0;
        clipped += u64::from(sample.abs() >= CLIP_LEVEL);
        mono.push(sample);
    }
    clipped
}

fn check_channels(channels: u64, limits: &Limits) -> Result<()> {
    if channels > u64::from(limits.max_channels) {
        return Err(Error::TooLarge {
            what: Limit::Channels,
            actual: channels,
            limit: u64::from(limits.max_channels),
        });
    }
    Ok(())
}

/// Most bits one WAVE sample frame may claim (`channels × bits_per_sample`).
///
/// symphonia-format-riff 0.6.1 multiplies the `fmt ` chunk's channel count by the sample width
/// in `u16` (`wave/chunks.rs`: `num_channels * (bits_per_sample / 8)`; `common.rs`: `7 *
/// num_channels`, `bits_per_sample * num_channels`). A header claiming 62,977 channels
/// overflows there: a panic inside symphonia with overflow checks on (debug builds, the fuzz
/// build), a wrapped frame size without. Every such product is at most `channels ×
/// max(bits, 8)`, so a frame that fits in 16 bits of bits cannot overflow any of them; real
/// recordings are far below it (8 channels of 32-bit float are 256 bits).
const MAX_WAVE_FRAME_BITS: u64 = u16::MAX as u64;

/// Refuses, as `unsupported_format` naming it, an input whose first bytes are the magic number
/// of an audio container symphonia is not built to read here. Without this, the probe scans on
/// for anything it knows and answers with what it finds there: an AIFF file was "no decoder for
/// the codec in this mp1 stream", after an MPEG sync pattern inside its samples. (symphonia's
/// AIFF and CAF readers are left out of the build: AIFF's shares WAV's 16-bit frame-size
/// arithmetic, which [`check_wave_format`] has to guard for WAV, and a telephone system does
/// not write either.)
fn refuse_unread_container(bytes: &[u8]) -> Result<()> {
    const WAVE64_GUID_HEAD: &[u8] = b"riff\x2e\x91\xcf\x11";
    const ASF_GUID_HEAD: &[u8] = b"\x30\x26\xb2\x75\x8e\x66\xcf\x11";
    let form = bytes.get(8..12);
    let name = if bytes.starts_with(b"FORM") && matches!(form, Some(b"AIFF" | b"AIFC")) {
        "AIFF"
    } else if bytes.starts_with(b"RF64") || bytes.starts_with(b"BW64") {
        "RF64 (WAV's 64-bit form)"
    } else if bytes.starts_with(b"caff") {
        "Core Audio Format (CAF)"
    } else if bytes.starts_with(WAVE64_GUID_HEAD) {
        "Sony Wave64"
    } else if bytes.starts_with(ASF_GUID_HEAD) {
        "ASF (WMA)"
    } else if bytes.starts_with(b"\x1a\x45\xdf\xa3") {
        "Matroska or WebM"
    } else if bytes.starts_with(b"#!AMR") {
        "AMR"
    } else if bytes.starts_with(b".snd") {
        "Sun AU"
    } else {
        return Ok(());
    };
    Err(Error::UnsupportedFormat {
        detail: format!("{name}, a container callscribe does not read (convert it to WAV)"),
    })
}

/// Refuses RIFF/WAVE headers that would overflow symphonia's frame-size arithmetic (see
/// [`MAX_WAVE_FRAME_BITS`]) before symphonia reads them.
///
/// Checked here rather than by patching the crate: a `[patch.crates-io]` copy of
/// symphonia-format-riff would have to be vendored and kept in step with every symphonia
/// release, while this check is a few dozen lines over a header layout fixed since 1991.
///
/// symphonia's probe scans past junk (and metadata tags) for a format marker, so a `RIFF…WAVE`
/// header anywhere in the input may be the one it parses: every one is checked, unless the
/// input starts with one (then the probe takes that one at once). The walk over their chunk
/// headers is bounded in total ([`MAX_RIFF_CHUNK_HEADERS`]).
///
/// Errors: `corrupt_media` (a sample frame too wide to exist, a speaker mask that can't
/// describe the channels, or an input made of RIFF chunk headers); `unsupported_format` for an
/// input that starts with a WAVE header whose codec symphonia does not read
/// ([`check_wave_codec`]).
fn check_wave_format(bytes: &[u8]) -> Result<()> {
    let mut budget = MAX_RIFF_CHUNK_HEADERS;
    // A WAVE file that starts at byte 0 (every real one) is what the probe takes at once, so
    // its header is the only one symphonia reads: no need to scan megabytes of samples.
    if bytes.starts_with(b"RIFF") {
        if let Some(fmt) = wave_fmt_chunk(bytes, &mut budget)? {
            check_wave_fmt(fmt)?;
            return check_wave_codec(fmt);
        }
    }
    for at in memchr::memmem::find_iter(bytes, b"RIFF") {
        if let Some(fmt) = wave_fmt_chunk(&bytes[at..], &mut budget)? {
            check_wave_fmt(fmt)?;
        }
    }
    Ok(())
}

/// Refuses, as `unsupported_format`, a WAVE file whose audio is in a codec symphonia's reader
/// does not take, naming the codec: G.726 and G.729 are what a telephone system may write.
/// symphonia says only "unsupported wave format", which the probe mapping would call
/// `corrupt_media`, though the file is sound. (A WAVE file in GSM 6.10 or G.722 never gets here:
/// `gsm` and `g722` decode it first.)
fn check_wave_codec(fmt: &[u8]) -> Result<()> {
    // Too short: symphonia reports the malformed chunk. A GUID that is no format tag
    // (ambisonic B-format): symphonia's to judge.
    let Some(tag) = wave_tag(fmt) else {
        return Ok(());
    };
    let decoded = if le_u16(fmt) == WAVE_FORMAT_EXTENSIBLE {
        DECODED_EXTENSIBLE_TAGS.as_slice()
    } else {
        DECODED_WAVE_TAGS.as_slice()
    };
    if decoded.contains(&tag) {
        return Ok(());
    }
    let codec = wave_codec_name(tag).map_or_else(String::new, |name| format!("{name} "));
    Err(Error::UnsupportedFormat {
        detail: format!(
            "wav with {codec}audio (format tag {tag:#06x}), a codec callscribe does not decode \
             (it decodes PCM, IEEE float, A-law, µ-law, IMA and Microsoft ADPCM, GSM 6.10, \
             G.722)"
        ),
    })
}

/// The format tag of a `fmt ` chunk body; for WAVE_FORMAT_EXTENSIBLE, the one in its sub-format
/// GUID (byte 24), whose first two bytes are the tag when the rest is the standard KSDATAFORMAT
/// suffix. `None` for a body too short to say, or a GUID that is no format tag.
fn wave_tag(fmt: &[u8]) -> Option<u16> {
    let tag = le_u16(fmt.get(0..2)?);
    if tag != WAVE_FORMAT_EXTENSIBLE {
        return Some(tag);
    }
    let guid = fmt.get(24..40)?;
    (guid[2..] == KSDATAFORMAT_SUFFIX).then(|| le_u16(guid))
}

/// The WAVE format tags symphonia-format-riff 0.6 reads (`wave/chunks.rs`): PCM, Microsoft
/// ADPCM, IEEE float, A-law, µ-law, IMA ADPCM.
const DECODED_WAVE_TAGS: [u16; 6] = [0x0001, 0x0002, 0x0003, 0x0006, 0x0007, 0x0011];

/// The sub-formats of WAVE_FORMAT_EXTENSIBLE it reads: PCM, IEEE float, A-law, µ-law.
const DECODED_EXTENSIBLE_TAGS: [u16; 4] = [0x0001, 0x0003, 0x0006, 0x0007];

/// Bytes 2–15 of every standard KSDATAFORMAT sub-format GUID
/// (`xxxx0000-0000-0010-8000-00aa00389b71`, as stored).
const KSDATAFORMAT_SUFFIX: [u8; 14] = [
    0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xaa, 0x00, 0x38, 0x9b, 0x71,
];

/// The names (Microsoft's `mmreg.h`) of format tags a telephone system or an audio tool may
/// write and symphonia does not read.
fn wave_codec_name(tag: u16) -> Option<&'static str> {
    Some(match tag {
        0x0022 => "DSP Group TrueSpeech",
        0x0031 => "GSM 6.10",
        0x0040 => "G.721 ADPCM",
        0x0050 => "MPEG audio",
        0x0055 => "MP3",
        0x0064 => "G.726 ADPCM",
        0x0083 => "G.729A",
        _ => return None,
    })
}

/// Most RIFF chunk headers [`check_wave_format`] reads in one input, over all its `RIFF…WAVE`
/// headers. A real recording has one header and a handful of chunks before `data`; the bound
/// keeps an input packed with headers linear to check.
const MAX_RIFF_CHUNK_HEADERS: usize = 65_536;

/// Checks one `fmt ` chunk body against symphonia 0.6.1's arithmetic.
fn check_wave_fmt(fmt: &[u8]) -> Result<()> {
    // WAVEFORMAT: format tag (u16), channels (u16), rate (u32), byte rate (u32), block align
    // (u16), bits per sample (u16); all little-endian.
    let (Some(channels), Some(bits)) = (fmt.get(2..4).map(le_u16), fmt.get(14..16).map(le_u16))
    else {
        return Ok(()); // too short: symphonia reports the malformed chunk
    };
    // The channel limit is left to the stream parameters below, as for every container; this
    // check only keeps symphonia's arithmetic in range (a release build answered
    // `corrupt_media` for such headers before, and still does).
    let channels = u64::from(channels);
    let frame_bits = channels * u64::from(bits).max(8);
    if frame_bits > MAX_WAVE_FRAME_BITS {
        return Err(Error::CorruptMedia {
            detail: format!(
                "wav fmt chunk claims {channels} channels of {bits} bits, a {frame_bits}-bit \
                 sample frame (at most {MAX_WAVE_FRAME_BITS})"
            ),
        });
    }
    // WAVE_FORMAT_EXTENSIBLE: symphonia-format-riff 0.6.1 (`wave/chunks.rs`,
    // `fix_wave_channel_mask`) adds the channels its speaker mask lacks as `1 << missing`, shifted
    // above the mask's highest bit: a shift by 32 or more, which panics with overflow checks on.
    // A mask (at byte 20 of the extended `fmt ` body) can't describe those channels anyway.
    if fmt.get(0..2).map(le_u16) == Some(WAVE_FORMAT_EXTENSIBLE) {
        if let Some(mask) = fmt.get(20..24).map(le_u32) {
            let missing = channels.saturating_sub(u64::from(mask.count_ones()));
            if missing >= 32 || (missing > 0 && mask >> 31 != 0) {
                return Err(Error::CorruptMedia {
                    detail: format!(
                        "wav channel mask {mask:#010x} cannot describe {channels} channels"
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The `fmt ` chunk's format tag of a WAVE file whose channels are described by a speaker mask.
const WAVE_FORMAT_EXTENSIBLE: u16 = 0xFFFE;

/// The body of the first `fmt ` chunk of the RIFF/WAVE file starting at `bytes[0]`, if it is
/// one and has that chunk before `data` (where symphonia stops looking). Each chunk header read
/// costs one unit of `budget`; running out is `corrupt_media`.
fn wave_fmt_chunk<'a>(bytes: &'a [u8], budget: &mut usize) -> Result<Option<&'a [u8]>> {
    walk_wave_chunks(bytes, budget, |id, body, len| match id {
        b"fmt " => Some(bytes.get(body..body.saturating_add(len).min(bytes.len()))),
        b"data" => Some(None),
        _ => None,
    })
    .map(Option::flatten)
}

/// Decodes a RIFF/WAVE file (at `bytes[0]`) in a codec callscribe decodes itself, GSM 6.10 or
/// G.722, with that decoder; `None` for every other input, which is symphonia's. The format tag
/// is read once, here, for both.
///
/// Errors: `corrupt_media` for a `fmt ` chunk shorter than WAVEFORMAT's 16 bytes or past the
/// chunk-header budget, and the decoder's own.
fn decode_own_wave(bytes: &[u8], limits: &Limits) -> Result<Option<Decoded>> {
    if !bytes.starts_with(b"RIFF") {
        return Ok(None);
    }
    let mut budget = MAX_RIFF_CHUNK_HEADERS;
    let Some(fmt) = wave_fmt_chunk(bytes, &mut budget)? else {
        return Ok(None);
    };
    type OwnDecoder = fn(OwnWave<'_>, &Limits) -> Result<Decoded>;
    let (codec, decode): (&str, OwnDecoder) = match wave_tag(fmt) {
        Some(gsm::WAVE_FORMAT_GSM610) => ("GSM 6.10", gsm::decode_wave),
        Some(tag) if g722::WAVE_FORMAT_G722.contains(&tag) => ("G.722", g722::decode_wave),
        _ => return Ok(None),
    };
    if fmt.len() < 16 {
        return Err(Error::CorruptMedia {
            detail: format!("wav fmt chunk of {} bytes (at least 16)", fmt.len()),
        });
    }
    let wave = OwnWave {
        bytes,
        budget,
        codec,
        channels: le_u16(&fmt[2..4]),
        rate: le_u32(&fmt[4..8]),
        block_align: le_u16(&fmt[12..14]),
    };
    decode(wave, limits).map(Some)
}

/// A WAVE file for one of callscribe's own decoders: the `fmt ` fields they read, and the way to
/// its audio ([`OwnWave::data`]), looked up once the decoder has checked the fields.
struct OwnWave<'a> {
    bytes: &'a [u8],
    /// What is left of the chunk-header budget after the walk to `fmt `.
    budget: usize,
    /// The codec's name, for errors.
    codec: &'static str,
    channels: u16,
    rate: u32,
    block_align: u16,
}

impl<'a> OwnWave<'a> {
    /// The file's audio and whether it is cut off ([`wave_data`]).
    fn data(mut self) -> Result<(&'a [u8], bool)> {
        wave_data(self.bytes, &mut self.budget, self.codec)
    }
}

/// The audio of the RIFF/WAVE file starting at `bytes[0]`, for the codecs callscribe decodes
/// itself (`codec` names it in errors), and whether its `data` chunk is cut off. A streaming
/// writer leaves the chunk's size at 0 with the audio after it: that is read to the end, as for
/// the other WAVE files ([`fill_streamed_wave_sizes`]). A size past the end is read as far as
/// the bytes go, and `true` says the rest is missing.
///
/// Errors: `corrupt_media` without a `data` chunk, or past the chunk-header budget.
fn wave_data<'a>(bytes: &'a [u8], budget: &mut usize, codec: &str) -> Result<(&'a [u8], bool)> {
    let data = walk_wave_chunks(bytes, budget, |id, body, len| {
        (id == b"data").then_some((body, len))
    })?;
    let Some((body, claimed)) = data else {
        return Err(Error::CorruptMedia {
            detail: format!("wav with {codec} audio but no data chunk"),
        });
    };
    let start = body.min(bytes.len());
    let end = if claimed == 0 {
        bytes.len()
    } else {
        body.saturating_add(claimed).min(bytes.len())
    };
    let cut_off = claimed != 0 && body.saturating_add(claimed) > bytes.len();
    Ok((&bytes[start..end], cut_off))
}

/// Walks the chunk headers of the RIFF/WAVE file starting at `bytes[0]` (none if it is not
/// one), giving `visit` each chunk's id, the offset of its body and its claimed length, until
/// `visit` returns a value, the headers run out, or a length points past what `usize` holds.
/// Each header read costs one unit of `budget`; running out is `corrupt_media`.
fn walk_wave_chunks<T>(
    bytes: &[u8],
    budget: &mut usize,
    mut visit: impl FnMut(&[u8], usize, usize) -> Option<T>,
) -> Result<Option<T>> {
    if bytes.get(8..12) != Some(b"WAVE".as_slice()) {
        return Ok(None);
    }
    let mut pos = 12usize;
    while let Some(header) = bytes.get(pos..pos + 8) {
        *budget = budget.checked_sub(1).ok_or_else(|| Error::CorruptMedia {
            detail: format!("more than {MAX_RIFF_CHUNK_HEADERS} riff chunk headers"),
        })?;
        let len = le_u32(&header[4..8]) as usize;
        let body = pos + 8;
        if let Some(found) = visit(&header[..4], body, len) {
            return Ok(Some(found));
        }
        // Chunks are padded to an even length.
        match body
            .checked_add(len)
            .and_then(|end| end.checked_add(len & 1))
        {
            Some(next) => pos = next,
            None => return Ok(None),
        }
    }
    Ok(None)
}

/// The input with the sizes of a streaming writer's WAVE header filled in, when it needs it:
/// a writer that cannot seek back (one writing to a pipe or a socket) leaves the RIFF size, the
/// `data` size or both at 0, with the audio after them. symphonia refuses a RIFF size of 0
/// (`corrupt_media`) and reads a `data` size of 0 as no audio (`empty_media`); ffmpeg reads such
/// a file to its end, and so does this, from a copy with the RIFF size set to the input's length
/// and the `data` size to the bytes after its header. `None` when the input needs no change
/// (sizes that claim more than the input holds are already read to the end and flagged
/// `truncated`).
fn fill_streamed_wave_sizes(bytes: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>> {
    if !bytes.starts_with(b"RIFF") {
        return Ok(None);
    }
    let mut budget = MAX_RIFF_CHUNK_HEADERS;
    let data = walk_wave_chunks(bytes, &mut budget, |id, body, len| {
        (id == b"data").then_some((body, len))
    })?;
    let Some((body, claimed)) = data else {
        return Ok(None);
    };
    let riff_claimed = le_u32(&bytes[4..8]);
    let after = bytes.len() - body.min(bytes.len());
    let data_unset = claimed == 0 && after > 0;
    if riff_claimed != 0 && !data_unset {
        return Ok(None);
    }
    let mut filled = Zeroizing::new(bytes.to_vec());
    let riff = u32::try_from(bytes.len() - 8).unwrap_or(u32::MAX);
    filled[4..8].copy_from_slice(&riff.to_le_bytes());
    if data_unset {
        let data = u32::try_from(after).unwrap_or(u32::MAX);
        filled[body - 4..body].copy_from_slice(&data.to_le_bytes());
    }
    Ok(Some(filled))
}

/// A little-endian `u16` from two bytes (RIFF's byte order; [`be_u32`] reads MP4's).
fn le_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

/// A little-endian `u32` from four bytes.
fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Maps a probe failure: nothing recognised is `unsupported_format`; a recognised but broken
/// header is `corrupt_media`.
fn probe_error(e: SymError) -> Error {
    match e {
        // "core (probe): …" means no reader recognised the bytes. Any other `Unsupported`
        // comes from a reader that did recognise its container and then found it unusable
        // ("isomp4: missing moov atom" of a cut-off M4A): that is damage, not an unknown format.
        SymError::Unsupported(what) if what.starts_with("core") => Error::UnsupportedFormat {
            detail: format!("no known container matches the bytes ({what})"),
        },
        SymError::Unsupported(what) => Error::CorruptMedia {
            detail: format!("recognised but unusable: {what}"),
        },
        SymError::LimitError(what) => Error::CorruptMedia {
            detail: format!("limit: {what}"),
        },
        SymError::IoError(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            Error::CorruptMedia {
                detail: "the header is cut off".into(),
            }
        }
        other => Error::CorruptMedia {
            detail: other.to_string(),
        },
    }
}

/// Encoder priming ("delay") frames of an MP4/M4A's first audio track, from its edit list.
///
/// symphonia 0.6's MP4 reader ignores edit lists (`elst`), so AAC's priming samples (1024 from
/// most encoders) would shift every timestamp late by ~40 ms. This walks
/// `moov/trak/{edts/elst, mdia/mdhd}` — a few dozen bytes of box headers — rather than pulling
/// in a second MP4 parser. Returns `None` for anything unexpected.
fn mp4_priming_frames(bytes: &[u8], rate: u32) -> Option<u64> {
    let moov = find_box(bytes, b"moov")?;
    let mut rest = moov;
    while let Some((kind, body, next)) = next_box(rest) {
        rest = next;
        if &kind != b"trak" {
            continue;
        }
        let Some(elst) = find_box(body, b"edts").and_then(|e| find_box(e, b"elst")) else {
            continue;
        };
        let mdhd = find_box(body, b"mdia").and_then(|m| find_box(m, b"mdhd"))?;
        let timescale = match *mdhd.first()? {
            0 => be_u32(mdhd.get(12..16)?),
            1 => be_u32(mdhd.get(20..24)?),
            _ => return None,
        };
        let version = *elst.first()?;
        let count = be_u32(elst.get(4..8)?);
        let entry = if version == 1 { 20 } else { 12 };
        for i in 0..count.min(16) as usize {
            let e = elst.get(8 + i * entry..8 + (i + 1) * entry)?;
            let media_time = if version == 1 {
                i64::from_be_bytes(e.get(8..16)?.try_into().ok()?)
            } else {
                i64::from(be_u32(e.get(4..8)?) as i32)
            };
            // -1 marks an empty edit (a pause before the track starts); skip it.
            if media_time >= 0 && timescale > 0 {
                return Some(
                    (media_time as u64).saturating_mul(u64::from(rate)) / u64::from(timescale),
                );
            }
        }
        return None;
    }
    None
}

fn be_u32(b: &[u8]) -> u32 {
    b.iter()
        .take(4)
        .fold(0, |acc, &x| (acc << 8) | u32::from(x))
}

/// The body of the first box of `kind` among the boxes in `data`.
fn find_box<'a>(mut data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    while let Some((k, body, next)) = next_box(data) {
        if &k == kind {
            return Some(body);
        }
        data = next;
    }
    None
}

/// Splits the first box off `data`: (type, body, rest).
fn next_box(data: &[u8]) -> Option<([u8; 4], &[u8], &[u8])> {
    let size = u64::from(be_u32(data.get(0..4)?));
    let kind: [u8; 4] = data.get(4..8)?.try_into().ok()?;
    let (header, size) = match size {
        0 => (8, data.len() as u64),
        1 => (16, u64::from_be_bytes(data.get(8..16)?.try_into().ok()?)),
        n => (8, n),
    };
    let size = usize::try_from(size).ok()?.min(data.len());
    if size < header {
        return None;
    }
    Some((kind, &data[header..size], &data[size..]))
}
