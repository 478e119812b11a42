//! Word timings: whisper.cpp's timed BPE tokens → words, and words kept monotone inside their
//! segment.
//!
//! whisper.cpp times each token from the timestamp-token probabilities (`t0`/`t1`, 10 ms
//! units); a word starts at a token with a leading space. The times are approximate: tens of
//! milliseconds off within speech, more around pauses, where a word's end tends to stretch
//! into the silence after it.

use crate::pipeline::round_ms;
use crate::result::{TranscriptSegment, Word};

/// One text token of a segment: its bytes (a token may hold part of a UTF-8 character), its
/// start and end in seconds of the recording, and its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedToken<'a> {
    /// The token's bytes.
    pub bytes: &'a [u8],
    /// Start in seconds of the recording.
    pub start_s: f64,
    /// End in seconds of the recording.
    pub end_s: f64,
    /// The token's probability, 0–1.
    pub probability: f32,
}

/// Merges tokens into words: a token whose text starts with a space starts a word. Bracketed
/// non-speech markers (`[BLANK_AUDIO]`, `(music)`, `*sigh*`, `♪`) are left out as the
/// segment's text leaves them out, so the words spell the segment's text.
pub fn from_tokens(tokens: &[TimedToken<'_>]) -> Vec<Word> {
    // (bytes, start, end, probabilities summed, token count)
    let mut raw: Vec<(Vec<u8>, f64, f64, f64, u32)> = Vec::new();
    for token in tokens {
        let starts_word = token.bytes.first() == Some(&b' ');
        match raw.last_mut() {
            Some(word) if !starts_word => {
                word.0.extend_from_slice(token.bytes);
                word.2 = token.end_s;
                word.3 += f64::from(token.probability);
                word.4 += 1;
            }
            _ => raw.push((
                token.bytes.to_vec(),
                token.start_s,
                token.end_s,
                f64::from(token.probability),
                1,
            )),
        }
    }
    let mut markers = NonSpeechMarkers::default();
    let mut words = Vec::with_capacity(raw.len());
    for (bytes, start_s, end_s, p_sum, n) in raw {
        let text = String::from_utf8_lossy(&bytes);
        let kept: String = text.chars().filter(|&c| markers.keeps(c)).collect();
        // A token may hold spaces inside (rare): each part is a word of the same time.
        for part in kept.split_whitespace() {
            words.push(Word {
                text: part.to_owned(),
                start_s,
                end_s,
                probability: p_sum / f64::from(n.max(1)),
            });
        }
    }
    words
}

/// Keeps a segment's words inside it and in order: each starts no earlier than the previous
/// one ends, ends no earlier than it starts, and no later than the segment; times rounded to
/// the millisecond, probabilities to 0.001.
pub fn fit(segment: &mut TranscriptSegment) {
    let (start, end) = (segment.start_s, segment.end_s.max(segment.start_s));
    let Some(words) = &mut segment.words else {
        return;
    };
    let mut floor = start;
    for word in words.iter_mut() {
        let s = if word.start_s.is_finite() {
            word.start_s
        } else {
            floor
        };
        let e = if word.end_s.is_finite() {
            word.end_s
        } else {
            s
        };
        word.start_s = round_ms(s.clamp(floor, end));
        word.end_s = round_ms(e.clamp(word.start_s, end));
        let p = if word.probability.is_finite() {
            word.probability
        } else {
            0.0
        };
        word.probability = (p.clamp(0.0, 1.0) * 1000.0).round() / 1000.0;
        floor = word.end_s;
    }
}

/// Reads text a character at a time and says which characters are outside Whisper's
/// non-speech markers (`[…]`, `(…)`, `*…*`, `♪`); a marker may span several tokens, so the state
/// carries over between calls.
#[derive(Default)]
pub(crate) struct NonSpeechMarkers {
    closing: Option<char>,
}

impl NonSpeechMarkers {
    pub(crate) fn keeps(&mut self, c: char) -> bool {
        match self.closing {
            Some(close) if c == close => {
                self.closing = None;
                false
            }
            Some(_) => false,
            None => match c {
                '[' => {
                    self.closing = Some(']');
                    false
                }
                '(' => {
                    self.closing = Some(')');
                    false
                }
                '*' => {
                    self.closing = Some('*');
                    false
                }
                '♪' | '♫' => false,
                _ => true,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(text: &str, start_s: f64, end_s: f64) -> TimedToken<'_> {
        TimedToken {
            bytes: text.as_bytes(),
            start_s,
            end_s,
            probability: 0.5,
        }
    }

    #[test]
    fn tokens_merge_into_words_on_leading_spaces() {
        let tokens = [
            token(" Call", 1.0, 1.2),
            token(" me", 1.2, 1.3),
            token(" at", 1.3, 1.4),
            token(" 555", 1.4, 1.8),
            token("-", 1.8, 1.85),
            token("01", 1.85, 2.0),
            token("42", 2.0, 2.2),
            token(".", 2.2, 2.2),
            token(" [BLANK", 2.3, 2.4),
            token("_AUDIO]", 2.4, 2.5),
        ];
        let words = from_tokens(&tokens);
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["Call", "me", "at", "555-0142."]);
        assert_eq!((words[3].start_s, words[3].end_s), (1.4, 2.2));
    }

    #[test]
    fn split_utf8_characters_are_joined() {
        let e_acute = "é".as_bytes();
        let tokens = [
            TimedToken {
                bytes: b" z",
                start_s: 0.0,
                end_s: 0.1,
                probability: 1.0,
            },
            TimedToken {
                bytes: &e_acute[..1],
                start_s: 0.1,
                end_s: 0.2,
                probability: 1.0,
            },
            TimedToken {
                bytes: &e_acute[1..],
                start_s: 0.2,
                end_s: 0.3,
                probability: 1.0,
            },
            token("ro", 0.3, 0.4),
        ];
        assert_eq!(from_tokens(&tokens)[0].text, "zéro");
    }

    #[test]
    fn words_are_fitted_into_their_segment() {
        let word = |s, e| Word {
            text: "x".into(),
            start_s: s,
            end_s: e,
            probability: 1.5,
        };
        let mut segment = TranscriptSegment {
            start_s: 1.0,
            end_s: 3.0,
            text: "x x x".into(),
            confidence: 0.5,
            words: Some(vec![word(0.5, 1.5), word(1.2, 2.0), word(2.5, 9.0)]),
        };
        fit(&mut segment);
        let times: Vec<(f64, f64)> = segment
            .words
            .iter()
            .flatten()
            .map(|w| (w.start_s, w.end_s))
            .collect();
        assert_eq!(times, [(1.0, 1.5), (1.5, 2.0), (2.5, 3.0)]);
        assert!(segment.words.iter().flatten().all(|w| w.probability == 1.0));
    }
}
