//! Entities and redaction: what a bot acts on in a transcript (phone numbers, email
//! addresses) and what must not leave the process (card numbers, SSNs, …).
//!
//! Runs after transcription, on the [`Transcript`] in memory, before the result is returned:
//! no sink, log or callback ever sees an unredacted value. Deterministic and bounded: one pass
//! over the words with a look-ahead of a few words, so the cost is linear in the transcript.
//!
//! The transcript is read as one sequence of words across segments (a number said over a
//! segment boundary is one number), three times: the segments (which give the times of what
//! is found), `text`, and the segments' `words`; each is redacted from its own reading, so a
//! value is replaced everywhere it appears however the three were built.
//!
//! - `numbers`: the spoken-number tokenizer (words → runs of digits)
//! - `phone`: runs → phone numbers valid for the default region (libphonenumber's metadata)
//! - `email`: written and spoken addresses
//! - `redact`: which words become which placeholder, and the replacing
//!
//! A callback-request flag is not offered: "call me back", "don't call me back", "I'll call you
//! back" differ in negation and in who calls, and telling them apart is guessing.

mod email;
mod numbers;
mod phone;
mod redact;

use crate::config::{EntityOptions, RedactSet};
use crate::error::{Error, Result};
use crate::pipeline::round_ms;
use crate::result::{
    EmailEntity, Entity, PhoneNumberEntity, RedactKind, Redaction, Transcript, TranscriptSegment,
};

/// Which language's number words are read: the transcript's language when it is one of these,
/// else `Any` (only the words that mean a number in all three).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lang {
    En,
    Es,
    Fr,
    Any,
}

impl Lang {
    fn of(code: &str) -> Self {
        match code {
            "en" => Self::En,
            "es" => Self::Es,
            "fr" => Self::Fr,
            _ => Self::Any,
        }
    }
    pub(crate) fn en(self) -> bool {
        self == Self::En
    }
    pub(crate) fn es(self) -> bool {
        self == Self::Es
    }
    pub(crate) fn fr(self) -> bool {
        self == Self::Fr
    }
}

/// Most digits an extension has ("extension 24", "poste 1234").
const MAX_EXTENSION_DIGITS: usize = 6;

/// Finds entities and redacts, built once from the configuration ([`crate::Pipeline::new`]).
#[derive(Debug, Clone)]
pub struct Annotator {
    entities: bool,
    region: phone::Region,
    redact: RedactSet,
}

/// What one reading of the words found, over word indices.
#[derive(Debug, Default)]
struct Found {
    /// Accepted redactions, in precedence order (not overlapping).
    spans: Vec<redact::Span>,
    /// Phone numbers, with the extension's digits and the last word it took.
    phones: Vec<(phone::Number, Option<String>)>,
    emails: Vec<email::Address>,
}

impl Annotator {
    /// Builds the annotator.
    ///
    /// Errors: `config` when the default region is not one libphonenumber knows.
    pub fn new(entities: &EntityOptions, redact: &RedactSet) -> Result<Self> {
        let region = phone::Region::new(&entities.default_region).ok_or_else(|| Error::Config {
            detail: format!(
                "unknown default region {:?} (an ISO 3166 code such as US, GB, FR, ES)",
                entities.default_region
            ),
        })?;
        Ok(Self {
            entities: entities.enabled,
            region,
            redact: redact.clone(),
        })
    }

    /// Whether [`Annotator::annotate`] does nothing (entities off, nothing to redact).
    pub fn is_noop(&self) -> bool {
        !self.entities && self.redact.is_empty()
    }

