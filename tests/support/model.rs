//! The Whisper model gate, and word error rate (WER) with a documented text normalizer, for the
//! tests that run the real model. (The manifest itself is read by `support::samples`.)
//!
//! # How transcripts are compared
//!
//! The manifest's texts are what espeak-ng was given: numbers spelled out ("five five five, one
//! two three four", "two oh four", "three thirty", "March twelfth"). Whisper writes numbers its own
//! way ("555-1234", "204", "3:30", "12th"), so both sides are normalized before counting word
//! edits:
//!
//! 1. lowercase; every character that is not a letter, digit or apostrophe becomes a space, except
//!    `:` between two digits (`3:30`). Hyphens and dots split words: Whisper writes digit groups
//!    as `555-1234` or `5.5.1.2` (there are no decimals in the manifest's texts);
//! 2. contractions are expanded (`it's` → `it is`, `i'm` → `i am`, `that's` → `that is`, …), then
//!    apostrophes are dropped (`jennifer's` → `jennifers`);
//! 3. a few spelling variants are merged: `ok` → `okay`, `st` → `street`, `zero` → `oh` (the only
//!    `oh` in the manifest is the digit in "two oh four"), `alright` → `all right`,
//!    `cannot` → `can not`;
//! 4. every number token becomes words. A string of digits has several correct readings, so each
//!    number gets a *set* of readings and the comparison uses the reading closest to the
//!    reference (all combinations are tried; a sentence has at most a few numbers):
//!    * cardinal: `10` → "ten", `204` → "two hundred four" or "two hundred and four";
//!    * digit by digit, 0 read "oh": `204` → "two oh four", `1234` → "one two three four";
//!    * three digits as digit + pair: `330` → "three thirty"; four digits as two pairs:
//!      `1234` → "twelve thirty four", `1905` → "nineteen oh five";
//!    * ordinals: `12th` → "twelfth", `1st` → "first"; a day number after a month name may be
//!      read either way (`March 12` → "March twelve" or "March twelfth");
//!    * times: `3:30` → "three thirty", `3:05` → "three oh five", `3:00` → "three" or
//!      "three o'clock".
//!
//!    None of these readings can turn a wrong digit into a right one; they only stop a correct
//!    number written as digits from counting as an error.
//!
//! WER = (substitutions + deletions + insertions) / reference words, from a word-level
//! Levenshtein alignment. Aggregate WER sums edits and reference words over all files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The model file the tests use, relative to the package root.
pub const MODEL_FILE: &str = "models/ggml-tiny.en.bin";

/// `<package root>/<relative>`.
pub fn repo_path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

/// The model gate. Call it first in every test that needs the Whisper model:
///
/// ```ignore
/// let Some(model) = require_model() else { return };
/// ```
///
/// Model present → its path. Model missing → on CI (env `CI` set) the test fails, because CI
/// builds the model (`CARGO_PROFILE=dev bash models/build-model.sh`) and a missing one means the
/// suite would silently test nothing; elsewhere it prints a loud `SKIPPED` line to stderr and
/// the caller returns (the test then shows as passed, so the line is the only trace: look for it).
pub fn require_model() -> Option<PathBuf> {
    require_input(
        repo_path(MODEL_FILE),
        "the Whisper model",
        "CARGO_PROFILE=dev bash models/build-model.sh",
    )
}

/// The multilingual `base` model, built by `bash models/build-model.sh base`.
pub const BASE_MODEL_FILE: &str = "models/ggml-base.bin";

/// The gate of the tests that need the multilingual `base` model: like [`require_model`] (CI
/// builds it, so there a missing file fails the test; elsewhere a loud `SKIPPED` line).
pub fn require_base_model() -> Option<PathBuf> {
    require_input(
        repo_path(BASE_MODEL_FILE),
        "the base model",
        "CARGO_PROFILE=dev bash models/build-model.sh base",
    )
}

/// `base` in q8_0, built by `bash models/build-model.sh base q8_0`.
pub const BASE_Q8_0_MODEL_FILE: &str = "models/ggml-base-q8_0.bin";

