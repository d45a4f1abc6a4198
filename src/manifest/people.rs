//! The people integrations run for, as a service of their own, within the
//! request's organization. Every change checks its references (an email
//! unique in the organization, an existing manager or buddy of the same
//! organization) and publishes `user.updated` to that organization in the
//! same transaction, queueing the runs that event triggers with it. What a
//! sync does to people is the sync's (`sync::apply`, in its run's
//! transaction).

use std::sync::Arc;

use diesel::Connection;

use super::queue::RunQueue;
use super::triggers::Triggers;
use crate::config::Limit;
use crate::db::users::{User, UserChanges, UserQuery};
use crate::db::{quotas, Db, DbConn};
use crate::error::{Error, Result};
use crate::publish;

/// The people of each organization.
pub struct People {
    db: Db,
    /// Queues the runs their changes trigger, and wakes its worker.
    runs: Arc<RunQueue>,
    /// The organization's people quota (`HOOKRELAY_MAX_USERS_PER_ORG`).
    max_users: Option<Limit>,
}

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
/// it triggers there.
fn publish_user(c: &mut DbConn, triggers: &Triggers, u: &User) -> Result<usize> {
    let org = u.organization_id.as_str();
    let events = publish::record_builtin_in(c, org, vec![publish::user_updated(u)])?;
    triggers.queue_in(c, org, &events)
}

impl People {
    pub fn new(db: Db, runs: Arc<RunQueue>, max_users: Option<Limit>) -> People {
        People {
            db,
            runs,
            max_users,
        }
    }

    /// Stores a new user (its fields already checked, its organization
    /// set) and publishes `user.updated` there.
    pub async fn create(&self, user: User) -> Result<User> {
        let stored = user.clone();
        let triggers = self.runs.triggers().await?;
        let max_users = self.max_users;
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
                    publish_user(c, &triggers, &stored)
                })
            })
            .await?;
        self.runs.committed();
        Ok(user)
    }

    /// A page of `org`'s users.
    pub async fn list(&self, org: String, query: UserQuery) -> Result<Vec<User>> {
        self.db
            .read(move |c| Ok(User::list(c, &org, &query)?))
            .await
    }

    /// User `id` of `org` (404 if none, or another organization's).
    pub async fn find(&self, org: String, id: String) -> Result<User> {
        self.db
            .read(move |c| User::find(c, &org, &id)?.ok_or_else(|| Error::not_found("user", &id)))
            .await
    }

    /// Applies `changes` (fields already checked) and publishes
    /// `user.updated`; a request that changes nothing writes nothing and
    /// publishes nothing.
    pub async fn update(&self, org: String, id: String, changes: UserChanges) -> Result<User> {
        let unchanged = UserChanges {
            updated_at: None,
            ..changes.clone()
        } == UserChanges::default();
        if unchanged {
            return self.find(org, id).await;
        }
        let triggers = self.runs.triggers().await?;
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
                    publish_user(c, &triggers, &u)?;
                    Ok(u)
                })
            })
            .await?;
        self.runs.committed();
        Ok(user)
    }

    /// Deletes user `id` of `org` (404 if none).
    pub async fn delete(&self, org: String, id: String) -> Result<()> {
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
}