    /// Finds the entities of `transcript` and redacts it in place: `text`, every segment's
    /// text and every word. Fills `entities` (those of a redacted kind, or touching a redacted
    /// word, left out) and `redactions`. The replaced strings are zeroized.
    pub fn annotate(&self, transcript: &mut Transcript) {
        if self.is_noop() {
            return;
        }
        let lang = Lang::of(&transcript.language);

        // The segments: every word with its segment, byte range and time.
        let mut located: Vec<(usize, (usize, usize))> = Vec::new();
        let mut times: Vec<(f64, f64)> = Vec::new();
        for (s, segment) in transcript.segments.iter().enumerate() {
            let ranges = word_ranges(&segment.text);
            times.extend(word_times(segment, &ranges));
            located.extend(ranges.into_iter().map(|r| (s, r)));
        }
        let words: Vec<&str> = located
            .iter()
            .map(|&(s, (a, b))| &transcript.segments[s].text[a..b])
            .collect();
        let found = self.detect(&words, lang);
        let time = |first: usize, last: usize| {
            let start = times.get(first).map_or(0.0, |t| t.0);
            let end = times.get(last).map_or(start, |t| t.1).max(start);
            (round_ms(start), round_ms(end))
        };
        let text_of = |first: usize, last: usize| {
            let joined = words[first..=last].join(" ");
            joined
                .trim_end_matches(['.', ',', ';', ':', '!', '?'])
                .to_owned()
        };
        let mut entities: Vec<Entity> = Vec::new();
        if self.entities {
            let clear = |first, last| !found.spans.iter().any(|s| s.overlaps(first, last));
            for (number, extension) in &found.phones {
                if clear(number.first, number.last) {
                    let (start_s, end_s) = time(number.first, number.last);
                    entities.push(Entity::PhoneNumber(PhoneNumberEntity {
                        text: text_of(number.first, number.last),
                        e164: number.e164.clone(),
                        national: number.national.clone(),
                        extension: extension.clone(),
                        start_s,
                        end_s,
                    }));
                }
            }
            for address in &found.emails {
                if clear(address.first, address.last) {
                    let (start_s, end_s) = time(address.first, address.last);
                    entities.push(Entity::Email(EmailEntity {
                        text: text_of(address.first, address.last),
                        address: address.address.clone(),
                        start_s,
                        end_s,
                    }));
                }
            }
            entities.sort_by(|a, b| a.start_s().total_cmp(&b.start_s()));
        }
        let mut redactions: Vec<Redaction> = found
            .spans
            .iter()
            .map(|span| {
                let (start_s, end_s) = time(span.first, span.last);
                Redaction {
                    kind: span.kind,
                    start_s,
                    end_s,
                    luhn_valid: span.luhn,
                }
            })
            .collect();
        redactions.sort_by(|a, b| a.start_s.total_cmp(&b.start_s));
        drop(words);

        // Replace in the segments, span by span within each segment.
        if !found.spans.is_empty() {
            let mut per_segment: Vec<Vec<redact::Span>> =
                vec![Vec::new(); transcript.segments.len()];
            let mut ranges: Vec<Vec<(usize, usize)>> = vec![Vec::new(); transcript.segments.len()];
            let mut index_in_segment = Vec::with_capacity(located.len());
            for &(s, range) in &located {
                index_in_segment.push(ranges[s].len());
                ranges[s].push(range);
            }
            for span in &found.spans {
                // The span's words, cut at segment boundaries.
                let mut w = span.first;
                while w <= span.last {
                    let s = located[w].0;
                    let mut end = w;
                    while end < span.last && located[end + 1].0 == s {
                        end += 1;
                    }
                    per_segment[s].push(redact::Span {
                        first: index_in_segment[w],
                        last: index_in_segment[end],
                        ..span.clone()
                    });
                    w = end + 1;
                }
            }
            for ((segment, spans), ranges) in transcript
                .segments
                .iter_mut()
                .zip(&per_segment)
                .zip(&ranges)
            {
                redact::apply_to_text(&mut segment.text, ranges, spans);
            }
        }
        if !self.redact.is_empty() {
            // `text` and the words, each from its own reading.
            let ranges = word_ranges(&transcript.text);
            let text_words: Vec<&str> = ranges
                .iter()
                .map(|&(a, b)| &transcript.text[a..b])
                .collect();
            let spans = self.redactions_only(&text_words, lang);
            redact::apply_to_text(&mut transcript.text, &ranges, &spans);
            self.redact_words(&mut transcript.segments, lang);
        }
        transcript.entities = entities;
        transcript.redactions = redactions;
    }

    /// The redaction spans of a reading, without entities.
    fn redactions_only(&self, words: &[&str], lang: Lang) -> Vec<redact::Span> {
        let annotator = Self {
            entities: false,
            ..self.clone()
        };
        annotator.detect(words, lang).spans
    }

    /// Redacts the segments' words, read as one sequence across segments.
    fn redact_words(&self, segments: &mut [TranscriptSegment], lang: Lang) {
        let mut at: Vec<(usize, usize)> = Vec::new();
        for (s, segment) in segments.iter().enumerate() {
            if let Some(words) = &segment.words {
                at.extend((0..words.len()).map(|w| (s, w)));
            }
        }
        if at.is_empty() {
            return;
        }
        let spans = {
            let texts: Vec<&str> = at
                .iter()
                .filter_map(|&(s, w)| segments[s].words.as_ref().map(|ws| ws[w].text.as_str()))
                .collect();
            self.redactions_only(&texts, lang)
        };
        for span in spans {
            for &(s, w) in &at[span.first..=span.last.min(at.len() - 1)] {
                if let Some(word) = segments[s].words.as_mut().and_then(|ws| ws.get_mut(w)) {
                    redact::apply_to_word(&mut word.text, span.kind);
                }
            }
        }
    }

