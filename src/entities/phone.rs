//! Phone numbers: a run of digits (`numbers::Run`) → a number valid in the default region, or
//! with its country code, through the `phonenumber` crate (a port of Google's libphonenumber,
//! with its metadata).

use phonenumber::country::Id;
use phonenumber::metadata::DATABASE;
use phonenumber::Mode;
use std::sync::{Arc, OnceLock};

use super::numbers::Run;

/// Fewest digits read as a phone number: shorter runs are never one (libphonenumber's own
/// minimum national number is 2, but a 6-digit run in a voicemail is a code or an amount).
const MIN_DIGITS: usize = 7;

/// Most digits read as a phone number: E.164's 15, plus an international prefix (`011`) or
/// trunk prefix.
const MAX_DIGITS: usize = 17;

/// A run longer than this is not split into several numbers (two numbers said back to back
/// fit): a longer one is a card, an account or a loop, and splitting it costs a parse per
/// piece.
const MAX_SPLIT_DIGITS: usize = 34;

/// The default region: its code checked when the configuration is read, its metadata looked
/// up the first time a number is read.
///
/// Looking it up loads phonenumber's whole database, which syntax-checks every pattern of every
/// region: about 90 ms of CPU (2026-12-07, commit 66f4251, Zen 4 EPYC), which was nearly all of
/// `process --no-transcribe` on a 3 s file (100.6 ms → 6.8 ms once deferred). A run with no
/// transcript, or a transcript with no digits, never needs it.
#[derive(Debug, Clone)]
pub(crate) struct Region {
    id: Id,
    metadata: Arc<OnceLock<RegionMetadata>>,
}

/// What the number reader needs of the region's metadata.
#[derive(Debug)]
struct RegionMetadata {
    /// Lengths of numbers dialled without an area code (US: 7).
    local_lengths: Vec<usize>,
    /// The region's country calling code (US: 1).
    country_code: u16,
}

impl Region {
    /// Resolves an ISO 3166 code (`US`, `fr`); `None` when libphonenumber has no such region.
    pub fn new(code: &str) -> Option<Self> {
        let id: Id = code.trim().to_ascii_uppercase().parse().ok()?;
        Some(Self {
            id,
            metadata: Arc::new(OnceLock::new()),
        })
    }

    fn metadata(&self) -> &RegionMetadata {
        self.metadata.get_or_init(|| {
            let code: &str = self.id.as_ref();
            // Every `Id` is a region of the database the crate is built with; an empty entry
            // would only turn off local numbers and the NANP check.
            let Some(meta) = DATABASE.by_id(code) else {
                return RegionMetadata {
                    local_lengths: Vec::new(),
                    country_code: 0,
                };
            };
            // The metadata lists local-only lengths per number type (the general descriptor's
            // are empty in the crate's data): the union of fixed-line and mobile numbers'.
            let descriptors = meta.descriptors();
            let mut local_lengths: Vec<usize> = [
                Some(descriptors.general()),
                descriptors.fixed_line(),
                descriptors.mobile(),
            ]
            .into_iter()
            .flatten()
            .flat_map(|d| d.possible_local_length().iter().map(|&n| usize::from(n)))
            .collect();
            local_lengths.sort_unstable();
            local_lengths.dedup();
            RegionMetadata {
                local_lengths,
                country_code: meta.country_code(),
            }
        })
    }
}

/// A phone number read from a run, or from part of it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Number {
    /// First and last word.
    pub first: usize,
    pub last: usize,
    /// E.164, `None` for a local number (no area code).
    pub e164: Option<String>,
    /// The national significant number's digits.
    pub national: String,
}

