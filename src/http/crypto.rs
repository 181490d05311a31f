//! WebCrypto, for what must run natively rather than in Wasm: PBKDF2 (100 000 iterations take
//! milliseconds natively and far longer in Wasm) and RSA signature checks of Access JWTs
//! (no RSA code in the bundle). Random bytes come from `getrandom` (crypto.getRandomValues).

use js_sys::futures::JsFuture;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::error::{AppError, AppResult};

#[wasm_bindgen(inline_js = r#"
export function pbkdf2_sha256(password, salt, iterations) {
  return crypto.subtle
    .importKey("raw", password, "PBKDF2", false, ["deriveBits"])
    .then((key) =>
      crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, 256),
    )
    .then((bits) => new Uint8Array(bits));
}
export function rs256_verify(n, e, data, signature) {
  const algorithm = { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  return crypto.subtle
    .importKey("jwk", { kty: "RSA", n, e, alg: "RS256", ext: true }, algorithm, false, ["verify"])
    .then((key) => crypto.subtle.verify(algorithm, key, signature, data));
}
"#)]
extern "C" {
    #[wasm_bindgen(catch)]
    fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> Result<Promise, JsValue>;

    #[wasm_bindgen(catch)]
    fn rs256_verify(n: &str, e: &str, data: &[u8], signature: &[u8]) -> Result<Promise, JsValue>;
}

fn js_error(context: &str, err: JsValue) -> AppError {
    AppError::internal(format!("{context}: {err:?}"))
}

/// PBKDF2-HMAC-SHA256, 32 bytes.
pub async fn pbkdf2(password: &[u8], salt: &[u8], iterations: u32) -> AppResult<Vec<u8>> {
    let promise = pbkdf2_sha256(password, salt, iterations).map_err(|e| js_error("pbkdf2", e))?;
    let bits = JsFuture::from(promise)
        .await
        .map_err(|e| js_error("pbkdf2", e))?;
    Ok(Uint8Array::new(&bits).to_vec())
}

/// Checks an RS256 signature with the RSA public key (n, e as base64url, as in a JWK).
/// A key WebCrypto will not import counts as a failed check, not as our error.
pub async fn verify_rs256(n: &str, e: &str, data: &[u8], signature: &[u8]) -> bool {
    let Ok(promise) = rs256_verify(n, e, data, signature) else {
        return false;
    };
    matches!(
        JsFuture::from(promise).await.map(|v| v.as_bool()),
        Ok(Some(true))
    )
}

/// `N` random bytes from the platform's CSPRNG.
pub fn random_bytes<const N: usize>() -> AppResult<[u8; N]> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| AppError::internal(format!("getrandom: {e}")))?;
    Ok(bytes)
}

/// Fills a buffer for `session::random_string`; a failing CSPRNG is fatal to the request.
pub fn random_string(len: usize) -> AppResult<String> {
    let mut failed = None;
    let value = crate::domain::auth::session::random_string(len, |buf| {
        if let Err(e) = getrandom::fill(buf) {
            failed = Some(e);
        }
    });
    match failed {
        Some(e) => Err(AppError::internal(format!("getrandom: {e}"))),
        None => Ok(value),
    }
}