    /// Reads `words` once: runs of digits, phone numbers, addresses, and the redaction spans in
    /// precedence order (card, ssn, phone, email, digits), none overlapping an earlier one.
    fn detect(&self, words: &[&str], lang: Lang) -> Found {
        let runs = numbers::find_runs(words.iter().copied(), lang);
        let mut found = Found::default();
        let redacting = |kind| self.redact.contains(kind);
        if self.entities || redacting(RedactKind::Phone) {
            for (i, run) in runs.iter().enumerate() {
                for number in phone::numbers_in(run, &self.region) {
                    let extension = (number.last == run.last)
                        .then(|| extension_after(words, &runs, i))
                        .flatten();
                    let number = match &extension {
                        Some((_, last)) => phone::Number {
                            last: *last,
                            ..number
                        },
                        None => number,
                    };
                    found
                        .phones
                        .push((number, extension.map(|(digits, _)| digits)));
                }
            }
        }
        if self.entities || redacting(RedactKind::Email) {
            found.emails = email::find(words.iter().copied(), lang);
        }
        let mut spans: Vec<redact::Span> = Vec::new();
        let accept = |span: redact::Span, spans: &mut Vec<redact::Span>| {
            if !spans.iter().any(|s| s.overlaps(span.first, span.last)) {
                spans.push(span);
            }
        };
        for kind in self.redact.kinds() {
            match kind {
                RedactKind::Card => {
                    for span in runs.iter().filter_map(redact::card) {
                        accept(span, &mut spans);
                    }
                    for span in redact::card_fragments(&runs) {
                        accept(span, &mut spans);
                    }
                    for span in redact::card_context(words, &runs) {
                        accept(span, &mut spans);
                    }
                }
                RedactKind::Ssn => {
                    for span in runs.iter().filter_map(redact::ssn) {
                        accept(span, &mut spans);
                    }
                }
                RedactKind::Phone => {
                    for (number, _) in &found.phones {
                        let span =
                            redact::Span::plain(number.first, number.last, RedactKind::Phone);
                        accept(span, &mut spans);
                    }
                }
                RedactKind::Email => {
                    for address in &found.emails {
                        let span =
                            redact::Span::plain(address.first, address.last, RedactKind::Email);
                        accept(span, &mut spans);
                    }
                }
                RedactKind::Digits => {
                    for run in &runs {
                        for span in redact::digits(run, &spans) {
                            accept(span, &mut spans);
                        }
                    }
                }
            }
        }
        found.spans = spans;
        found
    }
}

/// The extension said after the run `runs[i]`: "extension" (or "ext", "extensión", "poste"),
/// then a run of at most [`MAX_EXTENSION_DIGITS`] digits, with only punctuation between.
/// Returns its digits and its last word.
fn extension_after(words: &[&str], runs: &[numbers::Run], i: usize) -> Option<(String, usize)> {
    let run = &runs[i];
    let keyword = run.last + 1;
    let word = words.get(keyword)?;
    let core = word
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    if !matches!(core.as_str(), "extension" | "ext" | "extensión" | "poste") {
        return None;
    }
    let next = runs.get(i + 1)?;
    let only_punctuation_between =
        (keyword + 1..next.first).all(|w| words[w].chars().all(|c| !c.is_alphanumeric()));
    (only_punctuation_between && next.digits.len() <= MAX_EXTENSION_DIGITS)
        .then(|| (next.digits.clone(), next.last))
}

/// Byte ranges of the whitespace-separated words of `text`.
fn word_ranges(text: &str) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, i));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, text.len()));
    }
    out
}

/// The time of each word of a segment: its `words` when they match the text word for word,
/// else spread over the segment in proportion to the bytes before the word (approximate, and
/// always inside the segment).
fn word_times(segment: &TranscriptSegment, ranges: &[(usize, usize)]) -> Vec<(f64, f64)> {
    let (start, end) = (segment.start_s, segment.end_s.max(segment.start_s));
    if let Some(words) = &segment.words {
        if words.len() == ranges.len() {
            return words
                .iter()
                .map(|w| {
                    let a = w.start_s.clamp(start, end);
                    (a, w.end_s.clamp(a, end))
                })
                .collect();
        }
    }
    let len = segment.text.len().max(1) as f64;
    ranges
        .iter()
        .map(|&(a, b)| {
            (
                start + (end - start) * a as f64 / len,
                start + (end - start) * b as f64 / len,
            )
        })
        .collect()
}
