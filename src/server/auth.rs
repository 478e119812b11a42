//! Authentication of inbound notifications: RS256 JWTs from Microsoft's calling platform.
//!
//! Graph signs every notification it POSTs to a calling bot with `Authorization: Bearer <JWT>`.
//! A token is accepted only if all of these hold:
//!
//! * the header's `alg` is `RS256` (nothing else, so `none` and the HS256-with-a-public-key
//!   confusion are refused before any key is touched) and it names a `kid`;
//! * the `kid` is in the current key set, and that key's signature over the token verifies;
//! * `exp` is in the future and `nbf` (if present) in the past, give or take
//!   [`AuthConfig::leeway_s`];
//! * `aud` is the bot's app id and `iss` one of [`AuthConfig::issuers`];
//! * a `tid` (tenant) claim is present and, if [`AuthConfig::allowed_tenants`] is set, listed.
//!
//! Failures are `401` (not a valid credential for this service) except a valid token from a
//! tenant outside the allow-list, which is `403` (authenticated, not authorised).
//!
//! # Keys
//!
//! Mode `openid` reads the OpenID configuration (by default Microsoft's for calling bots),
//! follows its `jwks_uri` (https only) and keeps the RSA signing keys by `kid`. RSA keys
//! under [`MIN_RSA_BITS`] (2048, NIST SP 800-131A's floor; Microsoft's keys are 2048) are
//! skipped with a warning: a 512-bit modulus is factored in hours, so a key set that names only
//! such keys verifies nothing. Mode
//! `jwks-file` reads the same JWKS JSON from a local file (tests, air-gapped setups). The set
//! is refreshed every [`AuthConfig::refresh_interval_s`] (every 30 s while it is empty), and
//! when a token names an unknown `kid` (Microsoft rotates keys), at most once per
//! [`AuthConfig::min_refresh_interval_s`] so that forged `kid`s cannot turn us into a load
//! generator against the key endpoint. Concurrent misses share one refresh.
//!
//! # Verified-token cache
//!
//! An RS256 verification costs about 0.4 ms with the pure-Rust `rsa` crate (see
//! `BENCHMARKS.md`), and Graph sends the same token with every notification for about an hour.
//! A token that passed every check is remembered by its SHA-256 (up to 1024 tokens), together
//! with the fingerprint of the key that verified it; when it is presented again only what can
//! change is re-checked: `exp` (with the leeway), that the key set still holds *that key*
//! under its `kid` (the same `kid` now naming another key does not count: a key set that
//! replaced a key no longer vouches for what the old one signed), and the tenant allow-list.
//! Failures are never cached.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, StatusCode};
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, DecodingKeyKind, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use url::Url;

use super::config::AuthConfig;
use super::ServerError;
use crate::notification::redact_url;

/// How inbound requests are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuthMode {
    /// Validate JWTs with keys from the OpenID configuration URL (production).
    #[serde(rename = "openid")]
    OpenId,
    /// Validate JWTs with keys from a local JWKS file (tests, local use).
    JwksFile,
    /// No authentication at all: anyone who can reach the port can submit work. Warned
    /// about loudly at start-up.
    None,
}

impl AuthMode {
    /// Every mode's name, as in the configuration file and `--auth`.
    pub const NAMES: [&'static str; 3] = ["openid", "jwks-file", "none"];
}

impl std::str::FromStr for AuthMode {
    type Err = String;

