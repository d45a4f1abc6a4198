//! Access tokens and scopes, secrets at rest, secret rotation and the
//! Standard Webhooks signature, one file per topic.

mod cli;
mod secrets;
mod signatures;
mod tokens;
mod verify_cli;

pub(crate) use tokens::create_token;
