//! Test JWTs for the server: the throwaway RSA keys in `tests/fixtures/`, a JWKS file with
//! their public halves, and RS256 tokens with any claims. Shared with `benches/serve_load.rs`
//! (through `#[path]`), so it depends only on the library's own dependencies.
#![allow(dead_code)] // The tests and the benchmark use different subsets.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::jwk::{Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

/// The audience (`aud`) the test service is configured with.
pub const APP_ID: &str = "4f1e5b9c-callscribe-test-app";
/// The tenant (`tid`) of valid test tokens.
pub const TENANT: &str = "72f988bf-test-tenant";
/// One of the issuers Graph's calling platform uses.
pub const ISSUER: &str = "https://api.botframework.com";
/// Key id of fixture key 1 (in the JWKS from the start).
pub const KID1: &str = "test-key-1";
/// Key id of fixture key 2 (not in the JWKS unless a test rotates it in).
pub const KID2: &str = "test-key-2";
/// Fixture key 3: a 512-bit RSA key, which the service must refuse to load.
pub const WEAK_KEY: u8 = 3;

/// A fixture key: 1 or 2 (2048-bit), or [`WEAK_KEY`].
pub fn encoding_key(n: u8) -> EncodingKey {
    let path = format!(
        "{}/tests/fixtures/jwt-test-key-{n}.pem",
        env!("CARGO_MANIFEST_DIR")
    );
    let pem = std::fs::read(&path).expect("test key fixture");
    EncodingKey::from_rsa_pem(&pem).expect("valid test key")
}

/// The public JWK of fixture key `n`, with key id `kid`, as Microsoft publishes them.
pub fn public_jwk(n: u8, kid: &str) -> Value {
    let mut jwk = Jwk::from_encoding_key(&encoding_key(n), Algorithm::RS256).expect("jwk");
    jwk.common.key_id = Some(kid.to_owned());
    jwk.common.public_key_use = Some(PublicKeyUse::Signature);
    // Microsoft's keys don't name `alg`; ours don't either, so that path is exercised.
    jwk.common.key_algorithm = None;
    serde_json::to_value(jwk).expect("jwk json")
}

/// Writes `{"keys": [...]}` with the given `(fixture, kid)` pairs to `path`.
pub fn write_jwks(path: &Path, keys: &[(u8, &str)]) {
    let keys: Vec<Value> = keys.iter().map(|(n, kid)| public_jwk(*n, kid)).collect();
    let text = serde_json::to_string_pretty(&json!({ "keys": keys })).expect("json");
    // Write-then-rename, so a concurrent refresh never reads half a file.
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).expect("write jwks");
    std::fs::rename(&tmp, path).expect("rename jwks");
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Claims of a valid token: right audience, issuer and tenant, valid for 10 minutes.
pub fn valid_claims() -> Value {
    let now = now();
    json!({
        "aud": APP_ID,
        "iss": ISSUER,
        "tid": TENANT,
        "iat": now - 10,
        "nbf": now - 10,
        "exp": now + 600,
        "serviceurl": "https://api.botframework.com/",
    })
}

/// `claims` signed RS256 with fixture key `n` under key id `kid`.
pub fn sign(claims: &Value, n: u8, kid: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &encoding_key(n)).expect("sign")
}

/// A valid token (fixture key 1).
pub fn valid_token() -> String {
    sign(&valid_claims(), 1, KID1)
}
