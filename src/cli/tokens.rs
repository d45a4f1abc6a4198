//! `hookrelay token create|list|revoke`: API tokens managed directly in
//! the database (no server needed).

use super::{DbArgs, TokenAction};

/// Runs a token command.
pub fn main(action: TokenAction, db: &DbArgs) -> Result<(), String> {
    use crate::db::tokens::ApiToken;
    let db = db.connect()?;
    let fail = |e: crate::error::Error| e.to_string();
    match action {
        TokenAction::Create { name, scopes } => {
            let (row, token) = db
                .write_blocking(|c| {
                    crate::tokens::create(c, crate::db::organizations::DEFAULT_ORG, &name, &scopes)
                })
                .map_err(fail)?;
            eprintln!(
                "created token {} ({}) with scopes: {}. It is shown once:",
                row.id, row.name, row.scopes
            );
            println!("{token}");
        }
        TokenAction::List => {
            let rows = db
                .write_blocking(|c| Ok(ApiToken::list(c, None, None, i64::MAX, true)?))
                .map_err(fail)?;
            println!("{:<34} {:<24} {:<20} SCOPES", "ID", "NAME", "LAST USED");
            for t in rows {
                let used = t
                    .last_used_at
                    .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "never".into());
                println!("{:<34} {:<24} {:<20} {}", t.id, t.name, used, t.scopes);
            }
        }
        TokenAction::Revoke { id } => {
            let n = db
                .write_blocking(|c| Ok(ApiToken::delete_any(c, &id)?))
                .map_err(fail)?;
            if n == 0 {
                return Err(format!(
                    "no token with id '{id}' (`hookrelay token list` shows them)"
                ));
            }
            eprintln!("revoked token {id}");
        }
    }
    Ok(())
}
