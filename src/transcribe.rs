//! Transcribe: the speech span of a [`Mono16k`] → timed text, with whisper.cpp via whisper-rs.
//!
//! The model ([`WhisperContext`]) is loaded once and shared; each job makes its own
//! [`WhisperState`] (two while a long message's pieces are decoded side by side). Only the span
//! found by [`crate::trim`] is decoded, so silence never reaches the model, and the guards below
//! drop what Whisper is known to invent on non-speech ("you", "Thank you.", `[BLANK_AUDIO]`).
//!
//! A span longer than `MAX_PIECE_S` (28 s) is cut into pieces at pauses (`plan_pieces`) and each
//! piece is decoded with an encoder context sized to it: whisper.cpp would otherwise encode the
//! span window by window, a full 30 s window even for the last fraction of a second. With two
//! threads or more, pieces of similar cost are decoded side by side, one thread each.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;

use whisper_rs::{
    FullParams, SamplingStrategy, WhisperContext, WhisperContextParameters, WhisperState,
};

use crate::audio::{Mono16k, Seconds, TARGET_RATE};
use crate::config::{ContextSettings, TranscribeOptions};
use crate::error::{Error, Result};
use crate::pipeline::round_ms;
use crate::result::{Transcript, TranscriptSegment};
use crate::trim::{Segment, SpeechReport};

/// whisper.cpp returns nothing for input under 1 s; shorter spans are padded to this, in
/// seconds.
const MIN_CLIP_S: f64 = 1.1;

/// One encoder position (`audio_ctx` unit) covers 20 ms: 1500 positions = 30 s.
const CTX_PER_SECOND: f64 = 50.0;

/// Extra encoder positions beyond the clip's length (≈1.3 s), so the decoder sees the end of the
/// last word followed by some silence and can emit its final timestamp.
const CTX_MARGIN: u32 = 64;

/// Encoder contexts are multiples of this. The encoder's attention multiplies over the context
/// (`softmax(QKᵀ)·V` has it as its inner dimension), and ggml hands a product to llamafile's
/// tiled f16 GEMM only when that dimension is a multiple of the vector width (16 floats with
/// AVX-512, 8 with AVX2); otherwise it falls back to one dot product per output element.
/// Measured on 2026-12-04 (base q8_0, 2 threads, one encoder pass): 1,500 positions 1.22 s,
/// 1,488 positions 0.85 s; 1,420 positions 1.05 s, 1,424 0.83 s; 520 0.22 s, 512 0.19 s.
/// So the "full" context is 1,488 positions (29.76 s), not the model's 1,500: the last 0.24 s
/// of a 30 s window, which Whisper fills with padding for any shorter clip, is not worth 40 %
/// more encoder time ([`aligned_full_ctx`]).
const CTX_ALIGN: u32 = 16;

/// Audio samples per encoder position: 320 (20 ms at 16 kHz).
const SAMPLES_PER_POSITION: usize = (TARGET_RATE as f64 / CTX_PER_SECOND) as usize;

/// Longest piece of a span decoded as one clip, in seconds. A clip gets
/// `ceil(50 × seconds) + CTX_MARGIN` encoder positions rounded up to [`CTX_ALIGN`]
/// ([`Transcriber::audio_ctx`]): 1,472 for 28 s, inside the 1,488 of the full window; longer
/// spans are cut ([`plan_pieces`]).
const MAX_PIECE_S: f64 = 28.0;

/// Shortest piece a cut may leave, in seconds: a shorter one would be padded out of its
/// neighbour's audio to [`MIN_CLIP_S`] and cost the encoder's `min_audio_ctx` floor anyway.
const MIN_PIECE_S: f64 = 2.0;

/// Two pieces are decoded side by side only when the cheaper is at least this share of the
/// dearer ([`schedule`], costs by [`Transcriber::piece_cost`]). A pair takes as long as its
/// dearer side at one thread, and one thread takes about 1.6 times as long as two on the same
/// piece (2026-12-05, AMD EPYC, base q8_0: encoder passes 1.5–1.8×, decoding 1.3–1.7×), a
/// little longer still beside another, so a pair gains only when its sides are close. Measured
/// on the benchmark clips that day (`farm-bench` pairs against one piece after the other): by
/// length alone at 0.65, a 13 s first piece at full context beside 18 s, and 22 s beside 28 s
/// and a tail, were 1.07–1.20× slower; by cost at 0.8, es-103 with `auto` (0.81 apart, and a
/// tail decoded after its second piece) 1.10×; the pairs kept at 0.85 took 0.92–0.98×, and
/// en-103 given (0.8496 apart) 0.95× (`farm-bench -n 8`, 9ef2b43). Any threshold between those
/// two, 0.815 and 0.8496, fits every measurement; this is the middle.
const PAIR_BALANCE: f64 = 0.83;

/// Weight of a piece's length in [`Transcriber::piece_cost`], against its encoder window's: at
/// one thread whisper.cpp encoded about 17 s of window a second and decoded 24–40 s of speech
/// a second (2026-12-05, AMD EPYC, base q8_0).
const DECODE_WEIGHT: f64 = 0.6;

/// A pause within this many seconds of the balanced cut point (the remaining span divided
/// evenly) is preferred to one further away: a quarter of [`MAX_PIECE_S`].
const BALANCE_S: f64 = 7.0;

/// Without a pause to cut at, the cut is the quietest frame within this many seconds before the
/// piece limit.
const QUIET_SEARCH_S: f64 = 5.0;

/// Frame of the quietest-point search: 320 samples = 20 ms at 16 kHz, about one phone, so the
/// quietest frame is a closure or a breath rather than the middle of a vowel.
const QUIET_FRAME: usize = 320;

/// Phrases Whisper produces on near-silence. Dropped when the segment also looks like non-speech
/// (no-speech probability above [`HALLUCINATION_NO_SPEECH`]), so a caller who really says
/// "thank you" keeps it.
const HALLUCINATIONS: &[&str] = &[
    "you",
    "thank you",
    "thanks for watching",
    "thank you for watching",
    "bye",
];

/// No-speech probability above which a known hallucination phrase is dropped: above almost
/// every window of real telephone speech measured ([`MUSIC_NO_SPEECH`]: at most 0.51), so a
/// caller's real "thank you" stays.
///
/// This threshold and [`MUSIC_NO_SPEECH`] were 0.3 while whisper.cpp's value was mostly stale
/// ([`Candidate::no_speech`]); on the real value 0.3 drops real speech (23 of the 155 segments
/// of the messages after hold music of [`MUSIC_NO_SPEECH`]).
const HALLUCINATION_NO_SPEECH: f32 = 0.5;

/// In a recording where the music detector found music (`SpeechReport::music_s` > 0), a
/// segment is dropped when its window's no-speech probability is above this, when its mean
/// log-probability is below [`MUSIC_LOGPROB`], or when its window's text loops as a whole
/// ([`loops_as_a_whole`]): what Whisper writes over music that got past the detector.
///
/// Measured 2026-12-06 with base q8_0 and `--language auto`, the probability read by the ninth
/// build edit:
/// - real speech: the 18 benchmark messages (Spanish, French, English at 8 kHz) after 20 s of
///   hold music (held-out tracks, the detector found music in every one) and alone. Segments
///   at no-speech 0.00–0.51, mean log-probability −1.13 to −0.01;
/// - what Whisper wrote over 17 held-out music tracks with the detector switched off: no-speech
///   0.13–0.68, log-probability down to −13; the segments above −0.5 were mostly loops of
///   one sentence ("Ṛí Islands" four times, "I'm gonna go back to the room." fourteen).
///
/// No single measure parts the two, so the rule takes the three. Whisper's own rule (above
/// 0.6 with a log-probability below −1) applies everywhere as well.
const MUSIC_NO_SPEECH: f32 = 0.6;

/// Mean token log-probability below which a segment is dropped in a recording that holds
/// music ([`MUSIC_NO_SPEECH`]): real speech measured down to −1.13, invented words over music
/// mostly −2 to −13.
const MUSIC_LOGPROB: f32 = -1.5;

/// Compression ratio (text bytes / zlib bytes) above which a segment is a loop: the threshold
/// of OpenAI Whisper and faster-whisper (`compression_ratio_threshold`).
const LOOP_COMPRESSION_RATIO: f64 = 2.4;

/// A phrase of [`LOOP_PHRASE_WORDS`] words said this many times back to back inside one segment
/// is a loop: Whisper's way of getting stuck on a phrase and then going on ("… their
/// productions, whatever they were, whatever they were, whatever they were, whatever they It
/// is …", tiny.en on an LJ Speech sentence, 2026-12-07). The compression ratio, over a segment
/// or a window of 20 words and more, does not see a short phrase said three times; nor does
/// whisper.cpp's entropy check, which reads the last 32 tokens of the window only.
const LOOP_PHRASE_COPIES: usize = 3;

/// The lengths, in words, of the phrases [`LOOP_PHRASE_COPIES`] looks for. Shorter phrases, and
/// phrases of one word said over ("five five five"), are left alone: "five five five five five
/// five" is a telephone number, "no, no, no" and "thank you, thank you, thank you" are what
/// callers say.
const LOOP_PHRASE_WORDS: std::ops::RangeInclusive<usize> = 3..=12;

/// Temperature of the second decode of a piece whose first one looped; whisper.cpp's own
/// fallback steps on from there in 0.2 increments when its entropy and log-probability checks
/// still fail.
const RETRY_TEMPERATURE: f32 = 0.4;

/// Most extra decodes of a piece after its first: where whisper.cpp's window stopped
/// (`Decoded::resume_at`) or an untranscribed tail (`untranscribed_tail`) begins. Each pass
/// decodes a shorter clip (each doubled at worst by the retries of `decode_piece`); whisper.cpp
/// itself rarely needs more than two windows for a piece of at most [`MAX_PIECE_S`].
const MAX_TAIL_PASSES: usize = 4;

/// A further pass must start at least this much later than the one before, so the passes
/// always move on.
const MIN_PASS_STEP_S: f64 = 0.1;

/// A speech segment that starts this long after the last kept words is not covered by them
/// (trim pads its segments by 0.2 s, Whisper's end times are to the 20 ms).
const TAIL_GAP_S: f64 = 0.3;

/// Least speech (trim's segments) after the last kept words worth a decode of its own, whether
/// whisper.cpp's window stopped there or ended its text early: shorter scraps are breaths,
/// clicks, trim's 0.2 s of padding and the end of the last word, which runs up to half a second
/// past Whisper's last timestamp at a window's end, and a clip of them comes back as an invented
/// word or a repeated one ("Истори." after "истории", "Я не знаю.", "Je vous invite à vous faire
/// une vidéo."). With 0.2 s for a stopped window (until 2026-12-08), 15 of 40 Russian messages
/// and 4 of 45 Spanish, French and English ones (`benches/multilingual.sh`) got words from such
/// a pass, every one invented or repeated; the one stopped window of those 85 messages with more
/// speech after it than this (1.95 s) held a prompt Whisper had not reached.
const MIN_TAIL_SPEECH_S: f64 = 0.8;

/// Most windows language detection looks at. With `auto`, a decision less likely than
/// [`DETECT_CONFIDENT`] on the first window looks at the next one, and so on, averaging the
/// probabilities (faster-whisper's `language_detection_segments`).
const DETECT_MAX_WINDOWS: usize = 3;

/// Probability at which a language decision stops looking at more speech
/// (faster-whisper's `language_detection_threshold`).
const DETECT_CONFIDENT: f32 = 0.5;

/// Most `by_client_context` entries: a bot's tenants, not a database.
const MAX_CONTEXT_SETTINGS: usize = 1000;

/// Longest `--prompt` accepted, in bytes; checked before tokenizing, so the token buffer
/// (at most one token per byte, plus a margin) can never be too small.
const MAX_PROMPT_BYTES: usize = 2048;

/// Which language the decoder is told.
#[derive(Debug, Clone, PartialEq)]
enum LanguagePlan {
    /// Always this code (`--language es`, or any English-only model).
    Fixed(String),
    /// Detected once per recording, among these codes (in the order given; the first is the
    /// fallback below the floor); empty = any language the model knows.
    Detect(Vec<String>),
}

