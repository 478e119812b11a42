//! Tone detection: the bot's leading `playBeep` beep and the caller's DTMF key presses (the stop
//! tone that ends a Graph `recordResponse` recording), so both stay out of the speech span.
//!
//! Every function takes 16 kHz mono `f32` samples in [-1, 1] ([`SAMPLE_RATE`]), is pure, never
//! panics, and treats empty or too-short input as "nothing found".
//!
//! # Layout
//! - `dtmf`: [`find_dtmf`], every key press (8 Goertzel filters)
//! - `stop_tone`: [`find_stop_tone`] and [`stop_tone_among`], the last press when only silence
//!   follows it
//! - `beep`: [`find_leading_beep`], a pure tone near the start (realfft spectra, then a
//!   demodulated measurement)
//! - `progress`: [`find_steady_tones`], call-progress tones (ringback, busy) anywhere: the
//!   beep's frame test widened to pairs of tones, held at least 0.2 s (see that module)
//!
//! # Method
//! - **DTMF** ([`find_dtmf`]): Goertzel filters at the 8 ITU-T Q.23 frequencies over 25 ms
//!   rectangular windows advanced in 5 ms hops. A window counts for a key with the classic
//!   receiver checks (AT&T/Bellcore limits, as collected in ITU-T Q.24): the strongest row and
//!   column tone each stand 8 dB above the rest of their group, both reach -40 dBFS, the twist is
//!   within ±8 dB, and the two tones carry ≥ 90 % of the window's energy. That last test keeps
//!   speech out (a vowel spreads its energy over many harmonics); each tone's power is measured
//!   at its actual frequency within ±1.5 % so that off-nominal keypads still reach 90 %. A press
//!   needs 3 consecutive windows; its edges are then put where both tones are 6 dB below their
//!   steady level, and presses shorter than 35 ms are dropped.
//! - **Beep** ([`find_leading_beep`]): a 512-point real FFT (realfft; 32 ms Hann window, 16 ms
//!   hop) over the leading seconds only. A frame is tonal when one spectral peak (±2 bins) holds
//!   ≥ 90 % of its energy; a vowel's harmonics and DTMF's two tones fail that. A run of tonal
//!   frames at one frequency is then measured on the signal demodulated at that frequency: edges
//!   at half amplitude, frequency from the phase advance. It is a beep if it lasts 0.1–1.5 s, its
//!   frequency is the same (±0.3 %) in both halves, and its 2nd–5th harmonics are all ≥ 30 dB
//!   down: a high-pitched voice can pass the frame test but not both of these.
//! - **Stop tone** ([`find_stop_tone`]): the last DTMF press, if the audio after it is silence
//!   apart from at most 200 ms of noise bursts, all within `tail_s` of the press.
//!
//! The thresholds were checked against 78 minutes of espeak-ng, flite and festival speech
//! (several voices and pitches, each also through 8 kHz µ-law): no press and no beep found.
//!
//! # Levels
//! dBFS follows AES17: a full-scale sine (amplitude 1.0) is 0 dBFS, so any signal at L dBFS has
//! mean square 10^(L/10) / 2. This is 3 dB above a plain `20·log10(rms)` reading.

mod beep;
mod dtmf;
mod progress;
mod stop_tone;
#[cfg(test)]
mod test_signals;

pub use beep::find_leading_beep;
pub use dtmf::find_dtmf;
pub use progress::{find_steady_tones, SteadyTone};
pub use stop_tone::{find_stop_tone, stop_tone_among};

/// The only sample rate this module accepts, in Hz (the pipeline's rate after resampling).
pub const SAMPLE_RATE: u32 = 16_000;

/// Default for [`find_leading_beep`]'s `search_s`, in seconds: Graph plays the beep right after
/// the prompt, so it starts within the first few seconds of the recording.
pub const DEFAULT_BEEP_SEARCH_S: f64 = 3.0;

/// Default for [`find_stop_tone`]'s `tail_s`, in seconds.
pub const DEFAULT_STOP_TAIL_S: f64 = 2.0;

/// A detected leading beep, in seconds from the start of the given samples.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Beep {
    /// Start, in seconds (where the tone's envelope first reaches half its steady amplitude).
    pub start_s: f64,
    /// End, in seconds (where the envelope falls below half its steady amplitude).
    pub end_s: f64,
    /// The tone's frequency, in Hz.
    pub freq_hz: f64,
}

/// A detected DTMF key press.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DtmfTone {
    /// The key: `'0'`–`'9'`, `'*'`, `'#'` or `'A'`–`'D'`.
    pub key: char,
    /// Start, in seconds (where both tones reach half their steady amplitude).
    pub start_s: f64,
    /// End, in seconds.
    pub end_s: f64,
}

/// [`SAMPLE_RATE`] as `f64`, for time arithmetic.
const FS: f64 = SAMPLE_RATE as f64;

