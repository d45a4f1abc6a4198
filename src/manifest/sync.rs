//! Sync-users manifests: fetching user records (with pagination), the
//! cron schedule they run on, and applying an import plan to people.

use croner::Cron;

/// Parses a schedule: 5-field cron (minute first), evaluated in UTC. A 6th
/// field means seconds and comes last, as in the reference (croniter).
pub fn parse_schedule(expr: &str) -> Result<Cron, String> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    let normalized = match fields.as_slice() {
        [m, h, d, mo, w, s] => format!("{s} {m} {h} {d} {mo} {w}"),
        _ => fields.join(" "),
    };
    Cron::new(&normalized)
        .with_seconds_optional()
        .parse()
        .map_err(|e| format!("is not a cron expression such as \"0 * * * *\" ({e})"))
}

/// When a sync manifest's schedule next fires after `now` (UTC).
pub fn next_sync(
    manifest: &serde_json::Value,
    now: chrono::NaiveDateTime,
) -> Option<chrono::NaiveDateTime> {
    let expr = manifest.get("schedule")?.as_str()?;
    let cron = parse_schedule(expr).ok()?;
    let now = now.and_utc();
    cron.find_next_occurrence(&now, false)
        .ok()
        .map(|t| t.naive_utc())
}

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::import::{email_of, plan, text, Candidate, Mark};

use super::render::{lookup, plain_text};
use super::run::{object_weight, Outcome, RunResult, Runner};
use crate::config::Limit;
use crate::db::users::{User, UserChanges};
use crate::db::{new_id, DbConn};
use crate::error::Result;

/// Pages fetched at most when the manifest does not say (the reference's default).
const DEFAULT_PAGES: u64 = 5;

/// `create` (default) or `update`.
pub fn action(manifest: &Value) -> String {
    manifest
        .get("action")
        .and_then(Value::as_str)
        .unwrap_or("create")
        .to_string()
}

/// Runs the `execute` items, then follows pagination, and maps every
/// record through `data_structure`. Stops paging on a missing, null or
/// empty next URL or token, on an empty page, on a URL seen before, and at
/// `amount_pages_to_fetch` pages.
pub async fn fetch(
    mut runner: Runner<'_>,
    manifest: &Value,
) -> (RunResult, Option<Vec<Map<String, Value>>>) {
    let (outcome, last) = runner.execute_items(false).await;
    if outcome != Outcome::Succeeded {
        return (runner.finish(outcome, None), None);
    }
    let Some(mut page) = last else {
        return (
            runner.finish(
                failed("the execute items returned nothing to read users from"),
                None,
            ),
            None,
        );
    };
    let data_from = manifest
        .get("data_from")
        .map(plain_text)
        .unwrap_or_default();
    let cap = manifest
        .get("amount_pages_to_fetch")
        .and_then(Value::as_u64)
        .unwrap_or(DEFAULT_PAGES)
        .max(1);
    let mut records = Vec::new();
    let mut seen: HashSet<String> = HashSet::new();
    let mut pages = 0;
    loop {
        pages += 1;
        let list = match lookup(&page, &data_from) {
            Some(Value::Array(list)) => list.clone(),
            Some(_) => {
                return (
                    runner.finish(
                        failed(&format!("'{data_from}' in the response is not a list")),
                        None,
                    ),
                    None,
                )
            }
            None if pages > 1 => break,
            None => {
                return (
                    runner.finish(
                        failed(&format!("'{data_from}' not found in the response")),
                        None,
                    ),
                    None,
                )
            }
        };
        if list.is_empty() {
            break;
        }
        let fetched: Vec<Map<String, Value>> = list.iter().map(|r| record(r, manifest)).collect();
        // The records stay with the run until it ends: they count as kept.
        let size = fetched.iter().map(object_weight).sum();
        if let Err(e) = runner.keep(size, &format!("the records of page {pages}")) {
            let e = format!("page {pages}: {e}");
            runner.fail_last_step(&e);
            return (runner.finish(failed(&e), None), None);
        }
        records.extend(fetched);
        if pages >= cap {
            break;
        }
        // A URL from the answer is used as written; a `next_page` template
        // is the manifest's own and is rendered (with the token as a value).
        let next_url = if let Some(from) = manifest.get("next_page_from").map(plain_text) {
            match lookup(&page, &from) {
                Some(Value::String(u)) if !u.is_empty() => u.clone(),
                _ => break,
            }
        } else if let (Some(token_from), Some(next)) = (
            manifest.get("next_page_token_from").map(plain_text),
            manifest.get("next_page").map(plain_text),
        ) {
            match lookup(&page, &token_from).map(plain_text) {
                Some(token) if !token.is_empty() => {
                    runner.set("NEXT_PAGE_TOKEN", Value::String(token));
                    match runner.render(&next).await {
                        Ok(u) => u,
                        Err(e) => return (runner.finish(failed(&e), None), None),
                    }
                }
                _ => break,
            }
        } else {
            break;
        };
        if !seen.insert(next_url.clone()) {
            break;
        }
        match runner.page(&next_url, &format!("page {}", pages + 1)).await {
            Ok(r) => match r.json {
                Some(v) => page = v,
                None => return (runner.finish(failed("a page is not JSON"), None), None),
            },
            Err(e) => {
                return (
                    runner.finish(failed(&format!("page {}: {e}", pages + 1)), None),
                    None,
                )
            }
        }
    }
    let n = records.len();
    let mut result = runner.finish(Outcome::Succeeded, None);
    result.stored.insert("records".into(), Value::from(n));
    (result, Some(records))
}

