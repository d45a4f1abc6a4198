//! `/v1/integrations`: manifests, their configuration, form options, runs,
//! OAuth, and the public OAuth callback. One file per concern; the work is
//! done by the integration services in `manifest`.

mod config;
mod crud;
mod form;
mod oauth;

pub use config::{get_config, put_config};
pub use crud::{create, delete, get, list, update};
pub use form::{form, start_run};
pub use oauth::{authorize, oauth_callback, oauth_start};
