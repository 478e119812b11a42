//! Email addresses, written (`john.smith@contoso.com`) or spoken ("john dot smith at contoso
//! dot com", "juan punto perez arroba contoso punto es", "jean point dupont arobase …").
//!
//! Spoken addresses are read only when nothing is left to guess: the word "at" (or "@",
//! "arroba", "arobase"), a local part of words joined by "dot"/"underscore"/"dash" right before
//! it (not a pronoun: "email me at …"), and a domain of labels joined by "dot" ending in a
//! top-level domain from [`TLDS`].

use super::Lang;

/// Top-level domains a spoken address may end in: the generic ones callers say and the
/// country codes of the languages read here. A written address (with `@`) may end in any.
const TLDS: &[&str] = &[
    "com", "org", "net", "edu", "gov", "io", "co", "info", "biz", "me", "us", "uk", "ca", "es",
    "fr", "mx", "de", "be", "ch", "ar", "cl", "pe", "eu", "app", "dev",
];

/// Words that are never the local part of a spoken address: "email me at", "reach us at",
/// "I'm at home at".
const NOT_LOCAL: &[&str] = &[
    "me", "us", "him", "her", "them", "you", "it", "i", "we", "back", "home", "work", "office",
    "this", "that", "anytime", "the", "a", "an", "is", "am", "are", "here", "there",
];

/// An address found in the words `first..=last`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Address {
    pub first: usize,
    pub last: usize,
    /// Lowercase `local@domain`.
    pub address: String,
}

/// Longest word taken into an address, in bytes.
const MAX_WORD_BYTES: usize = 64;

/// What a word is to the address reader.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    /// "at", "@", "arroba", "arobase".
    At,
    /// A joiner and what it stands for: "dot" → `.`, "underscore" → `_`, "dash" → `-`.
    Join(char),
    /// A word that may be part of an address (letters, digits, `.`, `_`, `-`, `+`), lowercase;
    /// `ends` when punctuation follows it (a comma, a full stop): nothing joins after it.
    Part { text: String, ends: bool },
    /// Anything else.
    Other,
}

fn tok(word: &str, lang: Lang) -> Tok {
    if word.len() > MAX_WORD_BYTES {
        return Tok::Other;
    }
    let trimmed = word.trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '"', '\'']);
    let ends = trimmed.len() != word.len();
    let core = trimmed.trim_start_matches(['(', '"', '\'']);
    let lower = core.to_lowercase();
    match lower.as_str() {
        "@" => return Tok::At,
        "at" if lang.en() || lang == Lang::Any => return Tok::At,
        "arroba" if lang.es() || lang == Lang::Any => return Tok::At,
        "arobase" | "arrobase" if lang.fr() || lang == Lang::Any => return Tok::At,
        "dot" if lang.en() || lang == Lang::Any => return Tok::Join('.'),
        "punto" if lang.es() || lang == Lang::Any => return Tok::Join('.'),
        "point" if lang.fr() || lang == Lang::Any => return Tok::Join('.'),
        "underscore" => return Tok::Join('_'),
        "dash" | "hyphen" | "tiret" | "guion" | "guión" => return Tok::Join('-'),
        _ => {}
    }
    if !lower.is_empty()
        && lower
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '@'))
        && lower.chars().any(|c| c.is_ascii_alphanumeric())
    {
        Tok::Part { text: lower, ends }
    } else {
        Tok::Other
    }
}

/// Every address in `words`, in order, not overlapping.
pub(crate) fn find<'a>(words: impl IntoIterator<Item = &'a str>, lang: Lang) -> Vec<Address> {
    let toks: Vec<Tok> = words.into_iter().map(|w| tok(w, lang)).collect();
    let mut out: Vec<Address> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let found = match &toks[i] {
            Tok::Part { text, .. } if text.contains('@') => written(text).map(|address| Address {
                first: i,
                last: i,
                address,
            }),
            Tok::At => spoken(&toks, i, out.last().map_or(0, |a| a.last + 1)),
            _ => None,
        };
        match found {
            Some(address) => {
                i = address.last + 1;
                out.push(address);
            }
            None => i += 1,
        }
    }
    out
}

