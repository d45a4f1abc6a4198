//! Creating and changing a web hook. Each field's own rules are checked
//! first (a URL's host is resolved then); every rule that involves the
//! stored web hook or the catalogue is applied in the transaction that
//! writes it, against the row as stored (locked on PostgreSQL): two
//! concurrent changes that each fit the stored web hook but not each other
//! (a form body, several events per request) cannot both land, and neither
//! overwrites what the other wrote.

use diesel::Connection;

use super::input::{CreateWebhook, UpdateWebhook};
use super::rules::{self, default_format};
use super::secrets::{check_scheme_fits_secret, check_secret, new_secret};
use super::Webhooks;
use crate::db::webhooks::{Scheme, Webhook, WebhookChanges, WebhookState};
use crate::db::{new_id, time, DbConn};
use crate::error::{Error, Result};
use crate::publish::subscriptions::check_subscriptions;
use crate::text::check_name;
use crate::vault::{webhook_secret_label, Vault};

impl Webhooks {
    /// Stores a new webhook; returns it with its secret in clear (shown
    /// once). A webhook created inactive starts disabled, with the reason
    /// recorded.
    pub async fn create(&self, b: CreateWebhook) -> Result<(Webhook, String)> {
        let scheme = match &b.signature_scheme {
            Some(s) => rules::check_scheme(s)?,
            None => Scheme::Both,
        };
        let format = match &b.format {
            Some(f) => rules::check_format(f)?,
            None => default_format(scheme),
        };
        let active = b.active.unwrap_or(true);
        let now = time::now();
        let mut w = Webhook {
            id: new_id("wh"),
            organization_id: self.org.clone(),
            name: check_name(&b.name)?,
            url: rules::check_url(&b.url, self.require_https, self.clients.policy()).await?,
            max_events_per_request: rules::check_batch(
                b.max_events_per_request.unwrap_or(1),
                format,
            )?,
            format,
            active,
            verify_ssl: b.verify_ssl.unwrap_or(true),
            signing: b.signing.unwrap_or(true),
            signature_scheme: scheme,
            retry_schedule: b
                .retry_schedule
                .as_deref()
                .map(rules::check_retry_schedule)
                .transpose()?,
            max_in_flight: rules::check_in_flight(
                b.max_in_flight.unwrap_or(self.default_in_flight),
            )?,
            concurrency: rules::check_concurrency(b.concurrency.as_deref().unwrap_or("adaptive"))?,
            rate_limit_per_sec: b.rate_limit_per_sec.map(rules::check_rate).transpose()?,
            filter: b.filter.as_deref().map(rules::check_filter).transpose()?,
            state: if active {
                WebhookState::Active
            } else {
                WebhookState::Disabled
            },
            disabled_reason: (!active).then(|| "created disabled by an operator".to_string()),
            disabled_at: (!active).then_some(now),
            created_at: now,
            updated_at: now,
            ..Webhook::blank()
        };
        let secret = match &b.secret {
            Some(s) => check_secret(s, scheme)?,
            None => new_secret(),
        };
        w.secret = self.vault.seal(&secret, &webhook_secret_label(&w.id));
        let max = self.max_webhooks;
        let event_types = b.event_types;
        let w = self
            .db
            .write(move |c| {
                c.transaction(|c| {
                    // Counted in the insert's transaction: on SQLite (one
                    // writer) the limit is exact; on PostgreSQL concurrent
                    // creates may pass it by their number, which is fine
                    // for a quota.
                    if let Some(max) = max {
                        if Webhook::count_in(c, &w.organization_id)? >= max {
                            return Err(Error::limit_reached(
                                "web hooks",
                                max,
                                "HOOKRELAY_MAX_WEBHOOKS_PER_ORG",
                            ));
                        }
                    }
                    w.event_types = check_subscriptions(c, &w.organization_id, &event_types)?;
                    w.insert(c)?;
                    Ok(w)
                })
            })
            .await?;
        Ok((w, secret))
    }