    /// Parses the names of [`AuthMode::NAMES`], as the configuration file spells them.
    fn from_str(name: &str) -> Result<Self, String> {
        match name {
            "openid" => Ok(Self::OpenId),
            "jwks-file" => Ok(Self::JwksFile),
            "none" => Ok(Self::None),
            _ => Err(format!(
                "unknown auth mode {name:?} (one of {})",
                Self::NAMES.join(", ")
            )),
        }
    }
}

/// Largest OpenID configuration or JWKS document read, in bytes (Microsoft's are ~5 KiB).
const MAX_KEY_DOCUMENT_BYTES: usize = 256 * 1024;
/// Timeout of one key-document request.
const KEY_FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Refresh period while no key could be loaded yet.
const EMPTY_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Most verified tokens remembered. Graph reuses one token for many notifications (tokens
/// live about an hour), so a handful of entries covers a bot's traffic.
const MAX_VERIFIED_TOKENS: usize = 1024;
/// Smallest RSA modulus accepted in a key set, in bits.
pub(crate) const MIN_RSA_BITS: usize = 2048;

/// Why a request was not authenticated. Messages are fixed words: never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AuthError {
    #[error("missing bearer token")]
    Missing,
    #[error("invalid token: {0}")]
    Invalid(&'static str),
    #[error("tenant is not allowed")]
    TenantNotAllowed,
}

impl AuthError {
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::TenantNotAllowed => StatusCode::FORBIDDEN,
            _ => StatusCode::UNAUTHORIZED,
        }
    }
}

/// The authentication in force.
pub(crate) enum Auth {
    /// `--auth none`.
    Disabled,
    /// JWT validation.
    Jwt(Arc<Authenticator>),
}

impl Auth {
    pub(crate) async fn build(config: &AuthConfig) -> Result<Self, ServerError> {
        match config.mode {
            AuthMode::None => Ok(Self::Disabled),
            AuthMode::JwksFile | AuthMode::OpenId => {
                Ok(Self::Jwt(Arc::new(Authenticator::build(config).await?)))
            }
        }
    }

    /// Checks the `Authorization` header of a request.
    pub(crate) async fn check(&self, headers: &HeaderMap) -> Result<(), AuthError> {
        match self {
            Self::Disabled => Ok(()),
            Self::Jwt(a) => a.verify(headers).await,
        }
    }

    pub(crate) fn has_keys(&self) -> bool {
        match self {
            Self::Disabled => true,
            Self::Jwt(a) => !a.current().is_empty(),
        }
    }

    /// Starts the periodic key refresh; the caller aborts it at shutdown.
    pub(crate) fn spawn_refresher(&self) -> Option<tokio::task::JoinHandle<()>> {
        match self {
            Self::Disabled => None,
            Self::Jwt(a) => {
                let a = Arc::clone(a);
                Some(tokio::spawn(async move { a.refresh_periodically().await }))
            }
        }
    }
}

/// Where signing keys come from.
enum KeySource {
    OpenId { client: reqwest::Client, url: Url },
    File(PathBuf),
}

/// The signing keys by `kid`.
type KeySet = HashMap<String, SigningKey>;

/// One RSA signing key of the key set.
#[derive(Clone)]
struct SigningKey {
    decoding: DecodingKey,
    /// SHA-256 over the modulus and exponent: what a verified token is bound to.
    fingerprint: [u8; 32],
}

pub(crate) struct Authenticator {
    validation: Validation,
    tenants: HashSet<String>,
    source: KeySource,
    /// Swapped whole on refresh; readers clone the `Arc` and never wait for a refresh.
    keys: RwLock<Arc<KeySet>>,
    /// When the last unknown-`kid` refresh ran; the async mutex makes concurrent misses wait
    /// for one refresh instead of starting their own.
    last_miss_refresh: tokio::sync::Mutex<Option<Instant>>,
    min_refresh: Duration,
    refresh_interval: Duration,
    /// Tokens whose signature and claims were verified, by SHA-256 of the token.
    verified: Mutex<HashMap<[u8; 32], Verified>>,
    leeway_s: u64,
}

/// A verified token: what must still be re-checked when it is presented again.
struct Verified {
    /// `exp`, seconds since the epoch.
    exp: u64,
    /// The key id it named and the fingerprint of the key that verified it: if that key
    /// leaves the key set, or its `kid` comes to name another key, the entry is worthless.
    kid: String,
    fingerprint: [u8; 32],
    tid: String,
}

