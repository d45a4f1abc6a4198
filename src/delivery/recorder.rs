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

use super::payload::Rendered;
use super::send::Exchange;
use crate::db::deliveries::{Candidate, Claimed, Settlement};
use crate::db::history::{AttemptBatch, AttemptRecord, HistoryRow, Trigger};
use crate::db::{new_id_at, time, Db, DbConn};
use crate::error::{Error, Result};
use crate::publish::{self, ValidEvent};

/// How long a small batch waits for company before it is written.
const LINGER: Duration = Duration::from_millis(2);

/// Most attempts written in one transaction.
const MAX_BATCH: usize = 1024;

/// What the attempt was about.
pub struct AttemptContext<'a> {
    pub organization_id: &'a str,
    pub webhook_id: &'a str,
    pub url: &'a str,
    pub event_type: &'a str,
    pub event_ids: &'a [String],
    pub delivery_ids: &'a [String],
    pub attempt: i32,
    pub trigger: Trigger,
}

/// Most bytes of a request body history keeps (like response bodies): a
/// row per attempt of a 1 MiB event would otherwise store it whole every
/// time. Re-sends rebuild the body from the event, never from this copy.
pub const REQUEST_BODY_CAP: usize = 64 * 1024;

/// The first `cap` bytes of `s`, cut back to a UTF-8 character boundary,
/// and whether anything was cut.
pub fn cap_utf8(s: &str, cap: usize) -> (&str, bool) {
    if s.len() <= cap {
        return (s, false);
    }
    let mut end = cap;
    // A UTF-8 character is at most 4 bytes: at most 3 steps back.
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

/// Builds the history row for an attempt.
pub fn history_row(ctx: &AttemptContext<'_>, rendered: &Rendered, ex: &Exchange) -> HistoryRow {
    let (request_body, request_truncated) = cap_utf8(&rendered.body, REQUEST_BODY_CAP);
    HistoryRow {
        id: new_id_at("att", ex.sent_at),
        webhook_id: ctx.webhook_id.to_string(),
        event_id: ctx.event_ids.first().cloned(),
        event_type: ctx.event_type.to_string(),
        event_ids: serde_json::to_string(ctx.event_ids).expect("strings serialize"),
        delivery_ids: serde_json::to_string(ctx.delivery_ids).expect("strings serialize"),
        url: ctx.url.to_string(),
        request_headers: serde_json::to_string(&ex.request_headers).expect("a map serializes"),
        request_body: request_body.to_string(),
        request_truncated,
        request_size: Some(rendered.body.len() as i64),
        response_status: ex.status.map(i32::from).unwrap_or(0),
        response_headers: serde_json::to_string(&ex.response_headers).expect("a map serializes"),
        response_body: ex.response_body.clone(),
        response_truncated: ex.truncated,
        duration_ms: ex.duration.as_millis() as i64,
        error: ex.error.clone(),
        attempt: ctx.attempt,
        triggered_by: ctx.trigger,
        sent_at: ex.sent_at,
        organization_id: ctx.organization_id.to_string(),
    }
}

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

/// Picks among claim candidates (see `lanes`).
pub type Admit = Box<dyn FnMut(&Candidate) -> bool + Send>;

/// What to claim (see `Delivery::claim`).
pub struct ClaimSpec {
    pub instance: String,
    pub limit: i64,
    pub lease: Duration,
    pub exclude: Vec<String>,
    pub admit: Admit,
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
    direct: Option<super::direct_claim::DirectClaims>,
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
                "url": w.url,
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
        let direct = (db.backend() == crate::db::Backend::Postgres)
            .then(|| super::direct_claim::DirectClaims::new(db.clone()));
        (
            Recorder { tx, direct },
            tokio::spawn(run(db, rx, disable_after)),
        )
    }

    /// Claims due deliveries: on SQLite along with the next history write,
    /// on PostgreSQL in a transaction of its own (see `direct_claim`).
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
                        out.push(super::direct_claim::claim_now(c, spec, &mut cursor)?);
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

/// Keeps trying while the database is unreachable: dropping a batch would
/// lose history, and the deliveries stay leased (so not re-sent) meanwhile.
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
        let unavailable = matches!(err, Error::Unavailable(_));
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

#[cfg(test)]
mod tests {
    use super::cap_utf8;

    #[test]
    fn cap_keeps_short_text_whole() {
        assert_eq!(cap_utf8("héllo", 6), ("héllo", false));
    }

    #[test]
    fn cap_cuts_on_a_character_boundary() {
        // "é" is two bytes: a cap in its middle keeps the text before it.
        assert_eq!(cap_utf8("aé", 2), ("a", true));
        // "😀" is four bytes: every cap inside it falls back to its start.
        for cap in 1..=4 {
            assert_eq!(cap_utf8("x😀", cap), ("x", true));
        }
        assert_eq!(cap_utf8("x😀", 5), ("x😀", false));
        assert_eq!(cap_utf8("abc", 2), ("ab", true));
    }
}
