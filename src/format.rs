//! Output formats for the CLI: JSON Lines (the default), pretty JSON, plain text, SRT and
//! WebVTT subtitles of the transcript.

use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::result::{RecordingResult, Transcript};

impl std::str::FromStr for Format {
    type Err = String;

    /// Parses the names of [`Format::NAMES`].
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "jsonl" => Ok(Self::Jsonl),
            "json" => Ok(Self::Json),
            "txt" => Ok(Self::Txt),
            "srt" => Ok(Self::Srt),
            "vtt" => Ok(Self::Vtt),
            _ => Err(format!(
                "unknown format {name:?} (one of {})",
                Self::NAMES.join(", ")
            )),
        }
    }
}

/// How a result is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// One JSON object per line (the full result).
    #[default]
    Jsonl,
    /// The full result as indented JSON.
    Json,
    /// The transcript text only.
    Txt,
    /// The transcript as SubRip subtitles.
    Srt,
    /// The transcript as WebVTT subtitles.
    Vtt,
}

impl Format {
    /// Every format's name, as `--format` and the JSON configuration spell it.
    pub const NAMES: [&'static str; 5] = ["jsonl", "json", "txt", "srt", "vtt"];

    /// File extension for `--out` files.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Jsonl | Self::Json => "json",
            Self::Txt => "txt",
            Self::Srt => "srt",
            Self::Vtt => "vtt",
        }
    }

    /// Renders a result, ending with a newline.
    pub fn render(self, result: &RecordingResult) -> String {
        let empty = Transcript {
            text: String::new(),
            language: String::new(),
            language_probability: None,
            segments: Vec::new(),
            entities: Vec::new(),
            redactions: Vec::new(),
        };
        let transcript = result.transcript.as_ref().unwrap_or(&empty);
        match self {
            Self::Jsonl => format!("{}\n", result.to_json_line()),
            Self::Json => {
                let mut s =
                    serde_json::to_string_pretty(result).unwrap_or_else(|_| result.to_json_line());
                s.push('\n');
                s
            }
            Self::Txt => format!("{}\n", transcript.text),
            Self::Srt => srt(transcript),
            Self::Vtt => vtt(transcript),
        }
    }
}

/// SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`.
pub fn srt(transcript: &Transcript) -> String {
    let mut out = String::new();
    for (i, s) in transcript.segments.iter().enumerate() {
        let _ = write!(
            out,
            "{}\n{} --> {}\n{}\n\n",
            i + 1,
            timestamp(s.start_s, ','),
            timestamp(s.end_s, ','),
            s.text
        );
    }
    out
}

/// WebVTT: a `WEBVTT` header, then `HH:MM:SS.mmm --> HH:MM:SS.mmm` cues.
pub fn vtt(transcript: &Transcript) -> String {
    let mut out = String::from("WEBVTT\n\n");
    for s in &transcript.segments {
        let _ = write!(
            out,
            "{} --> {}\n{}\n\n",
            timestamp(s.start_s, '.'),
            timestamp(s.end_s, '.'),
            s.text
        );
    }
    out
}

fn timestamp(seconds: f64, separator: char) -> String {
    let ms = (seconds.max(0.0) * 1000.0).round() as u64;
    let (h, m, s, ms) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    format!("{h:02}:{m:02}:{s:02}{separator}{ms:03}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::result::TranscriptSegment;

    #[test]
    fn format_names_parse_as_serde_spells_them() {
        for name in Format::NAMES {
            let parsed: Format = name.parse().expect("a listed name parses");
            let json = serde_json::to_string(&parsed).expect("serialize");
            assert_eq!(json, format!("\"{name}\""));
        }
        assert!("JSON".parse::<Format>().is_err());
    }

    fn transcript() -> Transcript {
        let seg = |a, b, t: &str| TranscriptSegment {
            start_s: a,
            end_s: b,
            text: t.into(),
            confidence: 0.9,
            words: None,
        };
        Transcript {
            text: "Hello there. Call me back.".into(),
            language: "en".into(),
            language_probability: None,
            segments: vec![
                seg(1.25, 2.5, "Hello there."),
                seg(3661.001, 3662.0, "Call me back."),
            ],
            entities: Vec::new(),
            redactions: Vec::new(),
        }
    }

    #[test]
    fn srt_cues_are_numbered_with_comma_milliseconds() {
        assert_eq!(
            srt(&transcript()),
            "1\n00:00:01,250 --> 00:00:02,500\nHello there.\n\n\
             2\n01:01:01,001 --> 01:01:02,000\nCall me back.\n\n"
        );
    }

    #[test]
    fn vtt_has_header_and_dot_milliseconds() {
        let out = vtt(&transcript());
        assert!(out.starts_with("WEBVTT\n\n00:00:01.250 --> 00:00:02.500\nHello there.\n"));
    }

    #[test]
    fn txt_is_the_text() {
        let mut result = crate::result::RecordingResult::failed(
            Default::default(),
            crate::result::ErrorInfo {
                kind: crate::ErrorKind::Io,
                message: "x".into(),
            },
        );
        assert_eq!(Format::Txt.render(&result), "\n");
        result.transcript = Some(transcript());
        assert_eq!(Format::Txt.render(&result), "Hello there. Call me back.\n");
    }
}
