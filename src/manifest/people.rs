//! The people integrations run for, and the organization. Every change
//! checks its references (unique email, an existing manager or buddy) and
//! publishes `user.updated` (or `organization.updated`) in the same
//! transaction, queueing the runs that event triggers with it.

use diesel::Connection;

use super::queue::Integrations;
use super::triggers::queue_in;
use crate::db::users::{Organization, User, UserChanges, UserQuery};
use crate::db::{time, DbConn};
use crate::error::{Error, Result};
use crate::publish;

/// A manager or buddy must be another existing user.
fn check_person(c: &mut DbConn, field: &str, id: &str, user_id: &str) -> Result<()> {
    if id == user_id {
        return Err(Error::field(
            field,
            format!("{field} cannot be the user themself"),
        ));
    }
    if User::find(c, id)?.is_none() {
        return Err(Error::field_code(
            crate::error::ErrorCode::UnknownUser,
            field,
            format!("{field}: user '{id}' does not exist"),
        ));
    }
    Ok(())
}

/// 409 for a taken email.
fn email_taken(c: &mut DbConn, email: &str, except: Option<&str>) -> Result<()> {
    match User::find_by_email(c, email)? {
        Some(u) if Some(u.id.as_str()) != except => Err(Error::conflict(
            crate::error::ErrorCode::EmailTaken,
            format!("user '{}' already has the email {email}", u.id),
        )),
        _ => Ok(()),
    }
}

impl Integrations {
    /// Stores a new user (its fields already checked) and publishes
    /// `user.updated`.
    pub async fn create_user(&self, user: User) -> Result<User> {
        let stored = user.clone();
        let index = self.trigger_snapshot().await?;
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    email_taken(c, &stored.email, None)?;
                    for (field, id) in [
                        ("manager_id", &stored.manager_id),
                        ("buddy_id", &stored.buddy_id),
                    ] {
                        if let Some(id) = id {
                            check_person(c, field, id, &stored.id)?;
                        }
                    }
                    stored.insert(c)?;
                    let event = publish::record_user_updated(c, &stored)?;
                    queue_in(c, &index, &[event])
                })
            })
            .await?;
        self.committed();
        Ok(user)
    }

    /// A page of users.
    pub async fn list_users(&self, query: UserQuery) -> Result<Vec<User>> {
        self.db.read(move |c| Ok(User::list(c, &query)?)).await
    }

    /// A user (404 if none).
    pub async fn find_user(&self, id: String) -> Result<User> {
        self.db
            .read(move |c| User::find(c, &id)?.ok_or_else(|| Error::not_found("user", &id)))
            .await
    }

    /// Applies `changes` (fields already checked) and publishes
    /// `user.updated`; a request that changes nothing writes nothing and
    /// publishes nothing.
    pub async fn update_user(&self, id: String, changes: UserChanges) -> Result<User> {
        let unchanged = UserChanges {
            updated_at: None,
            ..changes.clone()
        } == UserChanges::default();
        if unchanged {
            return self.find_user(id).await;
        }
        let index = self.trigger_snapshot().await?;
        let user = self
            .db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    if User::find(c, &id)?.is_none() {
                        return Err(Error::not_found("user", &id));
                    }
                    if let Some(e) = &changes.email {
                        email_taken(c, e, Some(&id))?;
                    }
                    for (field, v) in [
                        ("manager_id", &changes.manager_id),
                        ("buddy_id", &changes.buddy_id),
                    ] {
                        if let Some(Some(pid)) = v {
                            check_person(c, field, pid, &id)?;
                        }
                    }
                    User::update(c, &id, &changes)?;
                    let u = User::find(c, &id)?.ok_or_else(|| Error::not_found("user", &id))?;
                    let event = publish::record_user_updated(c, &u)?;
                    queue_in(c, &index, &[event])?;
                    Ok(u)
                })
            })
            .await?;
        self.committed();
        Ok(user)
    }

    /// Deletes a user (404 if none).
    pub async fn delete_user(&self, id: String) -> Result<()> {
        let key = id.clone();
        let n = self
            .db
            .write(move |c| c.transaction::<_, Error, _>(|c| Ok(User::delete(c, &key)?)))
            .await?;
        if n == 0 {
            return Err(Error::not_found("user", &id));
        }
        Ok(())
    }

    /// The organization, if it has been named.
    pub async fn organization(&self) -> Result<Option<Organization>> {
        self.db.read(|c| Ok(Organization::get(c)?)).await
    }

    /// Names the organization (`name` already checked) and publishes
    /// `organization.updated`; when it was changed.
    pub async fn put_organization(&self, name: String) -> Result<chrono::NaiveDateTime> {
        let now = time::now();
        let index = self.trigger_snapshot().await?;
        self.db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    Organization::put(c, &name, now)?;
                    let event = publish::record_organization_updated(c, &name)?;
                    queue_in(c, &index, &[event])
                })
            })
            .await?;
        self.committed();
        Ok(now)
    }
}
