//! The spoken-number tokenizer: transcript words → runs of digits, however Whisper wrote them
//! ("555-0142", "5550142", "five five five, oh one four two", "triple five", "double oh",
//! "eight hundred", "twenty-four", "cinco cinco", "zéro six, douze, trente-quatre").
//!
//! A *piece* is one number read from one or a few neighbouring words; a *run* is a maximal
//! sequence of pieces with nothing but punctuation (or "dash") between them. Runs are what the
//! detectors look at: a phone number, a card number, an SSN is one run (or part of one).
//!
//! One pass over the words, a bounded look-ahead (at most four words) per word: linear in the
//! length of the transcript, whatever it holds.

use super::Lang;

/// What one word contributes to a number.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lex {
    /// Written digits (`555-0142`, `(425)`, `+1`, `٥٥٥`): their values, in order.
    Digits {
        /// The digits, ASCII.
        digits: String,
        /// Written with a leading `+`.
        plus: bool,
        /// The word also holds letters (`12th`, `x24`): digits for redaction, never a phone.
        mixed: bool,
        /// Written like an amount or a time (`$2,500,000`, `10:30`, `50%`): never a phone.
        not_phone: bool,
    },
    /// A digit word; `weak` for the ones that are also ordinary words ("oh", "o", "un",
    /// "uno"): a weak digit never starts a run.
    Unit { value: u8, weak: bool },
    /// 10–19 ("twelve", "doce", "douze").
    Teen(u8),
    /// 20, 30, …, 90 ("twenty", "veinte", "vingt").
    Tens(u8),
    /// "hundred", "cent", "cien".
    Hundred,
    /// "thousand", "mille", "mil".
    Thousand,
    /// "double"/"doble" (2) or "triple" (3): the next digit repeated.
    Repeat(u8),
    /// "plus": the number that follows has a country code.
    Plus,
    /// "et", "y": joins tens and units ("vingt et un", "treinta y uno").
    Joiner,
    /// "extension", "ext", "extensión", "poste".
    Extension,
    /// Punctuation alone ("-", "–", "/") or "dash"/"hyphen"/"tiret"/"guion": may sit between
    /// the pieces of a run.
    Sep,
    /// Anything else: ends a run.
    Other,
}

/// A number read from the words `first..=last` (indices into the word list).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Piece {
    pub first: usize,
    pub last: usize,
    pub digits: String,
    pub plus: bool,
    pub mixed: bool,
    pub not_phone: bool,
}

/// A maximal sequence of pieces with only separators between them.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Run {
    /// First and last word of the run.
    pub first: usize,
    pub last: usize,
    /// Every digit of the run, ASCII.
    pub digits: String,
    /// The pieces, in order (for splitting a run into numbers).
    pub pieces: Vec<Piece>,
}

impl Run {
    /// Whether a phone number may be read from this run: no letters in its words, no amount or
    /// time notation.
    pub fn phone_like(&self) -> bool {
        self.pieces.iter().all(|p| !p.mixed && !p.not_phone)
    }

    /// Whether the run starts with a `+` (written or said).
    pub fn plus(&self) -> bool {
        self.pieces.first().is_some_and(|p| p.plus)
    }
}

/// The value of a decimal digit in any script whose digits Unicode lays out as ten
/// consecutive code points (`٥` → 5, `５` → 5, `५` → 5); `None` for everything else.
pub(crate) fn digit_value(c: char) -> Option<u8> {
    if c.is_ascii_digit() {
        return Some(c as u8 - b'0');
    }
    if c.is_ascii() {
        return None;
    }
    // The zero of each decimal-digit block (Unicode general category Nd) of the Basic
    // Multilingual Plane; every block holds 0–9 in order.
    const ZEROS: [u32; 37] = [
        0x0660, 0x06F0, 0x07C0, 0x0966, 0x09E6, 0x0A66, 0x0AE6, 0x0B66, 0x0BE6, 0x0C66, 0x0CE6,
        0x0D66, 0x0DE6, 0x0E50, 0x0ED0, 0x0F20, 0x1040, 0x1090, 0x17E0, 0x1810, 0x1946, 0x19D0,
        0x1A80, 0x1A90, 0x1B50, 0x1BB0, 0x1C40, 0x1C50, 0xA620, 0xA8D0, 0xA900, 0xA9D0, 0xA9F0,
        0xAA50, 0xABF0, 0xFF10, 0x1D7CE,
    ];
    let code = u32::from(c);
    ZEROS
        .iter()
        .find(|&&zero| (zero..zero + 10).contains(&code))
        .map(|&zero| (code - zero) as u8)
}

