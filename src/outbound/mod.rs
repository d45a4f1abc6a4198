//! Outbound HTTP shared by deliveries and integration runs: the SSRF guard,
//! the shared clients, redirects followed by hand, capped body reads, one
//! way to describe a failed request, and the retry schedule.
//!
//! A leaf: it knows nothing of webhooks, manifests or the database.

pub mod clients;
pub mod delivery_client;
pub mod describe;
pub mod guard;
pub mod read;
pub mod redirects;
pub mod retry;
mod tls;

pub use clients::{HttpClients, USER_AGENT};
pub use describe::describe;
pub use guard::TargetPolicy;
pub use retry::RetryPolicy;