/// The gate of the tests that need `base` in q8_0: like [`require_base_model`].
pub fn require_base_q8_0_model() -> Option<PathBuf> {
    require_input(
        repo_path(BASE_Q8_0_MODEL_FILE),
        "the base model in q8_0",
        "CARGO_PROFILE=dev bash models/build-model.sh base q8_0",
    )
}

/// Silero VAD v6's weights, taken from faster-whisper's wheel by `models/build-model.sh`.
pub const VAD_MODEL_FILE: &str = "models/silero_vad_v6.onnx";

/// The gate of the tests that need Silero VAD's weights: like [`require_model`].
pub fn require_vad_model() -> Option<PathBuf> {
    require_input(
        repo_path(VAD_MODEL_FILE),
        "Silero VAD's weights",
        "bash models/build-model.sh",
    )
}

/// The speech finder's two set-ups for the tests that check both: earshot alone, then with
/// Silero's edges as the command line runs it (when the weights are there; always on CI,
/// [`require_vad_model`] says loudly when they are not).
pub fn vad_models() -> Vec<Option<PathBuf>> {
    std::iter::once(None)
        .chain(require_vad_model().map(Some))
        .collect()
}

/// The speech finder as the command line runs it: with Silero VAD's weights (`trim.vad_model`)
/// when they are there (always on CI; [`require_vad_model`] says loudly when they are not).
pub fn find_speech_as_the_cli_does(config: &mut callscribe::PipelineConfig) {
    if let Some(path) = require_vad_model() {
        config.trim.vad_model = Some(path);
    }
}

/// The gate behind [`require_model`] and its kin: `path` when it exists; else a failure on CI
/// (env `CI` set: CI sets every input up, so a missing one would make the suite test nothing)
/// and a loud `SKIPPED` line elsewhere. `what` names the input, `setup` the command that makes it.
pub fn require_input(path: PathBuf, what: &str, setup: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path);
    }
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {what} is missing at {} on CI; make it with `{setup}`",
        path.display()
    );
    eprintln!(
        "\n***** {test}: SKIPPED ({what} missing: run `{setup}`) — {} not found *****\n",
        path.display()
    );
    None
}

static MODEL_RUNS: Mutex<()> = Mutex::new(());

/// Serializes the tests that run Whisper: the machine has few cores, and two transcriptions at
/// once only make each other slower. Poison-tolerant, so one failing test doesn't fail the rest.
pub fn model_lock() -> MutexGuard<'static, ()> {
    MODEL_RUNS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Whisper threads for the model tests: 2, the CI machine's cores. Every run holds
/// [`model_lock`], so no two model runs share the machine (two with 2 threads each would
/// oversubscribe it, and ggml's spinning thread barriers then make them several times slower:
/// BENCHMARKS.md, "Transcription"); at 1 thread the model tests left one core idle for most of
/// CI. The results do not depend on it: each of ggml's outputs is summed by one thread, and
/// pieces decoded side by side give what one after the other gives
/// (`multilingual::pieces_side_by_side_give_what_one_after_the_other_gives`).
pub const THREADS: u32 = 2;

/// `wav` through `pipeline` with `threads` Whisper threads, no media kept.
pub fn run_with_threads(
    pipeline: &callscribe::Pipeline,
    wav: &[u8],
    threads: u32,
) -> callscribe::RecordingResult {
    let options = callscribe::RunOptions {
        keep_speech: false,
        threads,
    };
    pipeline
        .run(wav, callscribe::result::Source::default(), &options)
        .result
}

/// The speech span of a transcribed `result`, checked to be longer than one 30 s encoder
/// window: a span the transcriber must cut into pieces.
pub fn span_beyond_one_window(result: &callscribe::RecordingResult) -> (f64, f64) {
    let audio = result.audio.as_ref().expect("audio");
    let (start, end) = audio
        .speech_start_s
        .zip(audio.speech_end_s)
        .expect("a speech span");
    assert!(end - start > 30.0, "one piece only: {audio:?}");
    (start, end)
}

