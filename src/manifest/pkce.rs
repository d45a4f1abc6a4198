//! OAuth PKCE (RFC 7636, `S256`) for manifests with `"oauth": {"pkce": true}`.
//!
//! The verifier is derived from the `state` with the master key, so the
//! callback (in any process sharing the database and key) can compute it
//! again without storing it; only its hash travels in the browser.

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::vault::Vault;

/// [`Vault::derive`] purpose of verifiers.
const PURPOSE: &str = "oauth-pkce-verifier";

/// Whether the manifest asks for PKCE.
pub fn enabled(manifest: &Value) -> bool {
    manifest.pointer("/oauth/pkce") == Some(&Value::Bool(true))
}

/// The verifier of `state`: 43 characters of base64url, as RFC 7636 allows.
pub fn verifier(vault: &Vault, state: &str) -> String {
    vault.derive(PURPOSE, state)
}

/// `code_challenge` for `verifier` with method `S256`.
pub fn challenge(verifier: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenge_matches_rfc_7636_appendix_b() {
        assert_eq!(
            challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn verifiers_are_per_state_and_stable() {
        let vault = Vault::new(&[7; 32], &[]);
        let a = verifier(&vault, "st_a");
        assert_eq!(a.len(), 43);
        assert_eq!(a, verifier(&vault, "st_a"));
        assert_ne!(a, verifier(&vault, "st_b"));
        assert_ne!(a, verifier(&Vault::new(&[8; 32], &[]), "st_a"));
    }
}
