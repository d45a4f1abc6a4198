//! Webhook subscriptions as a service: creating and changing them under
//! their rules (`change`, `rules`, `secrets`), enabling and disabling,
//! rotating secrets, recovering deliveries. `api::webhooks` extracts,
//! authorizes, calls one function and shapes the view.

mod change;
pub mod input;
pub mod rules;
pub mod secrets;

use std::sync::Arc;

use diesel::Connection;
use serde_json::Value;
use tokio::sync::Notify;

use crate::db::deliveries::Delivery;
use crate::db::webhooks::{Webhook, WebhookChanges, WebhookQuery};
use crate::db::{time, Db};
use crate::error::{Error, Result};
use crate::outbound::HttpClients;
use crate::publish::filter;
use crate::publish::subscriptions::require_type;
use crate::vault::{webhook_secret_label, Vault};
use secrets::{check_secret, new_secret};

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
    /// The SSRF guard's policy, for checking URLs.
    pub clients: HttpClients,
    /// Only `https` URLs (`HOOKRELAY_REQUIRE_HTTPS`).
    pub require_https: bool,
    /// `max_in_flight` of a webhook created without one.
    pub default_in_flight: i32,
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
    /// alongside for the grace period (none when zero). Returns the secret
    /// in clear.
    pub async fn rotate_secret(
        &self,
        id: String,
        body: input::RotateSecret,
    ) -> Result<(Webhook, String)> {
        let grace = rules::check_grace(body.grace_period.as_deref())?;
        let secret = body.secret;
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

    /// Tries a filter on an event, or on an event type's example: whether
    /// the event would be delivered, and the nodes the query selects.
    pub async fn try_filter(&self, body: input::FilterTest) -> Result<(bool, Vec<Value>)> {
        let query = filter::parse(&body.filter)?;
        let event = match (body.event, body.event_type) {
            (Some(event @ Value::Object(_)), None) => event,
            (Some(_), None) => return Err(Error::field("event", "event must be a JSON object")),
            (None, Some(name)) => {
                let org = self.org.clone();
                let t = self
                    .db
                    .read(move |c| require_type(c, &org, &name, "event_type"))
                    .await?;
                serde_json::from_str(&t.example).map_err(Error::internal)?
            }
            _ => {
                return Err(Error::field(
                    "event",
                    "give either `event` (an event) or `event_type` (its example is used)",
                ))
            }
        };
        let document = Value::Array(vec![event]);
        let nodes: Vec<Value> = query.query(&document).all().into_iter().cloned().collect();
        Ok((!nodes.is_empty(), nodes))
    }
}
