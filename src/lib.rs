//! hookrelay: an outbound webhook delivery gateway.
//!
//! Publishers POST events; hookrelay records them in SQL, fans each out to
//! every subscribed webhook (form or JSON, HrFlow-signed), and logs every
//! attempt to a history that can be re-sent. See README.md for the tour.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod db;
pub mod delivery;
pub mod error;
pub mod health;
pub mod manifest;
pub mod metrics;
pub mod organizations;
pub mod outbound;
pub mod publish;
pub mod redact;
pub mod retention;
pub mod sealed;
pub mod signing;
pub mod state;
pub mod stats;
pub mod telemetry;
pub mod text;
pub mod text_enum;
pub mod tokens;
pub mod vault;
pub mod verify;
