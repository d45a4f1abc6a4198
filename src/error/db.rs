//! Database failures as [`Error`]s: a unique violation names the API
//! field (never the database's wording), an outage is `Unavailable`.

use super::{Error, ErrorCode};

impl From<diesel::result::Error> for Error {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error as DbError};
        match e {
            DbError::NotFound => Error::NotFound("no such record".into()),
            DbError::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                // The database's own text names tables and constraints: log
                // it, answer with the API's field name.
                tracing::debug!(detail = %info.message(), "unique violation");
                Error::conflict(
                    ErrorCode::Conflict,
                    unique_message(info.constraint_name(), info.message()),
                )
            }
            DbError::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => {
                Error::Unavailable("database connection closed".into())
            }
            DbError::DatabaseError(_, ref info) if is_storage_full(info.message()) => {
                Error::StorageFull(info.message().to_string())
            }
            DbError::DatabaseError(_, ref info) if is_outage(info.message()) => {
                Error::Unavailable(info.message().to_string())
            }
            DbError::BrokenTransactionManager => {
                Error::Unavailable("database connection broken".into())
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

/// Unique constraints by their SQLite message part (`table.column`, first
/// column) and PostgreSQL constraint name, with the API field they guard.
const UNIQUE_FIELDS: &[(&str, &str, &str)] = &[
    ("users.email_key", "users_email_key_key", "email"),
    ("event_types.name", "event_types_pkey", "name"),
    (
        "events.idempotency_key",
        "events_idempotency_key_key",
        "Idempotency-Key",
    ),
    (
        "api_tokens.token_hash",
        "api_tokens_token_hash_key",
        "token",
    ),
    (
        "integration_config.integration_id",
        "integration_config_pkey",
        "key",
    ),
    ("oauth_states.state", "oauth_states_pkey", "state"),
];

/// The 409 message for a unique violation: the field it concerns, never
/// the database's wording.
fn unique_message(constraint: Option<&str>, db_message: &str) -> String {
    // On Citus the coordinator relays a worker's error without the
    // constraint field (its name is in the message), and the constraint is
    // named after the shard it fired on (`event_types_pkey_102008`): the
    // name without that suffix.
    let constraint = constraint.or_else(|| {
        db_message
            .split_once("unique constraint \"")
            .and_then(|(_, rest)| rest.split_once('"'))
            .map(|(name, _)| name)
    });
    let constraint = constraint.map(|c| {
        c.trim_end_matches(|ch: char| ch.is_ascii_digit())
            .strip_suffix('_')
            .filter(|_| c.ends_with(|ch: char| ch.is_ascii_digit()))
            .unwrap_or(c)
    });
    let known = UNIQUE_FIELDS.iter().find(|(sqlite, pg, _)| {
        constraint == Some(*pg) || db_message.contains(&format!("failed: {sqlite}"))
    });
    match known {
        Some((_, _, field)) => {
            format!("`{field}` must be unique: another record already has this value")
        }
        // Every other unique key is a generated id.
        None => "`id` must be unique: a record with this id already exists; retry".into(),
    }
}

/// Messages of a write refused for lack of space: SQLite's SQLITE_FULL
/// (a full disk, or `max_page_count` reached) and PostgreSQL's `disk_full`
/// (53100) or a failed write of a data file.
fn is_storage_full(message: &str) -> bool {
    const SIGNS: &[&str] = &[
        "database or disk is full",
        "No space left on device",
        "could not extend file",
        "Disk quota exceeded",
    ];
    SIGNS.iter().any(|s| message.contains(s))
}

/// Messages of a database that is restarting, unreachable, busy or that
/// chose this transaction as a deadlock victim: the client should retry,
/// and nothing was written.
fn is_outage(message: &str) -> bool {
    const SIGNS: &[&str] = &[
        "database is locked",
        "terminating connection",
        "server closed the connection",
        "connection to server",
        "could not connect",
        "the database system is",
        "no connection to the server",
        "SSL connection has been closed",
        // Transient conflicts: retrying succeeds.
        "deadlock detected",
        "could not serialize access",
    ];
    SIGNS.iter().any(|s| message.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A database error as SQLite or PostgreSQL report it.
    struct Info(&'static str, Option<&'static str>);

    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.1
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn unique(info: Info) -> String {
        use diesel::result::{DatabaseErrorKind, Error as DbError};
        match Error::from(DbError::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new(info),
        )) {
            Error::Conflict { message, .. } => message,
            other => panic!("not a conflict: {other:?}"),
        }
    }

    #[test]
    fn a_full_disk_is_its_own_error_on_both_backends() {
        use diesel::result::{DatabaseErrorKind, Error as DbError};
        for message in [
            "database or disk is full",
            "could not extend file \"base/16384/2619\": No space left on device",
            "could not write to file \"pg_wal/xlogtemp.123\": No space left on device",
        ] {
            let e = Error::from(DbError::DatabaseError(
                DatabaseErrorKind::Unknown,
                Box::new(Info(message, None)),
            ));
            assert!(matches!(e, Error::StorageFull(_)), "{message}: {e:?}");
            assert_eq!(e.code(), ErrorCode::StorageFull);
        }
    }

    #[test]
    fn unique_violations_name_the_field_not_the_database() {
        for (info, field) in [
            (Info("UNIQUE constraint failed: users.email_key", None), "`email`"),
            (
                Info(
                    "duplicate key value violates unique constraint \"users_email_key_key\"",
                    Some("users_email_key_key"),
                ),
                "`email`",
            ),
            (Info("UNIQUE constraint failed: event_types.name", None), "`name`"),
            (
                Info("duplicate key value violates unique constraint \"event_types_pkey\"", Some("event_types_pkey")),
                "`name`",
            ),
            // Citus: the constraint of the shard it fired on.
            (
                Info("duplicate key value violates unique constraint \"event_types_pkey_102008\"", None),
                "`name`",
            ),
            (
                Info("UNIQUE constraint failed: events.idempotency_key", None),
                "`Idempotency-Key`",
            ),
            (
                Info("UNIQUE constraint failed: integration_config.integration_id, integration_config.key", None),
                "`key`",
            ),
            (Info("UNIQUE constraint failed: runs.id", None), "`id`"),
        ] {
            let shown = info.0;
            let message = unique(info);
            assert!(message.contains(field), "{shown} -> {message}");
            for leak in ["UNIQUE", "constraint", "duplicate key", "_pkey", "email_key"] {
                assert!(!message.contains(leak), "{shown} -> {message}");
            }
        }
    }
}
