//! The vocabulary: its files, the token ids in `config.json`, and GPT-2's byte alphabet.
//!
//! CTranslate2 stores one token per embedding row, written in GPT-2's byte-to-unicode
//! alphabet; the ggml file wants the raw bytes of the text tokens.

use serde::Deserialize;

use super::ImportError;

/// The first special token after the text tokens; the ggml vocabulary stops before it.
const START_OF_TRANSCRIPT: &str = "<|startoftranscript|>";
/// The special token just before [`START_OF_TRANSCRIPT`].
const END_OF_TEXT: &str = "<|endoftext|>";

/// whisper.cpp treats a model as multilingual from this vocabulary size on.
pub(super) const MULTILINGUAL_MIN_VOCAB: i32 = 51_865;

/// The parts of faster-whisper's `config.json` this importer checks: the special token ids it
/// lists must exist in the model (CTranslate2 copies them from the tokenizer, so an English-only
/// model lists the 98 language ids too).
#[derive(Debug, Default, Deserialize)]
pub(super) struct Ct2WhisperConfig {
    #[serde(default)]
    lang_ids: Vec<u64>,
    #[serde(default)]
    suppress_ids: Vec<u64>,
    #[serde(default)]
    suppress_ids_begin: Vec<u64>,
}

/// Parses `config.json` (a JSON object; unknown keys are ignored).
pub(super) fn parse_config(bytes: &[u8]) -> Result<Ct2WhisperConfig, ImportError> {
    serde_json::from_slice(bytes).map_err(|e| ImportError::BadConfig {
        reason: e.to_string(),
    })
}

/// Splits `vocabulary.txt` (one token a line, `\n`-terminated) into tokens.
pub(super) fn parse_vocabulary_txt(bytes: &[u8]) -> Result<Vec<String>, ImportError> {
    let text = std::str::from_utf8(bytes).map_err(|e| {
        // Report the token (line) holding the first invalid byte.
        let index = bytes
            .iter()
            .take(e.valid_up_to())
            .filter(|&&b| b == b'\n')
            .count();
        ImportError::BadVocabulary {
            index,
            reason: "not UTF-8".to_owned(),
        }
    })?;
    let text = text.strip_suffix('\n').unwrap_or(text);
    if text.is_empty() {
        return Ok(Vec::new());
    }
    // A raw '\r' is outside GPT-2's alphabet, so stripping one is safe for CRLF files.
    Ok(text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l).to_owned())
        .collect())
}

/// Reads `vocabulary.json` (a JSON list of token strings, newer CTranslate2 converters).
pub(super) fn parse_vocabulary_json(bytes: &[u8]) -> Result<Vec<String>, ImportError> {
    serde_json::from_slice(bytes).map_err(|e| ImportError::BadVocabulary {
        index: 0,
        reason: e.to_string(),
    })
}