    /// Applies a PATCH: the fields' own rules first, then, in one
    /// transaction on the locked row, the rules against what is stored
    /// (several events per request need the JSON format; a scheme must
    /// suit the secrets; subscriptions must match the catalogue), the
    /// change, and disabling (giving up on queued deliveries) or enabling
    /// (replaying nothing: `recover` does) when `active` flips.
    pub async fn update(&self, id: String, b: UpdateWebhook) -> Result<Webhook> {
        let url = match &b.url {
            Some(u) => Some(rules::check_url(u, self.require_https, self.clients.policy()).await?),
            None => None,
        };
        let format = b.format.as_deref().map(rules::check_format).transpose()?;
        let mut changes = WebhookChanges {
            name: b.name.as_deref().map(check_name).transpose()?,
            url,
            format,
            verify_ssl: b.verify_ssl,
            signing: b.signing,
            signature_scheme: b
                .signature_scheme
                .as_deref()
                .map(rules::check_scheme)
                .transpose()?,
            retry_schedule: match &b.retry_schedule {
                Some(Some(list)) => Some(Some(rules::check_retry_schedule(list)?)),
                Some(None) => Some(None),
                None => None,
            },
            max_in_flight: b.max_in_flight.map(rules::check_in_flight).transpose()?,
            concurrency: b
                .concurrency
                .as_deref()
                .map(rules::check_concurrency)
                .transpose()?,
            rate_limit_per_sec: match b.rate_limit_per_sec {
                Some(Some(r)) => Some(Some(rules::check_rate(r)?)),
                Some(None) => Some(None),
                None => None,
            },
            filter: match &b.filter {
                Some(Some(f)) => Some(Some(rules::check_filter(f)?)),
                Some(None) => Some(None),
                None => None,
            },
            ..Default::default()
        };
        let (org, vault) = (self.org.clone(), self.vault.clone());
        let (event_types, max, active) = (b.event_types, b.max_events_per_request, b.active);
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    let current = Webhook::lock_in(c, &org, &id)?
                        .ok_or_else(|| Error::not_found("webhook", &id))?;
                    let format = changes.format.unwrap_or(current.format);
                    let max = max.unwrap_or(current.max_events_per_request);
                    if max != current.max_events_per_request || format != current.format {
                        changes.max_events_per_request = Some(rules::check_batch(max, format)?);
                    }
                    if let Some(list) = &event_types {
                        changes.event_types = Some(check_subscriptions(c, &org, list)?);
                    }
                    if let Some(scheme) = changes.signature_scheme {
                        check_scheme_fits(&vault, &current, scheme)?;
                    }
                    changes.updated_at = Some(time::now());
                    apply(c, &current, &changes, active)
                })
            })
            .await
    }
}

/// Writes `changes` to the locked row and flips `active` when asked.
fn apply(
    c: &mut DbConn,
    current: &Webhook,
    changes: &WebhookChanges,
    active: Option<bool>,
) -> Result<Webhook> {
    let id = &current.id;
    Webhook::update(c, id, changes)?;
    let now = time::now();
    match active {
        Some(false) if current.active => {
            Webhook::disable(c, id, "disabled by an operator", now)?;
        }
        Some(true) if !current.active => {
            Webhook::enable(c, id, now)?;
        }
        _ => {}
    }
    Webhook::find(c, id)?.ok_or_else(|| Error::not_found("webhook", id))
}

/// Refuses a scheme the webhook's secrets (current, and previous while it
/// still signs) cannot serve: an HrFlow-issued secret is HrFlow-only.
fn check_scheme_fits(vault: &Vault, w: &Webhook, scheme: Scheme) -> Result<()> {
    let context = webhook_secret_label(&w.id);
    let open = |sealed: &str| vault.open(sealed, &context).map_err(Error::internal);
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
