//! Webhook subscriptions as a service: creating, changing, enabling and
//! disabling, rotating secrets, recovering deliveries. The rules live here;
//! `api::webhooks` extracts, authorizes, calls one function and shapes the view.

use std::sync::Arc;

use diesel::Connection;
use tokio::sync::Notify;

use crate::db::deliveries::Delivery;
use crate::db::webhooks::{Scheme, Webhook, WebhookChanges, WebhookQuery, WebhookState};
use crate::db::{new_id, time, Db};
use crate::error::{Error, Result};
use crate::vault::webhook_secret_label;
use crate::vault::Vault;

/// What the webhook service needs.
#[derive(Clone)]
pub struct Webhooks {
    pub db: Db,
    /// Seals secrets at rest and opens them.
    pub vault: Arc<Vault>,
    /// Wakes the dispatcher when deliveries are requeued.
    pub notify: Arc<Notify>,
    /// The organization acted in: another's webhooks are not found (404).
    pub org: String,
    /// Most webhooks the organization may have (`None`: no limit).
    pub max_webhooks: Option<i64>,
}

/// A webhook to create, its fields validated (`api::webhook_input`);
/// `id`, `secret`, `state` and the times are set here.
pub struct NewWebhook {
    pub fields: Webhook,
    /// The caller's own secret, or `None` for a generated one.
    pub secret: Option<String>,
}

impl Webhooks {
    /// One webhook, or 404.
    pub async fn find(&self, id: String) -> Result<Webhook> {
        let org = self.org.clone();
        self.db
            .read(move |c| {
                Webhook::find_in(c, &org, &id)?.ok_or_else(|| Error::not_found("webhook", &id))
            })
            .await
    }

    /// One page of webhooks (`limit + 1` rows).
    pub async fn list(&self, query: WebhookQuery) -> Result<Vec<Webhook>> {
        self.db.read(move |c| Ok(Webhook::list(c, &query)?)).await
    }

    /// Stores a new webhook; returns it with its secret in clear (shown once).
    /// A webhook created inactive starts disabled, with the reason recorded.
    pub async fn create(&self, new: NewWebhook) -> Result<(Webhook, String)> {
        let mut w = new.fields;
        let secret = match &new.secret {
            Some(s) => check_secret(s, w.signature_scheme)?,
            None => new_secret(),
        };
        let now = time::now();
        w.id = new_id("wh");
        w.organization_id = self.org.clone();
        w.secret = self.vault.seal(&secret, &webhook_secret_label(&w.id));
        w.previous_secret = None;
        w.previous_secret_expires_at = None;
        w.state = if w.active {
            WebhookState::Active
        } else {
            WebhookState::Disabled
        };
        w.disabled_reason = (!w.active).then(|| "created disabled by an operator".to_string());
        w.disabled_at = (!w.active).then_some(now);
        w.failing_since = None;
        w.last_triggered_at = None;
        w.created_at = now;
        w.updated_at = now;
        let stored = w.clone();
        let max = self.max_webhooks;
        self.db
            .write(move |c| {
                // Counted in the insert's transaction: on SQLite (one writer)
                // the limit is exact; on PostgreSQL concurrent creates may
                // pass it by their number, which is fine for a quota.
                c.transaction(|c| {
                    if let Some(max) = max {
                        if Webhook::count_in(c, &stored.organization_id)? >= max {
                            return Err(Error::limit_reached(
                                "web hooks",
                                max,
                                "HOOKRELAY_MAX_WEBHOOKS_PER_ORG",
                            ));
                        }
                    }
                    Ok(stored.insert(c)?)
                })
            })
            .await?;
        Ok((w, secret))
    }