/// Checks the vocabulary (one token per embedding row, `<|startoftranscript|>` among them) and
/// `config.json`'s token ids against the model's `n_vocab`, and returns the raw bytes of the
/// text tokens, the part of the vocabulary a ggml file holds (whisper.cpp names the special
/// tokens itself): those before `<|startoftranscript|>`, and in a multilingual model (whisper.cpp's
/// rule: `n_vocab` >= 51865) those before `<|endoftext|>`.
///
/// That is what whisper.cpp's converter writes: GPT-2's `vocab.json`, which holds
/// `<|endoftext|>` (id 50256) for the English tokenizer but not for the multilingual one, where
/// it is an added token (id 50257). The published `ggml-tiny.en.bin` and `ggml-base.bin` are
/// reproduced byte for byte that way; a multilingual file that held `<|endoftext|>` would load
/// as well, only naming that token differently from whisper.cpp's `[_EOT_]`.
pub(super) fn text_tokens(
    vocabulary: &[String],
    config: &Ct2WhisperConfig,
    n_vocab: i32,
) -> Result<Vec<Vec<u8>>, ImportError> {
    let ids = config
        .lang_ids
        .iter()
        .chain(&config.suppress_ids)
        .chain(&config.suppress_ids_begin);
    if let Some(id) = ids
        .copied()
        .find(|&id| id >= u64::try_from(n_vocab).unwrap_or(0))
    {
        return Err(ImportError::BadConfig {
            reason: format!("token id {id} is outside the vocabulary of {n_vocab}"),
        });
    }

    // Vocabulary: must cover every embedding row; the text tokens end at the first special.
    if vocabulary.len() != usize::try_from(n_vocab).unwrap_or(0) {
        return Err(ImportError::BadVocabulary {
            index: vocabulary.len(),
            reason: format!("{} tokens for {} embedding rows", vocabulary.len(), n_vocab),
        });
    }
    let mut n_text_tokens = vocabulary
        .iter()
        .position(|t| t == START_OF_TRANSCRIPT)
        .ok_or_else(|| ImportError::BadVocabulary {
            index: vocabulary.len(),
            reason: format!("no {START_OF_TRANSCRIPT} token"),
        })?;
    let before_sot = n_text_tokens.checked_sub(1).and_then(|i| vocabulary.get(i));
    if n_vocab >= MULTILINGUAL_MIN_VOCAB && before_sot.is_some_and(|t| t == END_OF_TEXT) {
        n_text_tokens -= 1;
    }
    let table = unicode_to_byte_table();
    let mut tokens = Vec::with_capacity(n_text_tokens);
    for (index, token) in vocabulary.iter().take(n_text_tokens).enumerate() {
        let bytes = decode_token(token, &table).ok_or_else(|| ImportError::BadVocabulary {
            index,
            reason: format!("{token:?} has a character outside GPT-2's byte alphabet"),
        })?;
        tokens.push(bytes);
    }
    Ok(tokens)
}

/// GPT-2's byte-to-unicode table (`bytes_to_unicode` in openai/gpt-2 `src/encoder.py`):
/// printable Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order.
fn byte_to_unicode(b: u8) -> char {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
    if printable(b) {
        return char::from(b);
    }
    // Rank of `b` among the non-printable bytes; at most 67, so the result is a valid char.
    let rank = (0..b).filter(|&x| !printable(x)).count() as u32;
    char::from_u32(0x100 + rank).unwrap_or(char::REPLACEMENT_CHARACTER)
}

/// Inverse of [`byte_to_unicode`], indexed by code point (the alphabet ends at U+0143).
fn unicode_to_byte_table() -> [Option<u8>; 0x144] {
    let mut table = [None; 0x144];
    for b in 0..=255u8 {
        if let Some(slot) = table.get_mut(byte_to_unicode(b) as usize) {
            *slot = Some(b);
        }
    }
    table
}