/// The phone numbers in a run: the whole run when it is one; otherwise, for runs of up to
/// 12 digits or of 20 to [`MAX_SPLIT_DIGITS`], consecutive pieces that are valid numbers
/// (a stray digit before a number, two numbers said back to back). Runs of 13–19 digits are
/// card-length and are never split: a piece of a card number is not a phone number.
pub(crate) fn numbers_in(run: &Run, region: &Region) -> Vec<Number> {
    if !run.phone_like() {
        return Vec::new();
    }
    if let Some((e164, national)) = classify(&run.digits, run.plus(), region, true) {
        return vec![Number {
            first: run.first,
            last: run.last,
            e164,
            national,
        }];
    }
    let n = run.digits.len();
    if n < MIN_DIGITS || (13..=19).contains(&n) || n > MAX_SPLIT_DIGITS {
        return Vec::new();
    }
    let mut out = Vec::new();
    let pieces = &run.pieces;
    let mut start = 0;
    'outer: while start < pieces.len() {
        // The longest stretch of pieces from `start` that is a valid number with an area code.
        let mut digits = String::new();
        let mut candidates = Vec::new();
        for (end, piece) in pieces.iter().enumerate().skip(start) {
            digits.push_str(&piece.digits);
            if digits.len() > MAX_DIGITS {
                break;
            }
            candidates.push((end, digits.clone()));
        }
        for (end, digits) in candidates.into_iter().rev() {
            if end + 1 - start == pieces.len() {
                continue; // the whole run, already tried
            }
            if let Some((Some(e164), national)) =
                classify(&digits, pieces[start].plus, region, false)
            {
                out.push(Number {
                    first: pieces[start].first,
                    last: pieces[end].last,
                    e164: Some(e164),
                    national,
                });
                start = end + 1;
                continue 'outer;
            }
        }
        start += 1;
    }
    out
}

/// E.164 and national digits of `digits` (with `+` when `plus`), when they are a valid number
/// of `region` or, with `+`, of any region; `(None, digits)` for a local number of the region
/// (its local length, not starting with a trunk or international prefix digit) when
/// `allow_local`.
pub(crate) fn classify(
    digits: &str,
    plus: bool,
    region: &Region,
    allow_local: bool,
) -> Option<(Option<String>, String)> {
    if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
        return None;
    }
    let parsed = if plus {
        phonenumber::parse(None, format!("+{digits}"))
    } else {
        phonenumber::parse(Some(region.id), digits)
    };
    if let Ok(number) = parsed {
        if phonenumber::is_valid(&number) {
            let e164 = number.format().mode(Mode::E164).to_string();
            let national = number.national().to_string();
            return Some((Some(e164), national));
        }
    }
    // A local number: the area code was not said ("call me at 555-0142"). In the North
    // American plan a local number never starts with 0 or 1 (operator and trunk prefixes).
    let metadata = region.metadata();
    let nanp_prefix = metadata.country_code == 1 && digits.starts_with(['0', '1']);
    if allow_local && !plus && !nanp_prefix && metadata.local_lengths.contains(&digits.len()) {
        return Some((None, digits.to_owned()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::numbers::find_runs;
    use crate::entities::Lang;

    fn us() -> Region {
        Region::new("US").expect("US")
    }

    fn read(text: &str) -> Vec<(Option<String>, String)> {
        find_runs(text.split_whitespace(), Lang::En)
            .iter()
            .flat_map(|run| numbers_in(run, &us()))
            .map(|n| (n.e164, n.national))
            .collect()
    }

    #[test]
    fn regions_resolve() {
        assert!(Region::new("us").is_some());
        assert!(Region::new("FR").is_some());
        assert!(Region::new("XX").is_none());
        assert!(Region::new("").is_none());
    }

    #[test]
    fn valid_local_and_invalid_numbers() {
        assert_eq!(
            read("425-555-0142"),
            [(Some("+14255550142".into()), "4255550142".into())]
        );
        assert_eq!(read("555-0142"), [(None, "5550142".into())]);
        assert_eq!(
            read("1 425 555 0142"),
            [(Some("+14255550142".into()), "4255550142".into())]
        );
        assert!(
            read("123-4567").is_empty(),
            "a US number never starts with 1"
        );
        assert!(read("4111 1111 1111 1111").is_empty());
        assert!(read("12345").is_empty());
    }

    #[test]
    fn back_to_back_numbers_are_split() {
        assert_eq!(
            read("425 555 0142 206 555 0199"),
            [
                (Some("+14255550142".into()), "4255550142".into()),
                (Some("+12065550199".into()), "2065550199".into())
            ]
        );
    }
}
