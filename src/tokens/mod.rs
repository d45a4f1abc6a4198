//! API tokens: scopes, creation and validation, shared by the API
//! (`/v1/tokens`) and the CLI (`hookrelay token …`).
//!
//! A token is shown once; the database keeps only its SHA-256.

use base64::Engine as _;

use crate::db::tokens::{hash_token, ApiToken};
use crate::db::{new_id, time, Db, DbConn};
use crate::error::{Error, Result};

mod cache;
mod first;
pub mod portal;

pub use cache::{Cached, Ticket, TokenCache, TRUSTED_FOR, UNKNOWN_FOR};
pub use first::ensure_first_token;

crate::text_enum::text_enum! {
    /// A permission a token can hold (the one list of them: `api::auth`
    /// guards routes with these). `Admin` implies all others within the
    /// token's organization; `Platform` implies every scope in every
    /// organization (named with the `Hookrelay-Organization` header) and
    /// manages organizations.
    Scope {
        EventsWrite = "events:write",
        WebhooksRead = "webhooks:read",
        WebhooksWrite = "webhooks:write",
        HistoryRead = "history:read",
        HistoryResend = "history:resend",
        IntegrationsRun = "integrations:run",
        IntegrationsWrite = "integrations:write",
        Admin = "admin",
        Platform = "platform",
    }
}

/// Every scope's name, comma-separated, for error messages.
fn scope_names() -> String {
    Scope::WORDS.join(", ")
}

/// A new random API token: `hr_` + 32 random bytes, base64url.
pub fn generate_token() -> String {
    format!(
        "hr_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
    )
}

/// At least one scope, each known; stored sorted, space-separated.
pub fn check_scopes(scopes: &[String]) -> Result<String> {
    if scopes.is_empty() {
        return Err(Error::field(
            "scopes",
            format!("scopes must list at least one of: {}", scope_names()),
        ));
    }
    let mut list: Vec<&str> = Vec::with_capacity(scopes.len());
    for (i, s) in scopes.iter().enumerate() {
        match s.parse::<Scope>() {
            Ok(k) => list.push(k.as_str()),
            Err(_) => {
                return Err(Error::field(
                    format!("scopes[{i}]"),
                    format!("unknown scope '{s}'; scopes are {}", scope_names()),
                ))
            }
        }
    }
    list.sort_unstable();
    list.dedup();
    Ok(list.join(" "))
}

/// Creates a token in organization `org` after validating its name and
/// scopes; returns the row and the token itself (the only time it exists in
/// clear). The caller decides who may grant `platform`.
pub fn create(
    conn: &mut DbConn,
    org: &str,
    name: &str,
    scopes: &[String],
) -> Result<(ApiToken, String)> {
    let row_name = crate::text::check_name(name)?;
    let scopes = check_scopes(scopes)?;
    let token = generate_token();
    let row = ApiToken {
        id: new_id("tok"),
        name: row_name,
        token_hash: hash_token(&token),
        scopes,
        created_at: time::now(),
        last_used_at: None,
        organization_id: org.to_string(),
    };
    row.insert(conn)?;
    Ok((row, token))
}

/// Token administration (`/v1/tokens`, the `admin` scope) within one
/// organization: the database and this process's [`TokenCache`], kept in
/// step. Another organization's tokens are not found (404).
pub struct Tokens<'a> {
    pub db: &'a Db,
    pub cache: &'a TokenCache,
    /// The organization acted in.
    pub org: &'a str,
    /// Whether the caller is a platform token: only it may grant `platform`.
    pub platform: bool,
    /// Most tokens the organization may have (`None`: no limit).
    pub max_tokens: Option<i64>,
}