impl LanguagePlan {
    /// Parses `--language`: a code, `auto`, or a comma-separated set of codes.
    fn parse(spec: &str) -> Result<Self> {
        let invalid = |detail: String| Error::Config { detail };
        let spec = spec.trim().to_ascii_lowercase();
        if spec == "auto" {
            return Ok(Self::Detect(Vec::new()));
        }
        let mut codes: Vec<String> = Vec::new();
        for code in spec.split(',').map(str::trim) {
            // whisper.cpp's codes are two or three ASCII letters (`en`, `haw`); checked before
            // the lookup, which cannot take a NUL byte.
            let plausible =
                (2..=3).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_lowercase());
            if !plausible || whisper_rs::get_lang_id(code).is_none() {
                return Err(invalid(format!(
                    "unknown language {code:?} in --language {spec:?} (a Whisper code such as \
                     en, es, fr; auto; or a list such as en,es,fr)"
                )));
            }
            if !codes.iter().any(|c| c == code) {
                codes.push(code.to_owned());
            }
        }
        Ok(match <[String; 1]>::try_from(codes) {
            Ok([one]) => Self::Fixed(one),
            Err(codes) => Self::Detect(codes),
        })
    }

    /// `en` for an English-only model, which cannot detect or decode anything else (warned
    /// about, naming `what` was configured); the plan itself for a multilingual one.
    fn for_model(self, multilingual: bool, what: &str) -> Self {
        let en = Self::Fixed("en".into());
        if multilingual || self == en {
            return self;
        }
        tracing::warn!(
            language = %what,
            "the model is English-only: no language detection, every recording is \
             transcribed as en (use a multilingual model such as base for other languages)"
        );
        en
    }

    /// The language reported without speech: the fixed one, or the first listed.
    fn fallback(&self) -> &str {
        match self {
            Self::Fixed(code) => code,
            Self::Detect(among) => among.first().map_or("auto", String::as_str),
        }
    }
}

/// How a recording is transcribed: the general settings, or a `by_client_context` entry's.
#[derive(Debug)]
struct Settings {
    language: LanguagePlan,
    /// The vocabulary prompt's tokens (empty: none).
    prompt: Vec<i32>,
}

/// A loaded Whisper model; cheap to share by reference across threads.
pub struct Transcriber {
    ctx: WhisperContext,
    opts: TranscribeOptions,
    /// `language` and `prompt` (tokenized once).
    general: Settings,
    /// `by_client_context`, longest prefix first.
    by_client_context: Vec<(String, Settings)>,
    /// The whole encoder window this crate uses ([`aligned_full_ctx`]): 1,488 positions.
    full_ctx: u32,
    /// A whisper.cpp state made with the model, for the first recording with speech to take
    /// (later ones make their own). Making a state (its buffers, and a trial build of every
    /// graph to size them) took 25–35 ms of one core (2026-12-05, base q8_0, AMD EPYC); made at
    /// load, while `process` hears its first file on the other core
    /// ([`crate::batch::build_and_run`]), it is off that recording's path. It is fresh, so it
    /// holds nothing of any recording; a used state is never kept (its spectrogram and encoder
    /// output would outlive the job).
    spare: Mutex<Option<WhisperState>>,
}

/// A segment as whisper.cpp returned it, with what the checks look at.
struct Candidate {
    segment: TranscriptSegment,
    mean_logp: f32,
    /// Whisper's no-speech probability for the segment's window: the probability of
    /// `<|nospeech|>` at the start-of-transcript position, where OpenAI Whisper and
    /// faster-whisper read it. whisper.cpp (whisper-rs-sys 0.15) reads it from row 0 of the
    /// state's logits after the prompt's decode, but that decode copies out only the last prompt
    /// token's row, so row 0 held the decode before it: the language detection's
    /// start-of-transcript row on a recording's first piece with `--language auto`, and the last
    /// step of the window before everywhere else, where `<|nospeech|>` is all but never likely
    /// (es-101 at 03beca8: 0.048 on its first piece with `auto`, 0.000 on every other window).
    /// The ninth build edit (`.cargo/ggml-cpu-edits.cmake`) copies out the start-of-transcript
    /// row too and reads it there; upstream has the same fix open (whisper.cpp pull requests 3945
    /// and 4068). [`HALLUCINATION_NO_SPEECH`], [`MUSIC_NO_SPEECH`] and the rule of
    /// [`TranscribeOptions::no_speech_threshold`] read it.
    no_speech: f32,
    compression_ratio: f64,
}

impl Candidate {
    /// The segment compresses like a loop: dropped when the hotter decode loops too.
    fn loops(&self) -> bool {
        self.compression_ratio > LOOP_COMPRESSION_RATIO
    }

    /// A loop the piece is decoded again for ([`Transcriber::decode_piece`]): one that
    /// compresses, or a phrase said over and over ([`phrase_loop`]), which [`keep`] collapses
    /// to one saying when the hotter decode has it too.
    fn needs_retry(&self) -> bool {
        self.loops() || phrase_loop(&self.segment.text).is_some()
    }
}

/// The first phrase loop in `text`: a phrase of [`LOOP_PHRASE_WORDS`] words (compared
/// normalized, punctuation aside) said [`LOOP_PHRASE_COPIES`] times or more back to back. Returns
/// the words to drop so that it is said once, as a range of indices into `text`'s
/// whitespace-separated words: the sayings after the first, and the start of one more (two
/// words or more) where the loop was cut off ("whatever they were, whatever they were,
/// whatever they were, whatever they It is …").
fn phrase_loop(text: &str) -> Option<std::ops::Range<usize>> {
    let words: Vec<String> = text.split_whitespace().map(normalize).collect();
    let same = |a: usize, b: usize, k: usize| (0..k).all(|j| words[a + j] == words[b + j]);
    for start in 0..words.len() {
        for k in LOOP_PHRASE_WORDS {
            if start + k * LOOP_PHRASE_COPIES > words.len() {
                break;
            }
            // A phrase of one word said over (or of punctuation alone) is not looked for.
            let phrase = &words[start..start + k];
            if phrase.iter().all(|w| w == &phrase[0]) {
                continue;
            }
            let mut copies = 1;
            while start + (copies + 1) * k <= words.len() && same(start, start + copies * k, k) {
                copies += 1;
            }
            if copies >= LOOP_PHRASE_COPIES {
                let end = start + copies * k;
                let cut_off = (2..k)
                    .rev()
                    .find(|&p| end + p <= words.len() && same(start, end, p))
                    .unwrap_or(0);
                return Some(start + k..end + cut_off);
            }
        }
    }
    None
}

/// `segment` with every phrase loop ([`phrase_loop`]) said once: its text, and its words when
/// it has them (found in them on their own, as they need not split as the text does). What
/// follows a loop stays: the words before and after it are speech.
fn collapse_phrase_loops(mut segment: TranscriptSegment) -> TranscriptSegment {
    fn collapse<T>(items: &mut Vec<T>, text_of: impl Fn(&T) -> &str) -> bool {
        let joined = items.iter().map(&text_of).collect::<Vec<_>>().join(" ");
        let Some(drop) = phrase_loop(&joined) else {
            return false;
        };
        // `joined` splits into the same words as `items` only when each item is one word.
        if items
            .iter()
            .any(|item| text_of(item).split_whitespace().count() != 1)
        {
            return false;
        }
        items.drain(drop);
        true
    }
    let mut words: Vec<String> = segment.text.split_whitespace().map(str::to_owned).collect();
    let mut collapsed = false;
    // Each pass removes at least one word, so this ends; a loop is rarely more than one.
    while collapse(&mut words, String::as_str) {
        collapsed = true;
    }
    if collapsed {
        tracing::debug!("collapsed a phrase said over and over to one saying");
        segment.text = words.join(" ");
        if let Some(timed) = segment.words.as_mut() {
            while collapse(timed, |w| w.text.as_str()) {}
        }
    }
    segment
}

/// Whether the window's text loops as a whole: its segments, joined, compress like a loop (the
/// window-level form of [`Candidate::loops`], as OpenAI Whisper and faster-whisper compute the
/// ratio, over a window's whole text), or one segment's words come again in another. A run of
/// short segments that repeat one another loops as a whole though no segment does on its own;
/// a short phrase said three times ("Marchgo Nanobake", base q8_0 over titanion's "ttn1",
/// 2026-12-06) is too short for zlib to see it.
fn loops_as_a_whole(candidates: &[Candidate]) -> bool {
    let whole = candidates
        .iter()
        .map(|c| c.segment.text.as_str())
        .collect::<Vec<_>>()
        .join(" ");
    if compression_ratio(&whole) > LOOP_COMPRESSION_RATIO {
        return true;
    }
    let mut seen = std::collections::HashSet::new();
    candidates
        .iter()
        .map(|c| normalize(&c.segment.text))
        .filter(|text| !text.is_empty())
        .any(|text| !seen.insert(text))
}

/// The candidates that pass the checks of [`Transcriber::decode_piece`], in order, with the
/// thresholds of `opts`; `holds_music`: the recording holds music ([`MUSIC_NO_SPEECH`]).
fn keep(
    candidates: Vec<Candidate>,
    mut previous: Option<String>,
    opts: &TranscribeOptions,
    holds_music: bool,
) -> Vec<TranscriptSegment> {
    let window_loops = holds_music && loops_as_a_whole(&candidates);
    let mut kept = Vec::new();
    for c in candidates {
        let text = &c.segment.text;
        if c.loops() {
            tracing::debug!(ratio = c.compression_ratio, "dropped a looping segment");
            continue;
        }
        if c.no_speech > opts.no_speech_threshold && c.mean_logp < opts.logprob_threshold {
            tracing::debug!(c.no_speech, c.mean_logp, "dropped a non-speech segment");
            continue;
        }
        if c.no_speech > HALLUCINATION_NO_SPEECH && is_known_hallucination(text) {
            tracing::debug!(c.no_speech, "dropped a likely hallucination");
            continue;
        }
        if holds_music
            && (window_loops || c.no_speech > MUSIC_NO_SPEECH || c.mean_logp < MUSIC_LOGPROB)
        {
            tracing::debug!(
                window_loops,
                c.no_speech,
                c.mean_logp,
                "dropped a likely non-speech segment over music"
            );
            continue;
        }
        let segment = collapse_phrase_loops(c.segment);
        if repeats(&mut previous, &segment.text) {
            tracing::debug!("dropped a segment repeating the one before");
            continue;
        }
        kept.push(segment);
    }
    kept
}

/// One encoder window's decode (`Transcriber::decode_clip`).
struct Window {
    candidates: Vec<Candidate>,
    /// whisper.cpp stopped short of the clip's end and would have encoded another window from
    /// its last timestamp.
    goes_on: bool,
}

impl Window {
    /// Where whisper.cpp would have gone on: its last timestamp, in seconds of the recording.
    fn resume_at(&self) -> Option<f64> {
        if !self.goes_on {
            return None;
        }
        self.candidates
            .iter()
            .map(|c| c.segment.end_s)
            .max_by(f64::total_cmp)
    }
}

/// The encoder context `Transcriber::decode_piece` starts at.
#[derive(Clone, Copy)]
enum Context {
    /// The clip's length plus a margin, at least the configured floor (`Transcriber::audio_ctx`).
    Sized,
    /// The whole window (1,488 positions, 29.76 s: [`CTX_ALIGN`]), as language detection
    /// needs.
    Full,
}

/// What `Transcriber::decode_piece` keeps of a piece.
struct Decoded {
    kept: Vec<TranscriptSegment>,
    /// See [`Window::resume_at`]: the piece's speech after this point is still to decode.
    resume_at: Option<f64>,
}

/// What stays the same for every whisper.cpp call on one recording.
#[derive(Clone, Copy)]
struct Run<'a> {
    threads: u32,
    /// The vocabulary prompt's tokens (empty: none).
    prompt: &'a [i32],
    /// The music detector found music in the recording ([`MUSIC_NO_SPEECH`]).
    holds_music: bool,
}

/// What every piece of one recording is decoded with ([`Transcriber::decode_whole_piece`]).
struct PieceJob<'a> {
    audio: &'a Mono16k,
    speech: &'a SpeechReport,
    /// The speech span the pieces tile.
    span: Segment,
    /// The span's pieces, in order ([`plan_pieces`]).
    pieces: &'a [Segment],
    /// The vocabulary prompt's tokens (empty: none).
    prompt: &'a [i32],
    /// The encoder context of piece 0's first pass.
    first: Context,
}

impl PieceJob<'_> {
    /// The encoder context piece `n`'s first pass starts at: `first` for piece 0, sized for
    /// the others.
    fn context(&self, n: usize) -> Context {
        if n == 0 {
            self.first
        } else {
            Context::Sized
        }
    }
}