/// The claims we read ourselves; `nbf`, `aud`, `iss` are checked by jsonwebtoken (and `exp`,
/// which we keep for the cache of verified tokens).
#[derive(Deserialize)]
struct Claims {
    tid: Option<String>,
    exp: u64,
}

impl Authenticator {
    async fn build(config: &AuthConfig) -> Result<Self, ServerError> {
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.leeway = config.leeway_s;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.set_audience(&[config.app_id.as_deref().unwrap_or_default()]);
        validation.set_issuer(&config.issuers);
        validation.set_required_spec_claims(&["exp", "aud", "iss"]);

        let source = match (&config.jwks_file, config.mode) {
            (Some(path), AuthMode::JwksFile) => KeySource::File(path.clone()),
            _ => {
                let url = Url::parse(&config.openid_url)
                    .map_err(|e| ServerError::Config(format!("auth.openid_url: {e}")))?;
                let client = super::http_client(KEY_FETCH_TIMEOUT).map_err(ServerError::Config)?;
                KeySource::OpenId { client, url }
            }
        };
        let auth = Self {
            validation,
            tenants: config.allowed_tenants.iter().cloned().collect(),
            source,
            keys: RwLock::new(Arc::new(KeySet::new())),
            last_miss_refresh: tokio::sync::Mutex::new(None),
            min_refresh: Duration::from_secs(config.min_refresh_interval_s),
            refresh_interval: Duration::from_secs(config.refresh_interval_s),
            verified: Mutex::new(HashMap::new()),
            leeway_s: config.leeway_s,
        };
        match auth.source.load().await {
            Ok(keys) => auth.install(keys),
            // A local file is our own configuration: fail at start-up.
            Err(e) if matches!(auth.source, KeySource::File(_)) => {
                return Err(ServerError::Keys(e))
            }
            // Microsoft's endpoint may be briefly unreachable: start, stay unready, retry.
            Err(e) => tracing::error!("cannot load signing keys yet, will retry: {e}"),
        }
        Ok(auth)
    }

    fn current(&self) -> Arc<KeySet> {
        Arc::clone(&self.keys.read().unwrap_or_else(|p| p.into_inner()))
    }

    fn install(&self, keys: KeySet) {
        tracing::info!(keys = keys.len(), "signing keys loaded");
        *self.keys.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(keys);
    }

    async fn refresh(&self) {
        match self.source.load().await {
            Ok(keys) => self.install(keys),
            // Keep the old keys: a failed refresh must not lock everyone out.
            Err(e) => tracing::warn!("signing key refresh failed: {e}"),
        }
    }

    async fn refresh_periodically(&self) {
        loop {
            let wait = if self.current().is_empty() {
                EMPTY_REFRESH_INTERVAL.min(self.refresh_interval)
            } else {
                self.refresh_interval
            };
            tokio::time::sleep(wait).await;
            self.refresh().await;
        }
    }

    /// Refreshes for a token with an unknown `kid`, unless one ran within `min_refresh`.
    async fn refresh_for_unknown_kid(&self) {
        let mut last = self.last_miss_refresh.lock().await;
        if last.is_some_and(|t| t.elapsed() < self.min_refresh) {
            return;
        }
        *last = Some(Instant::now());
        self.refresh().await;
    }