/// Turns a token written in GPT-2's alphabet back into its raw bytes; `None` if it holds a
/// character outside the alphabet.
fn decode_token(token: &str, table: &[Option<u8>; 0x144]) -> Option<Vec<u8>> {
    token
        .chars()
        .map(|c| table.get(c as usize).copied().flatten())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model_import::fixtures::{assert_kind, vocabulary, VOCAB};

    #[test]
    fn vocabulary_errors() {
        let n_vocab = VOCAB.len() as i32;
        let config = Ct2WhisperConfig::default();
        let tokens = |vocab: &[&str]| {
            let vocab: Vec<String> = vocab.iter().map(|s| s.to_string()).collect();
            text_tokens(&vocab, &config, n_vocab)
        };
        assert_kind(tokens(&VOCAB[..5]), "bad_vocabulary");
        assert_kind(
            tokens(&["!", "a b", "c", "d", "<|startoftranscript|>", "e"]),
            "bad_vocabulary",
        );
        assert_kind(
            tokens(&["!", "€", "c", "d", "<|startoftranscript|>", "e"]),
            "bad_vocabulary",
        );
        assert_kind(tokens(&["a", "b", "c", "d", "e", "f"]), "bad_vocabulary");
        assert_eq!(
            tokens(&VOCAB).ok(),
            Some(vec![
                b"!".to_vec(),
                b" a".to_vec(),
                "é".as_bytes().to_vec(),
                b"<|endoftext|>".to_vec()
            ])
        );

        let bad_config = Ct2WhisperConfig {
            lang_ids: vec![6],
            ..Default::default()
        };
        assert_kind(
            text_tokens(&vocabulary(), &bad_config, n_vocab),
            "bad_config",
        );
        assert_kind(parse_config(b"[1, 2]"), "bad_config");
        assert_kind(parse_config(b"{\"lang_ids\": \"x\"}"), "bad_config");
        assert!(parse_config(b"{\"other\": 1}").is_ok());
    }

    #[test]
    fn multilingual_vocabularies_stop_before_endoftext() {
        // Whisper's two layouts: English, <|endoftext|> 50256 and <|startoftranscript|> 50257
        // of 51864 rows; multilingual, the same two at 50257 and 50258 of 51865 or more rows.
        // Both give GPT-2's 50257 vocab.json tokens, as whisper.cpp's converter writes them.
        for (n_vocab, eot) in [
            (51_864usize, 50_256usize),
            (51_865, 50_257),
            (51_866, 50_257),
        ] {
            let mut vocab = vec!["a".to_string(); n_vocab];
            vocab[eot] = END_OF_TEXT.into();
            vocab[eot + 1] = START_OF_TRANSCRIPT.into();
            let tokens = text_tokens(&vocab, &Ct2WhisperConfig::default(), n_vocab as i32);
            let tokens = tokens.unwrap_or_default();
            assert_eq!(tokens.len(), 50_257, "{n_vocab}");
            let last = tokens.last().map(Vec::as_slice);
            let expected: &[u8] = if eot == 50_256 {
                b"<|endoftext|>"
            } else {
                b"a"
            };
            assert_eq!(last, Some(expected), "{n_vocab}");
        }
    }

    #[test]
    fn parses_vocabulary_files() {
        let txt = parse_vocabulary_txt(b"a\nb\r\n\nc\n").ok();
        assert_eq!(
            txt,
            Some(vec!["a".into(), "b".into(), String::new(), "c".into()])
        );
        assert_eq!(parse_vocabulary_txt(b"").ok(), Some(Vec::new()));
        assert_kind(parse_vocabulary_txt(b"a\nb\n\xff\n"), "bad_vocabulary");
        if let Err(ImportError::BadVocabulary { index, .. }) = parse_vocabulary_txt(b"a\nb\n\xff") {
            assert_eq!(index, 2);
        }
        assert_eq!(
            parse_vocabulary_json(b"[\"a\", \"b\"]").ok(),
            Some(vec!["a".into(), "b".into()])
        );
        assert_kind(parse_vocabulary_json(b"{}"), "bad_vocabulary");
    }

    #[test]
    fn gpt2_byte_alphabet_round_trips() {
        let table = unicode_to_byte_table();
        let mut seen = std::collections::HashSet::new();
        for b in 0..=255u8 {
            let c = byte_to_unicode(b);
            assert!(seen.insert(c), "{c:?} used twice");
            assert_eq!(table[c as usize], Some(b));
            assert_eq!(decode_token(&c.to_string(), &table), Some(vec![b]));
        }
        // Known entries of openai/gpt-2 `bytes_to_unicode`.
        assert_eq!(byte_to_unicode(b' '), 'Ġ');
        assert_eq!(byte_to_unicode(b'\n'), 'Ċ');
        assert_eq!(byte_to_unicode(0), '\u{100}');
        assert_eq!(byte_to_unicode(0xad), '\u{143}');
        assert_eq!(byte_to_unicode(b'A'), 'A');
        assert_eq!(byte_to_unicode(0xe9), 'é');

        assert_eq!(decode_token("Ġhello", &table), Some(b" hello".to_vec()));
        assert_eq!(
            decode_token("Ã©tÃ©", &table),
            Some("été".as_bytes().to_vec())
        );
        assert_eq!(
            decode_token("<|endoftext|>", &table),
            Some(b"<|endoftext|>".to_vec())
        );
        assert_eq!(decode_token("", &table), Some(Vec::new()));
        assert_eq!(decode_token("a b", &table), None);
        assert_eq!(decode_token("€", &table), None);
        assert_eq!(decode_token("\u{144}", &table), None);
        // Encoding arbitrary bytes and decoding gives them back.
        let bytes: Vec<u8> = (0..=255u8).rev().collect();
        let encoded: String = bytes.iter().map(|&b| byte_to_unicode(b)).collect();
        assert_eq!(decode_token(&encoded, &table), Some(bytes));
    }
}