/// Longest word looked up in the lexicon, in bytes ("diecinueve", "quatre-vingt-dix-neuf"
/// are shorter): longer words are [`Lex::Other`] without lower-casing them.
const MAX_WORD_BYTES: usize = 32;

/// Classifies one word (whitespace-free) into the [`Lex`]es it holds: one, or several for a
/// hyphenated compound ("trente-quatre" → tens, unit).
pub(crate) fn lex_word(word: &str, lang: Lang, out: &mut Vec<Lex>) {
    let mut digits = String::new();
    let mut letters = false;
    for c in word.chars() {
        if let Some(d) = digit_value(c) {
            digits.push(char::from(b'0' + d));
        } else if c.is_alphanumeric() {
            letters = true;
        }
    }
    if !digits.is_empty() {
        let core = word.trim_matches(|c: char| !c.is_alphanumeric() && c != '+');
        let plus = core.starts_with('+') || word.trim_start_matches('(').starts_with('+');
        out.push(Lex::Digits {
            plus,
            mixed: letters,
            not_phone: amount_or_time(word),
            digits,
        });
        return;
    }
    if !letters {
        out.push(Lex::Sep);
        return;
    }
    let core = word.trim_matches(|c: char| !c.is_alphanumeric());
    if core.len() > MAX_WORD_BYTES {
        out.push(Lex::Other);
        return;
    }
    let lower = core.to_lowercase();
    if let Some(lex) = lookup(&lower, lang) {
        out.push(lex);
        return;
    }
    // A hyphenated compound of number words ("twenty-four", "soixante-dix-huit",
    // "five-five-five"): its parts, when every one is a number word.
    if lower.contains('-') {
        let start = out.len();
        for part in lower.split('-') {
            match lookup(part, lang) {
                Some(
                    lex @ (Lex::Unit { .. }
                    | Lex::Teen(_)
                    | Lex::Tens(_)
                    | Lex::Hundred
                    | Lex::Joiner),
                ) => out.push(lex),
                _ => {
                    out.truncate(start);
                    out.push(Lex::Other);
                    return;
                }
            }
        }
        return;
    }
    out.push(Lex::Other);
}

/// `$2,500,000`, `€30`, `50%`, `10:30`, `1,000`: numbers a phone number is never written as.
fn amount_or_time(word: &str) -> bool {
    if word.contains(['$', '€', '£', '¥', '%', ':']) {
        return true;
    }
    // Thousands separators: a comma followed by exactly three digits, after 1–3 digits.
    let groups: Vec<&str> = word
        .trim_matches(|c: char| !c.is_ascii_digit())
        .split(',')
        .collect();
    groups.len() > 1
        && (1..=3).contains(&groups[0].len())
        && groups[1..]
            .iter()
            .all(|g| g.len() == 3 && g.bytes().all(|b| b.is_ascii_digit()))
        && groups[0].bytes().all(|b| b.is_ascii_digit())
}