/// Per-file WER bound for one transcribed speech sample (tiny.en, greedy), shared by every test
/// that checks a single file. Looser than the aggregate bound in `tests/transcribe.rs`: measured
/// 2025-11-27 with `models/ggml-tiny.en.bin`, the worst file was
/// `alaw-8000hz-mono-speech-dtmf-hash.wav` at 46.7% (British espeak voice reading digits over
/// an 8 kHz A-law line; the same with min_audio_ctx 512 and 1500, and with ffmpeg doing the
/// decode and resample instead of callscribe), and one misheard word in a six-word sentence is
/// already 17%.
pub const PER_FILE_WER_BOUND: f64 = 0.60;

// ---------------------------------------------------------------------------------------------
// Normalization and WER (see the module docs).

/// A normalized token: a plain word, or a number with its possible readings.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A word.
    Word(String),
    /// A number: each reading is a sequence of words.
    Number(Vec<Vec<String>>),
}

const ONES: [&str; 20] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
];
const TENS: [&str; 10] = [
    "", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
];

/// Cardinal words for `n` < 1,000,000; `and` puts "and" after "hundred" (British reading).
fn cardinal(n: u64, and: bool) -> Vec<String> {
    fn below_100(n: u64) -> Vec<String> {
        if n < 20 {
            vec![ONES[n as usize].to_owned()]
        } else if n % 10 == 0 {
            vec![TENS[(n / 10) as usize].to_owned()]
        } else {
            vec![
                TENS[(n / 10) as usize].to_owned(),
                ONES[(n % 10) as usize].to_owned(),
            ]
        }
    }
    fn below_1000(n: u64, and: bool) -> Vec<String> {
        let mut out = Vec::new();
        if n >= 100 {
            out.push(ONES[(n / 100) as usize].to_owned());
            out.push("hundred".to_owned());
            if n % 100 != 0 && and {
                out.push("and".to_owned());
            }
        }
        if n % 100 != 0 || n == 0 {
            out.extend(below_100(n % 100));
        }
        out
    }
    if n < 1000 {
        return below_1000(n, and);
    }
    let mut out = below_1000(n / 1000, and);
    out.push("thousand".to_owned());
    if n % 1000 != 0 {
        out.extend(below_1000(n % 1000, and));
    }
    out
}

/// A two-digit group as spoken in times, years and room numbers: `05` → "oh five", `30` →
/// "thirty", `00` → "hundred" (only used inside years like 1900).
fn pair(digits: &str) -> Vec<String> {
    let n: u64 = digits.parse().expect("digits");
    match digits.as_bytes() {
        [b'0', b'0'] => vec!["hundred".to_owned()],
        [b'0', _] => vec!["oh".to_owned(), ONES[(n % 10) as usize].to_owned()],
        _ => cardinal(n, false),
    }
}

fn digit_by_digit(digits: &str) -> Vec<String> {
    digits
        .bytes()
        .map(|b| {
            if b == b'0' {
                "oh".to_owned()
            } else {
                ONES[(b - b'0') as usize].to_owned()
            }
        })
        .collect()
}

/// The ordinal of a cardinal reading: "twelve" → "twelfth", "twenty one" → "twenty first".
fn ordinal(mut words: Vec<String>) -> Vec<String> {
    if let Some(last) = words.last_mut() {
        *last = match last.as_str() {
            "one" => "first".to_owned(),
            "two" => "second".to_owned(),
            "three" => "third".to_owned(),
            "five" => "fifth".to_owned(),
            "eight" => "eighth".to_owned(),
            "nine" => "ninth".to_owned(),
            "twelve" => "twelfth".to_owned(),
            w if w.ends_with('y') => format!("{}ieth", &w[..w.len() - 1]),
            w => format!("{w}th"),
        };
    }
    words
}

