//! Redaction: which words are replaced by which placeholder, and the replacing itself.
//!
//! Over-redaction is the safe side: every run of 13 or more digits is a card (one misheard
//! digit breaks the Luhn checksum, so the checksum is reported, not required), every 9-digit
//! run with a possible SSN structure is an SSN.

use zeroize::Zeroize;

use super::numbers::Run;
use crate::result::RedactKind;

/// Fewest digits of a card number (ISO/IEC 7812 primary account numbers: 13–19).
pub(crate) const CARD_MIN_DIGITS: usize = 13;

/// Most digits of a card number; longer runs are redacted as cards too, without a checksum.
pub(crate) const CARD_MAX_DIGITS: usize = 19;

/// Fewest digits `digits` redaction replaces: a run of three (a time, "3:30") stays.
pub(crate) const DIGITS_MIN: usize = 4;

/// Words `first..=last` to replace by `kind`'s placeholder.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Span {
    pub first: usize,
    pub last: usize,
    pub kind: RedactKind,
    /// Cards of 13–19 digits: whether the Luhn checksum holds.
    pub luhn: Option<bool>,
}

impl Span {
    /// A span that is not a card number (no checksum to report).
    pub fn plain(first: usize, last: usize, kind: RedactKind) -> Self {
        Self {
            first,
            last,
            kind,
            luhn: None,
        }
    }

    pub fn overlaps(&self, first: usize, last: usize) -> bool {
        self.first <= last && first <= self.last
    }
}

/// The Luhn checksum of ASCII digits (ISO/IEC 7812-1 annex B).
pub(crate) fn luhn_valid(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum % 10 == 0
}

/// A possible US social security number: 9 digits, area not 000, 666 or 9xx, group not 00,
/// serial not 0000 (the SSA's never-assigned values).
pub(crate) fn ssn_like(digits: &str) -> bool {
    digits.len() == 9
        && !digits.starts_with("000")
        && !digits.starts_with("666")
        && !digits.starts_with('9')
        && &digits[3..5] != "00"
        && &digits[5..] != "0000"
}

/// A card span for a run of at least [`CARD_MIN_DIGITS`] digits.
pub(crate) fn card(run: &Run) -> Option<Span> {
    let n = run.digits.len();
    (n >= CARD_MIN_DIGITS).then(|| Span {
        first: run.first,
        last: run.last,
        kind: RedactKind::Card,
        luhn: (n <= CARD_MAX_DIGITS).then(|| luhn_valid(&run.digits)),
    })
}

/// Words after a card word ("card", "visa", "tarjeta", …) within which every digit is taken for
/// part of a card: about 10 s of speech at 150 words a minute, which a card number and the
/// words a misheard one breaks into ("3 782 822 463 1 near O'neero 5") fit in.
pub(crate) const CARD_CONTEXT_WORDS: usize = 25;

/// Fragments this close to a whole card (words between them, none with digits) are part of it.
pub(crate) const CARD_FRAGMENT_GAP_WORDS: usize = 2;

/// Most digits of such a fragment: a misheard group of a card ("4 near 0128 8888…"), shorter
/// than a phone number said next to the card.
pub(crate) const CARD_FRAGMENT_DIGITS: usize = 4;

/// Card spans for the short runs (at most [`CARD_FRAGMENT_DIGITS`]) right before or after a
/// whole card (at most [`CARD_FRAGMENT_GAP_WORDS`] words between): the pieces Whisper split off
/// it.
pub(crate) fn card_fragments(runs: &[Run]) -> Vec<Span> {
    let whole = |r: &Run| r.digits.len() >= CARD_MIN_DIGITS;
    let mut out = Vec::new();
    for (i, run) in runs.iter().enumerate() {
        if whole(run) || run.digits.len() > CARD_FRAGMENT_DIGITS {
            continue;
        }
        let before = i
            .checked_sub(1)
            .map(|j| &runs[j])
            .is_some_and(|p| whole(p) && run.first - p.last <= CARD_FRAGMENT_GAP_WORDS + 1);
        let after = runs
            .get(i + 1)
            .is_some_and(|n| whole(n) && n.first - run.last <= CARD_FRAGMENT_GAP_WORDS + 1);
        if before || after {
            out.push(Span::plain(run.first, run.last, RedactKind::Card));
        }
    }
    out
}

/// Whether `word` names a payment card in English, Spanish or French.
pub(crate) fn card_word(word: &str) -> bool {
    let core = word.trim_matches(|c: char| !c.is_alphanumeric());
    if core.len() > 12 {
        return false;
    }
    matches!(
        core.to_lowercase().as_str(),
        "card"
            | "cards"
            | "visa"
            | "mastercard"
            | "amex"
            | "express"
            | "credit"
            | "debit"
            | "tarjeta"
            | "crédito"
            | "débito"
            | "carte"
            | "cb"
    )
}

/// Card spans for the runs shorter than a card that start within [`CARD_CONTEXT_WORDS`] after
/// a card word, until a whole card (13 or more digits) has been read after it: Whisper often
/// breaks a spoken card number into pieces with misheard words between them, and each piece is
/// still part of the card.
pub(crate) fn card_context(words: &[&str], runs: &[Run]) -> Vec<Span> {
    let mut out = Vec::new();
    let mut last_card_word: Option<usize> = None;
    let mut next_run = 0;
    for (i, word) in words.iter().enumerate() {
        if card_word(word) {
            last_card_word = Some(i);
        }
        while next_run < runs.len() && runs[next_run].first <= i {
            let run = &runs[next_run];
            let near = last_card_word
                .is_some_and(|k| run.first > k && run.first - k <= CARD_CONTEXT_WORDS);
            if run.digits.len() >= CARD_MIN_DIGITS {
                // A whole card was read after the card word: what follows is not part of it.
                last_card_word = None;
            } else if near {
                out.push(Span::plain(run.first, run.last, RedactKind::Card));
            }
            next_run += 1;
        }
    }
    out
}