    /// Applies `changes` and, when `active` flips, disables (giving up on
    /// queued deliveries) or enables (replaying nothing: `recover` does), in
    /// one transaction. A new scheme must suit the webhook's secrets.
    pub async fn update(
        &self,
        current: Webhook,
        mut changes: WebhookChanges,
        active: Option<bool>,
    ) -> Result<Webhook> {
        if let Some(scheme) = changes.signature_scheme {
            self.check_scheme_fits(&current, scheme)?;
        }
        changes.updated_at = Some(time::now());
        let (id, was_active) = (current.id, current.active);
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    Webhook::update(c, &id, &changes)?;
                    let now = time::now();
                    match active {
                        Some(false) if was_active => {
                            Webhook::disable(c, &id, "disabled by an operator", now)?;
                        }
                        Some(true) if !was_active => {
                            Webhook::enable(c, &id, now)?;
                        }
                        _ => {}
                    }
                    Webhook::find(c, &id)?.ok_or_else(|| Error::not_found("webhook", &id))
                })
            })
            .await
    }

    /// Refuses a scheme the webhook's secrets (current, and previous while it
    /// still signs) cannot serve: an HrFlow-issued secret is `hrflow` only.
    fn check_scheme_fits(&self, w: &Webhook, scheme: Scheme) -> Result<()> {
        let context = webhook_secret_label(&w.id);
        let open = |sealed: &str| self.vault.open(sealed, &context).map_err(Error::internal);
        let mut secrets = vec![open(&w.secret)?];
        let signing_previous = w
            .previous_secret_expires_at
            .is_some_and(|t| t > time::now());
        if let (Some(previous), true) = (&w.previous_secret, signing_previous) {
            secrets.push(open(previous)?);
        }
        let refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        check_scheme_fits_secret(scheme, &refs)
    }

    /// Puts the webhook's failed and dead deliveries created since `since`
    /// back in the queue; an inactive webhook must be enabled first.
    pub async fn recover(&self, id: String, since: chrono::NaiveDateTime) -> Result<usize> {
        let org = self.org.clone();
        let n = self
            .db
            .write(move |c| {
                let w = Webhook::find_in(c, &org, &id)?.ok_or_else(|| Error::not_found("webhook", &id))?;
                if !w.active {
                    return Err(Error::conflict(crate::error::ErrorCode::WebhookDisabled, format!("webhook '{id}' is disabled; enable it (PATCH active=true) before recovering")));
                }
                Ok(Delivery::requeue(c, &id, since, time::now())?)
            })
            .await?;
        if n > 0 {
            self.notify.notify_one();
        }
        Ok(n)
    }

    /// A new secret (the caller's, or generated); the old one keeps signing
    /// alongside for `grace` (none when zero). Returns the secret in clear.
    pub async fn rotate_secret(
        &self,
        id: String,
        secret: Option<String>,
        grace: chrono::Duration,
    ) -> Result<(Webhook, String)> {
        let vault = self.vault.clone();
        let org = self.org.clone();
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    let current = Webhook::find_in(c, &org, &id)?
                        .ok_or_else(|| Error::not_found("webhook", &id))?;
                    // Which secrets are accepted depends on the webhook's scheme.
                    let secret = match &secret {
                        Some(s) => check_secret(s, current.signature_scheme)?,
                        None => new_secret(),
                    };
                    let sealed = vault.seal(&secret, &webhook_secret_label(&id));
                    let now = time::now();
                    let keep_old = grace > chrono::Duration::zero();
                    let changes = WebhookChanges {
                        secret: Some(sealed),
                        previous_secret: Some(keep_old.then_some(current.secret)),
                        previous_secret_expires_at: Some(keep_old.then_some(now + grace)),
                        updated_at: Some(now),
                        ..Default::default()
                    };
                    Webhook::update(c, &id, &changes)?;
                    let w =
                        Webhook::find(c, &id)?.ok_or_else(|| Error::not_found("webhook", &id))?;
                    Ok((w, secret))
                })
            })
            .await
    }

    /// Deletes a webhook of this organization (404 for another's).
    pub async fn delete(&self, id: String) -> Result<()> {
        let org = self.org.clone();
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    if Webhook::find_in(c, &org, &id)?.is_none() {
                        return Err(Error::not_found("webhook", &id));
                    }
                    Webhook::delete(c, &id)?;
                    Ok(())
                })
            })
            .await
    }

    /// The webhook and its signing secret in clear.
    pub async fn reveal_secret(&self, id: String) -> Result<(Webhook, String)> {
        let w = self.find(id).await?;
        let secret = self
            .vault
            .open(&w.secret, &webhook_secret_label(&w.id))
            .map_err(Error::internal)?;
        Ok((w, secret))
    }
}

/// A fresh signing secret: `whsec_` + 32 random bytes, base64 (Standard Webhooks style).
pub fn new_secret() -> String {
    use base64::Engine as _;
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(rand::random::<[u8; 32]>())
    )
}

/// Whether `secret` is `whsec_` + base64 of 24 to 64 bytes: the form of
/// generated secrets, usable by Standard Webhooks libraries too.
fn is_whsec(secret: &str) -> bool {
    use base64::Engine as _;
    secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .is_some_and(|bytes| (24..=64).contains(&bytes.len()))
}

/// Lengths of a secret HrFlow.ai issued (e.g. `wsk_…`), in characters.
pub const HRFLOW_SECRET_CHARS: std::ops::RangeInclusive<usize> = 16..=256;

/// Whether `secret` has the form of a secret HrFlow.ai issued: 16 to 256
/// visible ASCII characters (no spaces). HrFlow receivers key the HMAC with
/// the secret's bytes as they are, so any such string works for them.
fn is_hrflow_secret(secret: &str) -> bool {
    HRFLOW_SECRET_CHARS.contains(&secret.len()) && secret.bytes().all(|b| b.is_ascii_graphic())
}

/// A caller's own secret. `whsec_` + base64 of 24 to 64 bytes always (so
/// Standard Webhooks libraries can use it as well as HrFlow receivers); for
/// a webhook signing only the HrFlow way (`hrflow`, `hrflow_sdk`,
/// `signed_request`) also a secret HrFlow issued, so receivers migrating
/// from HrFlow keep theirs.
pub fn check_secret(secret: &str, scheme: Scheme) -> Result<String> {
    let hrflow_only = scheme.hrflow_only();
    if is_whsec(secret) || (hrflow_only && is_hrflow_secret(secret)) {
        return Ok(secret.to_string());
    }
    let message = if hrflow_only {
        "secret must be `whsec_` followed by 24 to 64 random bytes in base64, or a secret HrFlow.ai issued: 16 to 256 visible ASCII characters (leave it out to have one generated)"
    } else {
        "secret must be `whsec_` followed by 24 to 64 random bytes in base64 (leave it out to have one generated); a secret HrFlow.ai issued is accepted only with signature_scheme `hrflow`, `hrflow_sdk` or `signed_request`"
    };
    Err(Error::field("secret", message))
}

/// A webhook whose secret is not in `whsec_` form (one HrFlow issued) must
/// keep a scheme that signs only the HrFlow way: Standard Webhooks
/// signatures need `whsec_`.
pub fn check_scheme_fits_secret(scheme: Scheme, secrets: &[&str]) -> Result<()> {
    if scheme.hrflow_only() || secrets.iter().all(|s| is_whsec(s)) {
        return Ok(());
    }
    Err(Error::field(
        "signature_scheme",
        format!("this webhook signs with a secret HrFlow.ai issued, which only the `hrflow`, `hrflow_sdk` and `signed_request` schemes use; rotate to a `whsec_` secret (POST /v1/webhooks/{{id}}/rotate-secret) before choosing '{scheme}'"),
    ))
}
