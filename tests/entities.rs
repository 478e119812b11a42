//! Entities and redaction on transcripts built by hand: a table of transcript strings (English,
//! Spanish and French number words) with the expected entities, redacted text and redactions;
//! redaction across segment boundaries and in words; bad input stays bounded.

use std::time::{Duration, Instant};

use callscribe::config::{EntityOptions, RedactSet};
use callscribe::entities::Annotator;
use callscribe::result::{Entity, RedactKind, Transcript, TranscriptSegment, Word};
use proptest::prelude::*;

/// A transcript of `segments` ("|" in `text` separates segments), 2 s each from 1 s.
pub fn transcript(text: &str, language: &str) -> Transcript {
    let segments: Vec<TranscriptSegment> = text
        .split('|')
        .enumerate()
        .map(|(i, t)| TranscriptSegment {
            start_s: 1.0 + 2.0 * i as f64,
            end_s: 3.0 + 2.0 * i as f64,
            text: t.trim().to_owned(),
            confidence: 0.9,
            words: None,
        })
        .collect();
    Transcript {
        text: segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" "),
        language: language.to_owned(),
        language_probability: None,
        segments,
        entities: Vec::new(),
        redactions: Vec::new(),
    }
}

/// Every segment's words, spread evenly over it.
pub fn with_words(mut t: Transcript) -> Transcript {
    for s in &mut t.segments {
        let parts: Vec<&str> = s.text.split_whitespace().collect();
        let step = (s.end_s - s.start_s) / parts.len().max(1) as f64;
        s.words = Some(
            parts
                .iter()
                .enumerate()
                .map(|(i, w)| Word {
                    text: (*w).to_owned(),
                    start_s: s.start_s + step * i as f64,
                    end_s: s.start_s + step * (i + 1) as f64,
                    probability: 0.8,
                })
                .collect(),
        );
    }
    t
}

pub fn annotator(region: &str, redact: &str) -> Annotator {
    let options = EntityOptions {
        enabled: true,
        default_region: region.to_owned(),
    };
    Annotator::new(&options, &RedactSet::parse(redact).expect("redact spec")).expect("annotator")
}

/// Entities as short strings: `phone:<e164 or ->:<national>[:x<ext>]`, `email:<address>`.
fn entity_strings(t: &Transcript) -> Vec<String> {
    t.entities
        .iter()
        .map(|e| match e {
            Entity::PhoneNumber(p) => {
                let mut s = format!("phone:{}:{}", p.e164.as_deref().unwrap_or("-"), p.national);
                if let Some(x) = &p.extension {
                    s.push_str(&format!(":x{x}"));
                }
                s
            }
            Entity::Email(e) => format!("email:{}", e.address),
        })
        .collect()
}

struct Case {
    lang: &'static str,
    region: &'static str,
    redact: &'static str,
    text: &'static str,
    entities: &'static [&'static str],
    /// The redacted text; `None`: unchanged.
    redacted: Option<&'static str>,
    /// Redaction types in time order, with `+`/`-` for the Luhn result of cards.
    redactions: &'static [&'static str],
}

const fn case(
    lang: &'static str,
    redact: &'static str,
    text: &'static str,
    entities: &'static [&'static str],
    redacted: Option<&'static str>,
    redactions: &'static [&'static str],
) -> Case {
    Case {
        lang,
        region: "US",
        redact,
        text,
        entities,
        redacted,
        redactions,
    }
}

const NONE: &[&str] = &[];

