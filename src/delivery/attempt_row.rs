//! The history row of one attempt: what was sent and what came back, with
//! request bodies capped like response bodies.

use super::payload::Rendered;
use super::send::Exchange;
use crate::db::history::{HistoryRow, Trigger};
use crate::db::new_id_at;

/// What the attempt was about.
pub struct AttemptContext<'a> {
    pub organization_id: &'a str,
    pub webhook_id: &'a str,
    pub url: &'a str,
    pub event_type: &'a str,
    pub event_ids: &'a [String],
    pub delivery_ids: &'a [String],
    pub attempt: i32,
    pub trigger: Trigger,
}

/// Most bytes of a request body history keeps (like response bodies): a
/// row per attempt of a 1 MiB event would otherwise store it whole every
/// time. Re-sends rebuild the body from the event, never from this copy.
pub const REQUEST_BODY_CAP: usize = 64 * 1024;

/// The first `cap` bytes of `s`, cut back to a UTF-8 character boundary,
/// and whether anything was cut.
pub fn cap_utf8(s: &str, cap: usize) -> (&str, bool) {
    if s.len() <= cap {
        return (s, false);
    }
    let mut end = cap;
    // A UTF-8 character is at most 4 bytes: at most 3 steps back.
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    (&s[..end], true)
}

/// Builds the history row for an attempt.
pub fn history_row(ctx: &AttemptContext<'_>, rendered: &Rendered, ex: &Exchange) -> HistoryRow {
    let (request_body, request_truncated) = cap_utf8(&rendered.body, REQUEST_BODY_CAP);
    HistoryRow {
        id: new_id_at("att", ex.sent_at),
        webhook_id: ctx.webhook_id.to_string(),
        event_id: ctx.event_ids.first().cloned(),
        event_type: ctx.event_type.to_string(),
        event_ids: serde_json::to_string(ctx.event_ids).expect("strings serialize"),
        delivery_ids: serde_json::to_string(ctx.delivery_ids).expect("strings serialize"),
        url: ctx.url.to_string(),
        request_headers: ex.request_headers.clone(),
        request_body: request_body.to_string(),
        request_truncated,
        request_size: Some(rendered.body.len() as i64),
        response_status: ex.status.map(i32::from).unwrap_or(0),
        response_headers: ex.response_headers.clone(),
        response_body: ex.response_body.clone(),
        response_truncated: ex.truncated,
        duration_ms: ex.duration.as_millis() as i64,
        error: ex.error.clone(),
        attempt: ctx.attempt,
        triggered_by: ctx.trigger,
        sent_at: ex.sent_at,
        organization_id: ctx.organization_id.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::cap_utf8;

    #[test]
    fn cap_keeps_short_text_whole() {
        assert_eq!(cap_utf8("héllo", 6), ("héllo", false));
    }

    #[test]
    fn cap_cuts_on_a_character_boundary() {
        // "é" is two bytes: a cap in its middle keeps the text before it.
        assert_eq!(cap_utf8("aé", 2), ("a", true));
        // "😀" is four bytes: every cap inside it falls back to its start.
        for cap in 1..=4 {
            assert_eq!(cap_utf8("x😀", cap), ("x", true));
        }
        assert_eq!(cap_utf8("x😀", 5), ("x😀", false));
        assert_eq!(cap_utf8("abc", 2), ("ab", true));
    }
}