/// An SSN span for a 9-digit run of [`ssn_like`] digits.
pub(crate) fn ssn(run: &Run) -> Option<Span> {
    ssn_like(&run.digits).then_some(Span::plain(run.first, run.last, RedactKind::Ssn))
}

/// `digits` spans for a run of at least [`DIGITS_MIN`] digits: the whole run, or, when part of
/// it is already taken (`taken`), each stretch of its pieces outside what is taken.
pub(crate) fn digits(run: &Run, taken: &[Span]) -> Vec<Span> {
    if run.digits.len() < DIGITS_MIN {
        return Vec::new();
    }
    let span = |first, last| Span::plain(first, last, RedactKind::Digits);
    if !taken.iter().any(|s| s.overlaps(run.first, run.last)) {
        return vec![span(run.first, run.last)];
    }
    let mut out: Vec<Span> = Vec::new();
    for piece in &run.pieces {
        if taken.iter().any(|s| s.overlaps(piece.first, piece.last)) {
            continue;
        }
        match out.last_mut() {
            Some(open) if open.last + 1 == piece.first => open.last = piece.last,
            _ => out.push(span(piece.first, piece.last)),
        }
    }
    out
}

/// Sentence punctuation at the end of a word (after its last letter or digit), kept after a
/// placeholder so the sentence still reads: "555-0142." → "\[PHONE\].".
fn trailing_punctuation(word: &str) -> &str {
    let cut = word
        .char_indices()
        .rev()
        .take_while(|(_, c)| matches!(c, '.' | ',' | ';' | ':' | '!' | '?'))
        .last()
        .map_or(word.len(), |(i, _)| i);
    &word[cut..]
}

/// Replaces, in `text`, the words at byte ranges `words[first..=last]` of every span by the
/// span's placeholder (one per span, the spaces inside the span included). Spans are given in
/// any order, over indices of `words`; the old text is zeroized.
pub(crate) fn apply_to_text(text: &mut String, words: &[(usize, usize)], spans: &[Span]) {
    if spans.is_empty() {
        return;
    }
    let mut spans: Vec<&Span> = spans.iter().collect();
    spans.sort_by_key(|s| s.first);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for span in spans {
        let (Some(&(start, _)), Some(&(last_start, end))) =
            (words.get(span.first), words.get(span.last))
        else {
            continue;
        };
        if start < at {
            continue; // overlapping spans are never produced; skip defensively
        }
        out.push_str(&text[at..start]);
        out.push_str(span.kind.placeholder());
        out.push_str(trailing_punctuation(&text[last_start..end]));
        at = end;
    }
    out.push_str(&text[at..]);
    let mut old = std::mem::replace(text, out);
    old.zeroize();
}

/// Replaces one word by `kind`'s placeholder, keeping its trailing punctuation; the old text is
/// zeroized.
pub(crate) fn apply_to_word(word: &mut String, kind: RedactKind) {
    let replacement = format!("{}{}", kind.placeholder(), trailing_punctuation(word));
    let mut old = std::mem::replace(word, replacement);
    old.zeroize();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn() {
        assert!(luhn_valid("4111111111111111"));
        assert!(luhn_valid("378282246310005"));
        assert!(!luhn_valid("4111111111111112"));
    }

    #[test]
    fn digits_near_a_card_word_are_card_digits() {
        use crate::entities::numbers::find_runs;
        use crate::entities::Lang;
        let text = "my Visa is 4 near 1 2 888 then call 555-0142 later, the end of a long message \
                    with many words so the keyword is far away by now 42";
        let words: Vec<&str> = text.split_whitespace().collect();
        let runs = find_runs(words.iter().copied(), Lang::En);
        let spans = card_context(&words, &runs);
        let redacted: Vec<&str> = spans.iter().map(|s| words[s.first]).collect();
        assert_eq!(redacted, ["4", "1", "555-0142"]);
    }

    #[test]
    fn short_runs_next_to_a_card_are_card_digits() {
        use crate::entities::numbers::find_runs;
        use crate::entities::Lang;
        let text = "my mean 4 near 1 2 888 888 888 188 1 clean 77, then 555-0142 and 99 later";
        let words: Vec<&str> = text.split_whitespace().collect();
        let runs = find_runs(words.iter().copied(), Lang::En);
        let redacted: Vec<&str> = card_fragments(&runs)
            .iter()
            .map(|s| words[s.first])
            .collect();
        assert_eq!(redacted, ["4", "77,"]);
    }

    #[test]
    fn ssn_structure() {
        assert!(ssn_like("123456789"));
        assert!(!ssn_like("000456789"));
        assert!(!ssn_like("666456789"));
        assert!(!ssn_like("923456789"));
        assert!(!ssn_like("123006789"));
        assert!(!ssn_like("123450000"));
        assert!(!ssn_like("12345678"));
    }

    #[test]
    fn placeholders_keep_the_sentence() {
        let mut text = "call 555-0142. or 555 0199, thanks".to_owned();
        let words = [(0, 4), (5, 14), (15, 17), (18, 21), (22, 27), (28, 34)];
        let spans = [
            Span::plain(3, 4, RedactKind::Phone),
            Span::plain(1, 1, RedactKind::Phone),
        ];
        apply_to_text(&mut text, &words, &spans);
        assert_eq!(text, "call [PHONE]. or [PHONE], thanks");
        let mut word = "4111,".to_owned();
        apply_to_word(&mut word, RedactKind::Card);
        assert_eq!(word, "[CARD],");
    }
}