/// The recording's language code, with its probability when it was detected.
type Language = (String, Option<f32>);

/// A piece's index and its segments, as one side of a [`Step::Pair`] decoded it.
type DecodedPiece = (usize, Vec<TranscriptSegment>);

/// One step of [`Transcriber::decode_pieces`] ([`schedule`]).
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// One piece with all the threads.
    Solo(usize),
    /// Two sides side by side, each decoding its pieces in turn (one piece, or two). When the
    /// step holds piece 0, it is the first side's first piece.
    Pair(Vec<usize>, Vec<usize>),
}

impl Transcriber {
    /// Loads a ggml model (any of whisper.cpp's: tiny/base/small…, `.en` or multilingual).
    ///
    /// Errors: `config` when the file is missing, whisper.cpp rejects it, the language is not
    /// one Whisper knows, or the prompt is too long.
    pub fn load(opts: &TranscribeOptions) -> Result<Self> {
        let path = &opts.model;
        if !path.is_file() {
            return Err(Error::Config {
                detail: format!(
                    "Whisper model not found at {} (build it with models/build-model.sh, pass \
                     --model PATH or set CALLSCRIBE_MODEL, or use --no-transcribe)",
                    path.display()
                ),
            });
        }
        let language = LanguagePlan::parse(&opts.language)?;
        if !(0.0..=1.0).contains(&opts.language_floor) {
            return Err(Error::Config {
                detail: format!(
                    "language floor {} is not a probability (0 to 1)",
                    opts.language_floor
                ),
            });
        }
        // whisper.cpp prints to stderr by default; route it into `tracing` instead.
        crate::whisper_ffi::install_logging();
        let ctx = WhisperContext::new_with_params(path, WhisperContextParameters::default())
            .map_err(|e| Error::Config {
                detail: format!("whisper.cpp could not load {}: {e}", path.display()),
            })?;
        let multilingual = ctx.is_multilingual();
        let general = Settings {
            language: language.for_model(multilingual, &opts.language),
            prompt: tokenize_prompt(&ctx, opts.prompt.as_deref().unwrap_or(""))?,
        };
        let by_client_context =
            context_settings(&ctx, &opts.by_client_context, &general, multilingual)?;
        let full_ctx = aligned_full_ctx(u32::try_from(ctx.model_n_audio_ctx()).unwrap_or(1500));
        let spare = ctx.create_state().map_err(|e| Error::Config {
            detail: format!(
                "whisper.cpp could not make a state for {}: {e}",
                path.display()
            ),
        })?;
        tracing::info!(model = %path.display(), multilingual, language = ?general.language, "whisper model loaded");
        Ok(Self {
            ctx,
            opts: opts.clone(),
            general,
            by_client_context,
            full_ctx,
            spare: Mutex::new(Some(spare)),
        })
    }