#[rustfmt::skip]
const CASES: &[Case] = &[
    // Written numbers, as Whisper writes them.
    case("en", "", "Call me back at 425-555-0142.", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "Call me at 555-0142.", &["phone:-:5550142"], None, NONE),
    case("en", "", "My number is 5550142, thanks.", &["phone:-:5550142"], None, NONE),
    case("en", "", "It's (425) 555-0142.", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "It's 425.555.0142", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "Reach me on 4255550142 any time", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "That's 1-425-555-0142.", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "Call +1 425 555 0142 please", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "Call +44 20 7946 0958 in London", &["phone:+442079460958:2079460958"], None, NONE),
    case("en", "", "the toll free is 1-800-555-0199", &["phone:+18005550199:8005550199"], None, NONE),
    // Spoken digits.
    case("en", "", "five five five, zero one four two", &["phone:-:5550142"], None, NONE),
    case("en", "", "It's four two five, five five five, oh one four two.", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "four two five triple five oh one four two", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "four two five five five five double oh four two", &["phone:+14255550042:4255550042"], None, NONE),
    case("en", "", "plus one four two five five five five zero one four two", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "one eight hundred five five five zero one nine nine", &["phone:+18005550199:8005550199"], None, NONE),
    case("en", "", "four twenty five, five five five, zero one four two", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "Oh, hi, it's Dana. Five five five, oh one four two.", &["phone:-:5550142"], None, NONE),
    case("en", "", "425 555 0142 extension 24", &["phone:+14255550142:4255550142:x24"], None, NONE),
    case("en", "", "425-555-0142, ext. 301", &["phone:+14255550142:4255550142:x301"], None, NONE),
    case("en", "", "four two five five five five zero one four two extension twenty four", &["phone:+14255550142:4255550142:x24"], None, NONE),
    case("en", "", "425 555 0142 or 206 555 0199", &["phone:+14255550142:4255550142", "phone:+12065550199:2065550199"], None, NONE),
    case("en", "", "425 555 0142 206 555 0199", &["phone:+14255550142:4255550142", "phone:+12065550199:2065550199"], None, NONE),
    case("en", "", "Call 425 555|0142 tomorrow", &["phone:+14255550142:4255550142"], None, NONE),
    case("en", "", "It's ٤٢٥ ٥٥٥ ٠١٤٢", &["phone:+14255550142:4255550142"], None, NONE),
    // Not phone numbers.
    case("en", "", "I paid $2,500,000 for it", NONE, None, NONE),
    case("en", "", "See you at 10:30 on the 12th", NONE, None, NONE),
    case("en", "", "the code is 1234567", NONE, None, NONE),
    case("en", "", "call 911", NONE, None, NONE),
    case("en", "", "one two three", NONE, None, NONE),
    case("en", "", "Order 4111 1111 1111 1111 shipped", NONE, None, NONE),
    case("en", "", "no one called", NONE, None, NONE),
    case("en", "", "I have two kids and three dogs", NONE, None, NONE),
    // Email.
    case("en", "", "email john dot smith at contoso dot com", &["email:john.smith@contoso.com"], None, NONE),
    case("en", "", "write to John.Smith@Contoso.com.", &["email:john.smith@contoso.com"], None, NONE),
    case("en", "", "it's jane underscore doe at fabrikam dot co dot uk", &["email:jane_doe@fabrikam.co.uk"], None, NONE),
    case("en", "", "email me at contoso dot com", NONE, None, NONE),
    case("en", "", "I'll be at home at six", NONE, None, NONE),
    case("en", "", "call 555-0142 or mail bob at contoso.com", &["phone:-:5550142", "email:bob@contoso.com"], None, NONE),
    // Redaction: cards.
    case("en", "card", "My card is 4111 1111 1111 1111, expiry soon", NONE, Some("My card is [CARD], expiry soon"), &["card+"]),
    case("en", "card", "card 4111-1111-1111-1112 thanks", NONE, Some("card [CARD] thanks"), &["card-"]),
    case("en", "card", "four one one one one one one one one one one one one one one one", NONE, Some("[CARD]"), &["card+"]),
    case("en", "card", "It's 4111 1111|1111 1111 okay", NONE, Some("It's [CARD] okay"), &["card+"]),
    case("en", "card", "3782 822463 10005", NONE, Some("[CARD]"), &["card+"]),
    case("en", "card", "the number is 4111111111111111.", NONE, Some("the number is [CARD]."), &["card+"]),
    case("en", "card", "4111 triple one 1 1111 1111", NONE, Some("[CARD]"), &["card+"]),
    case("en", "card", "call 425-555-0142 about card 5500 0000 0000 0004", &["phone:+14255550142:4255550142"], Some("call 425-555-0142 about card [CARD]"), &["card+"]),
    case("en", "card", "reference 12345678901234567890123", NONE, Some("reference [CARD]"), &["card"]),
    case("en", "card", "a short 1234 5678 stays", NONE, None, NONE),
    case("en", "card", "my visa is 4 near 12 888 888 888 thanks, call 555-0142", NONE, Some("my visa is [CARD] near [CARD] thanks, call [CARD]"), &["card", "card", "card"]),
    case("en", "card", "card 4111 1111 1111 1111 then call 555-0142", &["phone:-:5550142"], Some("card [CARD] then call 555-0142"), &["card+"]),
    // Redaction: SSN, phone, email, digits, all.
    case("en", "ssn", "my social is 123-45-6789.", NONE, Some("my social is [SSN]."), &["ssn"]),
    case("en", "ssn", "one two three four five six seven eight nine", NONE, Some("[SSN]"), &["ssn"]),
    case("en", "ssn", "not 666-12-3456 though", NONE, None, NONE),
    case("en", "phone", "Call me at 425-555-0142.", NONE, Some("Call me at [PHONE]."), &["phone"]),
    case("en", "phone", "five five five, oh one four two, thanks", NONE, Some("[PHONE], thanks"), &["phone"]),
    case("en", "phone", "425 555 0142 extension 24 please", NONE, Some("[PHONE] please"), &["phone"]),
    case("en", "email", "mail john dot smith at contoso dot com now", NONE, Some("mail [EMAIL] now"), &["email"]),
    case("en", "email", "call 555-0142", &["phone:-:5550142"], None, NONE),
    case("en", "digits", "account 12345, pin 9876, at 3:30", NONE, Some("account [DIGITS], pin [DIGITS], at 3:30"), &["digits", "digits"]),
    case("en", "digits", "call 555-0142", NONE, Some("call [DIGITS]"), &["digits"]),
    case("en", "all", "card 4111 1111 1111 1111 ssn 123-45-6789 call 555-0142 mail bob at contoso.com pin 2468", NONE,
        Some("card [CARD] ssn [SSN] call [PHONE] mail [EMAIL] pin [DIGITS]"), &["card+", "ssn", "phone", "email", "digits"]),
    // Spanish.
    case("es", "", "Llámame al seis uno dos, tres cuatro cinco, seis siete ocho", &["phone:+34612345678:612345678"], None, NONE),
    case("es", "", "mi número es 612 34 56 78", &["phone:+34612345678:612345678"], None, NONE),
    case("es", "card", "la tarjeta es cuatro uno uno uno, uno uno uno uno, uno uno uno uno, uno uno uno uno", NONE, Some("la tarjeta es [CARD]"), &["card+"]),
    case("es", "", "escribe a juan punto perez arroba contoso punto es", &["email:juan.perez@contoso.es"], None, NONE),
    case("es", "", "una casa y dos perros", NONE, None, NONE),
    // French.
    case("fr", "", "Rappelez-moi au zéro six, douze, trente-quatre, cinquante-six, soixante-dix-huit", &["phone:+33612345678:612345678"], None, NONE),
    case("fr", "", "mon numéro est le 06 12 34 56 78", &["phone:+33612345678:612345678"], None, NONE),
    case("fr", "", "zéro un, quarante-deux, quatre-vingt-douze, zéro zéro, onze", &["phone:+33142920011:142920011"], None, NONE),
    case("fr", "card", "la carte quatre un un un un un un un un un un un un un un un", NONE, Some("la carte [CARD]"), &["card+"]),
    case("fr", "", "écrivez à jean point dupont arobase orange point fr", &["email:jean.dupont@orange.fr"], None, NONE),
    case("fr", "", "un rendez-vous à deux heures", NONE, None, NONE),
];

