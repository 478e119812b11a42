//! JSON: results are one line of schema `callscribe.result/v1`, every field name pinned by a
//! strict test-local mirror, values well-formed, and the round trip exact.

use std::collections::{BTreeMap, BTreeSet};

use callscribe::result::{
    ErrorInfo, RecordingResult, ResultInfo, Source, Transcript, TranscriptSegment, SCHEMA,
};
use callscribe::ErrorKind;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::support::{pipeline_without_transcription, sample_path, temp_dir};

// ---------------------------------------------------------------------------------------------
// The schema, written out independently of `callscribe::result`. `deny_unknown_fields` catches
// an added or renamed field; `present` makes a nullable field required (serde would otherwise
// read a missing `Option` as `None`), so a removed field fails too. Fields that the schema
// omits when absent (`source.*`) are `default`.

/// A nullable field that must be present.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    Option::<T>::deserialize(d)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // Fields exist to be pinned, not read.
struct ResultV1 {
    schema: String,
    status: String,
    /// Only with `no_speech` (added to v1 with the no-speech reasons; absent otherwise).
    #[serde(default)]
    reason: Option<String>,
    #[serde(deserialize_with = "present")]
    error: Option<ErrorV1>,
    source: SourceV1,
    #[serde(deserialize_with = "present")]
    audio: Option<AudioV1>,
    #[serde(deserialize_with = "present")]
    transcript: Option<TranscriptV1>,
    timings_ms: BTreeMap<String, f64>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ErrorV1 {
    kind: String,
    message: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SourceV1 {
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    call_id: Option<String>,
    #[serde(default)]
    operation_id: Option<String>,
    #[serde(default)]
    client_context: Option<String>,
    #[serde(default)]
    result_info: Option<ResultInfoV1>,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct ResultInfoV1 {
    #[serde(deserialize_with = "present")]
    code: Option<i64>,
    #[serde(deserialize_with = "present")]
    subcode: Option<i64>,
    #[serde(deserialize_with = "present")]
    message: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct AudioV1 {
    container: String,
    codec: String,
    sample_rate: u32,
    channels: u32,
    duration_s: f64,
    truncated: bool,
    #[serde(deserialize_with = "present")]
    speech_start_s: Option<f64>,
    #[serde(deserialize_with = "present")]
    speech_end_s: Option<f64>,
    speech_s: f64,
    segments: Vec<SegmentV1>,
    #[serde(deserialize_with = "present")]
    peak_dbfs: Option<f64>,
    #[serde(deserialize_with = "present")]
    rms_dbfs: Option<f64>,
    clipped_ratio: f64,
    #[serde(deserialize_with = "present")]
    beep: Option<BeepV1>,
    #[serde(deserialize_with = "present")]
    stop_tone: Option<StopToneV1>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct SegmentV1 {
    start_s: f64,
    end_s: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct BeepV1 {
    start_s: f64,
    end_s: f64,
    freq_hz: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct StopToneV1 {
    key: String,
    start_s: f64,
    end_s: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TranscriptV1 {
    text: String,
    language: String,
    #[serde(deserialize_with = "present")]
    language_probability: Option<f64>,
    segments: Vec<TranscriptSegmentV1>,
    /// Added to v1 with entities and redaction: omitted when empty.
    #[serde(default)]
    entities: Vec<EntityV1>,
    #[serde(default)]
    redactions: Vec<RedactionV1>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct TranscriptSegmentV1 {
    start_s: f64,
    end_s: f64,
    text: String,
    confidence: f64,
    /// Only with `--word-timestamps` (added to v1).
    #[serde(default)]
    words: Option<Vec<WordV1>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct WordV1 {
    text: String,
    start_s: f64,
    end_s: f64,
    probability: f64,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[allow(dead_code)]
enum EntityV1 {
    PhoneNumber {
        text: String,
        #[serde(deserialize_with = "present")]
        e164: Option<String>,
        national: String,
        #[serde(deserialize_with = "present")]
        extension: Option<String>,
        start_s: f64,
        end_s: f64,
    },
    Email {
        text: String,
        address: String,
        start_s: f64,
        end_s: f64,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RedactionV1 {
    #[serde(rename = "type")]
    kind: String,
    start_s: f64,
    end_s: f64,
    #[serde(default)]
    luhn_valid: Option<bool>,
}

// ---------------------------------------------------------------------------------------------

/// How a result was produced, which decides the `timings_ms` keys it must have.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Via {
    /// `Pipeline::process` on bytes.
    Bytes,
    /// `Pipeline::process_file`, the file was read.
    File,
    /// `Pipeline::process_file`, reading failed.
    Unreadable,
}

/// Every number in the tree is finite (serde_json writes NaN and ±inf as `null`, which the
/// nullability checks below catch where a number is required).
fn numbers_are_finite(v: &Value, at: &str, problems: &mut Vec<String>) {
    match v {
        Value::Number(n) if !n.as_f64().is_some_and(f64::is_finite) => {
            problems.push(format!("{at}: {n} is not finite"));
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                numbers_are_finite(item, &format!("{at}[{i}]"), problems);
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                numbers_are_finite(item, &format!("{at}.{k}"), problems);
            }
        }
        _ => {}
    }
}

fn is_snake_case(s: &str) -> bool {
    !s.is_empty()
        && !s.starts_with('_')
        && !s.ends_with('_')
        && !s.contains("__")
        && s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Checks one result's JSON line; returns the problems found.
fn check_line(
    what: &str,
    result: &RecordingResult,
    via: Via,
    expected_path: Option<&str>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let line = result.to_json_line();
    if line.contains('\n') {
        problems.push("the JSON line contains a newline".into());
    }

    let mirror: ResultV1 = match serde_json::from_str(&line) {
        Ok(m) => m,
        Err(e) => {
            return vec![format!(
                "{what}: the v1 mirror rejects the line ({e}): {line}"
            )]
        }
    };
    let strict: RecordingResult = match serde_json::from_str(&line) {
        Ok(r) => r,
        Err(e) => {
            return vec![format!(
                "{what}: RecordingResult rejects its own line ({e}): {line}"
            )]
        }
    };
    if &strict != result {
        problems.push(format!(
            "round trip changed the result:\n  before {result:?}\n  after  {strict:?}"
        ));
    }
    if serde_json::to_string(&strict).ok().as_deref() != Some(line.as_str()) {
        problems.push("re-serializing the parsed result gives different JSON".into());
    }

    let value: Value = serde_json::from_str(&line).expect("valid JSON");
    numbers_are_finite(&value, "$", &mut problems);

    if mirror.schema != "callscribe.result/v1" || SCHEMA != "callscribe.result/v1" {
        problems.push(format!(
            "schema {:?} (crate constant {SCHEMA:?})",
            mirror.schema
        ));
    }
    match (mirror.status.as_str(), mirror.reason.as_deref()) {
        ("no_speech", Some("no_voice_activity" | "music" | "no_words")) => {}
        ("ok" | "failed", None) => {}
        (status, reason) => problems.push(format!("status {status:?} with reason {reason:?}")),
    }
    match (mirror.status.as_str(), &mirror.error) {
        ("ok" | "no_speech", None) => {}
        ("failed", Some(error)) => {
            let known = serde_json::from_value::<ErrorKind>(Value::from(error.kind.as_str()));
            if !is_snake_case(&error.kind) || known.is_err() {
                problems.push(format!(
                    "error.kind {:?} is not a known snake_case kind",
                    error.kind
                ));
            }
            if error.message.trim().is_empty() {
                problems.push("empty error.message".into());
            }
        }
        (status, error) => problems.push(format!("status {status:?} with error {error:?}")),
    }
    if mirror.status == "ok" {
        match &mirror.audio {
            Some(a) => {
                let (Some(start), Some(end), Some(_), Some(_)) =
                    (a.speech_start_s, a.speech_end_s, a.peak_dbfs, a.rms_dbfs)
                else {
                    problems.push(format!(
                        "status ok with a null speech span or level: {line}"
                    ));
                    return problems;
                };
                if !(0.0 <= start && start < end && end <= a.duration_s) {
                    problems.push(format!("speech {start}–{end} outside 0–{}", a.duration_s));
                }
                if (a.speech_s - (end - start)).abs() > 0.0015 {
                    problems.push(format!(
                        "speech_s {} ≠ end − start {}",
                        a.speech_s,
                        end - start
                    ));
                }
                if a.segments.is_empty() {
                    problems.push("status ok without segments".into());
                }
            }
            None => problems.push("status ok without audio".into()),
        }
    }

    let keys: BTreeSet<&str> = mirror.timings_ms.keys().map(String::as_str).collect();
    let stages: &[&str] = match (via, mirror.status.as_str()) {
        (Via::Unreadable, _) => &[],
        (Via::Bytes, "failed") => &["total"],
        (Via::File, "failed") => &["read", "total"],
        (Via::Bytes, _) => &["decode", "resample", "total", "trim"],
        (Via::File, _) => &["decode", "read", "resample", "total", "trim"],
    };
    if keys != stages.iter().copied().collect() {
        problems.push(format!("timings_ms keys {keys:?}, expected {stages:?}"));
    }
    if let Some((k, v)) = mirror
        .timings_ms
        .iter()
        .find(|(_, v)| !(v.is_finite() && **v >= 0.0))
    {
        problems.push(format!("timings_ms.{k} = {v}"));
    }
    if mirror.source.path.as_deref() != expected_path {
        problems.push(format!(
            "source.path {:?}, expected {expected_path:?}",
            mirror.source.path
        ));
    }
    problems
        .into_iter()
        .map(|p| format!("{what}: {p}"))
        .collect()
}

/// A few real results (ok with beep and stop tone, ok from bytes with a Graph source,
/// no_speech, unsupported_format, a missing file) all pass the checks above.
#[test]
fn pipeline_results_follow_schema_v1() {
    let pipeline = pipeline_without_transcription(|_| {});
    let mut problems = Vec::new();
    let mut statuses = BTreeSet::new();

    for (name, status) in [
        ("pcm16-8000hz-mono-beep-speech-dtmf-hash.wav", "ok"),
        ("pcm16-16000hz-mono-silence-zeros.wav", "no_speech"),
        ("unsupported/plain-text.txt", "failed"),
    ] {
        let path = sample_path(name);
        let result = pipeline.process_file(&path);
        let shown = path.display().to_string();
        problems.extend(check_line(name, &result, Via::File, Some(&shown)));
        let json: Value = serde_json::from_str(&result.to_json_line()).expect("json");
        if json["status"] != status {
            problems.push(format!(
                "{name}: status {}, expected {status}",
                json["status"]
            ));
        }
        statuses.insert(status);
    }

    // The beep and stop tone objects are filled on the DTMF file.
    let result = pipeline.process_file(&sample_path("pcm16-8000hz-mono-beep-speech-dtmf-hash.wav"));
    let json: Value = serde_json::from_str(&result.to_json_line()).expect("json");
    if !json["audio"]["beep"].is_object() || json["audio"]["stop_tone"]["key"] != "#" {
        problems.push(format!("beep / stop tone missing: {}", json["audio"]));
    }

    // Unsupported text: error.kind in snake_case.
    let result = pipeline.process_file(&sample_path("unsupported/plain-text.txt"));
    let json: Value = serde_json::from_str(&result.to_json_line()).expect("json");
    if json["error"]["kind"] != "unsupported_format" || !json["audio"].is_null() {
        problems.push(format!("plain text: {json}"));
    }

    // From bytes, with every Graph source field set: they are written and pinned too.
    let bytes = std::fs::read(sample_path("pcm24-44100hz-stereo-speech.wav")).expect("read");
    let source = Source {
        path: None,
        call_id: Some("a1b2c3".into()),
        operation_id: Some("op-7".into()),
        client_context: Some("ctx".into()),
        result_info: Some(ResultInfo {
            code: Some(200),
            subcode: Some(8510),
            message: None,
        }),
        reason: Some("stop_tone_detected".into()),
    };
    let result = pipeline.process(&bytes, source);
    problems.extend(check_line("stereo from bytes", &result, Via::Bytes, None));
    let json: Value = serde_json::from_str(&result.to_json_line()).expect("json");
    let source_keys: Vec<&str> = json["source"]
        .as_object()
        .expect("source object")
        .keys()
        .map(String::as_str)
        .collect();
    if source_keys
        != [
            "call_id",
            "client_context",
            "operation_id",
            "reason",
            "result_info",
        ]
    {
        problems.push(format!("source keys {source_keys:?}"));
    }
    statuses.insert("ok");

    // A file that does not exist: failed, kind io, path named, no audio.
    let scratch = temp_dir("json-missing");
    let missing = scratch.path().join("no-such-file.wav");
    let result = pipeline.process_file(&missing);
    let shown = missing.display().to_string();
    problems.extend(check_line(
        "missing file",
        &result,
        Via::Unreadable,
        Some(&shown),
    ));
    if result.error.as_ref().map(|e| e.kind) != Some(ErrorKind::Io) {
        problems.push(format!("missing file: {:?}", result.error));
    }

    assert_eq!(statuses.len(), 3, "every status was produced");
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

/// A result with a transcript (built by hand: transcription is off in these tests) pins the
/// transcript's field names and round-trips.
#[test]
fn transcript_fields_are_pinned() {
    let mut result = pipeline_without_transcription(|_| {})
        .process_file(&sample_path("pcm16-16000hz-mono-speech.wav"));
    result.transcript = Some(Transcript {
        text: "Hi, this is Maria.".into(),
        language: "en".into(),
        language_probability: Some(0.875),
        segments: vec![TranscriptSegment {
            start_s: 0.8,
            end_s: 2.25,
            text: "Hi, this is Maria.".into(),
            confidence: 0.875,
            words: None,
        }],
        entities: Vec::new(),
        redactions: Vec::new(),
    });
    let path = sample_path("pcm16-16000hz-mono-speech.wav")
        .display()
        .to_string();
    let problems = check_line("with transcript", &result, Via::File, Some(&path));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let json: Value = serde_json::from_str(&result.to_json_line()).expect("json");
    let keys: Vec<&str> = json["transcript"]["segments"][0]
        .as_object()
        .expect("segment object")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["confidence", "end_s", "start_s", "text"]);
}

/// Entities, redactions and words (optional additions to v1) are pinned by the mirror, keep
/// their null fields (`e164`, `extension`), and round-trip; absent, they are omitted.
#[test]
fn entity_redaction_and_word_fields_are_pinned() {
    use callscribe::result::{EmailEntity, Entity, PhoneNumberEntity, RedactKind, Redaction, Word};

    let mut result = pipeline_without_transcription(|_| {})
        .process_file(&sample_path("pcm16-16000hz-mono-speech.wav"));
    let word = |text: &str, start_s, end_s| Word {
        text: text.into(),
        start_s,
        end_s,
        probability: 0.5,
    };
    result.transcript = Some(Transcript {
        text: "Call 555-0142 or bob@contoso.com, card [CARD]".into(),
        language: "en".into(),
        language_probability: None,
        segments: vec![TranscriptSegment {
            start_s: 0.8,
            end_s: 3.0,
            text: "Call 555-0142 or bob@contoso.com, card [CARD]".into(),
            confidence: 0.9,
            words: Some(vec![
                word("Call", 0.8, 1.0),
                word("555-0142", 1.0, 1.6),
                word("or", 1.6, 1.7),
                word("bob@contoso.com,", 1.7, 2.3),
                word("card", 2.3, 2.5),
                word("[CARD]", 2.5, 3.0),
            ]),
        }],
        entities: vec![
            Entity::PhoneNumber(PhoneNumberEntity {
                text: "555-0142".into(),
                e164: None,
                national: "5550142".into(),
                extension: None,
                start_s: 1.0,
                end_s: 1.6,
            }),
            Entity::Email(EmailEntity {
                text: "bob@contoso.com".into(),
                address: "bob@contoso.com".into(),
                start_s: 1.7,
                end_s: 2.3,
            }),
        ],
        redactions: vec![Redaction {
            kind: RedactKind::Card,
            start_s: 2.5,
            end_s: 3.0,
            luhn_valid: Some(false),
        }],
    });
    let path = sample_path("pcm16-16000hz-mono-speech.wav")
        .display()
        .to_string();
    let problems = check_line("with entities", &result, Via::File, Some(&path));
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let json: Value = serde_json::from_str(&result.to_json_line()).expect("json");
    let keys =
        |v: &Value| -> Vec<String> { v.as_object().expect("object").keys().cloned().collect() };
    let t = &json["transcript"];
    assert_eq!(
        keys(&t["entities"][0]),
        [
            "e164",
            "end_s",
            "extension",
            "national",
            "start_s",
            "text",
            "type"
        ]
    );
    assert_eq!(t["entities"][0]["type"], "phone_number");
    assert!(t["entities"][0]["e164"].is_null() && t["entities"][0]["extension"].is_null());
    assert_eq!(
        keys(&t["entities"][1]),
        ["address", "end_s", "start_s", "text", "type"]
    );
    assert_eq!(
        keys(&t["redactions"][0]),
        ["end_s", "luhn_valid", "start_s", "type"]
    );
    assert_eq!(t["redactions"][0]["type"], "card");
    assert_eq!(
        keys(&t["segments"][0]["words"][0]),
        ["end_s", "probability", "start_s", "text"]
    );
    // Unset, the additions are absent.
    if let Some(t) = result.transcript.as_mut() {
        t.entities.clear();
        t.redactions.clear();
        t.segments[0].words = None;
    }
    let json: Value = serde_json::from_str(&result.to_json_line()).expect("json");
    assert_eq!(
        keys(&json["transcript"]),
        ["language", "language_probability", "segments", "text"]
    );
    assert_eq!(
        keys(&json["transcript"]["segments"][0]),
        ["confidence", "end_s", "start_s", "text"]
    );
}

/// Every error kind serializes as its snake_case name and reads back, inside a failed result.
#[test]
fn every_error_kind_is_snake_case_in_json() {
    for kind in ErrorKind::ALL {
        let result = RecordingResult::failed(
            Source {
                path: Some("x.wav".into()),
                ..Source::default()
            },
            ErrorInfo {
                kind,
                message: "something went wrong".into(),
            },
        );
        let line = result.to_json_line();
        let mirror: ResultV1 =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("{kind:?}: {e}: {line}"));
        let error = mirror.error.expect("error");
        assert_eq!(error.kind, kind.as_str());
        assert!(is_snake_case(&error.kind), "{:?}", error.kind);
        let back: RecordingResult = serde_json::from_str(&line).expect("strict read");
        assert_eq!(back, result);
    }
}

/// The pins bite: an added field, a renamed field and a missing nullable field are each
/// rejected by the mirror. `RecordingResult` (`deny_unknown_fields`) rejects added and renamed
/// fields; it reads a missing `Option` field as `null`, as serde does, so only the mirror
/// catches a removed nullable field.
#[test]
fn strict_reading_rejects_a_changed_schema() {
    let result = pipeline_without_transcription(|_| {})
        .process_file(&sample_path("pcm16-8000hz-mono-beep-speech-dtmf-hash.wav"));
    let good: Value = serde_json::from_str(&result.to_json_line()).expect("json");
    // (what, changed JSON, RecordingResult must reject it too)
    let mut variants: Vec<(&str, Value, bool)> = Vec::new();

    let mut added = good.clone();
    added["extra"] = Value::Bool(true);
    variants.push(("added top-level field", added, true));

    let mut added_inner = good.clone();
    added_inner["audio"]["beep"]["level_dbfs"] = Value::from(-10.0);
    variants.push(("added beep field", added_inner, true));

    let mut renamed = good.clone();
    let audio = renamed["audio"].as_object_mut().expect("audio");
    let v = audio.remove("speech_start_s").expect("speech_start_s");
    audio.insert("speech_begin_s".into(), v);
    variants.push(("renamed audio field", renamed, true));

    let mut missing = good.clone();
    missing
        .as_object_mut()
        .expect("object")
        .remove("transcript");
    variants.push(("missing nullable field", missing, false));

    let mut missing_inner = good.clone();
    missing_inner["audio"]
        .as_object_mut()
        .expect("audio")
        .remove("stop_tone");
    variants.push(("missing nullable audio field", missing_inner, false));

    for (what, value, crate_rejects) in variants {
        let text = value.to_string();
        assert!(
            serde_json::from_str::<ResultV1>(&text).is_err(),
            "the v1 mirror accepted: {what}"
        );
        if crate_rejects {
            assert!(
                serde_json::from_str::<RecordingResult>(&text).is_err(),
                "RecordingResult accepted: {what}"
            );
        }
    }
    // And the unchanged value is accepted by both.
    let text = good.to_string();
    serde_json::from_str::<ResultV1>(&text).expect("mirror reads the original");
    serde_json::from_str::<RecordingResult>(&text).expect("RecordingResult reads the original");
}

/// `timings_ms` is typed: its keys are the stage names, written in sorted order as the map it
/// replaced wrote them, and a stage callscribe does not know is refused on reading.
#[test]
fn timings_keys_are_sorted_stage_names() {
    let result = pipeline_without_transcription(|_| {})
        .process_file(&sample_path("pcm16-8000hz-mono-beep-speech-dtmf-hash.wav"));
    let line = result.to_json_line();
    let timings = &line[line.find("\"timings_ms\":{").expect("timings_ms")..];
    let at = |key: &str| {
        timings
            .find(&format!("\"{key}\":"))
            .unwrap_or_else(|| panic!("no {key} in {timings}"))
    };
    let order = ["decode", "read", "resample", "total", "trim"].map(at);
    assert!(order.is_sorted(), "{timings}");

    let mut value: Value = serde_json::from_str(&line).expect("json");
    value["timings_ms"]["upload"] = Value::from(1.0);
    let text = value.to_string();
    serde_json::from_str::<ResultV1>(&text).expect("the mirror reads any stage name");
    assert!(serde_json::from_str::<RecordingResult>(&text).is_err());
}