/// Mean square of a signal at `dbfs` (AES17: a full-scale sine, mean square 1/2, is 0 dBFS).
fn mean_square_at(dbfs: f64) -> f64 {
    10f64.powf(dbfs / 10.0) / 2.0
}

/// A power ratio for `db` decibels.
fn power_ratio(db: f64) -> f64 {
    10f64.powf(db / 10.0)
}

/// Median of the values (0 for none).
fn median(values: impl Iterator<Item = f32>) -> f64 {
    let mut v: Vec<f32> = values.filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    let (_, m, _) = v.select_nth_unstable_by(mid, f32::total_cmp);
    f64::from(*m)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::test_signals::{one_press, pipeline_16k};
    use super::*;

    #[test]
    fn empty_short_and_odd_input_find_nothing() {
        for len in [0, 1, 79, 80, 399, 400, 511, 512, 513] {
            let x: Vec<f32> = (0..len).map(|i| (i as f32 * 0.3).sin() * 0.5).collect();
            assert!(find_dtmf(&x).is_empty(), "{len}");
            assert_eq!(find_leading_beep(&x, 3.0), None, "{len}");
            assert_eq!(find_stop_tone(&x, 2.0), None, "{len}");
        }
        let weird = [f32::NAN, f32::INFINITY, -1.0, 1.0].repeat(4000);
        assert!(find_dtmf(&weird).is_empty());
        assert_eq!(find_leading_beep(&weird, 3.0), None);
        let fake = DtmfTone {
            key: '#',
            start_s: 0.0,
            end_s: 0.1,
        };
        assert_eq!(stop_tone_among(&[], &[fake], 2.0), Some(fake));
        assert_eq!(stop_tone_among(&[], &[], 2.0), None);
    }

    /// Every recording at the top of `samples/` (PCM, G.711 A-law and µ-law, FLAC, MP3, Vorbis,
    /// AAC), through the crate's own decode and resample stages, against
    /// `samples/manifest.json`: files with no beep or stop tone listed have none and no press;
    /// the others have exactly the ones listed, within 20 ms and 5 Hz.
    #[test]
    fn sample_recordings_match_their_manifest() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples");
        let text =
            std::fs::read_to_string(dir.join("manifest.json")).expect("samples/manifest.json");
        let manifest: serde_json::Value = serde_json::from_str(&text).expect("manifest is JSON");
        let files = manifest["files"].as_array().expect("manifest lists files");
        let close = |found: f64, listed: &serde_json::Value, tol: f64| {
            listed.as_f64().is_some_and(|v| (found - v).abs() <= tol)
        };
        let mut checked = Vec::new();
        let (mut beeps, mut stop_tones) = (0, 0);
        for file in files {
            let name = file["name"].as_str().expect("file name");
            // Subfolders hold hostile and unsupported files, for the decoder's tests.
            if name.contains('/') {
                continue;
            }
            let bytes = std::fs::read(dir.join(name)).expect(name);
            let x = pipeline_16k(&bytes);

            let beep = find_leading_beep(&x, DEFAULT_BEEP_SEARCH_S);
            match file["beep"].as_object() {
                None => assert_eq!(beep, None, "{name}: no beep expected"),
                Some(listed) => {
                    let b = beep.unwrap_or_else(|| panic!("{name}: beep {listed:?} not found"));
                    assert!(
                        close(b.start_s, &listed["start_s"], 0.02)
                            && close(b.end_s, &listed["end_s"], 0.02)
                            && close(b.freq_hz, &listed["freq_hz"], 5.0),
                        "{name}: found {b:?}, listed {listed:?}"
                    );
                    beeps += 1;
                }
            }

            let presses = find_dtmf(&x);
            let stop = find_stop_tone(&x, DEFAULT_STOP_TAIL_S);
            match file["stop_tone"].as_object() {
                None => {
                    assert!(presses.is_empty(), "{name}: unexpected presses {presses:?}");
                    assert_eq!(stop, None, "{name}");
                }
                Some(listed) => {
                    let p = one_press(&presses);
                    let key = listed["key"].as_str().and_then(|k| k.chars().next());
                    assert!(
                        Some(p.key) == key
                            && close(p.start_s, &listed["start_s"], 0.02)
                            && close(p.end_s, &listed["end_s"], 0.02),
                        "{name}: found {p:?}, listed {listed:?}"
                    );
                    assert_eq!(stop, Some(p), "{name}: the press is the stop tone");
                    stop_tones += 1;
                }
            }
            checked.push(name);
        }
        eprintln!("fixtures checked: {checked:?}");
        // The manifest lists 16 top-level recordings: 3 with a beep, 3 with a stop tone.
        assert!(checked.len() >= 16, "too few fixtures: {checked:?}");
        assert!(
            beeps >= 3 && stop_tones >= 3,
            "beeps {beeps}, stop tones {stop_tones}"
        );
    }
}
