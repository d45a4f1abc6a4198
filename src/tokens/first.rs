//! The first operator token: on a database that holds no token yet, one
//! is created at start-up so that an operator can get in.

use crate::db::organizations::DEFAULT_ORG;
use crate::db::tokens::{hash_token, ApiToken};
use crate::db::{new_id, time, Db};

/// Makes sure an operator can get in, on a database that holds no token
/// yet: the bootstrap token if configured, otherwise a generated one
/// (printed once). Once any token exists nothing is inserted, so a revoked
/// bootstrap token stays revoked across restarts.
pub fn ensure_first_token(db: &Db, bootstrap: Option<&str>) -> Result<(), String> {
    db.write_blocking(|c| {
        if ApiToken::count(c)? > 0 {
            if bootstrap.is_some_and(|t| matches!(ApiToken::find_by_secret(c, t), Ok(None))) {
                tracing::info!(
                    "HOOKRELAY_BOOTSTRAP_TOKEN ignored: the database already holds tokens"
                );
            }
            return Ok(());
        }
        let token = match bootstrap {
            Some(t) => t.to_string(),
            None => {
                let t = super::generate_token();
                // stderr, once: the only time this token is ever shown.
                eprintln!("hookrelay: created the first operator token (admin, platform). Store it now; it is not shown again:\n  {t}\n(lost it? stop the gateway and run `hookrelay token create --name ops --scope admin,platform`)");
                t
            }
        };
        ApiToken {
            id: new_id("tok"),
            name: if bootstrap.is_some() { "bootstrap".into() } else { "first operator".into() },
            token_hash: hash_token(&token),
            // A platform token: it manages organizations and acts in any.
            scopes: "admin platform".into(),
            created_at: time::now(),
            last_used_at: None,
            organization_id: DEFAULT_ORG.into(),
        }
        .insert(c)?;
        Ok(())
    })
    .map_err(|e| format!("cannot store the operator token: {e}"))
}
