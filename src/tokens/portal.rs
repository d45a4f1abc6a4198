//! Customer portal links (issue 27): a short-lived credential that opens
//! the console in portal mode for one organization, with a subset of the
//! web hook and history scopes. Minted by the platform's backend for a
//! customer; the secret travels in the URL's fragment and is stored only
//! as its SHA-256, like a token.

use base64::Engine as _;
use chrono::NaiveDateTime;
use diesel::Connection;
use serde::Deserialize;

use super::Scope;
use crate::config::Limit;
use crate::db::portal_sessions::PortalSession;
use crate::db::tokens::hash_token;
use crate::db::{new_id, time, Db};
use crate::error::{Error, ErrorCode, Result};

/// What a portal link's secret starts with: `authenticate` tells links
/// from tokens by it.
pub const PREFIX: &str = "hrp_";

/// The scopes a portal link may hold: its organization's web hooks and
/// history, nothing else.
pub const SCOPES: [Scope; 4] = [
    Scope::WebhooksRead,
    Scope::WebhooksWrite,
    Scope::HistoryRead,
    Scope::HistoryResend,
];

/// The name a portal link goes by where a token's name is shown.
pub const NAME: &str = "Portal link";

const DEFAULT_EXPIRES_IN: i64 = 3_600;
const MAX_EXPIRES_IN: i64 = 86_400;

/// Body of `POST /v1/portal/sessions`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewPortalSession {
    pub expires_in: Option<i64>,
    pub scopes: Option<Vec<String>>,
}

/// A minted link: its row and the URL that opens it (shown once).
pub struct Minted {
    pub session: PortalSession,
    pub url: String,
}

/// The scopes asked for, each one a portal may hold; stored sorted,
/// space-separated. None asked: all four.
fn check_scopes(asked: Option<Vec<String>>) -> Result<String> {
    let names = || SCOPES.map(Scope::as_str).join(", ");
    let asked = asked.unwrap_or_else(|| SCOPES.map(|s| s.as_str().to_string()).to_vec());
    if asked.is_empty() {
        return Err(Error::field(
            "scopes",
            format!("scopes must list at least one of: {}", names()),
        ));
    }
    let mut list = Vec::with_capacity(asked.len());
    for (i, s) in asked.iter().enumerate() {
        match s.parse::<Scope>() {
            Ok(k) if SCOPES.contains(&k) => list.push(k.as_str()),
            _ => {
                return Err(Error::field(
                    format!("scopes[{i}]"),
                    format!("a portal link cannot hold '{s}'; it may hold {}", names()),
                ))
            }
        }
    }
    list.sort_unstable();
    list.dedup();
    Ok(list.join(" "))
}

/// The scopes stored on a link.
pub fn scopes_of(session: &PortalSession) -> Vec<Scope> {
    session
        .scopes
        .split_whitespace()
        .filter_map(|s| s.parse().ok())
        .collect()
}

/// Portal links of one organization.
pub struct PortalLinks<'a> {
    pub db: &'a Db,
    /// The organization acted in.
    pub org: &'a str,
}

impl PortalLinks<'_> {
    /// Mints a link that opens `<public_base>/portal/`. Expired links of
    /// the organization older than a day are pruned in the same
    /// transaction, and the live ones counted against `limit`.
    pub async fn mint(
        &self,
        body: NewPortalSession,
        limit: Option<Limit>,
        public_base: &str,
    ) -> Result<Minted> {
        let expires_in = body.expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
        if !(1..=MAX_EXPIRES_IN).contains(&expires_in) {
            return Err(Error::field(
                "expires_in",
                format!(
                    "expires_in is in seconds, 1 to {MAX_EXPIRES_IN} (a day); got {expires_in}"
                ),
            ));
        }
        let scopes = check_scopes(body.scopes)?;
        let secret = format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
        );
        let now = time::now();
        let session = PortalSession {
            id: new_id("ps"),
            organization_id: self.org.to_string(),
            token_hash: hash_token(&secret),
            scopes,
            created_at: now,
            expires_at: now + chrono::Duration::seconds(expires_in),
            revoked_at: None,
            last_used_at: None,
        };
        let row = session.clone();
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    PortalSession::prune(c, &row.organization_id, now)?;
                    if let Some(limit) = limit {
                        limit.check(PortalSession::count_live(c, &row.organization_id, now)?)?;
                    }
                    Ok(row.insert(c)?)
                })
            })
            .await?;
        let url = format!(
            "{}/portal/#session={secret}",
            public_base.trim_end_matches('/')
        );
        Ok(Minted { session, url })
    }

    /// One page of live links, newest first, before id `before` (`limit + 1` rows).
    pub async fn live(&self, before: Option<String>, limit: i64) -> Result<Vec<PortalSession>> {
        let org = self.org.to_string();
        self.db
            .read(move |c| {
                Ok(PortalSession::live(
                    c,
                    &org,
                    time::now(),
                    before.as_deref(),
                    limit + 1,
                )?)
            })
            .await
    }

    /// Revokes a live link: 404 if the organization has no such live link.
    pub async fn revoke(&self, id: String) -> Result<()> {
        let org = self.org.to_string();
        self.db
            .write(move |c| {
                if PortalSession::revoke(c, &org, &id, time::now())? == 0 {
                    return Err(Error::not_found("live portal link", &id));
                }
                Ok(())
            })
            .await
    }
}