/// The lexicon: English, Spanish and French number words. Words that are also ordinary words
/// in another of the three languages ("once", "seize", "cent", "o") count only in their own.
fn lookup(word: &str, lang: Lang) -> Option<Lex> {
    let unit = |value| Some(Lex::Unit { value, weak: false });
    let weak = |value| Some(Lex::Unit { value, weak: true });
    let (en, es, fr) = (lang.en(), lang.es(), lang.fr());
    match word {
        "zero" | "zéro" | "cero" => unit(0),
        "oh" if en => weak(0),
        "o" if en => weak(0),
        "one" => unit(1),
        "un" | "une" if fr => weak(1),
        "uno" | "una" if es => weak(1),
        "two" | "dos" | "deux" => unit(2),
        "three" | "tres" | "trois" => unit(3),
        "four" | "cuatro" | "quatre" => unit(4),
        "five" | "cinco" | "cinq" => unit(5),
        "six" | "seis" => unit(6),
        "seven" | "siete" => unit(7),
        "sept" if fr => unit(7),
        "eight" | "ocho" | "huit" => unit(8),
        "nine" | "nueve" | "neuf" => unit(9),
        "ten" | "diez" | "dix" => Some(Lex::Teen(10)),
        "eleven" | "onze" => Some(Lex::Teen(11)),
        "once" if es => Some(Lex::Teen(11)),
        "twelve" | "doce" | "douze" => Some(Lex::Teen(12)),
        "thirteen" | "trece" | "treize" => Some(Lex::Teen(13)),
        "fourteen" | "catorce" | "quatorze" => Some(Lex::Teen(14)),
        "fifteen" | "quinze" => Some(Lex::Teen(15)),
        "quince" if es => Some(Lex::Teen(15)),
        "sixteen" | "dieciséis" | "dieciseis" => Some(Lex::Teen(16)),
        "seize" if fr => Some(Lex::Teen(16)),
        "seventeen" | "diecisiete" => Some(Lex::Teen(17)),
        "eighteen" | "dieciocho" => Some(Lex::Teen(18)),
        "nineteen" | "diecinueve" => Some(Lex::Teen(19)),
        "twenty" | "veinte" | "vingt" | "vingts" => Some(Lex::Tens(20)),
        "thirty" | "treinta" | "trente" => Some(Lex::Tens(30)),
        "forty" | "cuarenta" | "quarante" => Some(Lex::Tens(40)),
        "fifty" | "cincuenta" | "cinquante" => Some(Lex::Tens(50)),
        "sixty" | "sesenta" | "soixante" => Some(Lex::Tens(60)),
        "seventy" | "setenta" => Some(Lex::Tens(70)),
        "eighty" | "ochenta" => Some(Lex::Tens(80)),
        "ninety" | "noventa" => Some(Lex::Tens(90)),
        "hundred" | "cien" | "ciento" => Some(Lex::Hundred),
        "cent" | "cents" if fr => Some(Lex::Hundred),
        "thousand" | "mille" | "mil" => Some(Lex::Thousand),
        "double" | "doble" => Some(Lex::Repeat(2)),
        "triple" => Some(Lex::Repeat(3)),
        "plus" if en || fr => Some(Lex::Plus),
        "más" if es => Some(Lex::Plus),
        "et" if fr => Some(Lex::Joiner),
        "y" if es => Some(Lex::Joiner),
        "extension" | "ext" | "extensión" => Some(Lex::Extension),
        "poste" if fr => Some(Lex::Extension),
        "dash" | "hyphen" | "tiret" | "guion" | "guión" => Some(Lex::Sep),
        _ => None,
    }
}

/// Every word's [`Lex`]es, flattened, with the index of the word each came from.
pub(crate) fn lex_words<'a>(
    words: impl IntoIterator<Item = &'a str>,
    lang: Lang,
) -> Vec<(usize, Lex)> {
    let mut out = Vec::new();
    let mut buf = Vec::new();
    for (i, word) in words.into_iter().enumerate() {
        buf.clear();
        lex_word(word, lang, &mut buf);
        out.extend(buf.drain(..).map(|lex| (i, lex)));
    }
    out
}

