//! Turns attempts into history rows and writes them in batches.
//!
//! Workers hand finished attempts to one recorder task, which stores many of
//! them per transaction (history rows, delivery settlements, webhook state):
//! on SQLite that is the difference between one commit per delivery and one
//! per few hundred. A delivery is only `succeeded` once its row is committed;
//! if the process dies first, the lease expires and it is sent again.

use std::sync::Arc;
use std::time::Duration;

use diesel::Connection;
use serde_json::json;
use tokio::sync::{mpsc, oneshot};

use super::claims::{claim_now, Admit, ClaimSpec, DirectClaims};
use crate::db::deliveries::{Claimed, Settlement};
use crate::db::history::{AttemptBatch, AttemptRecord, HistoryRow};
use crate::db::{time, Db, DbConn};
use crate::error::{Error, Result};
use crate::publish::{self, ValidEvent};

pub use super::attempt_row::{cap_utf8, history_row, AttemptContext, REQUEST_BODY_CAP};

/// How long a small batch waits for company before it is written.
const LINGER: Duration = Duration::from_millis(2);

/// Most attempts written in one transaction.
const MAX_BATCH: usize = 1024;

/// Work for the recorder.
pub enum Record {
    /// An attempt and the deliveries it settles (boxed: it is much larger
    /// than the other records, which share the channel).
    Attempt(Box<AttemptRecord>),
    /// Deliveries settled without an attempt (e.g. their webhook was disabled).
    Settle(Vec<Settlement>),
    /// The dispatcher's next claim, run in the same transaction as the
    /// records queued with it: one commit instead of two.
    Claim(ClaimRequest),
}

/// A claim for the dispatcher and where its answer goes.
pub struct ClaimRequest {
    pub spec: ClaimSpec,
    pub reply: oneshot::Sender<Result<Vec<Claimed>>>,
}

/// Handle used by workers.
#[derive(Clone)]
pub struct Recorder {
    tx: mpsc::UnboundedSender<Record>,
    /// On PostgreSQL, claims run apart from the history writes.
    direct: Option<DirectClaims>,
}

/// Stores attempts and settlements and, for every webhook they disabled
/// (410 Gone, or failing too long), publishes a `webhook.disabled` event to
/// whoever subscribes to it. Call inside a transaction: the caller's
/// (nesting one would be a savepoint, which on SQLite copies every page
/// written to a statement journal).
pub fn store(
    conn: &mut DbConn,
    attempts: &AttemptBatch,
    settles: &[Settlement],
    disable_after: chrono::Duration,
) -> Result<()> {
    let disabled = HistoryRow::record(conn, attempts, settles, time::now(), disable_after)?;
    // Each settled delivery left dead rows in the queue table.
    let settled = attempts.links.iter().map(|(_, s)| s.len()).sum::<usize>() + settles.len();
    super::queue_vacuum::note_settled(settled);
    // The overview's per-minute outcomes, in the same transaction.
    crate::db::stats::add_attempts(conn, &attempts.rows)?;
    for w in disabled {
        let reason = w.disabled_reason.clone().unwrap_or_default();
        tracing::warn!(webhook_id = %w.id, %reason, "webhook disabled");
        let event = json!({
            "type": "webhook.disabled",
            "origin": "hookrelay",
            "message": format!("webhook disabled: {reason}"),
            "webhook": {
                "id": w.id,
                "name": w.name,
                // The event reaches every subscriber and stays in history:
                // never the URL's user, password or query values.
                "url": crate::redact::redact_url(&w.url),
                "disabled_reason": reason,
                "disabled_at": w.disabled_at.as_ref().map(time::rfc3339),
            },
        });
        let payload = event.to_string();
        publish::record(
            conn,
            &w.organization_id,
            vec![ValidEvent {
                event_type: "webhook.disabled".into(),
                payload,
                traceparent: None,
            }],
            None,
        )?;
    }
    Ok(())
}

impl Recorder {
    /// Starts the recorder task; it ends when every handle is dropped and the
    /// queue is drained.
    pub fn spawn(
        db: Db,
        disable_after: chrono::Duration,
    ) -> (Recorder, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let direct = db
            .has_concurrent_writers()
            .then(|| DirectClaims::new(db.clone()));
        (
            Recorder { tx, direct },
            tokio::spawn(run(db, rx, disable_after)),
        )
    }

    /// Claims due deliveries: on SQLite along with the next history write,
    /// on PostgreSQL in a transaction of its own (see `claims`).
    pub async fn claim(
        &self,
        instance: String,
        limit: i64,
        lease: Duration,
        exclude: Vec<String>,
        admit: Admit,
    ) -> Result<Vec<Claimed>> {
        let spec = ClaimSpec {
            instance,
            limit,
            lease,
            exclude,
            admit,
        };
        if let Some(direct) = &self.direct {
            return direct.claim(spec).await;
        }
        let (reply, answer) = oneshot::channel();
        self.submit(Record::Claim(ClaimRequest { spec, reply }));
        answer
            .await
            .map_err(|_| Error::Unavailable("history recorder stopped".into()))?
    }

