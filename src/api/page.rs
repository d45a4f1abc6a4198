//! Pagination: `limit`, opaque `cursor`, and the `{data, next_cursor}` shape.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// Default and largest page sizes.
pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;

/// What a cursor encodes: a keyset position or an offset.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
}

impl Cursor {
    /// Keyset position: continue after `id`.
    pub fn after(id: &str) -> Cursor {
        Cursor {
            after: Some(id.to_string()),
            offset: None,
        }
    }

    /// Offset position.
    pub fn offset(n: i64) -> Cursor {
        Cursor {
            after: None,
            offset: Some(n),
        }
    }

    /// Decodes a client-supplied cursor.
    pub fn decode(raw: Option<&str>) -> Result<Cursor, Error> {
        let Some(raw) = raw.filter(|s| !s.is_empty()) else {
            return Ok(Cursor::default());
        };
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(raw)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| {
                Error::field(
                    "cursor",
                    "invalid cursor; pass back `next_cursor` from the previous page unchanged",
                )
            })
    }

    /// Encodes for `next_cursor`.
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::to_vec(self).expect("serializes"))
    }
}

/// `?limit=&cursor=` of a list that pages by id and takes nothing else.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysetQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

impl KeysetQuery {
    /// The checked page size, and the id to continue after.
    pub fn keyset(&self) -> Result<(i64, Option<String>), Error> {
        Ok((
            limit(self.limit)?,
            Cursor::decode(self.cursor.as_deref())?.after,
        ))
    }
}

/// Checks `limit`.
pub fn limit(raw: Option<i64>) -> Result<i64, Error> {
    match raw {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(Error::field(
            "limit",
            format!("limit must be between 1 and {MAX_LIMIT}"),
        )),
    }
}

/// `asc` / `desc`.
pub fn descending(order: Option<&str>, default_desc: bool) -> Result<bool, Error> {
    match order {
        None => Ok(default_desc),
        Some("asc") => Ok(false),
        Some("desc") => Ok(true),
        Some(o) => Err(Error::field(
            "order",
            format!("unknown order '{o}'; use asc or desc"),
        )),
    }
}

/// A page of results.
#[derive(Serialize)]
pub struct Page<T> {
    pub data: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Trims the extra row fetched to detect a next page and builds the
    /// cursor from the last row kept.
    pub fn from_rows<R>(
        mut rows: Vec<R>,
        limit: i64,
        view: impl Fn(R) -> T,
        next: impl FnOnce(&R) -> Cursor,
    ) -> Page<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| next(r).encode())
        } else {
            None
        };
        Page {
            data: rows.into_iter().map(view).collect(),
            next_cursor,
        }
    }
}
