//! Synthesized voicemails (tests/fixtures/voicemail-numbers/) leaving a callback number or a
//! card number, through the real model (tiny.en): the callback number comes out in E.164
//! wherever the transcript got its digits right, no four digits of a card in a row survive
//! `--redact card`, word timings are monotone and inside their segments; prints how often the
//! digits were right, with and without a `--prompt`.

use std::path::PathBuf;

use callscribe::config::RedactSet;
use callscribe::result::{Entity, RedactKind, Transcript};
use callscribe::{Pipeline, PipelineConfig};

use crate::support::model::{model_lock, repo_path, require_model};

const DIR: &str = "tests/fixtures/voicemail-numbers";

/// The prompt compared with none: it shows Whisper the digit-by-digit way numbers are written.
const PROMPT: &str =
    "Voicemail. Call me back at 425-555-0142. My card number is 4111 1111 1111 1111.";

/// One row of `voicemails.tsv`.
struct Voicemail {
    name: String,
    kind: String,
    /// `+1…` (`;ext` for an extension) or the card's digits.
    expected: String,
}

fn voicemails() -> Vec<Voicemail> {
    let table = std::fs::read_to_string(repo_path(&format!("{DIR}/voicemails.tsv")))
        .expect("voicemails.tsv");
    table
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 4, "{line}");
            Voicemail {
                name: cols[0].to_owned(),
                kind: cols[2].to_owned(),
                expected: cols[3].to_owned(),
            }
        })
        .collect()
}

fn wav(name: &str) -> PathBuf {
    repo_path(&format!("{DIR}/{name}.wav"))
}

/// The digits a transcript says, in order, read independently of `callscribe::entities`:
/// written digits, English digit words ("oh" = 0), "double"/"triple" before a digit word and
/// "hundred" after one ("eight hundred" = 800).
fn said_digits(text: &str) -> String {
    let word_digit = |w: &str| -> Option<char> {
        let d = match w {
            "zero" | "oh" | "o" => '0',
            "one" => '1',
            "two" => '2',
            "three" => '3',
            "four" => '4',
            "five" => '5',
            "six" => '6',
            "seven" => '7',
            "eight" => '8',
            "nine" => '9',
            _ => return None,
        };
        Some(d)
    };
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| c.is_whitespace() || matches!(c, '-' | ',' | '.' | '?' | '!'))
        .filter(|w| !w.is_empty())
        .collect();
    let mut out = String::new();
    let mut repeat = 1;
    for w in words {
        if w.chars().any(|c| c.is_ascii_digit()) {
            out.extend(w.chars().filter(char::is_ascii_digit));
        } else if let Some(d) = word_digit(w) {
            out.extend(std::iter::repeat_n(d, repeat));
        } else if w == "hundred" {
            out.push_str("00");
        }
        repeat = match w {
            "double" => 2,
            "triple" => 3,
            _ => 1,
        };
    }
    out
}

fn pipeline(model: PathBuf, prompt: Option<&str>, redact: RedactSet) -> Pipeline {
    let mut config = PipelineConfig::default();
    config.transcribe.model = model;
    config.transcribe.prompt = prompt.map(str::to_owned);
    config.transcribe.word_timestamps = true;
    config.redact = redact;
    crate::support::model::find_speech_as_the_cli_does(&mut config);
    Pipeline::new(config).expect("pipeline")
}

fn transcript_of(pipeline: &Pipeline, name: &str) -> Transcript {
    let result = pipeline.process_file(&wav(name));
    result
        .transcript
        .unwrap_or_else(|| panic!("{name}: no transcript: {:?}", result.error))
}

