//! The stop tone: the last DTMF press of a recording, when only silence and short noise bursts
//! follow it.

use super::dtmf::{block_sums, dtmf_from, find_dtmf, DTMF_HOP, DTMF_WINDOW};
use super::{mean_square_at, power_ratio, DtmfTone, FS};

/// Audio right after a press that is ignored, in seconds: the tone's decay, echo and the
/// codec's ramp-down smear over a few milliseconds.
const STOP_GUARD_S: f64 = 0.03;
/// Trailing activity allowed after a stop tone, in seconds: a key-release click, a breath or a
/// line-noise burst, but not a word (even short words last ≥ 200 ms).
const STOP_MAX_TRAILING_ACTIVITY_S: f64 = 0.2;
/// A 5 ms block is active above the noise floor plus this many dB.
const ACTIVITY_ABOVE_FLOOR_DB: f64 = 12.0;
/// The noise floor is this quantile of the recording's 5 ms block powers: calls have pauses, so
/// a tenth of the blocks are background.
const NOISE_FLOOR_QUANTILE: f64 = 0.1;
/// Blocks quieter than this are never active, in dBFS: well above G.711's idle-channel noise
/// (µ-law's smallest step is about -72 dBFS), well below speech.
const ACTIVITY_MIN_DBFS: f64 = -60.0;
/// Blocks within this many dB of the press's level are always active, whatever the floor (a
/// recording without pauses has its "floor" at speech level).
const ACTIVITY_BELOW_TONE_DB: f64 = 20.0;

/// The stop tone: the last DTMF press, when nothing but silence follows it.
///
/// "Silence" allows background noise and up to 200 ms of short bursts (clicks, breaths) after
/// the press, all ending within `tail_s` seconds
/// ([`DEFAULT_STOP_TAIL_S`](super::DEFAULT_STOP_TAIL_S)) of the press's end.
/// Speech after the last press means the caller kept talking, so it was not the stop tone.
///
/// Only the end of the recording is searched for presses: walking back from the end, once more
/// than 200 ms of audio loud enough to count as activity after *any* tone has gone by, no
/// earlier press can qualify. The DTMF filters then run from `STOP_SCAN_LOOKBACK_S` (1 s) before
/// that point (the whole recording when a press reaches back to the start of that region), so
/// the answer is the one a scan of the whole recording gives, for a fraction of its cost.
pub fn find_stop_tone(samples: &[f32], tail_s: f64) -> Option<DtmfTone> {
    let block_power = block_powers(samples);
    let floor = noise_floor(&block_power);
    let first_block = stop_scan_start(&block_power, floor);
    if first_block > 0 {
        let from = first_block * DTMF_HOP;
        let presses = dtmf_from(samples, from);
        // A press found in the region's first window may have begun before it: scan it all.
        let region_start_s = (from + DTMF_WINDOW) as f64 / FS;
        if presses.iter().all(|p| p.start_s > region_start_s) {
            return stop_tone_in(&presses, &block_power, floor, tail_s);
        }
    }
    let presses = find_dtmf(samples);
    stop_tone_in(&presses, &block_power, floor, tail_s)
}

/// How far before the point where the trailing activity exceeds
/// [`STOP_MAX_TRAILING_ACTIVITY_S`] the stop-tone search starts, in seconds: a qualifying press
/// ends after that point, so this only needs to cover the press itself (a press longer than
/// this is still found, by the fallback to a whole scan).
const STOP_SCAN_LOOKBACK_S: f64 = 1.0;

/// The first [`DTMF_HOP`] block the stop-tone search needs to look at.
///
/// The activity threshold of [`stop_tone_in`] is at most `max(floor + 12 dB, -60 dBFS)`,
/// whatever the tone's level, so a block above that is activity after any press. A press
/// followed (from its guard on) by more than [`STOP_MAX_TRAILING_ACTIVITY_S`] of such blocks is
/// not the stop tone, which puts every candidate's end after the block returned here plus the
/// lookback.
fn stop_scan_start(block_power: &[f32], floor: f64) -> usize {
    let block_s = DTMF_HOP as f64 / FS;
    let surely_active =
        (floor * power_ratio(ACTIVITY_ABOVE_FLOOR_DB)).max(mean_square_at(ACTIVITY_MIN_DBFS));
    let mut active_blocks = 0usize;
    for (i, &p) in block_power.iter().enumerate().rev() {
        if f64::from(p) >= surely_active {
            active_blocks += 1;
            if active_blocks as f64 * block_s > STOP_MAX_TRAILING_ACTIVITY_S + 1e-9 {
                // Margin: the press's guard and the rounding of its end to a block.
                let margin = ((STOP_GUARD_S + STOP_SCAN_LOOKBACK_S) / block_s).ceil() as usize;
                return i.saturating_sub(margin + 1);
            }
        }
    }
    0
}