/// Every reading of a number token (`204`, `12th`, `3:30`), or `None` if it is not one.
pub fn number_readings(token: &str) -> Option<Vec<Vec<String>>> {
    let mut readings: Vec<Vec<String>> = Vec::new();
    let mut add = |r: Vec<String>| {
        if !r.is_empty() && !readings.contains(&r) {
            readings.push(r);
        }
    };
    if let Some((h, m)) = token.split_once(':') {
        let (hn, _) = (h.parse::<u64>().ok()?, m.parse::<u64>().ok()?);
        if m.len() != 2 || !h.bytes().all(|b| b.is_ascii_digit()) || hn >= 100 {
            return None;
        }
        let hours = cardinal(hn, false);
        if m == "00" {
            add(hours.clone());
            add([hours, vec!["oclock".to_owned()]].concat());
        } else {
            add([hours, pair(m)].concat());
        }
        return Some(readings);
    }
    for suffix in ["st", "nd", "rd", "th"] {
        if let Some(digits) = token.strip_suffix(suffix) {
            if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && digits.len() <= 6
            {
                add(ordinal(cardinal(digits.parse().ok()?, false)));
                return Some(readings);
            }
        }
    }
    if token.is_empty() || !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if token.len() <= 6 && !(token.len() > 1 && token.starts_with('0')) {
        let n: u64 = token.parse().ok()?;
        add(cardinal(n, false));
        add(cardinal(n, true));
    }
    add(digit_by_digit(token));
    if token.len() == 3 && !token.starts_with('0') {
        add([digit_by_digit(&token[..1]), pair(&token[1..])].concat());
    }
    if token.len() == 4 && !token.starts_with('0') {
        add([pair(&token[..2]), pair(&token[2..])].concat());
    }
    Some(readings)
}

/// Contractions expanded before apostrophes are dropped.
const CONTRACTIONS: &[(&str, &str)] = &[
    ("i'm", "i am"),
    ("it's", "it is"),
    ("that's", "that is"),
    ("there's", "there is"),
    ("what's", "what is"),
    ("he's", "he is"),
    ("she's", "she is"),
    ("let's", "let us"),
    ("you're", "you are"),
    ("we're", "we are"),
    ("they're", "they are"),
    ("i've", "i have"),
    ("we've", "we have"),
    ("i'll", "i will"),
    ("we'll", "we will"),
    ("you'll", "you will"),
    ("i'd", "i would"),
    ("can't", "can not"),
    ("won't", "will not"),
    ("don't", "do not"),
    ("doesn't", "does not"),
    ("isn't", "is not"),
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Spelling variants merged on both sides.
const VARIANTS: &[(&str, &str)] = &[
    ("ok", "okay"),
    ("st", "street"),
    ("zero", "oh"),
    ("alright", "all right"),
    ("cannot", "can not"),
];

/// Text → normalized tokens (see the module docs).
pub fn normalize(text: &str) -> Vec<Token> {
    let lower: Vec<char> = text.to_lowercase().replace('’', "'").chars().collect();
    let mut cleaned = String::with_capacity(lower.len());
    for (i, &c) in lower.iter().enumerate() {
        let prev = i
            .checked_sub(1)
            .and_then(|j| lower.get(j))
            .copied()
            .unwrap_or(' ');
        let next = lower.get(i + 1).copied().unwrap_or(' ');
        let keep = c.is_alphanumeric()
            || (c == '\'' && prev.is_alphanumeric() && next.is_alphanumeric())
            || (c == ':' && prev.is_ascii_digit() && next.is_ascii_digit());
        cleaned.push(if keep { c } else { ' ' });
    }
    let mut tokens: Vec<Token> = Vec::new();
    for raw in cleaned.split_whitespace() {
        let expanded = CONTRACTIONS
            .iter()
            .find(|(c, _)| *c == raw)
            .map_or(raw, |(_, e)| *e);
        for word in expanded.split_whitespace() {
            let word = word.replace('\'', "");
            if let Some(mut readings) = number_readings(&word) {
                let after_month = matches!(
                    tokens.last(),
                    Some(Token::Word(w)) if MONTHS.contains(&w.as_str())
                );
                let day = word.parse::<u64>().ok().filter(|d| (1..=31).contains(d));
                if let (true, Some(day)) = (after_month, day) {
                    readings.push(ordinal(cardinal(day, false)));
                }
                tokens.push(Token::Number(readings));
                continue;
            }
            let word = VARIANTS
                .iter()
                .find(|(v, _)| *v == word)
                .map_or(word.as_str(), |(_, c)| c);
            tokens.extend(word.split_whitespace().map(|w| Token::Word(w.to_owned())));
        }
    }
    tokens
}

pub fn edit_distance(a: &[String], b: &[String]) -> usize {
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, x) in a.iter().enumerate() {
        let mut diag = row[0];
        row[0] = i + 1;
        for (j, y) in b.iter().enumerate() {
            let next = (row[j + 1] + 1)
                .min(row[j] + 1)
                .min(diag + usize::from(x != y));
            diag = row[j + 1];
            row[j + 1] = next;
        }
    }
    row[b.len()]
}