    async fn verify(&self, headers: &HeaderMap) -> Result<(), AuthError> {
        let token = bearer_token(headers)?;
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(tid) = self.verified_before(&digest) {
            return self.check_tenant(&tid);
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError::Invalid("malformed token"))?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::Invalid("algorithm not allowed"));
        }
        let kid = header
            .kid
            .ok_or(AuthError::Invalid("token names no key id"))?;
        let key = match self.current().get(&kid) {
            Some(key) => key.clone(),
            None => {
                self.refresh_for_unknown_kid().await;
                self.current()
                    .get(&kid)
                    .cloned()
                    .ok_or(AuthError::Invalid("unknown signing key"))?
            }
        };
        let data = jsonwebtoken::decode::<Claims>(token, &key.decoding, &self.validation)
            .map_err(|e| AuthError::Invalid(describe(e.kind())))?;
        let tid = data
            .claims
            .tid
            .filter(|t| !t.is_empty())
            .ok_or(AuthError::Invalid("token has no tenant claim"))?;
        self.check_tenant(&tid)?;
        self.remember(
            digest,
            Verified {
                exp: data.claims.exp,
                kid,
                fingerprint: key.fingerprint,
                tid,
            },
        );
        Ok(())
    }

    fn check_tenant(&self, tid: &str) -> Result<(), AuthError> {
        if !self.tenants.is_empty() && !self.tenants.contains(tid) {
            return Err(AuthError::TenantNotAllowed);
        }
        Ok(())
    }

    /// The tenant of a token verified earlier that is still valid: not expired (with the same
    /// leeway as the first check) and verified by a key that is still in the key set under
    /// the same `kid`. `nbf` needs no second look: it was in the past then, so it still is.
    fn verified_before(&self, digest: &[u8; 32]) -> Option<String> {
        let now = jsonwebtoken::get_current_timestamp();
        let cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        let entry = cache.get(digest)?;
        let fresh = entry.exp.saturating_add(self.leeway_s) >= now;
        let same_key = self
            .current()
            .get(&entry.kid)
            .is_some_and(|key| key.fingerprint == entry.fingerprint);
        (fresh && same_key).then(|| entry.tid.clone())
    }

    fn remember(&self, digest: [u8; 32], verified: Verified) {
        let now = jsonwebtoken::get_current_timestamp();
        let mut cache = self.verified.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= MAX_VERIFIED_TOKENS {
            cache.retain(|_, v| v.exp.saturating_add(self.leeway_s) >= now);
            if cache.len() >= MAX_VERIFIED_TOKENS {
                // Only a flood of distinct valid tokens gets here; forgetting costs re-checks.
                cache.clear();
            }
        }
        cache.insert(digest, verified);
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?
        .to_str()
        .map_err(|_| AuthError::Invalid("malformed authorization header"))?;
    let (scheme, token) = value
        .split_once(' ')
        .ok_or(AuthError::Invalid("malformed authorization header"))?;
    let token = token.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
        return Err(AuthError::Missing);
    }
    Ok(token)
}

/// Fixed words for a validation failure: the client learns what to fix, not our internals.
fn describe(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::InvalidSignature => "bad signature",
        K::ExpiredSignature => "token expired",
        K::ImmatureSignature => "token not yet valid",
        K::InvalidAudience => "wrong audience",
        K::InvalidIssuer => "untrusted issuer",
        K::MissingRequiredClaim(_) => "a required claim is missing",
        K::InvalidAlgorithm => "algorithm not allowed",
        _ => "malformed token",
    }
}

impl KeySource {
    async fn load(&self) -> Result<KeySet, String> {
        let jwks = match self {
            Self::File(path) => {
                let bytes = tokio::fs::read(path)
                    .await
                    .map_err(|e| format!("reading {}: {e}", path.display()))?;
                if bytes.len() > MAX_KEY_DOCUMENT_BYTES {
                    return Err(format!(
                        "{} is larger than {MAX_KEY_DOCUMENT_BYTES} bytes",
                        path.display()
                    ));
                }
                serde_json::from_slice::<Value>(&bytes)
                    .map_err(|e| format!("{} is not JSON: {e}", path.display()))?
            }
            Self::OpenId { client, url } => {
                let config = get_json(client, url).await?;
                let jwks_uri = config
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .and_then(|s| Url::parse(s).ok())
                    .filter(|u| u.scheme() == "https")
                    .ok_or_else(|| format!("{} has no https jwks_uri", redact_url(url)))?;
                get_json(client, &jwks_uri).await?
            }
        };
        let keys = parse_jwks(&jwks);
        if keys.is_empty() {
            return Err(format!(
                "the key set holds no usable RSA signing key with a kid \
                 (of at least {MIN_RSA_BITS} bits)"
            ));
        }
        Ok(keys)
    }
}