fn failed(e: &str) -> Outcome {
    Outcome::Failed {
        error: e.to_string(),
        retryable: false,
    }
}

/// One record: every `data_structure` prop found at its notation.
fn record(raw: &Value, manifest: &Value) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(Value::Object(structure)) = manifest.get("data_structure") {
        for (prop, notation) in structure {
            if let Some(v) = lookup(raw, &plain_text(notation)) {
                out.insert(prop.clone(), v.clone());
            }
        }
    }
    out
}

/// Creates new users (`create`) or merges records into matching users'
/// `extra_fields` (`update`), in organization `org`, as
/// [`import::plan`](super::import::plan) marks them (with `only`, just those
/// emails); publishes `user.updated` for each there and returns the events.
pub fn apply(
    c: &mut DbConn,
    org: &str,
    action: &str,
    records: Vec<Map<String, Value>>,
    only: Option<&HashSet<String>>,
    max_users: Option<Limit>,
    now: chrono::NaiveDateTime,
) -> Result<Vec<(String, Value)>> {
    let plan = plan_in(c, org, action, records, only, max_users)?;
    let mut changed = Vec::new();
    for cand in plan {
        match cand.mark {
            Mark::Update => {
                let Some(id) = cand.user_id.as_deref() else {
                    continue;
                };
                let Some(u) = User::find(c, org, id)? else {
                    continue;
                };
                let mut extra: Map<String, Value> =
                    serde_json::from_str(&u.extra_fields).unwrap_or_default();
                for (k, v) in cand.record {
                    if k != "email" {
                        extra.insert(k, v);
                    }
                }
                let changes = UserChanges {
                    extra_fields: Some(Value::Object(extra).to_string()),
                    updated_at: Some(now),
                    ..Default::default()
                };
                User::update(c, org, &u.id, &changes)?;
                changed.push(u);
            }
            Mark::New => {
                let r = &cand.record;
                let u = User {
                    id: new_id("usr"),
                    email: cand.email.clone(),
                    email_key: cand.email.to_lowercase(),
                    first_name: text(r, "first_name"),
                    last_name: text(r, "last_name"),
                    position: text(r, "position"),
                    department: text(r, "department"),
                    start_date: None,
                    phone: text(r, "phone"),
                    manager_id: None,
                    buddy_id: None,
                    extra_fields: "{}".into(),
                    created_at: now,
                    updated_at: now,
                    organization_id: org.to_string(),
                };
                u.insert(c)?;
                changed.push(u);
            }
            Mark::Skipped => {}
        }
    }
    // One publish for all of them (the event carries no extra fields).
    let events = changed.iter().map(crate::publish::user_updated).collect();
    crate::publish::record_builtin_in(c, org, events)
}

/// The import plan of `records` against `org`'s people (read in one query).
/// New people past `max_users` (`HOOKRELAY_MAX_USERS_PER_ORG`) are skipped
/// with the reason, so a sync cannot grow an organization past its quota
/// and its run still records what it did.
pub fn plan_in(
    c: &mut DbConn,
    org: &str,
    action: &str,
    records: Vec<Map<String, Value>>,
    only: Option<&HashSet<String>>,
    max_users: Option<Limit>,
) -> Result<Vec<Candidate>> {
    let keys: Vec<String> = records.iter().map(|r| email_of(r).to_lowercase()).collect();
    let known: HashMap<String, User> = User::find_by_email_keys(c, org, &keys)?
        .into_iter()
        .map(|u| (u.email_key.clone(), u))
        .collect();
    let mut plan = plan(action, records, &known, only);
    if let Some(l) = max_users {
        let mut room = l.max - crate::db::quotas::users(c, org)?;
        for cand in plan.iter_mut().filter(|c| c.mark == Mark::New) {
            if room > 0 {
                room -= 1;
            } else {
                cand.mark = Mark::Skipped;
                cand.changes.clear();
                cand.reason = Some(format!(
                    "the organization has {} {}, the most allowed ({})",
                    l.max, l.what, l.variable
                ));
            }
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_are_utc_cron_with_optional_trailing_seconds() {
        use chrono::{TimeZone, Utc};
        let at = Utc.with_ymd_and_hms(2026, 11, 23, 10, 30, 0).unwrap();
        let next = |e: &str| {
            parse_schedule(e)
                .unwrap()
                .find_next_occurrence(&at, false)
                .unwrap()
        };
        assert_eq!(
            next("0 * * * *"),
            Utc.with_ymd_and_hms(2026, 11, 23, 11, 0, 0).unwrap()
        );
        // The docs' "* 1 * * * *": every second of 01:xx (seconds last).
        assert_eq!(
            next("* 1 * * * *"),
            Utc.with_ymd_and_hms(2026, 11, 24, 1, 0, 0).unwrap()
        );
        assert!(parse_schedule("every hour").is_err());
    }
}
