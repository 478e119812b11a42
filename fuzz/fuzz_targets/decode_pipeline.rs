//! Arbitrary bytes through the whole DSP chain: `decode` → `to_mono16k` → `find_speech`, with
//! small limits so one iteration stays fast. An input's length picks the name it is decoded
//! under ([`name_for`]), so the formats only a file's name tells (Asterisk's headerless ones,
//! short raw GSM) are fuzzed too, without shifting the bytes of the committed corpus. Panics,
//! aborts, leaks and allocations past the limits are findings; so is a broken stage contract
//! (checked by the asserts below).
#![no_main]

use callscribe::config::{Limits, TrimOptions};
use callscribe::{decode, resample, trim};
use libfuzzer_sys::fuzz_target;

/// Longest decoded duration, in seconds: longer than every seed and than the 3 s beep search,
/// short enough that an input claiming hours (a FLAC of constant blocks decodes 10 s from a
/// few hundred bytes) costs at most 10 s of decoding, resampling and VAD per iteration.
const MAX_DURATION_S: f64 = 10.0;

/// The name an input is decoded under: `.g722` or `.gsm` for one length in eight each, one of
/// the other headerless formats (`.ulaw`, `.alaw`, `.sln`, `.sln16`) for another, none for the
/// rest (the sniffed formats).
fn name_for(data: &[u8]) -> Option<&'static str> {
    const OTHERS: [&str; 4] = ["fuzz.ulaw", "fuzz.alaw", "fuzz.sln", "fuzz.sln16"];
    match data.len() % 8 {
        5 => Some("fuzz.g722"),
        6 => Some("fuzz.gsm"),
        7 => Some(OTHERS[data.len() / 8 % 4]),
        _ => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_bytes: 1 << 20,
        max_duration_s: MAX_DURATION_S,
        max_channels: 8,
        max_sample_rate: 192_000,
    };
    let Ok(decoded) = decode::decode_named(data, name_for(data), &limits) else {
        return;
    };
    let info = &decoded.info;
    let rate = decoded.pcm.rate.hz();
    assert!(rate > 0 && rate <= limits.max_sample_rate, "rate {rate}");
    assert_eq!(rate, info.sample_rate);
    assert!(info.channels <= limits.max_channels, "{info:?}");
    assert!(
        !decoded.pcm.samples.is_empty(),
        "Ok with no samples: {info:?}"
    );
    // The duration limit is enforced before a packet is stored, so it is never exceeded.
    let frames_in = decoded.pcm.samples.len();
    assert!(
        frames_in as f64 <= (MAX_DURATION_S * f64::from(rate)).ceil(),
        "{frames_in} frames at {rate} Hz is over the limit"
    );
    assert!(
        (0.0..=1.0).contains(&decoded.clipped_ratio),
        "{}",
        decoded.clipped_ratio
    );

    let mono = resample::to_mono16k(decoded.pcm).expect("decode guarantees a usable rate");
    // Duration is preserved to within one output sample.
    let expected = (frames_in as u64 * 16_000 / u64::from(rate)) as i64;
    let got = mono.samples().len() as i64;
    assert!(
        (got - expected).abs() <= 1,
        "{frames_in} @ {rate} Hz → {got}, expected {expected}"
    );

    let report = trim::find_speech(&mono, &TrimOptions::default());
    let duration = mono.duration().0;
    let inside =
        |a: f64, b: f64| a.is_finite() && b.is_finite() && 0.0 <= a && a <= b && b <= duration;
    if let Some(span) = report.span {
        assert!(
            inside(span.start_s, span.end_s),
            "span {span:?} outside 0..{duration}"
        );
        assert!(span.end_s > span.start_s);
        assert!(report.peak_dbfs.is_some_and(f64::is_finite));
        assert!(report.rms_dbfs.is_some_and(f64::is_finite));
    } else {
        assert!(report.segments.is_empty());
    }
    let mut previous_end = f64::NEG_INFINITY;
    for s in &report.segments {
        let span = report.span.expect("segments imply a span");
        assert!(
            s.start_s < s.end_s && s.start_s > previous_end,
            "{:?}",
            report.segments
        );
        assert!(span.start_s <= s.start_s && s.end_s <= span.end_s);
        previous_end = s.end_s;
    }
    if let Some(b) = report.beep {
        assert!(
            inside(b.start_s, b.end_s),
            "beep {b:?} outside 0..{duration}"
        );
    }
    if let Some(t) = report.stop_tone {
        assert!(
            inside(t.start_s, t.end_s),
            "stop tone {t:?} outside 0..{duration}"
        );
    }
});