/// The RSA signature keys of a JWKS document, by `kid`. Keys of other types, encryption keys
/// and entries that don't parse are skipped one by one, so one odd entry (Microsoft's carry
/// extra fields such as `endorsements`) cannot hide the others. RSA keys under
/// [`MIN_RSA_BITS`] are skipped with a warning naming their `kid`.
fn parse_jwks(doc: &Value) -> KeySet {
    let Some(entries) = doc.get("keys").and_then(Value::as_array) else {
        return KeySet::new();
    };
    entries
        .iter()
        .filter_map(|entry| serde_json::from_value::<Jwk>(entry.clone()).ok())
        .filter(|jwk| matches!(jwk.algorithm, AlgorithmParameters::RSA(_)))
        .filter(|jwk| {
            matches!(
                jwk.common.public_key_use,
                None | Some(PublicKeyUse::Signature)
            )
        })
        .filter_map(|jwk| {
            let kid = jwk.common.key_id.clone()?;
            let decoding = DecodingKey::from_jwk(&jwk).ok()?;
            let DecodingKeyKind::RsaModulusExponent { n, e } = decoding.kind() else {
                return None;
            };
            let (n, e) = (strip_leading_zeros(n), strip_leading_zeros(e));
            let bits = bit_length(n);
            if bits < MIN_RSA_BITS {
                tracing::warn!(
                    kid = %kid,
                    bits,
                    "signing key skipped: RSA keys under {MIN_RSA_BITS} bits are refused"
                );
                return None;
            }
            let fingerprint = fingerprint(n, e);
            Some((
                kid,
                SigningKey {
                    decoding,
                    fingerprint,
                },
            ))
        })
        .collect()
}

/// A big-endian integer without its leading zero bytes (JWKs may pad the modulus).
fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
    &bytes[first..]
}

/// Bits of a big-endian integer without leading zero bytes.
fn bit_length(n: &[u8]) -> usize {
    n.first()
        .map_or(0, |&top| n.len() * 8 - top.leading_zeros() as usize)
}