#[test]
fn transcript_table() {
    assert!(CASES.len() >= 60, "{} cases", CASES.len());
    let mut failures = Vec::new();
    for (i, c) in CASES.iter().enumerate() {
        let region = match c.lang {
            "es" => "ES",
            "fr" => "FR",
            _ => c.region,
        };
        let mut t = with_words(transcript(c.text, c.lang));
        let original = t.text.clone();
        annotator(region, c.redact).annotate(&mut t);
        let entities = entity_strings(&t);
        let expected_text = c.redacted.unwrap_or(&original).to_owned();
        let redactions: Vec<String> = t
            .redactions
            .iter()
            .map(|r| match r.luhn_valid {
                Some(true) => format!("{}+", r.kind),
                Some(false) => format!("{}-", r.kind),
                None => r.kind.to_string(),
            })
            .collect();
        if entities != c.entities || t.text != expected_text || redactions != c.redactions {
            failures.push(format!(
                "#{i} {:?} [{}]\n   entities {entities:?} (want {:?})\n   text {:?} (want {expected_text:?})\n   redactions {redactions:?} (want {:?})",
                c.text, c.redact, c.entities, t.text, c.redactions
            ));
        }
        // The words say what the segments say; entity and redaction times lie in the speech.
        let words: Vec<&str> = t
            .segments
            .iter()
            .flat_map(|s| s.words.iter().flatten().map(|w| w.text.as_str()))
            .collect();
        let segments: Vec<&str> = t.segments.iter().map(|s| s.text.as_str()).collect();
        let end = t.segments.last().map_or(0.0, |s| s.end_s);
        for e in &t.entities {
            assert!(1.0 <= e.start_s() && e.start_s() <= e.end_s() && e.end_s() <= end);
        }
        if !c.redact.is_empty() {
            let digits_in = |s: &str| s.chars().filter(char::is_ascii_digit).count();
            let words_joined = words.join(" ");
            if c.redact.contains("card") || c.redact == "all" {
                for s in segments
                    .iter()
                    .chain([&t.text.as_str(), &words_joined.as_str()])
                {
                    assert!(digits_in(s) < 13, "#{i}: digits left in {s:?}");
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

/// The longest run of digits in `text` with nothing but punctuation and spaces between them;
/// a whole word that is an English digit word counts as one digit (in any language: stricter
/// than the tokenizer, which reads "oh" as zero only in English).
fn longest_digit_run(text: &str) -> usize {
    longest_digit_run_in(text, "en")
}

fn longest_digit_run_in(text: &str, language: &str) -> usize {
    const WORDS: [&str; 11] = [
        "zero", "oh", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
    ];
    let (mut run, mut longest) = (0usize, 0usize);
    for word in text.split_whitespace() {
        let core = word
            .trim_matches(|c: char| !c.is_alphanumeric())
            .to_lowercase();
        if WORDS.contains(&core.as_str()) && (language == "en" || core != "oh") {
            run += 1;
            longest = longest.max(run);
            continue;
        }
        for c in word.chars() {
            if c.is_ascii_digit() || ('٠'..='٩').contains(&c) || ('０'..='９').contains(&c) {
                run += 1;
                longest = longest.max(run);
            } else if c.is_alphanumeric() {
                run = 0;
            }
        }
    }
    longest
}

/// Every string of a transcript a sink could see: text, segments, words, entities.
fn outputs(t: &Transcript) -> Vec<String> {
    let mut out = vec![t.text.clone()];
    for s in &t.segments {
        out.push(s.text.clone());
        if let Some(words) = &s.words {
            out.push(
                words
                    .iter()
                    .map(|w| w.text.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
    }
    for e in &t.entities {
        match e {
            Entity::PhoneNumber(p) => out.extend([
                p.text.clone(),
                p.e164.clone().unwrap_or_default(),
                p.national.clone(),
                p.extension.clone().unwrap_or_default(),
            ]),
            Entity::Email(e) => out.extend([e.text.clone(), e.address.clone()]),
        }
    }
    out
}

#[test]
fn a_card_over_a_segment_boundary_is_redacted_in_both_segments_and_every_word() {
    let mut t = with_words(transcript(
        "my card is four one one one, one one one one,|one one one one, one one one one. Thanks",
        "en",
    ));
    annotator("US", "card").annotate(&mut t);
    assert_eq!(t.segments[0].text, "my card is [CARD],");
    assert_eq!(t.segments[1].text, "[CARD]. Thanks");
    assert_eq!(t.text, "my card is [CARD]. Thanks");
    let words: Vec<&str> = t
        .segments
        .iter()
        .flat_map(|s| s.words.iter().flatten())
        .map(|w| w.text.as_str())
        .collect();
    assert_eq!(
        words.iter().filter(|w| w.starts_with("[CARD]")).count(),
        16,
        "{words:?}"
    );
    assert_eq!(t.redactions.len(), 1);
    let r = &t.redactions[0];
    assert_eq!((r.kind, r.luhn_valid), (RedactKind::Card, Some(true)));
    assert!(
        r.start_s >= 1.0 && r.start_s < 3.0 && r.end_s > 3.0 && r.end_s <= 5.0,
        "{r:?}"
    );
    let json = serde_json::to_string(&t).expect("json");
    assert!(
        !json.contains("four one") && !json.contains("one one"),
        "{json}"
    );
}

#[test]
fn entity_times_come_from_the_words() {
    let mut t = with_words(transcript("hi call five five five oh one four two", "en"));
    annotator("US", "").annotate(&mut t);
    let [Entity::PhoneNumber(p)] = t.entities.as_slice() else {
        panic!("{:?}", t.entities)
    };
    // 9 words over 1–3 s: the number is words 2..=8.
    assert_eq!((p.start_s, p.end_s), (1.444, 3.0));
    assert_eq!(p.text, "five five five oh one four two");
}

#[test]
fn an_unknown_region_is_a_config_error() {
    let options = EntityOptions {
        enabled: true,
        default_region: "XX".into(),
    };
    let err = Annotator::new(&options, &RedactSet::none()).expect_err("XX");
    assert_eq!(err.kind(), callscribe::ErrorKind::Config);
    assert!(RedactSet::parse("card,bogus").is_err());
    assert_eq!(RedactSet::parse("all").expect("all"), RedactSet::all());
    assert_eq!(
        RedactSet::parse("SSN, card").expect("list").kinds(),
        [RedactKind::Card, RedactKind::Ssn]
    );
}

/// Thousands of digits, written, spoken or in other scripts, in one word or over many
/// segments: bounded time, no panic, nothing of a card length left.
#[test]
fn bad_input_is_bounded() {
    let written = "4".repeat(20_000);
    let spoken = "five ".repeat(5_000);
    let arabic = "٥".repeat(5_000);
    let split: String = (0..2_000)
        .map(|i| if i % 7 == 6 { "1|" } else { "1 " })
        .collect();
    let mixed: String = (0..3_000)
        .map(|i| format!("{} oh double triple plus extension - ", i % 10))
        .collect();
    let dashes = "- ".repeat(10_000);
    for text in [written, spoken, arabic, split, mixed, dashes] {
        let mut t = with_words(transcript(&text, "en"));
        let started = Instant::now();
        annotator("US", "all").annotate(&mut t);
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(2),
            "{took:?} for {}…",
            &text[..20]
        );
        for s in outputs(&t) {
            assert!(longest_digit_run(&s) < 13, "{}…", &s[..s.len().min(80)]);
        }
    }
}

fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "0",
        "1",
        "4",
        "9",
        "٥",
        "５",
        "12",
        "4111",
        "-",
        ".",
        ",",
        " ",
        " ",
        " ",
        "|",
        "a",
        "x",
        "one ",
        "five ",
        "oh ",
        "double ",
        "triple ",
        "plus ",
        "extension ",
        "dot ",
        "at ",
        "hundred ",
        "twenty ",
        "cinco ",
        "zéro ",
        "(",
        ")",
        "+",
        "$",
        ":",
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    /// Whatever the text, `--redact card` leaves no run of 13 or more digits in any output.
    #[test]
    fn card_redaction_leaves_no_long_digit_run(
        parts in prop::collection::vec(token(), 0..120),
        words in any::<bool>(),
        language in prop::sample::select(vec!["en", "es", "fr", "de"]),
    ) {
        let text: String = parts.concat();
        let mut t = transcript(&text, language);
        if words {
            t = with_words(t);
        }
        annotator("US", "card").annotate(&mut t);
        for s in outputs(&t) {
            prop_assert!(longest_digit_run_in(&s, language) < 13, "{:?} → {:?}", text, s);
        }
    }

    /// Entities and redactions lie inside the speech (the segments), start before they end.
    #[test]
    fn entity_times_lie_inside_the_speech_span(
        parts in prop::collection::vec(token(), 0..120),
        start in 0.0f64..100.0,
        lengths in prop::collection::vec(0.0f64..10.0, 1..6),
    ) {
        let text: String = parts.concat();
        let mut t = with_words(transcript(&text, "en"));
        let mut at = start;
        for (s, len) in t.segments.iter_mut().zip(lengths.iter().cycle()) {
            let shift = at - s.start_s;
            s.start_s = at;
            s.end_s = at + len;
            for w in s.words.iter_mut().flatten() {
                w.start_s = (w.start_s + shift).min(at + len);
                w.end_s = (w.end_s + shift).min(at + len);
            }
            at += len;
        }
        let end = at;
        annotator("US", "card,ssn,digits").annotate(&mut t);
        let ok = |a: f64, b: f64| start - 1e-3 <= a && a <= b && b <= end + 1e-3;
        for e in &t.entities {
            prop_assert!(ok(e.start_s(), e.end_s()), "{:?} outside {start}–{end}", e);
        }
        for r in &t.redactions {
            prop_assert!(ok(r.start_s, r.end_s), "{:?} outside {start}–{end}", r);
        }
    }
}
