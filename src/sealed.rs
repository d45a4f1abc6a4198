//! Every sealed value in the database (webhook secrets, integration config
//! values, OAuth tokens, waiting runs' checkpoints): the master key check at
//! start-up, and re-sealing what is in clear or under a previous key.

use diesel::Connection;

use crate::config::Config;
use crate::db::integrations::{ConfigValue, Integration};
use crate::db::runs::Run;
use crate::db::webhooks::{StoredSecrets, Webhook};
use crate::db::Db;
use crate::error::Error;
use crate::vault::{self, KeySettings, Vault};
use crate::vault::{
    integration_config_label as config_context, integration_oauth_label as oauth_context,
};
use crate::vault::{run_resume_label, webhook_secret_label};

/// Every sealed value in the database: (place, associated data, sealed).
enum Sealed {
    Webhook(StoredSecrets),
    Config(ConfigValue),
    Token(String, String),
    /// A waiting run's checkpoint: (run id, sealed).
    Resume(String, String),
}

impl Sealed {
    /// The sealed texts this row holds, with their associated data.
    fn values(&self) -> Vec<(String, &str)> {
        match self {
            Sealed::Webhook(r) => std::iter::once(&r.secret)
                .chain(r.previous_secret.as_ref())
                .map(|s| (webhook_secret_label(&r.id), s.as_str()))
                .collect(),
            Sealed::Config(v) => {
                vec![(config_context(&v.integration_id, &v.key), v.value.as_str())]
            }
            Sealed::Token(id, t) => vec![(oauth_context(id), t.as_str())],
            Sealed::Resume(id, r) => vec![(run_resume_label(id), r.as_str())],
        }
    }

    /// The same row with every value sealed anew under the current key.
    fn resealed(self, vault: &Vault) -> Result<Sealed, Error> {
        let reseal = |ctx: &str, s: &str| -> Result<String, Error> {
            let clear = vault.open(s, ctx).map_err(Error::internal)?;
            Ok(vault.seal(&clear, ctx))
        };
        Ok(match self {
            Sealed::Webhook(r) => {
                let ctx = webhook_secret_label(&r.id);
                Sealed::Webhook(StoredSecrets {
                    secret: reseal(&ctx, &r.secret)?,
                    previous_secret: r
                        .previous_secret
                        .as_deref()
                        .map(|p| reseal(&ctx, p))
                        .transpose()?,
                    id: r.id,
                })
            }
            Sealed::Config(v) => Sealed::Config(ConfigValue {
                value: reseal(&config_context(&v.integration_id, &v.key), &v.value)?,
                ..v
            }),
            Sealed::Token(id, t) => {
                let t = reseal(&oauth_context(&id), &t)?;
                Sealed::Token(id, t)
            }
            Sealed::Resume(id, r) => {
                let r = reseal(&run_resume_label(&id), &r)?;
                Sealed::Resume(id, r)
            }
        })
    }

    fn store(&self, c: &mut crate::db::DbConn) -> Result<(), Error> {
        match self {
            Sealed::Webhook(r) => Webhook::reseal(c, r)?,
            Sealed::Config(v) => ConfigValue::set_value(c, v)?,
            Sealed::Token(id, t) => Integration::set_token(c, id, t)?,
            Sealed::Resume(id, r) => Run::set_resume(c, id, r)?,
        };
        Ok(())
    }
}

/// Loads the master key and seals every stored secret (webhook secrets,
/// integration config values, OAuth tokens, run checkpoints) that is in clear (stored
/// before encryption existed) or sealed under a previous key.
pub fn open_vault(db: &Db, config: &Config) -> Result<Vault, String> {
    let rows: Vec<Sealed> = db
        .write_blocking(|c| {
            let mut rows: Vec<Sealed> = Webhook::all_secrets(c)?
                .into_iter()
                .map(Sealed::Webhook)
                .collect();
            rows.extend(ConfigValue::all(c)?.into_iter().map(Sealed::Config));
            rows.extend(
                Integration::tokens(c)?
                    .into_iter()
                    .map(|(id, t)| Sealed::Token(id, t)),
            );
            rows.extend(
                Run::checkpoints(c)?
                    .into_iter()
                    .map(|(id, r)| Sealed::Resume(id, r)),
            );
            Ok(rows)
        })
        .map_err(|e| format!("cannot read stored secrets: {e}"))?;
    let mut ids: Vec<String> = rows
        .iter()
        .flat_map(Sealed::values)
        .filter_map(|(_, s)| vault::sealed_key_id(s).map(String::from))
        .collect();
    ids.sort();
    ids.dedup();
    let settings = KeySettings {
        key: config.master_key.as_deref(),
        key_file: config.master_key_file.as_deref(),
        previous: &config.previous_master_keys,
        sqlite_path: db.file_path(),
    };
    let (vault, warning) = vault::load(&settings, &ids)?;
    if let Some(w) = warning {
        tracing::warn!("{w}");
    }
    let stale: Vec<Sealed> = rows
        .into_iter()
        .filter(|r| r.values().iter().any(|(_, s)| !vault.is_current(s)))
        .collect();
    if stale.is_empty() {
        return Ok(vault);
    }
    let n = stale.len();
    db.write_blocking(|c| {
        c.transaction::<_, Error, _>(|c| {
            for r in stale {
                r.resealed(&vault)?.store(c)?;
            }
            Ok(())
        })
    })
    .map_err(|e| format!("cannot re-seal stored secrets: {e}"))?;
    tracing::info!(
        values = n,
        key = vault.current_key_id(),
        "sealed stored secrets under the current master key"
    );
    Ok(vault)
}