    /// Transcribes the speech span of `audio`. Without speech, returns an empty transcript
    /// without running the model.
    ///
    /// The language is decided once, before any text is decoded (`detect_language`), and every
    /// piece is decoded in it. A span up to `MAX_PIECE_S` (28 s) is decoded as one clip. A longer
    /// one is cut at pauses into pieces of at most that length (`plan_pieces`), each standing
    /// alone (no text context carried over), and their segments joined in time order
    /// (`decode_piece` and `join_pieces` say what is dropped). With two threads or more, pieces
    /// of similar cost are decoded side by side (one beside one, or a long one beside two in
    /// turn), on two states at half the threads each (`schedule`, `decode_pieces`), the others
    /// one after the other with every thread; the transcript is the same either way, whatever
    /// the thread count.
    ///
    /// `threads` = 0 uses the configured threads, or all cores. `client_context` (the Graph
    /// operation's) picks the prompt and language from `by_client_context`; without a match,
    /// or without one, the general `prompt` and `language` apply.
    ///
    /// Errors: `transcription` when whisper.cpp fails.
    pub fn transcribe(
        &self,
        audio: &Mono16k,
        speech: &SpeechReport,
        threads: u32,
        client_context: Option<&str>,
    ) -> Result<Transcript> {
        let settings = self.settings_for(client_context);
        let Some(span) = speech.span else {
            return Ok(Transcript {
                text: String::new(),
                language: settings.language.fallback().to_owned(),
                language_probability: None,
                segments: Vec::new(),
                entities: Vec::new(),
                redactions: Vec::new(),
            });
        };
        let detect = matches!(settings.language, LanguagePlan::Detect(_));
        let pieces = plan_pieces(audio, span, &speech.segments, detect);
        if pieces.len() > 1 {
            tracing::debug!(
                pieces = pieces.len(),
                span_s = round_ms(span.end_s - span.start_s),
                "long span cut into pieces"
            );
        }

        let threads = self.threads(threads);
        let spare = self
            .spare
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        let mut state = match spare {
            Some(state) => state,
            None => self.ctx.create_state().map_err(whisper_error)?,
        };
        let (known, among) = match &settings.language {
            LanguagePlan::Fixed(code) => (Some((code.clone(), None)), &[][..]),
            LanguagePlan::Detect(among) => (None, among.as_slice()),
        };
        let job = PieceJob {
            audio,
            speech,
            span,
            pieces: &pieces,
            prompt: &settings.prompt,
            // With detection, the first piece is decoded at full context: its window is the one
            // the language was read from, so whisper.cpp does not encode it again.
            first: if detect {
                Context::Full
            } else {
                Context::Sized
            },
        };
        let costs: Vec<f64> = pieces
            .iter()
            .enumerate()
            .map(|(n, &piece)| self.piece_cost(piece, job.context(n)))
            .collect();
        let steps = schedule(&costs, threads);
        if pieces.len() > 1 {
            tracing::debug!(?steps, ?costs, "pieces scheduled");
        }
        let ((language, probability), decoded) =
            self.decode_pieces(&mut state, &job, &steps, threads, known, among)?;
        let language_probability = probability.map(|p| (f64::from(p) * 1000.0).round() / 1000.0);
        let segments = join_pieces(decoded);
        let text = segments
            .iter()
            .map(|s| s.text.as_str())
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Transcript {
            text,
            language,
            language_probability,
            segments,
            entities: Vec::new(),
            redactions: Vec::new(),
        })
    }

    /// Decodes piece `n` of `job`: once from its start, then again from where whisper.cpp's
    /// window stopped or from speech left after the last kept words, up to [`MAX_TAIL_PASSES`]
    /// more times. The piece stands alone: its repeat check looks only at its own earlier
    /// segments ([`join_pieces`] applies it across pieces), so its result is the same whichever
    /// state and thread decode it, and whatever was decoded before.
    fn decode_whole_piece(
        &self,
        state: &mut WhisperState,
        job: &PieceJob<'_>,
        n: usize,
        language: &str,
        threads: u32,
    ) -> Result<Vec<TranscriptSegment>> {
        let piece = job.pieces[n];
        let run = Run {
            threads,
            prompt: job.prompt,
            holds_music: job.speech.music_s > 0.0,
        };
        let mut segments: Vec<TranscriptSegment> = Vec::new();
        let mut from = piece.start_s;
        for pass in 0..=MAX_TAIL_PASSES {
            let part = Segment {
                start_s: from,
                end_s: piece.end_s,
            };
            let previous = segments.last().map(|s| normalize(&s.text));
            // With detection, the first piece is decoded at full context: its window is the one
            // the language was read from, so whisper.cpp does not encode it again.
            let context = if pass == 0 {
                job.context(n)
            } else {
                Context::Sized
            };
            let Decoded {
                mut kept,
                resume_at,
            } = self.decode_piece(state, job.audio, part, run, language, previous, context)?;
            // Passes tile the piece in order, so clamping each into its part keeps the piece's
            // segments monotone and inside it.
            clamp_times(&mut kept, part.start_s, part.end_s);
            let last = kept.last().map(|s| s.end_s);
            segments.append(&mut kept);
            let speech = &job.speech.segments;
            let resume = resume_at
                .filter(|&at| speech_between(speech, at, piece.end_s) >= MIN_TAIL_SPEECH_S);
            let next = resume
                .or_else(|| last.and_then(|last| untranscribed_tail(speech, last, piece.end_s)));
            match next {
                Some(start) if start >= from + MIN_PASS_STEP_S => {
                    tracing::debug!(
                        start,
                        speech_s = speech_between(speech, start, piece.end_s),
                        window_stopped = resume.is_some(),
                        "speech after the last words: decoding on from there"
                    );
                    from = start;
                }
                _ => break,
            }
        }
        Ok(segments)
    }

    /// Decodes `job`'s pieces by `steps` ([`schedule`]): a solo piece on `state` with all
    /// `threads`; a pair's two sides side by side, the first side's pieces on `state` and the
    /// second's on a state of its own (made for the first pair, kept for the others), the
    /// threads split between them. Without a `language` yet, it is decided first, among
    /// `among`, on piece 0's window in `state` (the first step holds piece 0, first on its
    /// first side); when that step is a pair, the other side's first encoder pass runs meanwhile
    /// on the second state, so both sides stay busy. Returns the language (with its probability
    /// when detected) and each piece's segments, in piece order.
    ///
    /// Why pairs: whisper.cpp's threads meet at a barrier after every operation of the graph,
    /// and its decoder, one token at a time, waits on memory. Two pieces of similar cost at
    /// one thread each keep two cores busier than one piece at a time at two threads
    /// (BENCHMARKS.md, "Pieces side by side"). Each piece's result is the same either way.
    fn decode_pieces(
        &self,
        state: &mut WhisperState,
        job: &PieceJob<'_>,
        steps: &[Step],
        threads: u32,
        mut language: Option<Language>,
        among: &[String],
    ) -> Result<(Language, Vec<Vec<TranscriptSegment>>)> {
        let mut decoded: Vec<Vec<TranscriptSegment>> = vec![Vec::new(); job.pieces.len()];
        let mut second: Option<WhisperState> = None;
        for step in steps {
            match step {
                &Step::Solo(n) => {
                    let code = match &language {
                        Some((code, _)) => code.clone(),
                        None => {
                            let (code, p) = self.decide_language(state, job, among, threads)?;
                            language = Some((code.clone(), Some(p)));
                            code
                        }
                    };
                    decoded[n] = self.decode_whole_piece(state, job, n, &code, threads)?;
                }
                Step::Pair(a, b) => {
                    let known = language.as_ref().map(|(code, _)| code.clone());
                    let (decided, sides) =
                        self.decode_pair(state, &mut second, job, (a, b), threads, known, among)?;
                    language.get_or_insert(decided);
                    for (n, segments) in sides {
                        decoded[n] = segments;
                    }
                }
            }
        }
        // Every span has a piece, so the first step has decided the language by now; were that
        // ever not so, an error says it rather than a language nobody decided.
        let language = language.ok_or_else(|| Error::Transcription {
            detail: "the recording's pieces were decoded without a language decision".to_owned(),
        })?;
        Ok((language, decoded))
    }

    /// One [`Step::Pair`] of [`Self::decode_pieces`]: side `a`'s pieces in turn on `state`
    /// (where the language is first decided, on piece 0, when it is not `known`) and side `b`'s
    /// on `second` (made on first use), side by side, the threads split between them. Returns
    /// the language (`known`, or the decision) and each piece's segments with its index; on
    /// failure, the first side's error first.
    #[allow(clippy::too_many_arguments)]
    fn decode_pair(
        &self,
        state: &mut WhisperState,
        second: &mut Option<WhisperState>,
        job: &PieceJob<'_>,
        (a, b): (&[usize], &[usize]),
        threads: u32,
        known: Option<String>,
        among: &[String],
    ) -> Result<(Language, Vec<DecodedPiece>)> {
        if known.is_none() && a.first() != Some(&0) {
            // `schedule` puts piece 0 first on the first side of the first step.
            return Err(Error::Transcription {
                detail: "the language would be decided on a piece other than the first".to_owned(),
            });
        }
        let (ta, tb) = pair_threads(threads);
        let (left, right) = std::thread::scope(|scope| {
            let (tell, told) = std::sync::mpsc::channel::<String>();
            let known_b = known.clone();
            let right = scope.spawn(move || -> Result<Vec<DecodedPiece>> {
                let state = match second {
                    Some(state) => state,
                    None => second.insert(self.ctx.create_state().map_err(whisper_error)?),
                };
                let code = match (known_b, b.first()) {
                    (Some(code), _) => code,
                    (None, Some(&first)) => {
                        // Encode now, decode once the other side has decided the language.
                        self.pre_encode(state, job, first, tb)?;
                        let Ok(code) = told.recv() else {
                            // The other side failed before deciding, and reports why.
                            return Ok(Vec::new());
                        };
                        code
                    }
                    (None, None) => return Ok(Vec::new()),
                };
                self.decode_side(state, job, b, &code, tb)
            });
            let left = (|| -> Result<_> {
                let language = match known {
                    Some(code) => (code, None),
                    None => {
                        let (code, p) = self.decide_language(state, job, among, ta)?;
                        // The receiver is gone only when its side failed.
                        let _ = tell.send(code.clone());
                        (code, Some(p))
                    }
                };
                let segments = self.decode_side(state, job, a, &language.0, ta)?;
                Ok((language, segments))
            })();
            drop(tell);
            // A panic on the other side is a bug: carry it over.
            let right = right
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e));
            (left, right)
        });
        let (language, mut sides) = left?;
        sides.extend(right?);
        Ok((language, sides))
    }

    /// One side of a [`Step::Pair`]: its pieces in turn on `state`, each with its index.
    fn decode_side(
        &self,
        state: &mut WhisperState,
        job: &PieceJob<'_>,
        side: &[usize],
        language: &str,
        threads: u32,
    ) -> Result<Vec<DecodedPiece>> {
        side.iter()
            .map(|&n| {
                Ok((
                    n,
                    self.decode_whole_piece(state, job, n, language, threads)?,
                ))
            })
            .collect()
    }

    /// Runs the encoder pass that decoding piece `n` from its start begins with, on `state`:
    /// whisper.cpp then skips that pass (edit 5 of `.cargo/ggml-cpu-edits.cmake`), so the
    /// encoding can be done before the language is known.
    fn pre_encode(
        &self,
        state: &mut WhisperState,
        job: &PieceJob<'_>,
        n: usize,
        threads: u32,
    ) -> Result<()> {
        let (clip, _, audio_ctx) = self.clip_for(job.audio, job.pieces[n], Context::Sized);
        self.set_window(state, &clip, audio_ctx, threads)?;
        state.encode(0, threads as usize).map_err(whisper_error)
    }

    /// Decides the recording's language from the encoder window of its first piece at full
    /// context (a piece is at most [`MAX_PIECE_S`] from the span's start, so this is up to the
    /// first 30 s of the span, as OpenAI Whisper and faster-whisper look at), by whisper.cpp's
    /// own method: one decoder step from start-of-transcript, softmax over the language tokens.
    /// A decision less likely than [`DETECT_CONFIDENT`] looks at more speech
    /// ([`Self::detect_language`]); the floor applies as there. Must run first on a fresh
    /// `state`: it leaves the first piece's window encoded there, and `decode_pieces` then decodes
    /// that piece at full context without whisper.cpp encoding the same window again (edit 5 of
    /// `.cargo/ggml-cpu-edits.cmake`), so deciding costs one decoder step, not an encoder pass.
    fn decide_language(
        &self,
        state: &mut WhisperState,
        job: &PieceJob<'_>,
        among: &[String],
        threads: u32,
    ) -> Result<(String, f32)> {
        let (audio, first) = (job.audio, job.pieces[0]);
        let allowed = language_ids(among);
        let (clip, _) = padded_clip(audio, first.start_s, first.end_s);
        self.set_window(state, &clip, self.full_ctx, threads)?;
        let (_, probs) = state
            .lang_detect(0, threads as usize)
            .map_err(whisper_error)?;
        let picked = allowed_probs(&probs, &allowed);
        let (best, p) = most_likely(&picked);
        let (code, p) = if p >= DETECT_CONFIDENT {
            let code = lang_code(allowed[best]);
            self.apply_floor(among, code, p, &picked)
        } else {
            tracing::debug!(p, "an uncertain first window: detecting on more speech");
            self.detect_language(state, audio, job.span, job.speech, among, threads)?
        };
        tracing::debug!(language = %code, p, "language decided");
        Ok((code, p))
    }

    /// `code` at probability `p` (renormalised over `among`'s `probs`), or the first listed
    /// language when `among` is a set and `p` is below the floor.
    fn apply_floor(&self, among: &[String], code: String, p: f32, probs: &[f32]) -> (String, f32) {
        if among.is_empty() || p >= self.opts.language_floor {
            return (code, p);
        }
        let total: f32 = probs.iter().sum();
        tracing::debug!(detected = %code, p, floor = self.opts.language_floor, "below the floor: first listed language");
        let first = if total > 0.0 { probs[0] / total } else { 0.0 };
        (among[0].clone(), first)
    }

    /// Decides the recording's language from its speech: the VAD's speech segments inside the
    /// span, pauses left out, one whole window at a time at full encoder context (as OpenAI
    /// Whisper and faster-whisper do); more windows (up to [`DETECT_MAX_WINDOWS`], their
    /// probabilities averaged) while the decision is less likely than [`DETECT_CONFIDENT`].
    /// With a set of languages only those count, renormalised; below the configured floor the
    /// first listed one is used. Returns the code and its probability.
    fn detect_language(
        &self,
        state: &mut WhisperState,
        audio: &Mono16k,
        span: Segment,
        speech: &SpeechReport,
        among: &[String],
        threads: u32,
    ) -> Result<(String, f32)> {
        let speech_only = speech_samples(audio, span, &speech.segments);
        // One encoder window of speech at a time, as OpenAI Whisper and faster-whisper do.
        let window = self.full_ctx as usize * SAMPLES_PER_POSITION;
        let allowed = language_ids(among);
        let mut sums = vec![0f32; allowed.len()];
        let mut decision = (0usize, 0f32);
        for (n, chunk) in speech_only
            .chunks(window)
            .take(DETECT_MAX_WINDOWS)
            .enumerate()
        {
            // A trailing scrap shorter than a second adds nothing a decision can use.
            if n > 0 && chunk.len() < TARGET_RATE as usize {
                break;
            }
            // `pcm_to_mel`, not `set_window`: a chunk shorter than a window keeps whisper.cpp's
            // clamp floor past its audio rather than edit 13's zeros. Zeros made the 10 s
            // Spanish message of seed 106, sent through a GSM codec, Italian at p 0.38 (es at
            // 0.53 with the floor; 2026-12-07, base q8_0).
            state
                .pcm_to_mel(chunk, threads as usize)
                .map_err(whisper_error)?;
            let (_, probs) = state
                .lang_detect(0, threads as usize)
                .map_err(whisper_error)?;
            for (sum, p) in sums.iter_mut().zip(allowed_probs(&probs, &allowed)) {
                *sum += p;
            }
            decision = most_likely(&sums);
            if decision.1 >= DETECT_CONFIDENT {
                break;
            }
        }
        let code = lang_code(allowed[decision.0]);
        Ok(self.apply_floor(among, code, decision.1, &sums))
    }

    /// Decodes one piece and keeps what passes the checks of OpenAI Whisper and faster-whisper:
    /// - a piece with a looping segment (compression ratio above [`LOOP_COMPRESSION_RATIO`]) is
    ///   decoded again at [`RETRY_TEMPERATURE`]; the attempt with fewer looping segments wins;
    /// - then a segment is dropped when it still loops, when whisper.cpp thinks it is not
    ///   speech (no-speech probability above the threshold and log-probability below its
    ///   threshold), when it is a known hallucination on a likely non-speech window, when the
    ///   recording holds music and Whisper doubts the window is speech, finds the words very
    ///   unlikely or loops over the whole window ([`MUSIC_NO_SPEECH`]), or when it repeats the
    ///   segment before it (`previous`, the last kept text, for the first one), so no run of
    ///   identical segments gets through;
    /// - a piece decoded at a reduced encoder context that keeps no words is decoded again at
    ///   the full context before it is given up: the reduced context is a speed-up and must
    ///   never lose an utterance.
    #[allow(clippy::too_many_arguments)]
    fn decode_piece(
        &self,
        state: &mut WhisperState,
        audio: &Mono16k,
        piece: Segment,
        run: Run<'_>,
        language: &str,
        previous: Option<String>,
        context: Context,
    ) -> Result<Decoded> {
        let (clip, clip_start, reduced) = self.clip_for(audio, piece, context);
        let mut contexts = vec![reduced];
        if reduced != self.full_ctx {
            contexts.push(self.full_ctx);
        }
        for audio_ctx in contexts {
            let mut window =
                self.decode_clip(state, &clip, clip_start, run, language, audio_ctx, 0.0)?;
            let loops = window.candidates.iter().filter(|c| c.needs_retry()).count();
            if loops > 0 {
                let retry = self.decode_clip(
                    state,
                    &clip,
                    clip_start,
                    run,
                    language,
                    audio_ctx,
                    RETRY_TEMPERATURE,
                )?;
                let retry_loops = retry.candidates.iter().filter(|c| c.needs_retry()).count();
                tracing::debug!(
                    loops,
                    retry_loops,
                    "a looping segment: decoded again hotter"
                );
                if retry_loops < loops {
                    window = retry;
                }
            }
            let resume_at = window.resume_at();
            let kept = keep(
                window.candidates,
                previous.clone(),
                &self.opts,
                run.holds_music,
            );
            if !kept.is_empty() || audio_ctx == self.full_ctx {
                return Ok(Decoded { kept, resume_at });
            }
            tracing::debug!(
                audio_ctx,
                "no words at a reduced context: decoding at full context"
            );
        }
        Ok(Decoded {
            kept: Vec::new(),
            resume_at: None,
        })
    }

    /// Runs whisper.cpp on one clip (at most one encoder window) at encoder context `audio_ctx`
    /// (0 = full) from `temperature`, and returns its segments with what the checks need, timed
    /// in seconds of the recording (`clip_start` plus whisper.cpp's offsets), not yet clamped.
    #[allow(clippy::too_many_arguments)]
    fn decode_clip(
        &self,
        state: &mut WhisperState,
        clip: &[f32],
        clip_start: f64,
        run: Run<'_>,
        language: &str,
        audio_ctx: u32,
        temperature: f32,
    ) -> Result<Window> {
        let strategy = if self.opts.beam_size > 1 {
            SamplingStrategy::BeamSearch {
                beam_size: self.opts.beam_size as i32,
                patience: -1.0,
            }
        } else {
            SamplingStrategy::Greedy { best_of: 1 }
        };
        let mut params = FullParams::new(strategy);
        params.set_n_threads(run.threads as i32);
        params.set_audio_ctx(audio_ctx as i32);
        params.set_language(Some(language));
        params.set_detect_language(false);
        params.set_translate(false);
        // Each recording, and each piece of it, stands alone: no text carried over from an
        // earlier window (whisper.cpp clears the state's past text when this is set); only the
        // caller's vocabulary prompt, if any, is put before it.
        params.set_no_context(true);
        if !run.prompt.is_empty() {
            params.set_tokens(run.prompt);
        }
        params.set_suppress_blank(true);
        params.set_suppress_nst(true);
        // Temperature fallback (whisper.cpp's defaults, spelled out): decode at `temperature`,
        // retry hotter when the result is repetitive (entropy) or unlikely (log-probability).
        params.set_temperature(temperature);
        params.set_temperature_inc(0.2);
        params.set_entropy_thold(2.4);
        params.set_logprob_thold(self.opts.logprob_threshold);
        params.set_no_speech_thold(self.opts.no_speech_threshold);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        params.set_print_special(false);
        params.set_print_timestamps(false);
        // Per-token times for `--word-timestamps`, computed after decoding: the text is the same.
        params.set_token_timestamps(self.opts.word_timestamps);

        // One encoder window per call: whisper.cpp would otherwise seek to its last timestamp
        // and encode a second window at this call's whole `audio_ctx`, however little audio is
        // left (on 2026-12-04 at 89ffb5f, a quarter of a long message's time went to second
        // windows of a few seconds or of padding alone); `transcribe` decodes the speech left
        // after that point as a clip of its own, at the context its length needs.
        let windows = AtomicU32::new(0);
        crate::whisper_ffi::first_window_only(&mut params, &windows);

        // `full` replaces the state's previous results, so one state serves every piece.
        state.full(params, clip).map_err(whisper_error)?;

        let mut candidates = Vec::new();
        for segment in state.as_iter() {
            let text = strip_non_speech(&segment.to_str_lossy().map_err(whisper_error)?);
            if text.is_empty() {
                continue;
            }
            let (mean_p, mean_logp) = token_stats(&segment, self.ctx.token_eot());
            let words = self
                .opts
                .word_timestamps
                .then(|| segment_words(&segment, self.ctx.token_eot(), clip_start));
            // whisper.cpp times are in 10 ms units from the clip start.
            candidates.push(Candidate {
                compression_ratio: compression_ratio(&text),
                segment: TranscriptSegment {
                    start_s: clip_start + segment.start_timestamp() as f64 / 100.0,
                    end_s: clip_start + segment.end_timestamp() as f64 / 100.0,
                    text,
                    confidence: f64::from(mean_p),
                    words,
                },
                mean_logp,
                no_speech: segment.no_speech_probability(),
            });
        }
        Ok(Window {
            candidates,
            goes_on: windows.load(Ordering::Relaxed) > 1,
        })
    }

    /// Loads `clip` into `state` (its log-mel spectrogram) and sets the state's encoder context
    /// to `audio_ctx` without encoding anything: a state's context is set only by
    /// `whisper_full`, so this runs one that stops before its first encoder pass
    /// ([`crate::whisper_ffi::first_window_only`], its count started at 1).
    fn set_window(
        &self,
        state: &mut WhisperState,
        clip: &[f32],
        audio_ctx: u32,
        threads: u32,
    ) -> Result<()> {
        let mut params = FullParams::new(SamplingStrategy::Greedy { best_of: 1 });
        params.set_n_threads(threads as i32);
        params.set_audio_ctx(audio_ctx.min(self.full_ctx) as i32);
        // Any language: nothing is decoded, and without one whisper.cpp would detect (encode).
        params.set_language(Some("en"));
        params.set_detect_language(false);
        params.set_print_progress(false);
        params.set_print_realtime(false);
        let windows = AtomicU32::new(1);
        crate::whisper_ffi::first_window_only(&mut params, &windows);
        state.full(params, clip).map_err(whisper_error)
    }

    /// The settings of the longest `by_client_context` prefix of `client_context`, else the
    /// general ones.
    fn settings_for(&self, client_context: Option<&str>) -> &Settings {
        client_context
            .and_then(|context| {
                self.by_client_context
                    .iter()
                    .find(|(prefix, _)| context.starts_with(prefix.as_str()))
            })
            .map_or(&self.general, |(_, settings)| settings)
    }

    fn threads(&self, requested: u32) -> u32 {
        // One recording at a time from the transcriber's point of view: callers running several
        // at once pass their share of the cores as `requested`.
        let requested = if requested > 0 {
            requested
        } else {
            self.opts.threads
        };
        crate::config::threads_per_job(requested, 1)
    }

    /// What decoding `piece` from `context` costs, for [`schedule`] to balance pairs: its
    /// encoder window in seconds, plus [`DECODE_WEIGHT`] times its length (the decoder's work
    /// grows with the speech). Tails found while decoding are not foreseen.
    fn piece_cost(&self, piece: Segment, context: Context) -> f64 {
        let length = piece.end_s - piece.start_s;
        let audio_ctx = match context {
            Context::Sized => self.audio_ctx(length.max(MIN_CLIP_S)),
            Context::Full => self.full_ctx,
        };
        f64::from(audio_ctx) / CTX_PER_SECOND + DECODE_WEIGHT * length
    }

    /// What `piece` is decoded from at `context`: its padded clip ([`padded_clip`]), the clip's
    /// start in the recording, and the encoder context. [`Self::decode_piece`] and
    /// [`Self::pre_encode`] both take it from here, so a pre-encoded pass is the very one the
    /// decode would run, and whisper.cpp skips it.
    fn clip_for(
        &self,
        audio: &Mono16k,
        piece: Segment,
        context: Context,
    ) -> (zeroize::Zeroizing<Vec<f32>>, f64, u32) {
        let (clip, clip_start) = padded_clip(audio, piece.start_s, piece.end_s);
        let audio_ctx = match context {
            Context::Sized => self.audio_ctx(clip.len() as f64 / f64::from(TARGET_RATE)),
            Context::Full => self.full_ctx,
        };
        (clip, clip_start, audio_ctx)
    }

    /// Encoder context for a clip ([`sized_audio_ctx`]).
    fn audio_ctx(&self, clip_s: f64) -> u32 {
        sized_audio_ctx(clip_s, self.opts.min_audio_ctx, self.full_ctx)
    }
}