impl Tokens<'_> {
    /// Creates a token; returns its row and the token in clear (shown once).
    pub async fn create(&self, name: String, scopes: Vec<String>) -> Result<(ApiToken, String)> {
        if !self.platform {
            if let Some(i) = scopes.iter().position(|s| s == Scope::Platform.as_str()) {
                return Err(Error::Forbidden(format!(
                    "scopes[{i}]: only a platform token may create platform tokens"
                )));
            }
        }
        let org = self.org.to_string();
        let max = self.max_tokens;
        let (row, token) = self
            .db
            .write(move |c| {
                diesel::Connection::transaction(c, |c| {
                    if let Some(max) = max {
                        if ApiToken::count_in(c, &org)? >= max {
                            return Err(Error::limit_reached(
                                "tokens",
                                max,
                                "HOOKRELAY_MAX_TOKENS_PER_ORG",
                            ));
                        }
                    }
                    create(c, &org, &name, &scopes)
                })
            })
            .await?;
        // A bad-token flood may have cached this hash as unknown.
        self.cache.created(&row.token_hash);
        Ok((row, token))
    }

    /// One page of tokens after id `after` (`limit + 1` rows). Platform
    /// tokens are listed only to platform callers.
    pub async fn list(&self, after: Option<String>, limit: i64) -> Result<Vec<ApiToken>> {
        let (org, platform) = (self.org.to_string(), self.platform);
        self.db
            .read(move |c| {
                Ok(ApiToken::list(
                    c,
                    Some(&org),
                    after.as_deref(),
                    limit + 1,
                    platform,
                )?)
            })
            .await
    }

    /// One token, or 404. A platform token is not found by other callers:
    /// an organization's admin cannot rename or revoke the platform's token.
    pub async fn find(&self, id: String) -> Result<ApiToken> {
        let (org, platform) = (self.org.to_string(), self.platform);
        self.db
            .read(move |c| {
                ApiToken::find(c, &org, &id)?
                    .filter(|t| platform || !t.scope_list().contains(&Scope::Platform.as_str()))
                    .ok_or_else(|| Error::not_found("token", &id))
            })
            .await
    }

    /// Renames a token; returns it.
    pub async fn rename(&self, id: String, name: &str) -> Result<ApiToken> {
        let name = crate::text::check_name(name)?;
        self.find(id.clone()).await?;
        let org = self.org.to_string();
        self.db
            .write(move |c| {
                if ApiToken::rename(c, &org, &id, &name)? == 0 {
                    return Err(Error::not_found("token", &id));
                }
                ApiToken::find(c, &org, &id)?.ok_or_else(|| Error::not_found("token", &id))
            })
            .await
    }

    /// Revokes at once in this process (its cache is cleared, so the next
    /// request with this token gets 401), within [`TRUSTED_FOR`] in others.
    pub async fn revoke(&self, id: String) -> Result<()> {
        use diesel::Connection;
        self.find(id.clone()).await?;
        let key = id.clone();
        let org = self.org.to_string();
        let n = self
            .db
            .write(move |c| c.transaction::<_, Error, _>(|c| Ok(ApiToken::delete(c, &org, &key)?)))
            .await?;
        if n == 0 {
            return Err(Error::not_found("token", &id));
        }
        self.cache.clear();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

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

    fn token(hash: &str) -> ApiToken {
        ApiToken {
            id: "tok_1".into(),
            name: "t".into(),
            token_hash: hash.into(),
            scopes: "admin".into(),
            created_at: time::now(),
            last_used_at: None,
            organization_id: "org_1".into(),
        }
    }

    #[test]
    fn a_lookup_in_flight_cannot_undo_a_revocation() {
        let cache = TokenCache::default();
        // A request starts looking the token up...
        let ticket = cache.ticket();
        // ...the token is revoked meanwhile...
        cache.clear();
        // ...and the lookup, which read the row before the delete, ends.
        cache.store("h".into(), Some(token("h")), ticket);
        assert!(matches!(cache.cached("h"), Cached::Miss));
        // A lookup started after the revocation is cached as usual.
        cache.store("h".into(), Some(token("h")), cache.ticket());
        assert!(matches!(cache.cached("h"), Cached::Known(_)));
    }

    #[test]
    fn unknown_tokens_are_refused_briefly_until_created() {
        let cache = TokenCache::default();
        cache.store("u".into(), None, cache.ticket());
        assert!(matches!(cache.cached("u"), Cached::Unknown));
        // Creating it forgets the refusal, even one a lookup in flight stores.
        let ticket = cache.ticket();
        cache.created("u");
        assert!(matches!(cache.cached("u"), Cached::Miss));
        cache.store("u".into(), None, ticket);
        assert!(matches!(cache.cached("u"), Cached::Miss));
        // And refusals expire on their own.
        cache.store("v".into(), None, cache.ticket());
        std::thread::sleep(UNKNOWN_FOR + Duration::from_millis(50));
        assert!(matches!(cache.cached("v"), Cached::Miss));
    }
}
