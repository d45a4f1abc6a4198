//! The per-process cache of token lookups: known tokens trusted for a
//! second, unknown ones refused for a second, both forgotten at once when
//! this process revokes or creates a token.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::db::tokens::{hash_token, ApiToken};
use crate::db::Db;
use crate::error::Result;

/// How long a token looked up in the database is trusted without asking it
/// again. Revoking through the API clears this process's cache at once; other
/// processes (a second instance, the CLI on PostgreSQL) see it within this.
pub const TRUSTED_FOR: Duration = Duration::from_secs(1);

/// How long a token the database does not know is refused without asking it
/// again, so a flood of bad tokens costs one lookup per token per second.
/// Creating a token through the API forgets these at once; a token created
/// elsewhere (CLI, another instance) works within this.
pub const UNKNOWN_FOR: Duration = Duration::from_secs(1);

/// Most unknown tokens remembered (oldest and least used go first).
const UNKNOWN_CAPACITY: usize = 10_000;

/// Tokens recently looked up in the database, by hash. Every request used to
/// look its token up, and on a busy publisher that lookup (a trip to the
/// blocking pool) cost as much CPU as the rest of the request together.
///
/// Each entry carries the generation current when its lookup *started*;
/// revoking (or creating) a token moves the generation on, so an answer
/// from a lookup still in flight then is never served.
#[derive(Clone)]
pub struct TokenCache {
    known: Arc<quick_cache::sync::Cache<String, (ApiToken, Instant, u64)>>,
    unknown: Arc<quick_cache::sync::Cache<String, (Instant, u64)>>,
    /// Moves on at every revocation: older known entries are void.
    revoked: Arc<AtomicU64>,
    /// Moves on at every creation: older unknown entries are void.
    created: Arc<AtomicU64>,
}

/// The generations at the start of a lookup; see [`TokenCache::ticket`].
#[derive(Debug, Clone, Copy)]
pub struct Ticket {
    revoked: u64,
    created: u64,
}

impl Default for TokenCache {
    fn default() -> Self {
        TokenCache {
            known: Arc::new(quick_cache::sync::Cache::new(10_000)),
            unknown: Arc::new(quick_cache::sync::Cache::new(UNKNOWN_CAPACITY)),
            revoked: Arc::default(),
            created: Arc::default(),
        }
    }
}

/// What the cache says about a token hash.
#[derive(Debug)]
pub enum Cached {
    /// A live token, recently confirmed.
    Known(ApiToken),
    /// Recently not found.
    Unknown,
    /// Ask the database.
    Miss,
}

impl TokenCache {
    /// The live token `secret` stands for, or `None` if it is unknown or revoked.
    pub async fn resolve(&self, db: &Db, secret: String) -> Result<Option<ApiToken>> {
        let hash = hash_token(&secret);
        match self.cached(&hash) {
            Cached::Known(t) => return Ok(Some(t)),
            Cached::Unknown => return Ok(None),
            Cached::Miss => {}
        }
        // Taken before asking: a revocation during the lookup voids its answer.
        let ticket = self.ticket();
        let key = hash.clone();
        let found = db
            .read(move |c| Ok(ApiToken::find_by_hash(c, &key)?))
            .await?;
        self.store(hash, found.clone(), ticket);
        Ok(found)
    }

    /// The cache's answer for a token hash.
    pub fn cached(&self, hash: &str) -> Cached {
        if let Some((token, at, gen)) = self.known.get(hash) {
            if at.elapsed() < TRUSTED_FOR && gen == self.revoked.load(Ordering::SeqCst) {
                return Cached::Known(token);
            }
        }
        if let Some((at, gen)) = self.unknown.get(hash) {
            if at.elapsed() < UNKNOWN_FOR && gen == self.created.load(Ordering::SeqCst) {
                return Cached::Unknown;
            }
        }
        Cached::Miss
    }

    /// The current generations; take it before a database lookup and hand
    /// it to [`Self::store`] with the answer.
    pub fn ticket(&self) -> Ticket {
        Ticket {
            revoked: self.revoked.load(Ordering::SeqCst),
            created: self.created.load(Ordering::SeqCst),
        }
    }

    /// Remembers a lookup's answer under the generations of its `ticket`:
    /// if a token was revoked (or created) since, the entry is never served.
    pub fn store(&self, hash: String, found: Option<ApiToken>, ticket: Ticket) {
        match found {
            Some(t) => {
                self.unknown.remove(&hash);
                self.known.insert(hash, (t, Instant::now(), ticket.revoked));
            }
            None => {
                self.known.remove(&hash);
                self.unknown.insert(hash, (Instant::now(), ticket.created));
            }
        }
    }

    /// Keeps a cached token's `last_used_at` in step with the database, so
    /// the once-a-minute touch is not repeated for every cached request.
    pub fn touched(&self, token: &ApiToken) {
        if let Some((_, at, gen)) = self.known.get(&token.token_hash) {
            self.known
                .insert(token.token_hash.clone(), (token.clone(), at, gen));
        }
    }

    /// Forgets every cached token (after a revocation), including answers
    /// of lookups still in flight.
    pub fn clear(&self) {
        self.revoked.fetch_add(1, Ordering::SeqCst);
        self.known.clear();
    }

    /// A token with this hash was just created: stop refusing it.
    pub fn created(&self, hash: &str) {
        self.created.fetch_add(1, Ordering::SeqCst);
        self.unknown.remove(hash);
    }
}