/// The order in which [`Transcriber::decode_pieces`] decodes pieces of these `costs` with
/// `threads`. With one thread, each piece alone. With two threads or more, from the dearest
/// piece down:
/// - it goes side by side with the next dearest when the cheaper of the two costs at least
///   [`PAIR_BALANCE`] of the dearer (a pair takes as long as its dearer side, so an unbalanced
///   one leaves a core idle);
/// - else beside the next two decoded in turn, when their sum and it balance so (a long piece
///   between two short ones, as a stretch of speech without a pause leaves);
/// - else alone, with every thread.
///
/// The step holding piece 0 comes first, piece 0 first on its first side (the language is
/// decided on its window).
fn schedule(costs: &[f64], threads: u32) -> Vec<Step> {
    if threads < 2 || costs.len() < 2 {
        return (0..costs.len()).map(Step::Solo).collect();
    }
    let balanced = |x: f64, y: f64| x.min(y) >= PAIR_BALANCE * x.max(y);
    let mut order: Vec<usize> = (0..costs.len()).collect();
    order.sort_by(|&a, &b| costs[b].total_cmp(&costs[a]).then(a.cmp(&b)));
    let mut steps = Vec::new();
    let mut rest = order.as_slice();
    while let [a, more @ ..] = rest {
        match more {
            [b, tail @ ..] if balanced(costs[*a], costs[*b]) => {
                steps.push(pair(vec![*a], vec![*b]));
                rest = tail;
            }
            [b, c, tail @ ..] if balanced(costs[*a], costs[*b] + costs[*c]) => {
                steps.push(pair(vec![*a], vec![*b, *c]));
                rest = tail;
            }
            _ => {
                steps.push(Step::Solo(*a));
                rest = more;
            }
        }
    }
    let holds_first = |step: &Step| match step {
        Step::Solo(n) => *n == 0,
        Step::Pair(a, _) => a.first() == Some(&0),
    };
    if let Some(at) = steps.iter().position(holds_first) {
        steps[..=at].rotate_right(1);
    }
    steps
}

/// A [`Step::Pair`] of these two sides, each in piece order, the side holding piece 0 (if
/// either does) first.
fn pair(mut a: Vec<usize>, mut b: Vec<usize>) -> Step {
    a.sort_unstable();
    b.sort_unstable();
    if b.first() == Some(&0) {
        std::mem::swap(&mut a, &mut b);
    }
    Step::Pair(a, b)
}

/// The threads of the two sides of a pair: half each, the odd one to the first side (the one
/// that decides the language). [`schedule`] pairs only with two threads or more.
fn pair_threads(threads: u32) -> (u32, u32) {
    let second = (threads / 2).max(1);
    (threads.saturating_sub(second).max(1), second)
}

/// The pieces' segments in order, without a segment that repeats the one kept before it (across
/// a cut between pieces; [`keep`] already did so within each piece): the same
/// segments as deciding each repeat while decoding one piece after another would keep, since
/// a dropped repeat says what the segment kept before it says.
fn join_pieces(pieces: Vec<Vec<TranscriptSegment>>) -> Vec<TranscriptSegment> {
    let mut segments: Vec<TranscriptSegment> = Vec::new();
    let mut previous: Option<String> = None;
    for segment in pieces.into_iter().flatten() {
        if repeats(&mut previous, &segment.text) {
            tracing::debug!("dropped a segment repeating the last one of the piece before");
            continue;
        }
        segments.push(segment);
    }
    segments
}

/// Whether `text` says what `previous` (the normalized text of the segment kept before it)
/// says; when it does not, it becomes `previous`. The repeat check of [`keep`]
/// and [`join_pieces`].
fn repeats(previous: &mut Option<String>, text: &str) -> bool {
    let normalized = normalize(text);
    if previous.as_deref() == Some(normalized.as_str()) {
        return true;
    }
    *previous = Some(normalized);
    false
}

/// The largest multiple of [`CTX_ALIGN`] in a model's encoder context `n_ctx` (1,500 for every
/// Whisper model: 1,488), or `n_ctx` itself for a model smaller than that.
fn aligned_full_ctx(n_ctx: u32) -> u32 {
    match n_ctx / CTX_ALIGN * CTX_ALIGN {
        0 => n_ctx,
        aligned => aligned,
    }
}

/// Encoder context for a clip of `clip_s` seconds: its length plus a margin, at least
/// `min_ctx`, rounded up to a multiple of [`CTX_ALIGN`], at most `full_ctx` (for a longer
/// clip, the speech after that window's last words is decoded as a clip of its own:
/// [`Transcriber::transcribe`]).
fn sized_audio_ctx(clip_s: f64, min_ctx: u32, full_ctx: u32) -> u32 {
    let needed = ((clip_s * CTX_PER_SECOND).ceil() as u32 + CTX_MARGIN).max(min_ctx);
    (needed.div_ceil(CTX_ALIGN) * CTX_ALIGN).min(full_ctx)
}

/// whisper.cpp's language ids of `among`, or of every language it knows when `among` is empty.
/// Codes were checked when the options were parsed.
fn language_ids(among: &[String]) -> Vec<usize> {
    if among.is_empty() {
        (0..=whisper_rs::get_lang_max_id())
            .map(|id| id as usize)
            .collect()
    } else {
        among
            .iter()
            .filter_map(|code| whisper_rs::get_lang_id(code))
            .map(|id| id as usize)
            .collect()
    }
}

fn lang_code(id: usize) -> String {
    whisper_rs::get_lang_str(id as i32)
        .unwrap_or("en")
        .to_owned()
}

/// The probabilities `probs` (indexed by whisper.cpp's language id) gives the `allowed` ids, in
/// their order; 0 for an id it lacks.
fn allowed_probs(probs: &[f32], allowed: &[usize]) -> Vec<f32> {
    allowed
        .iter()
        .map(|&id| probs.get(id).copied().unwrap_or(0.0))
        .collect()
}

/// The index of the largest of `weights` and its share of their sum (0 when they sum to 0).
fn most_likely(weights: &[f32]) -> (usize, f32) {
    let total: f32 = weights.iter().sum();
    weights
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .map_or((0, 0.0), |(i, &w)| {
            (i, if total > 0.0 { w / total } else { 0.0 })
        })
}

/// Seconds of trim's speech `segments` between `from` and `to`.
fn speech_between(segments: &[Segment], from: f64, to: f64) -> f64 {
    segments
        .iter()
        .map(|s| (s.end_s.min(to) - s.start_s.max(from)).max(0.0))
        .sum()
}

/// Where speech the decoder stopped short of begins: the start of the first of trim's speech
/// `segments` that begins at least [`TAIL_GAP_S`] after `last` (the end of the last kept words)
/// and before `end`, when those segments hold at least [`MIN_TAIL_SPEECH_S`] of speech before
/// `end`. Whisper sometimes ends a window with an end-of-text after a sentence and never
/// transcribes the one after it; OpenAI Whisper would seek there and decode on.
fn untranscribed_tail(segments: &[Segment], last: f64, end: f64) -> Option<f64> {
    let tail: Vec<&Segment> = segments
        .iter()
        .filter(|s| s.start_s >= last + TAIL_GAP_S && s.start_s < end)
        .collect();
    let speech: f64 = tail.iter().map(|s| s.end_s.min(end) - s.start_s).sum();
    (speech >= MIN_TAIL_SPEECH_S).then(|| tail[0].start_s)
}

