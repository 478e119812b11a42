//! Criterion bench of entity extraction and redaction (`callscribe::entities`) on a 2-minute
//! voicemail transcript: 577 words in 20 segments of 6 s (more than the ~300 a caller says in 2
//! minutes, so an upper bound), with word timings, holding two callback numbers (one written, one
//! spoken digit by digit), a card number spoken over a segment boundary, an SSN and a spoken email
//! address.
//!
//! Groups: `entities` (phone numbers and email addresses only), `redact_all` (the same plus
//! `--redact all`), `redact_card` (`--redact card` with entities off). Each iteration clones the
//! transcript (measured separately as `clone`) and annotates it. Results: BENCHMARKS.md.

use std::hint::black_box;

use callscribe::config::{EntityOptions, RedactSet};
use callscribe::entities::Annotator;
use callscribe::result::{Transcript, TranscriptSegment, Word};
use criterion::{BatchSize, Criterion};

/// Filler sentences a caller says around the numbers.
const FILLER: &[&str] = &[
    "Hi, this is Maria calling from the billing department at Contoso about your account.",
    "I wanted to follow up on the invoice we sent last week, it seems there was a mix up.",
    "We can go over the details when you have a moment, there is no rush at all.",
    "If it is easier, you can also stop by the office any time before five on weekdays.",
    "Thanks again for your patience, and I hope the rest of your week goes well.",
];

/// The 20 segments' texts: filler, with the entities placed in segments 3, 7–8, 11, 15.
fn segment_texts() -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..20 {
        let text = match i {
            3 => "You can call me back at 425-555-0142, that is my direct line, any time today.".to_owned(),
            7 => "The card on file is four one one one, one one one one, one one one one,".to_owned(),
            8 => "one one one one, and it was declined twice, so please give us a call back soon.".to_owned(),
            11 => "My colleague is at two oh six, five five five, oh one nine nine, extension two four.".to_owned(),
            15 => "Or email me at maria dot lopez at contoso dot com, and include the number 123-45-6789.".to_owned(),
            _ => format!("{} {}", FILLER[i % FILLER.len()], FILLER[(i + 2) % FILLER.len()]),
        };
        out.push(text);
    }
    out
}

fn transcript() -> Transcript {
    let segments: Vec<TranscriptSegment> = segment_texts()
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            let start_s = 6.0 * i as f64;
            let parts: Vec<&str> = text.split_whitespace().collect();
            let step = 6.0 / parts.len() as f64;
            let words = parts
                .iter()
                .enumerate()
                .map(|(w, p)| Word {
                    text: (*p).to_owned(),
                    start_s: start_s + step * w as f64,
                    end_s: start_s + step * (w + 1) as f64,
                    probability: 0.8,
                })
                .collect();
            TranscriptSegment {
                start_s,
                end_s: start_s + 6.0,
                text,
                confidence: 0.8,
                words: Some(words),
            }
        })
        .collect();
    Transcript {
        text: segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        language: "en".into(),
        language_probability: None,
        segments,
        entities: Vec::new(),
        redactions: Vec::new(),
    }
}

fn annotator(entities: bool, redact: RedactSet) -> Annotator {
    let options = EntityOptions {
        enabled: entities,
        default_region: "US".into(),
    };
    Annotator::new(&options, &redact).expect("annotator")
}

fn main() {
    let t = transcript();
    let words: usize = t
        .segments
        .iter()
        .map(|s| s.text.split_whitespace().count())
        .sum();
    // What the bench works on, checked once: the entities and redactions are found.
    let mut check = t.clone();
    annotator(true, RedactSet::all()).annotate(&mut check);
    eprintln!(
        "2-minute transcript: {words} words, {} segments; --redact all: {} redactions",
        t.segments.len(),
        check.redactions.len(),
    );
    assert_eq!(check.redactions.len(), 5, "{:?}", check.redactions);
    let mut found = t.clone();
    annotator(true, RedactSet::none()).annotate(&mut found);
    assert_eq!(found.entities.len(), 3, "{:?}", found.entities);

    let mut c = Criterion::default().configure_from_args();
    let groups = [
        ("entities", annotator(true, RedactSet::none())),
        ("redact_all", annotator(true, RedactSet::all())),
        (
            "redact_card",
            annotator(false, RedactSet::parse("card").expect("card")),
        ),
    ];
    c.bench_function("clone", |b| b.iter(|| black_box(t.clone())));
    for (name, a) in &groups {
        // Warm the phone-number metadata and its regex cache outside the measurement.
        a.annotate(&mut t.clone());
        c.bench_function(name, |b| {
            b.iter_batched(
                || t.clone(),
                |mut t| {
                    a.annotate(&mut t);
                    t
                },
                BatchSize::SmallInput,
            )
        });
    }
    c.final_summary();
}