/// Reads the pieces of a lexed word list, in order.
///
/// Rules (each bounded by a look-ahead of at most four lexemes):
/// - written digits are a piece as they are;
/// - a digit word is one digit; a weak one ("oh", "un") only right after another piece;
/// - "double"/"triple" + digit word: the digit two or three times ("double oh" → `00`);
/// - teens are two digits; tens + unit (also "et"/"y" between, and the French 70–99:
///   "soixante-dix-huit", "quatre-vingt-douze") are two digits, tens alone `t0`;
/// - digit + "hundred" is `d00` ("eight hundred" → `800`), `d` + two digits when a teen or
///   tens follows ("five hundred twelve" → `512`); digit + "thousand" is `d000`;
/// - "plus" right before a piece marks it as carrying a country code.
pub(crate) fn pieces(lexes: &[(usize, Lex)]) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::new();
    let mut i = 0;
    // Index (into `lexes`) just after the last piece, for the weak-digit rule.
    let mut after_piece: Option<usize> = None;
    let mut pending_plus: Option<usize> = None;
    while i < lexes.len() {
        let (word, lex) = &lexes[i];
        let start_word = pending_plus.take().unwrap_or(*word);
        let plus_said = start_word != *word;
        let continues = after_piece.is_some_and(|a| {
            // Only separators between the previous piece and this one.
            lexes[a..i].iter().all(|(_, l)| *l == Lex::Sep)
        });
        let read = match lex {
            Lex::Digits {
                digits,
                plus,
                mixed,
                not_phone,
            } => Some((1, digits.clone(), *plus || plus_said, *mixed, *not_phone)),
            Lex::Unit { weak: true, .. } if !continues => None,
            Lex::Unit { value, .. } => {
                let (used, digits) = unit_group(*value, *word, &lexes[i + 1..]);
                Some((1 + used, digits, plus_said, false, false))
            }
            Lex::Teen(n) => {
                let (used, value) = teen_group(*n, *word, &lexes[i + 1..]);
                Some((1 + used, value.to_string(), plus_said, false, false))
            }
            Lex::Tens(t) => {
                let (used, value) = tens_group(*t, &lexes[i + 1..]);
                Some((1 + used, value.to_string(), plus_said, false, false))
            }
            Lex::Repeat(times) => match lexes.get(i + 1) {
                Some((_, Lex::Unit { value, .. })) => Some((
                    2,
                    char::from(b'0' + value)
                        .to_string()
                        .repeat(usize::from(*times)),
                    plus_said,
                    false,
                    false,
                )),
                _ => None,
            },
            Lex::Plus => {
                pending_plus = Some(*word);
                i += 1;
                continue;
            }
            _ => None,
        };
        match read {
            Some((used, digits, plus, mixed, not_phone)) => {
                let last = lexes[i + used - 1].0;
                out.push(Piece {
                    first: start_word,
                    last,
                    digits,
                    plus,
                    mixed,
                    not_phone,
                });
                i += used;
                after_piece = Some(i);
            }
            None => i += 1,
        }
    }
    out
}

/// A digit word (word `word`) and what may follow it: "hundred" / "thousand", or French
/// "quatre-vingt" (one hyphenated word: "four twenty" is 4, 20). Returns the lexemes used after
/// the digit and the digits read.
fn unit_group(value: u8, word: usize, rest: &[(usize, Lex)]) -> (usize, String) {
    let d = char::from(b'0' + value);
    let same_word = rest.first().is_some_and(|(w, _)| *w == word);
    match rest.first().map(|(_, l)| l) {
        // "quatre-vingt(s)" = 80, then as tens.
        Some(Lex::Tens(20)) if value == 4 && same_word => {
            let (used, v) = tens_group(80, &rest[1..]);
            (1 + used, v.to_string())
        }
        Some(Lex::Hundred) => match rest.get(1).map(|(_, l)| l) {
            Some(Lex::Teen(n)) => (2, format!("{d}{n:02}")),
            Some(Lex::Tens(t)) => {
                let (used, v) = tens_group(*t, &rest[2..]);
                (2 + used, format!("{d}{v:02}"))
            }
            _ => (1, format!("{d}00")),
        },
        Some(Lex::Thousand) => (1, format!("{d}000")),
        _ => (0, d.to_string()),
    }
}

/// Tens `t` (20–90) and what may follow: a unit (after an optional "et"/"y"), or for 60 and 80
/// a teen (French 70–79 and 90–99). Returns the lexemes used after the tens and the value.
fn tens_group(t: u8, rest: &[(usize, Lex)]) -> (usize, u8) {
    let skip = usize::from(matches!(rest.first(), Some((_, Lex::Joiner))));
    match rest.get(skip).map(|(_, l)| l) {
        Some(Lex::Unit { value, .. }) if *value > 0 => (skip + 1, t + value),
        Some(Lex::Teen(n)) if t == 60 || t == 80 => {
            let (used, teen) = teen_group(*n, rest[skip].0, &rest[skip + 1..]);
            (skip + 1 + used, t + teen)
        }
        _ => (0, t),
    }
}