/// SHA-256 over the length-prefixed modulus and exponent, so that no two keys share one.
fn fingerprint(n: &[u8], e: &[u8]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for part in [n, e] {
        hash.update((part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finalize().into()
}

/// GETs a JSON document of bounded size. Errors name the host only.
async fn get_json(client: &reqwest::Client, url: &Url) -> Result<Value, String> {
    let host = redact_url(url);
    let mut response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| format!("{host}: {}", e.without_url()))?;
    if !response.status().is_success() {
        return Err(format!("{host} answered {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("{host}: {}", e.without_url()))?
    {
        if body.len() + chunk.len() > MAX_KEY_DOCUMENT_BYTES {
            return Err(format!(
                "{host} sent more than {MAX_KEY_DOCUMENT_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("{host} sent invalid JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;

    #[test]
    fn auth_mode_names_parse_as_the_config_file_spells_them() {
        for name in AuthMode::NAMES {
            let parsed: AuthMode = name.parse().expect("a listed name parses");
            let from_toml: AuthMode =
                serde_json::from_value(Value::String(name.to_owned())).expect("serde name");
            assert_eq!(parsed, from_toml, "{name}");
        }
        assert!("OpenId".parse::<AuthMode>().is_err());
    }

    #[test]
    fn bearer_header_forms() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer_token(&h), Err(AuthError::Missing));
        h.insert("authorization", HeaderValue::from_static("Bearer abc"));
        assert_eq!(bearer_token(&h), Ok("abc"));
        h.insert("authorization", HeaderValue::from_static("bearer  abc "));
        assert_eq!(bearer_token(&h), Ok("abc"));
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&h), Err(AuthError::Missing));
        h.insert("authorization", HeaderValue::from_static("Bearer"));
        assert!(bearer_token(&h).is_err());
    }

    /// The modulus of a made-up RSA key of exactly `bits` bits (a multiple of 8) after
    /// `zeros` leading zero bytes of padding. Parsing only decodes it; nothing is signed.
    fn modulus(bits: usize, zeros: usize) -> String {
        let mut n = vec![0u8; zeros + bits / 8];
        n[zeros] = 0x80;
        // Base64url without padding, as JWKs carry `n` and `e`.
        URL_SAFE_NO_PAD.encode(n)
    }

    fn rsa_key(kid: &str, n: String) -> Value {
        serde_json::json!({"kty": "RSA", "kid": kid, "n": n, "e": "AQAB"})
    }

    #[test]
    fn jwks_parsing_keeps_rsa_signature_keys_only() {
        let n = modulus(2048, 0);
        let doc = serde_json::json!({"keys": [
            {"kty": "RSA", "kid": "a", "use": "sig", "n": n, "e": "AQAB",
             "endorsements": ["msteams"]},
            {"kty": "RSA", "kid": "enc", "use": "enc", "n": n, "e": "AQAB"},
            {"kty": "RSA", "n": n, "e": "AQAB"},
            {"kty": "EC", "kid": "ec", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            "not an object"
        ]});
        let keys = parse_jwks(&doc);
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["a"]);
        assert!(parse_jwks(&serde_json::json!({"nokeys": []})).is_empty());
    }

    #[test]
    fn rsa_keys_under_2048_bits_are_skipped() {
        let doc = serde_json::json!({"keys": [
            rsa_key("512", modulus(512, 0)),
            rsa_key("1024", modulus(1024, 0)),
            rsa_key("2040", modulus(2040, 0)),
            // 256 bytes long, but the leading zero byte adds no bits.
            rsa_key("2040-padded", modulus(2040, 1)),
            rsa_key("2048", modulus(2048, 0)),
            rsa_key("4096", modulus(4096, 0)),
        ]});
        let mut kids: Vec<_> = parse_jwks(&doc).into_keys().collect();
        kids.sort();
        assert_eq!(kids, ["2048", "4096"]);
        let weak_only = serde_json::json!({"keys": [rsa_key("512", modulus(512, 0))]});
        assert!(parse_jwks(&weak_only).is_empty());
    }

    #[test]
    fn fingerprints_tell_keys_apart_and_ignore_padding() {
        assert_eq!(bit_length(&[0x80, 0]), 16);
        assert_eq!(bit_length(&[0x01, 0]), 9);
        assert_eq!(bit_length(strip_leading_zeros(&[0, 0, 0x7f])), 7);
        assert_eq!(bit_length(&[]), 0);
        let a = fingerprint(&[1, 2], &[3]);
        assert_ne!(a, fingerprint(&[1], &[2, 3]), "length-prefixed");
        assert_ne!(a, fingerprint(&[1, 2], &[4]));
        let doc = |n: String| serde_json::json!({"keys": [rsa_key("k", n)]});
        let plain = parse_jwks(&doc(modulus(2048, 0)));
        let padded = parse_jwks(&doc(modulus(2048, 3)));
        let other = parse_jwks(&doc(modulus(2056, 0)));
        assert_eq!(plain["k"].fingerprint, padded["k"].fingerprint);
        assert_ne!(plain["k"].fingerprint, other["k"].fingerprint);
    }

    #[test]
    fn statuses() {
        assert_eq!(AuthError::Missing.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(AuthError::Invalid("x").status(), StatusCode::UNAUTHORIZED);
        assert_eq!(AuthError::TenantNotAllowed.status(), StatusCode::FORBIDDEN);
    }
}