/// [`find_stop_tone`] with the presses already found by [`find_dtmf`] over the same samples, so
/// a caller that wants both scans only once.
pub fn stop_tone_among(samples: &[f32], presses: &[DtmfTone], tail_s: f64) -> Option<DtmfTone> {
    let block_power = block_powers(samples);
    let floor = noise_floor(&block_power);
    stop_tone_in(presses, &block_power, floor, tail_s)
}

/// Mean-square power (DC removed) of every whole [`DTMF_HOP`] block.
fn block_powers(samples: &[f32]) -> Vec<f32> {
    let len = DTMF_HOP as f64;
    samples
        .chunks_exact(DTMF_HOP)
        .map(|block| {
            let (sum, sq) = block_sums(block);
            ((sq - sum * sum / len) / len) as f32
        })
        .collect()
}

/// The background level: the [`NOISE_FLOOR_QUANTILE`] of the block powers (0 for none).
fn noise_floor(block_power: &[f32]) -> f64 {
    if block_power.is_empty() {
        return 0.0;
    }
    let mut sorted = block_power.to_vec();
    let q = ((sorted.len() as f64 * NOISE_FLOOR_QUANTILE) as usize).min(sorted.len() - 1);
    let (_, f, _) = sorted.select_nth_unstable_by(q, f32::total_cmp);
    f64::from(*f)
}

