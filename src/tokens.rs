//! API tokens: scopes, creation and validation, shared by the API
//! (`/v1/tokens`) and the CLI (`hookrelay token …`).
//!
//! A token is shown once; the database keeps only its SHA-256.

use std::time::{Duration, Instant};

use base64::Engine as _;

use crate::db::tokens::{hash_token, ApiToken};
use crate::db::{new_id, time, Db, DbConn};
use crate::error::{ApiError, ApiResult};

/// How long a token looked up in the database is trusted without asking it
/// again. Revoking through the API clears this process's cache at once; other
/// processes (a second instance, the CLI on PostgreSQL) see it within this.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// Tokens recently found in the database, by hash. Every request used to
/// look its token up, and on a busy publisher that lookup (a trip to the
/// blocking pool) cost as much CPU as the rest of the request together.
/// Unknown tokens are never cached: they are asked about every time.
#[derive(Clone)]
pub struct TokenCache {
    inner: std::sync::Arc<quick_cache::sync::Cache<String, (ApiToken, Instant)>>,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache {
            inner: std::sync::Arc::new(quick_cache::sync::Cache::new(10_000)),
        }
    }
}

impl TokenCache {
    /// The live token `secret` stands for, or `None` if it is unknown or revoked.
    pub async fn resolve(&self, db: &Db, secret: String) -> ApiResult<Option<ApiToken>> {
        let hash = hash_token(&secret);
        if let Some((token, at)) = self.inner.get(&hash) {
            if at.elapsed() < TRUSTED_FOR {
                return Ok(Some(token));
            }
        }
        let key = hash.clone();
        let found = db
            .read(move |c| Ok(ApiToken::find_by_hash(c, &key)?))
            .await?;
        match &found {
            Some(t) => self.inner.insert(hash, (t.clone(), Instant::now())),
            None => {
                self.inner.remove(&hash);
            }
        }
        Ok(found)
    }

    /// Keeps a cached token's `last_used_at` in step with the database, so
    /// the once-a-minute touch is not repeated for every cached request.
    pub fn touched(&self, token: &ApiToken) {
        if let Some((_, at)) = self.inner.get(&token.token_hash) {
            self.inner
                .insert(token.token_hash.clone(), (token.clone(), at));
        }
    }

    /// Forgets every cached token (after a revocation).
    pub fn clear(&self) {
        self.inner.clear();
    }
}

/// Every scope a token can hold. `admin` implies all others.
pub const SCOPES: &[&str] = &[
    "events:write",
    "webhooks:read",
    "webhooks:write",
    "history:read",
    "history:resend",
    "integrations:run",
    "integrations:write",
    "admin",
];

/// A new random API token: `hr_` + 32 random bytes, base64url.
pub fn generate_token() -> String {
    format!(
        "hr_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    )
}

/// At least one scope, each known; stored sorted, space-separated.
pub fn check_scopes(scopes: &[String]) -> ApiResult<String> {
    if scopes.is_empty() {
        return Err(ApiError::field(
            "scopes",
            format!("scopes must list at least one of: {}", SCOPES.join(", ")),
        ));
    }
    let mut list: Vec<&str> = Vec::with_capacity(scopes.len());
    for (i, s) in scopes.iter().enumerate() {
        match SCOPES.iter().find(|k| **k == s.as_str()) {
            Some(k) => list.push(k),
            None => {
                return Err(ApiError::field(
                    format!("scopes[{i}]"),
                    format!("unknown scope '{s}'; scopes are {}", SCOPES.join(", ")),
                ))
            }
        }
    }
    list.sort_unstable();
    list.dedup();
    Ok(list.join(" "))
}

/// Creates a token after validating its name and scopes; returns the row
/// and the token itself (the only time it exists in clear).
pub fn create(conn: &mut DbConn, name: &str, scopes: &[String]) -> ApiResult<(ApiToken, String)> {
    let row_name = crate::api::check_name(name)?;
    let scopes = check_scopes(scopes)?;
    let token = generate_token();
    let row = ApiToken {
        id: new_id("tok"),
        name: row_name,
        token_hash: hash_token(&token),
        scopes,
        created_at: time::now(),
        last_used_at: None,
    };
    row.insert(conn)?;
    Ok((row, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_are_checked_and_normalised() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_scopes(&s(&["webhooks:read", "events:write", "events:write"])).unwrap(),
            "events:write webhooks:read"
        );
        assert!(check_scopes(&s(&[])).is_err());
        assert!(check_scopes(&s(&["events:read"])).is_err());
        let t = generate_token();
        assert!(t.starts_with("hr_") && t.len() == 3 + 43);
    }
}