    /// Queues a record; never blocks.
    pub fn submit(&self, record: Record) {
        // The receiver lives until all senders are gone, so this cannot fail
        // while a worker still holds a handle.
        let _ = self.tx.send(record);
    }
}

async fn run(db: Db, mut rx: mpsc::UnboundedReceiver<Record>, disable_after: chrono::Duration) {
    let mut buf = Vec::with_capacity(MAX_BATCH);
    // The round-robin position among organizations (see `Delivery::claim`),
    // kept across claims; only this task claims, one write at a time.
    let cursor = Arc::new(std::sync::Mutex::new(String::new()));
    while rx.recv_many(&mut buf, MAX_BATCH).await > 0 {
        // Linger a moment when the batch is small and nobody waits on a
        // claim: one commit for many attempts is what keeps SQLite fast.
        let claim_waiting = buf.iter().any(|r| matches!(r, Record::Claim(_)));
        if buf.len() < MAX_BATCH / 4 && !claim_waiting {
            tokio::time::sleep(LINGER).await;
            while buf.len() < MAX_BATCH {
                match rx.try_recv() {
                    Ok(r) => buf.push(r),
                    Err(_) => break,
                }
            }
        }
        let (mut attempts, mut settles, mut claims) =
            (AttemptBatch::default(), Vec::new(), Vec::new());
        for r in buf.drain(..) {
            match r {
                Record::Attempt(a) => attempts.push(*a),
                Record::Settle(s) => settles.extend(s),
                Record::Claim(c) => claims.push((c.spec, c.reply)),
            }
        }
        if claims.is_empty() {
            write_with_retry(&db, attempts, settles, disable_after).await;
            continue;
        }
        // Records and claims together; should that fail, the records take the
        // patient path on their own and the claims are simply tried again.
        let batch = Arc::new((attempts, settles));
        let b = batch.clone();
        let (specs, replies): (Vec<ClaimSpec>, Vec<_>) = claims.into_iter().unzip();
        let turn = cursor.clone();
        let joint = db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    store(c, &b.0, &b.1, disable_after)?;
                    let mut cursor = turn.lock().unwrap_or_else(|e| e.into_inner());
                    let mut out = Vec::new();
                    for spec in specs {
                        out.push(claim_now(c, spec, &mut cursor)?);
                    }
                    Ok(out)
                })
            })
            .await;
        match joint {
            Ok(claimed) => {
                for (reply, got) in replies.into_iter().zip(claimed) {
                    let _ = reply.send(Ok(got));
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(Error::Unavailable(e.to_string())));
                }
                let (attempts, settles) = Arc::try_unwrap(batch)
                    .unwrap_or_else(|_| unreachable!("the write closure has ended"));
                write_with_retry(&db, attempts, settles, disable_after).await;
            }
        }
    }
}

/// Keeps trying while the database is unreachable or full: dropping a batch
/// would lose history, and the deliveries stay leased (so not re-sent)
/// meanwhile.
/// A batch that keeps failing for another reason is split, so one bad record
/// cannot hold the others back; a single record that still fails is logged.
async fn write_with_retry(
    db: &Db,
    attempts: AttemptBatch,
    settles: Vec<Settlement>,
    disable_after: chrono::Duration,
) {
    let batch = Arc::new((attempts, settles));
    let mut delay = Duration::from_millis(100);
    let mut failures = 0;
    loop {
        let b = batch.clone();
        let write = move |c: &mut DbConn| {
            c.transaction::<_, Error, _>(|c| store(c, &b.0, &b.1, disable_after))
        };
        let err = match db.write(write).await {
            Ok(()) => return,
            Err(e) => e,
        };
        failures += 1;
        // An outage or a full disk passes: keep the batch and wait (its
        // deliveries stay leased meanwhile, and are settled once it lands).
        let unavailable = matches!(err, Error::Unavailable(_) | Error::StorageFull(_));
        if !unavailable && failures >= 3 {
            let Ok((attempts, settles)) = Arc::try_unwrap(batch) else {
                return;
            };
            if attempts.len() + settles.len() <= 1 {
                tracing::error!(error = %err, "dropping a history record the database keeps refusing");
                return;
            }
            for a in attempts.into_records() {
                Box::pin(write_with_retry(db, a.into(), Vec::new(), disable_after)).await;
            }
            for s in settles {
                Box::pin(write_with_retry(
                    db,
                    AttemptBatch::default(),
                    vec![s],
                    disable_after,
                ))
                .await;
            }
            return;
        }
        tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "writing delivery history failed");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}