/// The stop-tone decision over per-block (5 ms) mean-square powers and their noise floor.
fn stop_tone_in(
    presses: &[DtmfTone],
    block_power: &[f32],
    floor: f64,
    tail_s: f64,
) -> Option<DtmfTone> {
    let last = *presses.iter().max_by(|a, b| a.end_s.total_cmp(&b.end_s))?;
    let block_s = DTMF_HOP as f64 / FS;
    let block_at = |t: f64| ((t.max(0.0) / block_s).round() as usize).min(block_power.len());

    let tone = block_power
        .get(block_at(last.start_s)..block_at(last.end_s))
        .unwrap_or(&[]);
    let tone_power = tone.iter().map(|&p| f64::from(p)).sum::<f64>() / tone.len().max(1) as f64;
    let threshold = (floor * power_ratio(ACTIVITY_ABOVE_FLOOR_DB))
        .min(tone_power / power_ratio(ACTIVITY_BELOW_TONE_DB))
        .max(mean_square_at(ACTIVITY_MIN_DBFS));

    let after = block_at(last.end_s + STOP_GUARD_S);
    let mut active_s = 0.0;
    let mut last_active_end_s = last.end_s;
    for (i, &p) in block_power.iter().enumerate().skip(after) {
        if f64::from(p) >= threshold {
            active_s += block_s;
            last_active_end_s = (i + 1) as f64 * block_s;
        }
    }
    let quiet = active_s <= STOP_MAX_TRAILING_ACTIVITY_S + 1e-9
        && last_active_end_s - last.end_s <= tail_s.max(0.0);
    quiet.then_some(last)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tones::test_signals::*;
    use crate::tones::DEFAULT_STOP_TAIL_S;

    #[test]
    fn stop_tone_after_speech_is_found() {
        let x = concat(&[
            speechlike(3.0, 11),
            silence(0.3),
            dtmf('#', 0.15),
            silence(1.0),
        ]);
        let t = find_stop_tone(&x, DEFAULT_STOP_TAIL_S).expect("stop tone");
        assert_eq!(t.key, '#');
        assert!(
            (t.start_s - 3.3).abs() <= 0.02 && (t.end_s - 3.45).abs() <= 0.02,
            "{t:?}"
        );

        // Right after speech, with background noise and a key-release click after it.
        let mut click = silence(0.3);
        click.extend(noise(-20.0, 0.01, 5));
        click.extend(silence(0.5));
        let y = concat(&[speechlike(2.0, 12), dtmf('*', 0.1), click]);
        let y = mix(y, &noise(-55.0, 3.0, 6));
        assert_eq!(
            find_stop_tone(&y, DEFAULT_STOP_TAIL_S).map(|t| t.key),
            Some('*')
        );
    }

    #[test]
    fn a_press_followed_by_speech_is_not_the_stop_tone() {
        let x = concat(&[
            speechlike(1.5, 13),
            dtmf('#', 0.15),
            silence(0.3),
            speechlike(1.5, 14),
        ]);
        assert_eq!(find_dtmf(&x).len(), 1);
        assert_eq!(find_stop_tone(&x, DEFAULT_STOP_TAIL_S), None);
        // Short speech after the press (0.5 s) is still speech.
        let y = concat(&[
            dtmf('#', 0.15),
            silence(0.3),
            speechlike(0.5, 15),
            silence(1.0),
        ]);
        assert_eq!(find_stop_tone(&y, DEFAULT_STOP_TAIL_S), None);
    }

    #[test]
    fn trailing_noise_must_end_within_tail_s() {
        // A 50 ms click 1.5 s after the press.
        let x = concat(&[
            speechlike(1.0, 17),
            dtmf('#', 0.1),
            silence(1.5),
            noise(-20.0, 0.05, 18),
            silence(0.3),
        ]);
        assert_eq!(find_stop_tone(&x, 2.0).map(|t| t.key), Some('#'));
        assert_eq!(find_stop_tone(&x, 1.0), None);
    }

    #[test]
    fn the_stop_tone_is_the_last_press() {
        let x = concat(&[
            dtmf('1', 0.1),
            silence(0.1),
            speechlike(1.0, 16),
            dtmf('9', 0.1),
            silence(0.5),
        ]);
        let presses = find_dtmf(&x);
        assert_eq!(presses.iter().map(|p| p.key).collect::<String>(), "19");
        assert_eq!(
            stop_tone_among(&x, &presses, DEFAULT_STOP_TAIL_S).map(|t| t.key),
            Some('9')
        );
    }

    #[test]
    fn the_tail_search_answers_like_a_whole_scan() {
        // Long recordings, so the search really starts late, and a press long enough to reach
        // back past the start of the searched region (the fallback).
        let cases: Vec<(&str, Vec<f32>, Option<char>)> = vec![
            (
                "short press after long speech",
                concat(&[speechlike(20.0, 31), dtmf('#', 0.12), silence(2.0)]),
                Some('#'),
            ),
            (
                "3 s press after long speech",
                concat(&[speechlike(20.0, 32), dtmf('*', 3.0), silence(0.5)]),
                Some('*'),
            ),
            (
                "press, then long silence",
                concat(&[speechlike(10.0, 33), dtmf('5', 0.1), silence(20.0)]),
                Some('5'),
            ),
            (
                "press mid-speech only",
                concat(&[speechlike(10.0, 34), dtmf('1', 0.1), speechlike(10.0, 35)]),
                None,
            ),
            (
                "two presses, speech between",
                concat(&[
                    speechlike(8.0, 36),
                    dtmf('2', 0.1),
                    speechlike(8.0, 37),
                    dtmf('#', 0.1),
                    silence(1.0),
                ]),
                Some('#'),
            ),
        ];
        for (name, x, key) in cases {
            let whole = stop_tone_among(&x, &find_dtmf(&x), DEFAULT_STOP_TAIL_S);
            let tail = find_stop_tone(&x, DEFAULT_STOP_TAIL_S);
            assert_eq!(whole.map(|t| t.key), key, "{name}: whole scan {whole:?}");
            assert_eq!(tail, whole, "{name}");
        }
    }

    #[test]
    fn the_tail_search_starts_late_in_long_recordings() {
        let x = concat(&[speechlike(20.0, 38), silence(2.0)]);
        let power = block_powers(&x);
        let start_s = (stop_scan_start(&power, noise_floor(&power)) * DTMF_HOP) as f64 / FS;
        assert!((18.0..20.0).contains(&start_s), "{start_s}");
    }
}