/// A teen written in word `word` and what may follow: "dix" + 7–9 in the same word
/// ("dix-sept", "dix-huit", "dix-neuf": French writes them hyphenated; "ten, eight" said as two
/// words are two numbers). Returns the lexemes used after the teen and the value.
fn teen_group(n: u8, word: usize, rest: &[(usize, Lex)]) -> (usize, u8) {
    match rest.first() {
        Some((w, Lex::Unit { value, weak: false })) if n == 10 && *value >= 7 && *w == word => {
            (1, 10 + value)
        }
        _ => (0, n),
    }
}

/// Joins pieces into runs: neighbouring pieces whose words are separated only by separator
/// words (punctuation alone, "dash") belong to one run.
pub(crate) fn runs(pieces: Vec<Piece>, lexes: &[(usize, Lex)]) -> Vec<Run> {
    // Words that are pure separators; anything else between two pieces ends the run.
    let mut separator_words = std::collections::HashSet::new();
    let mut other_words = std::collections::HashSet::new();
    for (word, lex) in lexes {
        if *lex == Lex::Sep {
            separator_words.insert(*word);
        } else {
            other_words.insert(*word);
        }
    }
    let mut out: Vec<Run> = Vec::new();
    for piece in pieces {
        let joins = out.last().is_some_and(|run| {
            (run.last + 1..piece.first)
                .all(|w| separator_words.contains(&w) && !other_words.contains(&w))
        });
        match out.last_mut() {
            Some(run) if joins => {
                run.last = piece.last;
                run.digits.push_str(&piece.digits);
                run.pieces.push(piece);
            }
            _ => out.push(Run {
                first: piece.first,
                last: piece.last,
                digits: piece.digits.clone(),
                pieces: vec![piece],
            }),
        }
    }
    out
}

/// The runs of `words` in `lang`.
pub(crate) fn find_runs<'a>(words: impl IntoIterator<Item = &'a str>, lang: Lang) -> Vec<Run> {
    let lexes = lex_words(words, lang);
    runs(pieces(&lexes), &lexes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digits(text: &str, lang: Lang) -> Vec<String> {
        find_runs(text.split_whitespace(), lang)
            .into_iter()
            .map(|r| r.digits)
            .collect()
    }

    #[test]
    fn spellings_become_digits() {
        let en = Lang::En;
        assert_eq!(digits("call 555-0142 now", en), ["5550142"]);
        assert_eq!(digits("five five five, oh one four two", en), ["5550142"]);
        assert_eq!(digits("triple five double oh four two", en), ["5550042"]);
        assert_eq!(digits("one eight hundred five five five", en), ["1800555"]);
        assert_eq!(digits("extension twenty-four", en), ["24"]);
        assert_eq!(digits("five hundred twelve", en), ["512"]);
        assert_eq!(digits("Oh, hi. It's five five", en), ["55"]);
        assert_eq!(digits("(425) 555 - 0142.", en), ["4255550142"]);
        assert_eq!(digits("٥٥٥ ٠١٤٢", en), ["5550142"]);
        assert_eq!(
            digits(
                "zéro six, douze, trente-quatre, soixante-dix-huit, quatre-vingt-douze",
                Lang::Fr
            ),
            ["0612347892"]
        );
        assert_eq!(digits("vingt et un", Lang::Fr), ["21"]);
        assert_eq!(digits("seis uno dos treinta y cuatro", Lang::Es), ["61234"]);
        assert_eq!(digits("un numéro", Lang::Fr), Vec::<String>::new());
    }

    #[test]
    fn amounts_and_times_are_not_phone_like() {
        let runs = find_runs("$2,500,000 at 10:30".split_whitespace(), Lang::En);
        assert_eq!(runs.len(), 2);
        assert!(runs.iter().all(|r| !r.phone_like()));
        let runs = find_runs("plus one 425 555 0142".split_whitespace(), Lang::En);
        assert_eq!(runs.len(), 1);
        assert!(runs[0].plus() && runs[0].phone_like());
    }

    #[test]
    fn unicode_digit_blocks() {
        assert_eq!(digit_value('٥'), Some(5));
        assert_eq!(digit_value('５'), Some(5));
        assert_eq!(digit_value('५'), Some(5));
        assert_eq!(digit_value('a'), None);
        assert_eq!(digit_value('²'), None);
    }
}
