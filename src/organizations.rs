//! Organizations as a service (`/v1/organizations`, platform tokens):
//! create, list, rename (publishing `organization.updated` to that
//! organization's webhooks), delete when empty; and the request's own
//! organization's profile (`/v1/organization`), whose change also queues
//! the runs its event triggers.

use diesel::Connection;
use tokio::sync::Notify;

use crate::db::event_types::EventType;
use crate::db::organizations::{Organization, DEFAULT_ORG};
use crate::db::{new_id, time, Db};
use crate::error::{Error, ErrorCode, Result};
use crate::manifest::queue::RunQueue;
use crate::manifest::triggers::Triggers;

/// The `organization.updated` event of organization `id`, now named
/// `name`: published (to that organization only) by a rename here and by
/// `PUT /v1/organization`.
pub fn updated_event(id: &str, name: &str) -> (String, serde_json::Value) {
    let payload = serde_json::json!({
        "type": "organization.updated",
        "origin": "hookrelay",
        "message": "organization updated",
        "organization": {"id": id, "name": name}
    });
    ("organization.updated".to_string(), payload)
}

/// What the customer portal shows at its top for an organization.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branding {
    pub display_name: Option<String>,
    pub logo_url: Option<String>,
    pub accent_color: Option<String>,
}

/// Longest logo URL.
const MAX_LOGO_URL: usize = 2048;

impl Branding {
    /// Each part checked: a name like any other, an `https` logo URL
    /// without credentials, a `#rrggbb` colour.
    fn checked(self) -> Result<(Option<String>, Option<String>, Option<String>)> {
        let display_name = self
            .display_name
            .map(|n| crate::text::check_text("display_name", &n, true))
            .transpose()?;
        let logo_url = self.logo_url.map(check_logo_url).transpose()?;
        let accent_color = match self.accent_color {
            Some(c)
                if c.len() == 7
                    && c.starts_with('#')
                    && c[1..].chars().all(|h| h.is_ascii_hexdigit()) =>
            {
                Some(c.to_ascii_lowercase())
            }
            Some(c) => {
                return Err(Error::field(
                    "accent_color",
                    format!("accent_color must be a colour as #rrggbb (e.g. #0b7285); got {c:?}"),
                ))
            }
            None => None,
        };
        Ok((display_name, logo_url, accent_color))
    }
}

fn check_logo_url(url: String) -> Result<String> {
    let bad = |why: &str| Error::field("logo_url", format!("logo_url {why}"));
    if url.len() > MAX_LOGO_URL {
        return Err(bad(&format!("is longer than {MAX_LOGO_URL} characters")));
    }
    let parsed = reqwest::Url::parse(&url).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if parsed.scheme() != "https" {
        return Err(bad(
            "must start with https:// (the portal's policy loads images from https only)",
        ));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(bad("must not carry a user or password"));
    }
    Ok(url)
}

/// What the organization service needs.
pub struct Organizations<'a> {
    pub db: &'a Db,
    /// Wakes the dispatcher after `organization.updated` is recorded.
    pub notify: &'a Notify,
}

impl Organizations<'_> {
    pub async fn create(&self, name: &str) -> Result<Organization> {
        let name = crate::text::check_name(name)?;
        let now = time::now();
        let o = Organization {
            id: new_id("org"),
            name,
            created_at: now,
            updated_at: now,
            display_name: None,
            logo_url: None,
            accent_color: None,
        };
        let row = o.clone();
        self.db.write(move |c| Ok(row.insert(c)?)).await?;
        Ok(o)
    }

    /// One page after id `after` (`limit + 1` rows).
    pub async fn list(&self, after: Option<String>, limit: i64) -> Result<Vec<Organization>> {
        self.db
            .read(move |c| Ok(Organization::list(c, after.as_deref(), limit + 1)?))
            .await
    }

    pub async fn find(&self, id: String) -> Result<Organization> {
        self.db
            .read(move |c| {
                Organization::find(c, &id)?.ok_or_else(|| Error::not_found("organization", &id))
            })
            .await
    }

    /// Renames it and publishes `organization.updated` to its webhooks, in
    /// one transaction.
    pub async fn rename(&self, id: String, name: &str) -> Result<Organization> {
        let name = crate::text::check_name(name)?;
        let o = self.rename_publishing(id, name, None).await?;
        self.notify.notify_one();
        Ok(o)
    }

    /// Renames organization `id` from its own profile (`PUT
    /// /v1/organization`, `name` already checked) and publishes
    /// `organization.updated`, carrying its id, to that organization only,
    /// queueing the runs it triggers there in the same transaction.
    pub async fn put_profile(
        &self,
        runs: &RunQueue,
        id: String,
        name: String,
    ) -> Result<Organization> {
        let triggers = runs.triggers().await?;
        let o = self.rename_publishing(id, name, Some(triggers)).await?;
        runs.committed();
        Ok(o)
    }

    /// In one transaction: renames organization `id` (404 if none), records
    /// `organization.updated` to it and, with `triggers`, queues the runs
    /// that event triggers there.
    async fn rename_publishing(
        &self,
        id: String,
        name: String,
        triggers: Option<Triggers>,
    ) -> Result<Organization> {
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    if Organization::rename(c, &id, &name, time::now())? == 0 {
                        return Err(Error::not_found("organization", &id));
                    }
                    let events =
                        crate::publish::record_builtin_in(c, &id, vec![updated_event(&id, &name)])?;
                    if let Some(triggers) = &triggers {
                        triggers.queue_in(c, &id, &events)?;
                    }
                    Organization::find(c, &id)?.ok_or_else(|| Error::not_found("organization", &id))
                })
            })
            .await
    }

    /// Replaces organization `id`'s portal branding (each part checked).
    pub async fn set_branding(&self, id: String, branding: Branding) -> Result<Organization> {
        let parts = branding.checked()?;
        self.db
            .write(move |c| {
                if Organization::set_branding(c, &id, parts, time::now())? == 0 {
                    return Err(Error::not_found("organization", &id));
                }
                Organization::find(c, &id)?.ok_or_else(|| Error::not_found("organization", &id))
            })
            .await
    }

    /// Deletes an empty organization: 409 while it holds webhooks, events,
    /// tokens, people or integrations, and for the default organization.
    pub async fn delete(&self, id: String) -> Result<()> {
        if id == DEFAULT_ORG {
            return Err(Error::conflict(
                ErrorCode::OrganizationNotEmpty,
                "the default organization cannot be deleted",
            ));
        }
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    if Organization::find(c, &id)?.is_none() {
                        return Err(Error::not_found("organization", &id));
                    }
                    if Organization::has_contents(c, &id)? {
                        return Err(Error::conflict(
                            ErrorCode::OrganizationNotEmpty,
                            format!("organization '{id}' still holds webhooks, events, tokens, users or integrations; delete them first"),
                        ));
                    }
                    // Its custom event types are part of its set-up, not
                    // contents to empty first: they go with it.
                    EventType::delete_custom(c, &id)?;
                    Organization::delete(c, &id)?;
                    Ok(())
                })
            })
            .await
    }
}