/// The `by_client_context` entries with what they leave out taken from `general`, longest
/// prefix first. Errors: `config` for an empty or repeated prefix, more than
/// [`MAX_CONTEXT_SETTINGS`] entries, or a prompt or language refused, naming the entry.
fn context_settings(
    ctx: &WhisperContext,
    entries: &[ContextSettings],
    general: &Settings,
    multilingual: bool,
) -> Result<Vec<(String, Settings)>> {
    let bad = |detail: String| Error::Config { detail };
    if entries.len() > MAX_CONTEXT_SETTINGS {
        return Err(bad(format!(
            "{} by_client_context entries; at most {MAX_CONTEXT_SETTINGS}",
            entries.len()
        )));
    }
    let mut out: Vec<(String, Settings)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let prefix = &entry.client_context_prefix;
        let in_entry = |e: Error| match e {
            Error::Config { detail } => bad(format!("by_client_context {prefix:?}: {detail}")),
            other => other,
        };
        if prefix.is_empty() {
            return Err(bad(
                "a by_client_context entry needs a non-empty client_context_prefix (every \
                 other operation gets the general prompt and language)"
                    .into(),
            ));
        }
        if out.iter().any(|(seen, _)| seen == prefix) {
            return Err(bad(format!(
                "client_context_prefix {prefix:?} is listed twice"
            )));
        }
        let prompt = match entry.prompt.as_deref() {
            None => general.prompt.clone(),
            // An empty prompt gives no tokens: those operations get none, whatever the
            // general one says.
            Some(text) => tokenize_prompt(ctx, text).map_err(in_entry)?,
        };
        let language = match &entry.language {
            None => general.language.clone(),
            Some(spec) => LanguagePlan::parse(spec)
                .map_err(in_entry)?
                .for_model(multilingual, spec),
        };
        out.push((prefix.clone(), Settings { language, prompt }));
    }
    // Longest first, so the first match is the most specific.
    out.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    Ok(out)
}

/// `--prompt` as whisper.cpp tokens, trimmed; none for a blank one. Errors: `config` when it
/// is too long for the decoder's prompt (half its 448-token context, less one) or holds a NUL.
fn tokenize_prompt(ctx: &WhisperContext, prompt: &str) -> Result<Vec<i32>> {
    let prompt = prompt.trim();
    if prompt.is_empty() {
        return Ok(Vec::new());
    }
    let too_long = |what: String| Error::Config {
        detail: format!("--prompt is {what}; Whisper takes at most 223 tokens (about 150 words)"),
    };
    if prompt.len() > MAX_PROMPT_BYTES {
        return Err(too_long(format!("{} bytes", prompt.len())));
    }
    // A token is at least one byte, so `len + 16` never runs short: whisper-rs 0.16 does not
    // handle whisper.cpp's "buffer too small" answer (a negative count) safely.
    let tokens = ctx
        .tokenize(prompt, prompt.len() + 16)
        .map_err(|e| Error::Config {
            detail: format!("--prompt could not be tokenized: {e}"),
        })?;
    let max = usize::try_from(ctx.n_text_ctx() / 2 - 1).unwrap_or(223);
    if tokens.len() > max {
        return Err(too_long(format!("{} tokens", tokens.len())));
    }
    Ok(tokens)
}

/// The speech inside `span`: the samples of `segments` (trim's padded speech segments) clamped
/// to it and joined without the pauses between them; the whole span when there are none.
fn speech_samples(audio: &Mono16k, span: Segment, segments: &[Segment]) -> Vec<f32> {
    let mut out = Vec::new();
    for s in segments {
        let (start, end) = (s.start_s.max(span.start_s), s.end_s.min(span.end_s));
        if end > start {
            out.extend_from_slice(audio.slice(Seconds(start), Seconds(end)));
        }
    }
    if out.is_empty() {
        out.extend_from_slice(audio.slice(Seconds(span.start_s), Seconds(span.end_s)));
    }
    out
}

/// zlib-compressed size over raw size of `text`, as OpenAI Whisper computes it: repetitive text
/// compresses well, so a high ratio means the decoder looped.
fn compression_ratio(text: &str) -> f64 {
    use std::io::Write;
    let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing to a Vec cannot fail.
    let compressed = encoder
        .write_all(text.as_bytes())
        .and_then(|()| encoder.finish())
        .map_or(text.len(), |c| c.len());
    text.len() as f64 / compressed.max(1) as f64
}

/// Lower-case words without punctuation: two segments that normalize alike say the same.
fn normalize(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric() || c.is_whitespace())
        .collect::<String>()
        .to_lowercase()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The span's samples, widened with the surrounding recording (then zeros) to at least
/// [`MIN_CLIP_S`]. Returns the clip and its start time in the original recording.
fn padded_clip(audio: &Mono16k, start_s: f64, end_s: f64) -> (zeroize::Zeroizing<Vec<f32>>, f64) {
    let duration = audio.duration().0;
    let missing = (MIN_CLIP_S - (end_s - start_s)).max(0.0);
    let start = (start_s - missing / 2.0).max(0.0);
    let end = (end_s + missing / 2.0).min(duration);
    let mut clip = zeroize::Zeroizing::new(audio.slice(Seconds(start), Seconds(end)).to_vec());
    let min_len = (MIN_CLIP_S * f64::from(TARGET_RATE)).ceil() as usize;
    if clip.len() < min_len {
        clip.resize(min_len, 0.0);
    }
    (clip, start)
}

/// whisper-rs's error as ours (`transcription`).
fn whisper_error(e: whisper_rs::WhisperError) -> Error {
    Error::Transcription {
        detail: e.to_string(),
    }
}

/// Cuts the speech `span` into pieces of at most [`MAX_PIECE_S`] that tile it exactly (each
/// piece starts where the previous one ends), preferring cuts in the pauses between `segments`
/// (trim's padded, merged speech segments, in seconds of the recording). A span up to
/// [`MAX_PIECE_S`] is one piece.
///
/// Greedy, from the start: while more than [`MAX_PIECE_S`] remains after the current start,
/// the next cut leaves at least [`MIN_PIECE_S`] on either side and at most [`MAX_PIECE_S`]
/// before it. With `k` = the fewest pieces that can still cover the rest, the cut is, in order
/// of preference:
/// 1. the middle of the longest pause (gap between segments) within [`BALANCE_S`] of the
///    balanced point (current start + rest / `k`) that still lets `k` pieces cover the rest
///    (leaves at most `(k − 1) × MAX_PIECE_S` behind): pieces of similar length, no extra one;
/// 2. the middle of the longest pause anywhere before the limit, even if that costs one piece
///    more: an extra piece is cheap, a cut through a word is not;
/// 3. without a pause (continuous speech, no silence as long as trim's `min_silence_ms`): the
///    middle of the quietest 20 ms frame (lowest RMS) within [`QUIET_SEARCH_S`] before the
///    limit (and leaving no more than `(k − 1) × MAX_PIECE_S`), so the cut lands in a closure
///    or a breath and seldom inside a word.
///
/// A pause that only partly overlaps the range is cut at the point of the overlap nearest its
/// middle; ties between equally long pauses go to the one nearer the balanced point.
///
/// With `long_first` (language detection, which reads the language from the first piece's
/// window and decodes that piece at full encoder context whatever its length), the first
/// piece's balanced point is the limit itself, and without a pause near it, the cut is rule 3's
/// quietest frame before the limit, never rule 2's pause far from it: the first piece is as
/// long as the window allows, so the language is read from as much speech as it holds, and the
/// pieces after it are shorter and cheaper. (A Spanish message whose only pause before the
/// limit followed its 3 s greeting was cut there and decided Catalan at p 0.87 from those 3 s;
/// from 28 s it is Spanish, as faster-whisper decides from its first 30 s of speech.)
fn plan_pieces(
    audio: &Mono16k,
    span: Segment,
    segments: &[Segment],
    long_first: bool,
) -> Vec<Segment> {
    let gaps: Vec<Segment> = segments
        .windows(2)
        .map(|w| Segment {
            start_s: w[0].end_s.max(span.start_s),
            end_s: w[1].start_s.min(span.end_s),
        })
        .filter(|g| g.end_s > g.start_s)
        .collect();
    let mut pieces = Vec::new();
    let mut start = span.start_s;
    while span.end_s - start > MAX_PIECE_S {
        let rest = span.end_s - start;
        let k = (rest / MAX_PIECE_S).ceil();
        // Earliest and latest cut: `lo` keeps to `k` pieces, `earliest` only to MIN_PIECE_S.
        let earliest = start + MIN_PIECE_S;
        let hi = (start + MAX_PIECE_S).min(span.end_s - MIN_PIECE_S);
        let first_of_long = long_first && pieces.is_empty();
        let balanced = if first_of_long { hi } else { start + rest / k };
        let lo = (span.end_s - (k - 1.0) * MAX_PIECE_S).max(earliest).min(hi);
        let near = (
            (balanced - BALANCE_S).max(lo),
            (balanced + BALANCE_S).min(hi),
        );
        let cut = longest_gap_cut(&gaps, near, balanced)
            .or_else(|| {
                if first_of_long {
                    None
                } else {
                    longest_gap_cut(&gaps, (earliest, hi), balanced)
                }
            })
            .unwrap_or_else(|| quietest_point(audio, (hi - QUIET_SEARCH_S).max(lo), hi));
        pieces.push(Segment {
            start_s: start,
            end_s: cut,
        });
        start = cut;
    }
    pieces.push(Segment {
        start_s: start,
        end_s: span.end_s,
    });
    pieces
}

/// The cut point in the longest gap overlapping `lo..=hi` (its middle, moved into the range if
/// need be), ties to the gap nearer `balanced`; `None` when no gap overlaps the range.
fn longest_gap_cut(gaps: &[Segment], (lo, hi): (f64, f64), balanced: f64) -> Option<f64> {
    gaps.iter()
        .filter(|g| g.start_s < hi && g.end_s > lo)
        .map(|g| {
            let middle = (g.start_s + g.end_s) / 2.0;
            let cut = middle.clamp(g.start_s.max(lo), g.end_s.min(hi));
            (g.end_s - g.start_s, cut)
        })
        .max_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then((b.1 - balanced).abs().total_cmp(&(a.1 - balanced).abs()))
        })
        .map(|(_, cut)| cut)
}

/// The middle of the quietest [`QUIET_FRAME`] (lowest energy; the earliest on ties) between
/// `lo` and `hi` seconds; `hi` when the range holds no whole frame.
fn quietest_point(audio: &Mono16k, lo: f64, hi: f64) -> f64 {
    let rate = audio.rate();
    let samples = audio.samples();
    let first = rate.samples(Seconds(lo)).min(samples.len());
    let last = rate.samples(Seconds(hi)).min(samples.len());
    let mut best: Option<(f64, usize)> = None;
    let mut at = first;
    while at + QUIET_FRAME <= last {
        let energy: f64 = samples[at..at + QUIET_FRAME]
            .iter()
            .map(|&s| f64::from(s) * f64::from(s))
            .sum();
        if best.is_none_or(|(e, _)| energy < e) {
            best = Some((energy, at));
        }
        at += QUIET_FRAME;
    }
    best.map_or(hi, |(_, at)| rate.seconds(at + QUIET_FRAME / 2).0)
}

/// Mean probability and mean log-probability of a segment's text tokens (special tokens, whose
/// ids are at or above end-of-text, excluded).
fn token_stats(segment: &whisper_rs::WhisperSegment<'_>, eot: i32) -> (f32, f32) {
    let (mut sum_p, mut sum_logp, mut n) = (0f32, 0f32, 0u32);
    for i in 0..segment.n_tokens() {
        if let Some(token) = segment.get_token(i) {
            let data = token.token_data();
            if data.id >= eot {
                continue;
            }
            sum_p += data.p;
            sum_logp += data.plog;
            n += 1;
        }
    }
    if n == 0 {
        (0.0, f32::NEG_INFINITY)
    } else {
        (sum_p / n as f32, sum_logp / n as f32)
    }
}

/// A segment's words from its text tokens (special tokens, at or above end-of-text, left out),
/// timed in seconds of the recording (`clip_start` plus whisper.cpp's 10 ms units); fitted into
/// the segment later (`crate::words::fit`).
fn segment_words(
    segment: &whisper_rs::WhisperSegment<'_>,
    eot: i32,
    clip_start: f64,
) -> Vec<crate::result::Word> {
    let tokens: Vec<(whisper_rs::WhisperTokenData, &[u8])> = (0..segment.n_tokens())
        .filter_map(|i| segment.get_token(i))
        .filter_map(|token| Some((token.token_data(), token.to_bytes().ok()?)))
        .filter(|(data, _)| data.id < eot)
        .collect();
    let timed: Vec<crate::words::TimedToken<'_>> = tokens
        .iter()
        .map(|(data, bytes)| crate::words::TimedToken {
            bytes,
            start_s: clip_start + data.t0 as f64 / 100.0,
            end_s: clip_start + data.t1 as f64 / 100.0,
            probability: data.p,
        })
        .collect();
    crate::words::from_tokens(&timed)
}

