//! The people integrations run for, and the organization's profile, both
//! within the request's organization. Every change checks its references
//! (an email unique in the organization, an existing manager or buddy of
//! the same organization) and publishes `user.updated` (or
//! `organization.updated`) to that organization in the same transaction,
//! queueing the runs that event triggers with it.

use diesel::Connection;

use super::queue::Integrations;
use super::triggers::{queue_in, TriggerIndex};
use crate::config::Limit;
use crate::db::organizations::Organization;
use crate::db::users::{User, UserChanges, UserQuery};
use crate::db::{quotas, time, DbConn};
use crate::error::{Error, Result};
use crate::publish;

/// A manager or buddy must be another existing user of the organization.
fn check_person(c: &mut DbConn, org: &str, field: &str, id: &str, user_id: &str) -> Result<()> {
    if id == user_id {
        return Err(Error::field(
            field,
            format!("{field} cannot be the user themself"),
        ));
    }
    if User::find(c, org, id)?.is_none() {
        return Err(Error::field_code(
            crate::error::ErrorCode::UnknownUser,
            field,
            format!("{field}: user '{id}' does not exist"),
        ));
    }
    Ok(())
}

/// 409 for an email taken in the organization.
fn email_taken(c: &mut DbConn, org: &str, email: &str, except: Option<&str>) -> Result<()> {
    match User::find_by_email(c, org, email)? {
        Some(u) if Some(u.id.as_str()) != except => Err(Error::conflict(
            crate::error::ErrorCode::EmailTaken,
            format!("user '{}' already has the email {email}", u.id),
        )),
        _ => Ok(()),
    }
}

/// Records `user.updated` for `u` in its organization and queues the runs
/// it triggers there (up to the waiting-runs `limit`).
fn publish_user(
    c: &mut DbConn,
    index: &TriggerIndex,
    limit: Option<Limit>,
    u: &User,
) -> Result<usize> {
    let org = u.organization_id.as_str();
    let events = publish::record_builtin_in(c, org, vec![publish::user_updated(u)])?;
    queue_in(c, index, limit, org, &events)
}

impl Integrations {
    /// Stores a new user (its fields already checked, its organization
    /// set) and publishes `user.updated` there.
    pub async fn create_user(&self, user: User) -> Result<User> {
        let stored = user.clone();
        let index = self.trigger_snapshot().await?;
        let (max_users, runs) = (self.limits.users(), self.limits.queued_runs());
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    let org = stored.organization_id.as_str();
                    if let Some(l) = max_users {
                        l.check(quotas::users(c, org)?)?;
                    }
                    email_taken(c, org, &stored.email, None)?;
                    for (field, id) in [
                        ("manager_id", &stored.manager_id),
                        ("buddy_id", &stored.buddy_id),
                    ] {
                        if let Some(id) = id {
                            check_person(c, org, field, id, &stored.id)?;
                        }
                    }
                    stored.insert(c)?;
                    publish_user(c, &index, runs, &stored)
                })
            })
            .await?;
        self.committed();
        Ok(user)
    }

    /// A page of `org`'s users.
    pub async fn list_users(&self, org: String, query: UserQuery) -> Result<Vec<User>> {
        self.db
            .read(move |c| Ok(User::list(c, &org, &query)?))
            .await
    }

    /// User `id` of `org` (404 if none, or another organization's).
    pub async fn find_user(&self, org: String, id: String) -> Result<User> {
        self.db
            .read(move |c| User::find(c, &org, &id)?.ok_or_else(|| Error::not_found("user", &id)))
            .await
    }

    /// Applies `changes` (fields already checked) and publishes
    /// `user.updated`; a request that changes nothing writes nothing and
    /// publishes nothing.
    pub async fn update_user(&self, org: String, id: String, changes: UserChanges) -> Result<User> {
        let unchanged = UserChanges {
            updated_at: None,
            ..changes.clone()
        } == UserChanges::default();
        if unchanged {
            return self.find_user(org, id).await;
        }
        let index = self.trigger_snapshot().await?;
        let runs = self.limits.queued_runs();
        let user = self
            .db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    if User::find(c, &org, &id)?.is_none() {
                        return Err(Error::not_found("user", &id));
                    }
                    if let Some(e) = &changes.email {
                        email_taken(c, &org, e, Some(&id))?;
                    }
                    for (field, v) in [
                        ("manager_id", &changes.manager_id),
                        ("buddy_id", &changes.buddy_id),
                    ] {
                        if let Some(Some(pid)) = v {
                            check_person(c, &org, field, pid, &id)?;
                        }
                    }
                    User::update(c, &org, &id, &changes)?;
                    let u =
                        User::find(c, &org, &id)?.ok_or_else(|| Error::not_found("user", &id))?;
                    publish_user(c, &index, runs, &u)?;
                    Ok(u)
                })
            })
            .await?;
        self.committed();
        Ok(user)
    }

    /// Deletes user `id` of `org` (404 if none).
    pub async fn delete_user(&self, org: String, id: String) -> Result<()> {
        let key = id.clone();
        let n = self
            .db
            .write(move |c| c.transaction::<_, Error, _>(|c| Ok(User::delete(c, &org, &key)?)))
            .await?;
        if n == 0 {
            return Err(Error::not_found("user", &id));
        }
        Ok(())
    }

    /// Organization `org`'s profile: its name, as `GET /v1/organization`
    /// shows it.
    pub async fn organization(&self, org: String) -> Result<Organization> {
        self.db
            .read(move |c| {
                Organization::find(c, &org)?.ok_or_else(|| Error::not_found("organization", &org))
            })
            .await
    }

    /// Renames organization `org` (`name` already checked) and publishes
    /// `organization.updated`, carrying its id, to that organization only.
    pub async fn put_organization(&self, org: String, name: String) -> Result<Organization> {
        let index = self.trigger_snapshot().await?;
        let runs = self.limits.queued_runs();
        let o = self
            .db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    if Organization::rename(c, &org, &name, time::now())? == 0 {
                        return Err(Error::not_found("organization", &org));
                    }
                    let events = publish::record_builtin_in(
                        c,
                        &org,
                        vec![crate::organizations::updated_event(&org, &name)],
                    )?;
                    queue_in(c, &index, runs, &org, &events)?;
                    Organization::find(c, &org)?
                        .ok_or_else(|| Error::not_found("organization", &org))
                })
            })
            .await?;
        self.committed();
        Ok(o)
    }
}
