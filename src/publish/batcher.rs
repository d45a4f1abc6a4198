//! Group commit for publishes.
//!
//! Every publish is its own transaction in the API's eyes, but SQLite has
//! one writer and a commit costs far more than the rows in it. Concurrent
//! publishes therefore queue here, and one thread writes all that are waiting
//! in a single transaction; those with an idempotency key each inside its
//! own savepoint, so a refused one (a conflict, say) rolls back alone. Keyless
//! publishes cannot be refused one by one and go in together. A publish is answered
//! only after the transaction holding it has committed.
//!
//! It is an OS thread of its own, not an async task: on a runtime busy
//! with hundreds of delivery tasks, a woken async task waits its turn behind
//! them (and its database call is another hop to the blocking pool), and
//! every publish waits for both.

use diesel::Connection;
use tokio::sync::{mpsc, oneshot};

use super::{record_with, subscribers, Published, Rows, ValidEvent};
use crate::db::Db;
use crate::error::{Error, Result};

/// Publishes written per transaction at most.
const MAX_GROUP: usize = 256;

struct Job {
    org: String,
    events: Vec<ValidEvent>,
    key: Option<String>,
    reply: oneshot::Sender<Result<Vec<Published>>>,
}

/// Handle to the group-commit thread.
#[derive(Clone)]
pub struct Publisher {
    tx: mpsc::Sender<Job>,
    /// Each organization's publish rate (see `rate`).
    pub rate: super::rate::OrgRate,
}

impl Publisher {
    /// Starts the thread; it ends when every handle is dropped.
    pub fn spawn(db: Db) -> Publisher {
        let (tx, rx) = mpsc::channel(4 * MAX_GROUP);
        std::thread::Builder::new()
            .name("publish-writer".into())
            .spawn(move || run(db, rx))
            .expect("spawn the publish thread");
        Publisher {
            tx,
            rate: Default::default(),
        }
    }

    /// Holds each organization to a publish rate.
    pub fn with_rate(mut self, rate: super::rate::OrgRate) -> Publisher {
        self.rate = rate;
        self
    }

    /// Records `events` (one publish request) durably; see [`super::record`].
    pub async fn publish(
        &self,
        org: String,
        events: Vec<ValidEvent>,
        key: Option<String>,
    ) -> Result<Vec<Published>> {
        let (reply, answer) = oneshot::channel();
        self.tx
            .send(Job {
                org,
                events,
                key,
                reply,
            })
            .await
            .map_err(|_| Error::Unavailable("the gateway is shutting down".into()))?;
        answer
            .await
            .map_err(|_| Error::internal("publish thread ended without an answer"))?
    }
}

fn run(db: Db, mut rx: mpsc::Receiver<Job>) {
    while let Some(first) = rx.blocking_recv() {
        let mut jobs = Vec::with_capacity(MAX_GROUP);
        jobs.push(first);
        while jobs.len() < MAX_GROUP {
            match rx.try_recv() {
                Ok(j) => jobs.push(j),
                Err(_) => break,
            }
        }
        let (inputs, replies): (Vec<_>, Vec<_>) = jobs
            .into_iter()
            .map(|j| ((j.org, j.events, j.key), j.reply))
            .unzip();
        let n = inputs.len();
        let outcome = db.write_blocking(move |c| {
            c.transaction::<_, Error, _>(|c| {
                let mut orgs: Vec<&str> = inputs.iter().map(|(o, _, _)| o.as_str()).collect();
                orgs.sort_unstable();
                orgs.dedup();
                let hooks = subscribers(c, &orgs)?;
                // Publishes without an idempotency key cannot be refused
                // one by one: their rows go in together, with no
                // savepoint each. Keyed ones may be replays or conflicts.
                let mut plain = Rows::default();
                let results: Vec<_> = inputs
                    .into_iter()
                    .map(|(org, events, key)| match key {
                        None => Ok(plain.add(&org, events, None, &hooks)),
                        Some(key) => record_with(c, &org, events, Some(key), &hooks),
                    })
                    .collect();
                plain.insert(c)?;
                Ok(results)
            })
        });
        match outcome {
            Ok(results) => {
                for (reply, r) in replies.into_iter().zip(results) {
                    let _ = reply.send(r);
                }
            }
            Err(e) => {
                // The whole transaction failed: nothing of it was written.
                tracing::warn!(error = %e, publishes = n, "publish transaction failed");
                for reply in replies {
                    let _ = reply.send(Err(clone_error(&e)));
                }
            }
        }
    }
}

/// The same error for every publish of a failed group.
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Unavailable(m) => Error::Unavailable(m.clone()),
        Error::StorageFull(m) => Error::StorageFull(m.clone()),
        other => Error::Internal(other.to_string()),
    }
}