/// Removes bracketed non-speech markers (`[BLANK_AUDIO]`, `(music)`, `*sigh*`, `♪`) and trims.
pub(crate) fn strip_non_speech(text: &str) -> String {
    let mut markers = crate::words::NonSpeechMarkers::default();
    let out: String = text.chars().filter(|&c| markers.keeps(c)).collect();
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether `text` is one of [`HALLUCINATIONS`], once or over again ("Bye bye.", "Bye-bye.",
/// "Thank you. Thank you."): Whisper repeats these as readily as it writes them (tiny.en wrote
/// "Bye bye." over 3 s of titanion's "ttn1", 2026-12-06).
fn is_known_hallucination(text: &str) -> bool {
    let lower = text.to_lowercase();
    let words: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    !words.is_empty()
        && HALLUCINATIONS.iter().any(|phrase| {
            let phrase: Vec<&str> = phrase.split(' ').collect();
            words.len() % phrase.len() == 0 && words.chunks(phrase.len()).all(|w| w == phrase)
        })
}

/// Keeps segment times inside the speech span and monotone.
fn clamp_times(segments: &mut [TranscriptSegment], start_s: f64, end_s: f64) {
    let mut floor = start_s;
    for s in segments {
        s.start_s = round_ms(s.start_s.clamp(floor, end_s));
        s.end_s = round_ms(s.end_s.clamp(s.start_s, end_s));
        s.confidence = (s.confidence * 1000.0).round() / 1000.0;
        floor = s.end_s;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(text: &str, no_speech: f32) -> Candidate {
        Candidate {
            segment: TranscriptSegment {
                start_s: 0.0,
                end_s: 1.0,
                text: text.to_owned(),
                confidence: 0.6,
                words: None,
            },
            mean_logp: -0.5,
            no_speech,
            compression_ratio: compression_ratio(text),
        }
    }

    #[test]
    fn over_music_a_window_whisper_doubts_is_dropped_and_elsewhere_kept() {
        let opts = TranscribeOptions::default();
        let texts = |kept: Vec<TranscriptSegment>| -> Vec<String> {
            kept.into_iter().map(|s| s.text).collect()
        };
        let unlikely = |text: &str, mean_logp: f32| Candidate {
            mean_logp,
            ..candidate(text, 0.2)
        };
        let candidates = || {
            vec![
                candidate("I'm not going to be able to do it.", 0.68),
                unlikely("Wow mango sweet potato", -7.4),
                // Real telephone speech reaches a no-speech probability of 0.51.
                candidate("Please call me back.", 0.51),
            ]
        };
        // What Whisper writes over music that got past the detector (a window it doubts, or
        // words it finds very unlikely) goes only where the recording holds music; real speech
        // there stays.
        assert_eq!(
            texts(keep(candidates(), None, &opts, true)),
            ["Please call me back."]
        );
        assert_eq!(
            texts(keep(candidates(), None, &opts, false)),
            [
                "I'm not going to be able to do it.",
                "Wow mango sweet potato",
                "Please call me back."
            ]
        );
        // Just above and at the thresholds.
        let above = MUSIC_NO_SPEECH + 0.01;
        assert!(keep(vec![candidate("words", above)], None, &opts, true).is_empty());
        let at = vec![candidate("words", MUSIC_NO_SPEECH)];
        assert_eq!(keep(at, None, &opts, true).len(), 1);
        let below = vec![unlikely("words", MUSIC_LOGPROB - 0.01)];
        assert!(keep(below, None, &opts, true).is_empty());
        let at = vec![unlikely("words", MUSIC_LOGPROB)];
        assert_eq!(keep(at, None, &opts, true).len(), 1);
    }

    #[test]
    fn over_music_a_window_that_loops_as_a_whole_is_dropped_whole() {
        let opts = TranscribeOptions::default();
        // Whisper's loop over a piece of music (xmoto's "foxrun", 2026-12-06): one confident
        // sentence again and again, each segment short enough not to loop on its own.
        let window = || {
            (0..14)
                .map(|_| candidate("I'm gonna go back to the room.", 0.13))
                .collect::<Vec<_>>()
        };
        assert!(window().iter().all(|c| !c.loops()));
        assert!(loops_as_a_whole(&window()));
        assert!(keep(window(), None, &opts, true).is_empty());
        // Elsewhere the repeats go and the first stays, as before.
        let kept = keep(window(), None, &opts, false);
        assert_eq!(kept.len(), 1);
        // A window of different sentences does not loop as a whole.
        let speech = vec![
            candidate("Hi, this is Maria from the dental office.", 0.0),
            candidate(
                "Please call me back at five five five, one two three four.",
                0.0,
            ),
            candidate("Call me back tomorrow morning, thanks.", 0.0),
        ];
        assert!(!loops_as_a_whole(&speech));
        assert_eq!(keep(speech, None, &opts, true).len(), 3);
        // A short phrase again and again is too short for the compression ratio, but it is
        // the same words each time.
        let phrase = || {
            (0..3)
                .map(|_| candidate("Marchgo Nanobake", 0.55))
                .collect::<Vec<_>>()
        };
        let joined = ["Marchgo Nanobake"; 3].join(" ");
        assert!(compression_ratio(&joined) < LOOP_COMPRESSION_RATIO);
        assert!(keep(phrase(), None, &opts, true).is_empty());
        assert_eq!(keep(phrase(), None, &opts, false).len(), 1);
    }

    #[test]
    fn non_speech_markers_are_removed() {
        assert_eq!(strip_non_speech(" [BLANK_AUDIO]"), "");
        assert_eq!(
            strip_non_speech("(upbeat music) Hello there. ♪"),
            "Hello there."
        );
        assert_eq!(strip_non_speech("*sigh* call me back"), "call me back");
        assert_eq!(strip_non_speech("five five five"), "five five five");
    }

    #[test]
    fn encoder_contexts_fit_the_clip_and_are_aligned_for_the_tiled_kernels() {
        let full = aligned_full_ctx(1500);
        assert_eq!(full, 1488);
        assert_eq!(SAMPLES_PER_POSITION, 320);
        assert_eq!(aligned_full_ctx(8), 8);
        // 9 s: 450 positions + 64 margin = 514, above the 512 floor, rounded up to 528.
        assert_eq!(sized_audio_ctx(9.0, 512, full), 528);
        // Short clips get the floor, itself rounded up when it is not aligned.
        assert_eq!(sized_audio_ctx(1.1, 512, full), 512);
        assert_eq!(sized_audio_ctx(1.1, 500, full), 512);
        // 28 s, the longest piece: 1,464 → 1,472, still a reduced context.
        assert_eq!(sized_audio_ctx(28.0, 512, full), 1472);
        // Longer clips, and `--min-audio-ctx 1500`, get the whole window.
        assert_eq!(sized_audio_ctx(28.6, 512, full), full);
        assert_eq!(sized_audio_ctx(40.0, 512, full), full);
        assert_eq!(sized_audio_ctx(1.1, 1500, full), full);
        for tenths in 0..400 {
            let ctx = sized_audio_ctx(f64::from(tenths) / 10.0, 512, full);
            assert!(ctx % CTX_ALIGN == 0 && (512..=full).contains(&ctx), "{ctx}");
        }
    }

    #[test]
    fn known_hallucinations_match_loosely() {
        assert!(is_known_hallucination(" Thank you."));
        assert!(is_known_hallucination("you"));
        assert!(!is_known_hallucination(
            "Thank you for calling the dental office."
        ));
        // Said over again, however it is spelt.
        assert!(is_known_hallucination("Bye bye."));
        assert!(is_known_hallucination(" Bye-bye!"));
        assert!(is_known_hallucination("Thank you. Thank you."));
        assert!(!is_known_hallucination("Thank you, bye."));
        assert!(!is_known_hallucination("Goodbye."));
        assert!(!is_known_hallucination("...")); // no words: nothing to match
    }

    #[test]
    fn speech_after_the_last_words_is_an_untranscribed_tail() {
        let segments = [seg(1.0, 5.5), seg(6.5, 8.2), seg(12.1, 14.6)];
        // The words stop at 11.4 s; a whole speech segment follows: decode from its start.
        assert_eq!(untranscribed_tail(&segments, 11.4, 14.6), Some(12.1));
        // The words reach into the last segment: nothing left.
        assert_eq!(untranscribed_tail(&segments, 12.0, 14.6), None);
        // What follows is under 0.8 s of speech before the piece's end: a breath, not words.
        assert_eq!(untranscribed_tail(&segments, 11.4, 12.7), None);
        // Several segments after the words: the first one's start.
        assert_eq!(untranscribed_tail(&segments, 5.6, 14.6), Some(6.5));
    }

    #[test]
    fn loops_compress_well_and_sentences_do_not() {
        let looped = "I'm going to go to the store. ".repeat(6);
        assert!(compression_ratio(&looped) > LOOP_COMPRESSION_RATIO);
        for sentence in [
            "Le numéro que vous tentez de joindre n'accepte pas les appels inconnus.",
            "Hi, this is Maria from the dental office, please call me back at 555 1234.",
            "no",
        ] {
            assert!(
                compression_ratio(sentence) < LOOP_COMPRESSION_RATIO,
                "{sentence}"
            );
        }
    }

    #[test]
    fn a_phrase_said_over_and_over_is_said_once() {
        let opts = TranscribeOptions::default();
        let kept = |text: &str| -> String {
            let mut c = candidate(text, 0.01);
            c.segment.words = Some(
                text.split_whitespace()
                    .enumerate()
                    .map(|(i, w)| crate::result::Word {
                        text: format!(" {w}"),
                        start_s: i as f64 * 0.1,
                        end_s: i as f64 * 0.1 + 0.1,
                        probability: 0.9,
                    })
                    .collect(),
            );
            assert!(c.needs_retry(), "{text}");
            let segment = keep(vec![c], None, &opts, false).remove(0);
            let words: Vec<String> = segment
                .words
                .expect("words kept")
                .iter()
                .map(|w| w.text.trim().to_owned())
                .collect();
            assert_eq!(words.join(" "), segment.text, "the words follow the text");
            segment.text
        };
        // tiny.en on two LJ Speech sentences (2026-12-07): the loop, cut off by a timestamp,
        // and then the next sentence's words, which stay.
        assert_eq!(
            kept(
                "their productions, whatever they were, whatever they were, whatever they were, \
                 whatever they It is of the first importance"
            ),
            "their productions, whatever they were, It is of the first importance"
        );
        assert_eq!(
            kept(
                "printed in letters which are or an exact imitation, or an exact imitation, \
                 or an exact imitation..."
            ),
            "printed in letters which are or an exact imitation,"
        );
        // Two loops in one segment: each said once.
        assert_eq!(
            kept(
                "call me back call me back call me back at home today at home today at home today"
            ),
            "call me back at home today"
        );
    }

    #[test]
    fn repeated_words_callers_say_are_no_phrase_loop() {
        for text in [
            "My number is five five five five five five five, and then one two.",
            "No, no, no, that's not what I said. Thank you, thank you, thank you.",
            "Please call me back. Please call me back.",
            "It was a very, very, very long day.",
            "",
            "... ... ... ... ... ...",
            "Hi, this is Maria from the dental office, please call me back at 555 1234.",
        ] {
            assert_eq!(phrase_loop(text), None, "{text}");
            let c = candidate(text, 0.01);
            assert!(!c.needs_retry(), "{text}");
        }
        // Three sayings make a loop; two are what a caller might say.
        assert!(phrase_loop("see you soon see you soon").is_none());
        assert_eq!(
            phrase_loop("see you soon see you soon see you soon"),
            Some(3..9)
        );
    }

    #[test]
    fn language_settings_parse_into_a_plan() {
        assert_eq!(
            LanguagePlan::parse("es").ok(),
            Some(LanguagePlan::Fixed("es".into()))
        );
        assert_eq!(
            LanguagePlan::parse(" AUTO ").ok(),
            Some(LanguagePlan::Detect(vec![]))
        );
        assert_eq!(
            LanguagePlan::parse("en, es,fr,es").ok(),
            Some(LanguagePlan::Detect(vec![
                "en".into(),
                "es".into(),
                "fr".into()
            ]))
        );
        for bad in ["", "xx", "en,,es", "english", "auto,es", "e\0n"] {
            assert!(LanguagePlan::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn segment_times_are_clamped_and_monotone() {
        let seg = |a, b| TranscriptSegment {
            start_s: a,
            end_s: b,
            text: "x".into(),
            confidence: 0.5,
            words: None,
        };
        let mut segs = vec![seg(0.5, 2.0), seg(1.5, 9.0)];
        clamp_times(&mut segs, 1.0, 5.0);
        assert_eq!((segs[0].start_s, segs[0].end_s), (1.0, 2.0));
        assert_eq!((segs[1].start_s, segs[1].end_s), (2.0, 5.0));
    }

    fn seg(start_s: f64, end_s: f64) -> Segment {
        Segment { start_s, end_s }
    }

    /// `seconds` of a 200 Hz sine at 0.3 peak: steady "speech" with no quiet frame (every 20 ms
    /// frame holds four whole periods, so all frames have the same energy).
    fn tone(seconds: f64) -> Mono16k {
        let n = (seconds * 16_000.0) as usize;
        let samples = (0..n)
            .map(|i| 0.3 * (std::f32::consts::TAU * (i % 80) as f32 / 80.0).sin())
            .collect();
        Mono16k::from_samples(zeroize::Zeroizing::new(samples))
    }

    /// [`tone`] with a 40 ms dip to `gain` at each `(second, gain)`.
    fn tone_with_dips(seconds: f64, dips: &[(f64, f32)]) -> Mono16k {
        let mut audio = tone(seconds).samples().to_vec();
        for &(at, gain) in dips {
            let first = (at * 16_000.0) as usize;
            for s in &mut audio[first..first + 640] {
                *s *= gain;
            }
        }
        Mono16k::from_samples(zeroize::Zeroizing::new(audio))
    }

    /// `pieces` tile `span` in two, cut in the 40 ms dip at `dip` seconds ([`tone_with_dips`]).
    fn assert_first_cut_in_dip(pieces: &[Segment], span: Segment, dip: f64) {
        assert_tiles(pieces, span);
        assert_eq!(pieces.len(), 2, "{pieces:?}");
        assert!(
            (dip..=dip + 0.04).contains(&pieces[0].end_s),
            "cut at {} s, not in the dip at {dip} s",
            pieces[0].end_s
        );
    }

    /// The pieces tile `span` (first starts at its start, each starts where the previous ends,
    /// last ends at its end) and none is longer than the limit.
    fn assert_tiles(pieces: &[Segment], span: Segment) {
        assert_eq!(
            pieces.first().map(|p| p.start_s),
            Some(span.start_s),
            "{pieces:?}"
        );
        assert_eq!(
            pieces.last().map(|p| p.end_s),
            Some(span.end_s),
            "{pieces:?}"
        );
        for pair in pieces.windows(2) {
            assert_eq!(pair[0].end_s, pair[1].start_s, "{pieces:?}");
        }
        for p in pieces {
            let len = p.end_s - p.start_s;
            assert!(len <= MAX_PIECE_S + 1e-9, "{len} s piece in {pieces:?}");
            assert!(len > 0.0, "empty piece in {pieces:?}");
        }
    }

    #[test]
    fn similar_pieces_go_side_by_side_and_the_first_piece_leads() {
        let solo = Step::Solo;
        let pair = |a: &[usize], b: &[usize]| Step::Pair(a.to_vec(), b.to_vec());
        // One thread, or one piece: each alone, in order.
        let three = [40.0, 38.0, 36.0];
        assert_eq!(schedule(&three, 1), vec![solo(0), solo(1), solo(2)]);
        assert_eq!(schedule(&three[..1], 4), vec![solo(0)]);
        // Two close costs: a pair.
        assert_eq!(schedule(&three[..2], 2), vec![pair(&[0], &[1])]);
        // Apart (36 against 46: under PAIR_BALANCE): one after the other.
        assert_eq!(schedule(&[36.0, 46.0], 2), vec![solo(0), solo(1)]);
        // Three: the two dearest side by side, the cheapest alone; piece 0's step first.
        assert_eq!(
            schedule(&[26.8, 42.1, 40.2], 2),
            vec![solo(0), pair(&[1], &[2])]
        );
        assert_eq!(
            schedule(&[43.6, 30.6, 40.2], 2),
            vec![pair(&[0], &[2]), solo(1)]
        );
        // A long piece between two short ones (es-103 given: 13, 28 and 18 s): the long one
        // beside the two in turn (46.2 against 52.0), piece 0 first on the first side.
        assert_eq!(schedule(&[22.6, 46.2, 29.4], 2), vec![pair(&[0, 2], &[1])]);
        // The dearest alone when neither the next nor the next two balance it; the next two
        // paired.
        assert_eq!(
            schedule(&[22.6, 46.2, 29.5, 27.0], 2),
            vec![solo(0), solo(1), pair(&[2], &[3])]
        );
        // Every piece exactly once.
        let many: Vec<f64> = (0..7).map(|n| 20.0 + f64::from(n * n)).collect();
        let mut seen: Vec<usize> = schedule(&many, 2)
            .into_iter()
            .flat_map(|s| match s {
                Step::Solo(n) => vec![n],
                Step::Pair(a, b) => [a, b].concat(),
            })
            .collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
    }

    #[test]
    fn pair_threads_split_every_thread() {
        assert_eq!(pair_threads(2), (1, 1));
        assert_eq!(pair_threads(3), (2, 1));
        assert_eq!(pair_threads(8), (4, 4));
    }

    #[test]
    fn joined_pieces_drop_a_repeat_across_the_cut() {
        let text = |start_s: f64, text: &str| TranscriptSegment {
            start_s,
            end_s: start_s + 1.0,
            text: text.to_owned(),
            confidence: 0.9,
            words: None,
        };
        let joined = join_pieces(vec![
            vec![text(0.0, "Call me back."), text(1.0, "It's Ana.")],
            vec![text(2.0, "it's ana"), text(3.0, "Bye now.")],
            vec![],
            vec![text(4.0, "Bye now!"), text(5.0, "It's Ana.")],
        ]);
        let texts: Vec<&str> = joined.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            texts,
            ["Call me back.", "It's Ana.", "Bye now.", "It's Ana."]
        );
    }

    #[test]
    fn a_span_within_the_limit_is_one_piece() {
        let audio = tone(40.0);
        for (span, segments) in [
            (seg(1.0, 29.0), vec![seg(1.0, 10.0), seg(12.0, 29.0)]),
            (seg(0.5, 3.0), vec![seg(0.5, 3.0)]),
            (
                seg(2.0, 2.0 + MAX_PIECE_S),
                vec![seg(2.0, 2.0 + MAX_PIECE_S)],
            ),
        ] {
            assert_eq!(plan_pieces(&audio, span, &segments, false), vec![span]);
        }
    }

    #[test]
    fn long_spans_are_cut_in_pauses_into_pieces_within_the_limit() {
        // Spans of 28.5 s to 3 min of utterances 1.5–12 s long separated by 0.2–1.5 s pauses
        // (lengths from a fixed LCG), so every feasible cut range holds a pause.
        let audio = tone(200.0);
        let mut lcg = 0x2545_F491_u64;
        let mut next = move |lo: f64, hi: f64| {
            lcg = lcg.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            lo + (hi - lo) * ((lcg >> 11) as f64 / (1u64 << 53) as f64)
        };
        for target in [28.5, 30.48, 41.0, 56.5, 60.0, 95.0, 180.0] {
            let mut segments = Vec::new();
            let mut t = 1.0;
            while t < 1.0 + target {
                let end = (t + next(1.5, 12.0)).min(1.0 + target);
                segments.push(seg(t, end));
                t = end + next(0.2, 1.5);
            }
            if let Some(last) = segments.last_mut() {
                last.end_s = 1.0 + target;
            }
            let span = seg(1.0, 1.0 + target);
            let pieces = plan_pieces(&audio, span, &segments, false);
            assert_tiles(&pieces, span);
            let needed = ((span.end_s - span.start_s) / MAX_PIECE_S).ceil() as usize;
            assert!(pieces.len() >= needed, "{target} s: {pieces:?}");
            for p in &pieces[1..] {
                let cut = p.start_s;
                assert!(
                    segments
                        .windows(2)
                        .any(|w| cut >= w[0].end_s && cut <= w[1].start_s),
                    "{target} s: cut at {cut} is not in a pause: {pieces:?} {segments:?}"
                );
            }
        }
    }

    #[test]
    fn the_longest_pause_near_the_balance_point_wins() {
        // 40 s span: balanced cut at 21 s. Pauses at 9 s (2 s long, but too early: 30 s would
        // remain), 17 s (0.25 s), 20 s (0.75 s) and 27 s (0.5 s): the cut is the middle of the
        // 0.75 s pause.
        let audio = tone(45.0);
        let segments = [
            seg(1.0, 9.0),
            seg(11.0, 17.0),
            seg(17.25, 20.0),
            seg(20.75, 27.0),
            seg(27.5, 41.0),
        ];
        let pieces = plan_pieces(&audio, seg(1.0, 41.0), &segments, false);
        assert_eq!(pieces, vec![seg(1.0, 20.375), seg(20.375, 41.0)]);
        // With language detection the first piece is decoded at full context anyway: it takes
        // the pause nearest the limit (29 s), and the second piece is short.
        let pieces = plan_pieces(&audio, seg(1.0, 41.0), &segments, true);
        assert_eq!(pieces, vec![seg(1.0, 27.25), seg(27.25, 41.0)]);
        // 30 s span, balanced cut at 16 s: a pause far from it (25–26 s) still beats cutting
        // speech.
        let segments = [seg(1.0, 25.0), seg(26.0, 31.0)];
        let pieces = plan_pieces(&audio, seg(1.0, 31.0), &segments, false);
        assert_eq!(pieces, vec![seg(1.0, 25.5), seg(25.5, 31.0)]);
        // 55 s span: the only pause (at 10 s) leaves 45 s, so three pieces instead of two, but
        // no cut through speech.
        let segments = [seg(1.0, 10.0), seg(10.5, 56.0)];
        let pieces = plan_pieces(&tone(60.0), seg(1.0, 56.0), &segments, false);
        assert_tiles(&pieces, seg(1.0, 56.0));
        assert_eq!(pieces.len(), 3, "{pieces:?}");
        assert_eq!(pieces[0], seg(1.0, 10.25));
    }

    #[test]
    fn continuous_speech_is_cut_at_the_quietest_frame_before_the_limit() {
        let span = seg(0.0, 120.0);
        let pieces = plan_pieces(&tone(120.0), span, &[span], false);
        assert_tiles(&pieces, span);
        assert!(pieces.len() >= 5, "{pieces:?}");

        // A 40 ms dip to -40 dB at 25.5 s, inside the search window before the 28 s limit: the
        // cut is in the dip. Another, quieter one at 21 s (before the window) is not used.
        let audio = tone_with_dips(40.0, &[(25.5, 0.01), (21.0, 0.0)]);
        let span = seg(0.0, 40.0);
        let pieces = plan_pieces(&audio, span, &[span], false);
        assert_first_cut_in_dip(&pieces, span, 25.5);
    }

    #[test]
    fn with_detection_the_first_piece_is_not_cut_at_an_early_pause() {
        // A 3 s greeting, a pause, then 26 s without a pause long enough to be one, a pause
        // past the limit and 6 s more (a message of prompts whose short pauses the VAD
        // bridged). Without detection the early pause still beats cutting speech; with it, the
        // first piece (the language's window) runs to the dip before the 28 s limit.
        let audio = tone_with_dips(40.0, &[(27.0, 0.01)]);
        let span = seg(1.0, 37.0);
        let segments = [seg(1.0, 4.5), seg(5.0, 30.5), seg(31.0, 37.0)];
        let pieces = plan_pieces(&audio, span, &segments, false);
        assert_tiles(&pieces, span);
        assert_eq!(pieces[0], seg(1.0, 4.75));
        let pieces = plan_pieces(&audio, span, &segments, true);
        assert_first_cut_in_dip(&pieces, span, 27.0);
    }

    #[test]
    fn short_spans_are_padded_to_the_minimum() {
        let audio = Mono16k::from_samples(zeroize::Zeroizing::new(vec![0.1; 16_000 * 3]));
        let (clip, start) = padded_clip(&audio, 1.0, 1.5);
        assert!(clip.len() >= 17_600);
        assert!((start - 0.7).abs() < 1e-9);
        let (clip, start) = padded_clip(&audio, 0.0, 0.2);
        assert_eq!(start, 0.0);
        assert!(clip.len() >= 17_600);
    }
}