/// The live link `secret` stands for. Unknown: 401 `unauthorized`;
/// revoked or expired: 401 with the code that says which, so the portal
/// can tell the customer.
pub async fn resolve(db: &Db, secret: &str) -> Result<PortalSession> {
    let hash = hash_token(secret);
    let found = db
        .read(move |c| Ok(PortalSession::find_by_hash(c, &hash)?))
        .await?
        .ok_or_else(|| Error::Unauthorized("unknown portal link".into()))?;
    check_live(found, time::now())
}

/// `session` if it is live at `now`.
fn check_live(session: PortalSession, now: NaiveDateTime) -> Result<PortalSession> {
    let again = "open the portal again from the page that showed it to get a new link";
    if session.revoked_at.is_some() {
        return Err(Error::Denied {
            code: ErrorCode::PortalLinkRevoked,
            message: format!("this portal link has been revoked; {again}"),
        });
    }
    if session.expires_at <= now {
        return Err(Error::Denied {
            code: ErrorCode::PortalLinkExpired,
            message: format!("this portal link has expired; {again}"),
        });
    }
    Ok(session)
}

/// Records a link's use in the background, at most once a minute.
pub fn touch(db: &Db, session: &PortalSession) {
    let now = time::now();
    if session
        .last_used_at
        .is_some_and(|t| now - t < chrono::Duration::seconds(60))
    {
        return;
    }
    let (db, id) = (db.clone(), session.id.clone());
    tokio::spawn(async move {
        if let Err(e) = db
            .write(move |c| Ok(PortalSession::touch(c, &id, now)?))
            .await
        {
            tracing::debug!(error = %e, "could not record portal link use");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_default_to_all_four_and_refuse_the_rest() {
        assert_eq!(
            check_scopes(None).unwrap(),
            "history:read history:resend webhooks:read webhooks:write"
        );
        let asked = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect());
        assert_eq!(
            check_scopes(asked(&["webhooks:read", "webhooks:read"])).unwrap(),
            "webhooks:read"
        );
        for bad in ["admin", "platform", "events:write", "nope"] {
            let e = check_scopes(asked(&["webhooks:read", bad])).unwrap_err();
            assert!(
                matches!(&e, Error::Invalid { field: Some(f), .. } if f == "scopes[1]"),
                "{bad}: {e}"
            );
        }
        assert!(check_scopes(asked(&[])).is_err());
    }

    #[test]
    fn revoked_and_expired_links_say_which() {
        let now = time::now();
        let live = PortalSession {
            id: "ps_1".into(),
            organization_id: "org_1".into(),
            token_hash: String::new(),
            scopes: String::new(),
            created_at: now,
            expires_at: now + chrono::Duration::seconds(10),
            revoked_at: None,
            last_used_at: None,
        };
        assert!(check_live(live.clone(), now).is_ok());
        let expired = check_live(live.clone(), now + chrono::Duration::seconds(10)).unwrap_err();
        assert_eq!(expired.code(), ErrorCode::PortalLinkExpired);
        let revoked = PortalSession {
            revoked_at: Some(now),
            ..live
        };
        assert_eq!(
            check_live(revoked, now).unwrap_err().code(),
            ErrorCode::PortalLinkRevoked
        );
    }
}