/// A written address: `local@domain.tld` with a plausible local part and domain.
fn written(text: &str) -> Option<String> {
    let (local, domain) = text.split_once('@')?;
    let domain = domain.trim_end_matches('.');
    let labels: Vec<&str> = domain.split('.').collect();
    let ok = valid_local(local)
        && labels.len() >= 2
        && labels.iter().all(|l| valid_label(l))
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
    ok.then(|| format!("{local}@{domain}"))
}

/// A spoken address around the "at" at `at`; the local part starts no earlier than `floor`.
fn spoken(toks: &[Tok], at: usize, floor: usize) -> Option<Address> {
    // Local part, backwards: part (join part)*, no punctuation after any of its words.
    let mut first = at.checked_sub(1).filter(|&f| f >= floor)?;
    let mut local = match &toks[first] {
        Tok::Part { text, ends: false } if !NOT_LOCAL.contains(&text.as_str()) => text.clone(),
        _ => return None,
    };
    while first >= floor + 2 {
        match (&toks[first - 1], &toks[first - 2]) {
            (Tok::Join(c), Tok::Part { text, ends: false }) => {
                local = format!("{text}{c}{local}");
                first -= 2;
            }
            _ => break,
        }
    }
    // Domain, forwards: part (dot part)+; a word may itself hold dots ("contoso.com").
    let mut last = at + 1;
    let (mut domain, mut ends) = match toks.get(last)? {
        Tok::Part { text, ends } => (text.clone(), *ends),
        _ => return None,
    };
    while !ends {
        match (toks.get(last + 1), toks.get(last + 2)) {
            (Some(Tok::Join('.')), Some(Tok::Part { text, ends: e })) => {
                domain.push('.');
                domain.push_str(text);
                ends = *e;
                last += 2;
            }
            _ => break,
        }
    }
    let domain = domain.trim_end_matches('.').to_owned();
    let labels: Vec<&str> = domain.split('.').collect();
    let ok = valid_local(&local)
        && labels.len() >= 2
        && labels.iter().all(|l| valid_label(l))
        && labels.last().is_some_and(|tld| TLDS.contains(tld));
    ok.then(|| Address {
        first,
        last,
        address: format!("{local}@{domain}"),
    })
}

fn valid_local(local: &str) -> bool {
    !local.is_empty()
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+'))
}

fn valid_label(label: &str) -> bool {
    !label.is_empty()
        && !label.starts_with('-')
        && !label.ends_with('-')
        && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addresses(text: &str, lang: Lang) -> Vec<String> {
        find(text.split_whitespace(), lang)
            .into_iter()
            .map(|a| a.address)
            .collect()
    }

    #[test]
    fn spoken_and_written_addresses() {
        let en = Lang::En;
        assert_eq!(
            addresses("email john dot smith at contoso dot com please", en),
            ["john.smith@contoso.com"]
        );
        assert_eq!(
            addresses("it's John.Smith@Contoso.com.", en),
            ["john.smith@contoso.com"]
        );
        assert_eq!(
            addresses(
                "mail me at jane underscore doe at fabrikam.co.uk, thanks",
                en
            ),
            ["jane_doe@fabrikam.co.uk"]
        );
        assert!(addresses("email me at contoso dot com", en).is_empty());
        assert!(addresses("call me at five five five", en).is_empty());
        assert!(addresses("john at contoso dot banana", en).is_empty());
        assert_eq!(
            addresses("juan punto perez arroba contoso punto es", Lang::Es),
            ["juan.perez@contoso.es"]
        );
        assert_eq!(
            addresses("jean point dupont arobase orange point fr", Lang::Fr),
            ["jean.dupont@orange.fr"]
        );
    }
}