/// Words inside their segment, in order.
fn assert_words_fit(name: &str, t: &Transcript) {
    for s in &t.segments {
        let words = s
            .words
            .as_ref()
            .unwrap_or_else(|| panic!("{name}: no words"));
        assert!(!words.is_empty(), "{name}: a segment without words: {s:?}");
        let mut floor = s.start_s;
        for w in words {
            assert!(
                floor <= w.start_s && w.start_s <= w.end_s && w.end_s <= s.end_s,
                "{name}: word {w:?} out of order or outside {}–{}",
                s.start_s,
                s.end_s
            );
            assert!((0.0..=1.0).contains(&w.probability));
            floor = w.end_s;
        }
    }
}

#[test]
fn callback_numbers_in_e164_and_card_digits_redacted() {
    let Some(model) = require_model() else { return };
    let _lock = model_lock();
    let voicemails = voicemails();
    assert!(voicemails.len() >= 10);
    let mut report = Vec::new();
    let mut failures = Vec::new();
    for prompt in [None, Some(PROMPT)] {
        let plain = pipeline(model.clone(), prompt, RedactSet::none());
        let mut right = 0;
        for v in &voicemails {
            let t = transcript_of(&plain, &v.name);
            assert_words_fit(&v.name, &t);
            let (number, extension) = v.expected.split_once(';').unwrap_or((&v.expected, ""));
            let wanted = number.trim_start_matches("+1");
            let said = said_digits(&t.text);
            let got_digits = said.contains(wanted);
            right += usize::from(got_digits);
            report.push(format!(
                "{:<8} {:<45} digits {} {:?}",
                if prompt.is_some() { "prompt" } else { "none" },
                v.name,
                if got_digits { "right" } else { "WRONG" },
                t.text
            ));
            if v.kind == "phone" && got_digits {
                let found = t.entities.iter().any(|e| match e {
                    Entity::PhoneNumber(p) => {
                        p.e164.as_deref() == Some(number)
                            && p.extension.as_deref().unwrap_or("") == extension
                    }
                    Entity::Email(_) => false,
                });
                if !found {
                    failures.push(format!(
                        "{}: the transcript has the digits but no {number} entity: {:?} {:?}",
                        v.name, t.text, t.entities
                    ));
                }
            }
        }
        report.push(format!(
            "{}: digits right in {right} of {} voicemails",
            if prompt.is_some() {
                "with --prompt"
            } else {
                "without prompt"
            },
            voicemails.len()
        ));
    }

    // No four digits of a card in a row survive --redact card, however the model wrote them.
    // `--redact card` takes every run of 13 or more digits and the shorter runs near a card
    // word or a whole card (README); a digit word elsewhere, such as the "one" of a misheard
    // "go near one", is nobody's card and may stay. Surviving digits are joined across words
    // (said_digits), so pieces of a card split by other words count as a row too.
    let redacting = pipeline(model.clone(), None, RedactSet::of(&[RedactKind::Card]));
    let plain = pipeline(model.clone(), None, RedactSet::none());
    for v in voicemails.iter().filter(|v| v.kind == "card") {
        let said = said_digits(&transcript_of(&plain, &v.name).text);
        let t = transcript_of(&redacting, &v.name);
        let mut outputs = vec![t.text.clone()];
        for s in &t.segments {
            outputs.push(s.text.clone());
            outputs.extend(s.words.iter().flatten().map(|w| w.text.clone()));
        }
        for s in &outputs {
            let left = said_digits(s);
            if left
                .as_bytes()
                .windows(4)
                .any(|w| v.expected.as_bytes().windows(4).any(|c| c == w))
            {
                failures.push(format!(
                    "{}: card digits left in {s:?} ({:?})",
                    v.name, t.redactions
                ));
            }
        }
        // Whisper may have written no digits at all (tiny.en heard "four one one one" as
        // "before work"); when it wrote a card's worth, a card was redacted.
        if said.len() >= 13 && !t.redactions.iter().any(|r| r.kind == RedactKind::Card) {
            failures.push(format!("{}: nothing redacted: {:?}", v.name, t.text));
        }
        report.push(format!(
            "redacted {:<37} {:?} {:?}",
            v.name, t.text, t.redactions
        ));
    }
    eprintln!("{}", report.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