/// Flattens tokens choosing reading `choice[k]` for the k-th number.
fn flatten(tokens: &[Token], choice: &[usize]) -> Vec<String> {
    let mut out = Vec::new();
    let mut k = 0;
    for t in tokens {
        match t {
            Token::Word(w) => out.push(w.clone()),
            Token::Number(readings) => {
                out.extend(readings[choice[k]].iter().cloned());
                k += 1;
            }
        }
    }
    out
}

fn readings_per_number(tokens: &[Token]) -> Vec<usize> {
    tokens
        .iter()
        .filter_map(|t| match t {
            Token::Number(r) => Some(r.len()),
            Token::Word(_) => None,
        })
        .collect()
}

/// Every choice vector, capped at 4096 combinations (beyond that, later numbers keep their
/// first reading: no sentence in the manifest comes near it).
fn choices(counts: &[usize]) -> Vec<Vec<usize>> {
    let mut all = vec![Vec::new()];
    for &n in counts {
        let n = if all.len() * n > 4096 { 1 } else { n };
        all = all
            .into_iter()
            .flat_map(|c| (0..n).map(move |i| [c.clone(), vec![i]].concat()))
            .collect();
    }
    all
}

/// Word edits between `reference` and `hypothesis` after normalization, using for every
/// number the reading closest to the other side; and the number of reference words (with the
/// reference's own numbers read the way that gave the fewest edits).
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let r = normalize(reference);
    let h = normalize(hypothesis);
    let mut best: Option<(usize, usize)> = None;
    for rc in choices(&readings_per_number(&r)) {
        let rw = flatten(&r, &rc);
        for hc in choices(&readings_per_number(&h)) {
            let edits = edit_distance(&rw, &flatten(&h, &hc));
            if best.is_none_or(|(e, _)| edits < e) {
                best = Some((edits, rw.len()));
            }
        }
    }
    best.expect("at least one choice")
}

/// Word error rate of `hypothesis` against `reference` (0 = perfect; can exceed 1).
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (edits, words) = word_errors(reference, hypothesis);
    edits as f64 / words.max(1) as f64
}

/// The normalized words of `text`, each number in its first reading (for messages and for
/// phrase checks such as "never says 'thank you'").
pub fn normalized_words(text: &str) -> Vec<String> {
    let tokens = normalize(text);
    let first = vec![0; readings_per_number(&tokens).len()];
    flatten(&tokens, &first)
}

/// The recording the context-prompt tests transcribe: a callback request with a number, where
/// tiny.en's transcript follows the style of the prompt (digits or words).
pub const PROMPTED_WAV: &str = "tests/fixtures/voicemail-numbers/pcm16-8000hz-callback-david.wav";

/// Three prompts a bot might configure; each gives this recording a different transcript.
pub const PROMPT_GLOBAL: &str = "Dental office voicemail. Appointments, cleaning, Dr. Patel.";
pub const PROMPT_DIGITS: &str = "Voicemail. Call me back at 425-555-0142.";
