//! Planning a user import: what a sync does with each record it fetched —
//! create a person (`new`), change one (`update`, with each changed field's
//! old and new value) or leave the record (`skipped`, with the reason). A
//! sync applies the plan; a dry run answers it and writes nothing, so the
//! preview and the import can never disagree.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::render::plain_text;
use crate::db::users::{is_email, User};

/// What the import does with one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    /// A new person is created.
    New,
    /// An existing person's fields change.
    Update,
    /// Nothing is written; `reason` says why.
    Skipped,
}

/// One fetched record, mapped through `data_structure`, and its mark.
#[derive(Debug, Clone, Serialize)]
pub struct Candidate {
    pub email: String,
    pub mark: Mark,
    /// The record as `data_structure` mapped it.
    pub record: Map<String, Value>,
    /// The existing person it matches, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// For `update`: each field that changes, `{"old": …, "new": …}`.
    #[serde(skip_serializing_if = "Map::is_empty")]
    pub changes: Map<String, Value>,
    /// For `skipped`: why.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// The trimmed `email` of a record.
pub fn email_of(r: &Map<String, Value>) -> String {
    r.get("email")
        .map(plain_text)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// A record's text field, trimmed ("" when absent).
pub fn text(r: &Map<String, Value>, k: &str) -> String {
    r.get(k)
        .map(plain_text)
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// Marks every record for `action` (`create` or `update`) against the
/// people `known` (by lower-cased email). With `only`, records whose email
/// (any case) is not listed are skipped.
pub fn plan(
    action: &str,
    records: Vec<Map<String, Value>>,
    known: &HashMap<String, User>,
    only: Option<&HashSet<String>>,
) -> Vec<Candidate> {
    let mut seen: HashSet<String> = HashSet::new();
    records
        .into_iter()
        .map(|record| {
            let email = email_of(&record);
            let key = email.to_lowercase();
            let existing = known.get(&key);
            let mut c = Candidate {
                email: email.clone(),
                mark: Mark::Skipped,
                record,
                user_id: existing.map(|u| u.id.clone()),
                changes: Map::new(),
                reason: None,
            };
            let reason = if !is_email(&email) {
                Some(format!("'{email}' is not an email address"))
            } else if !seen.insert(key.clone()) {
                // Each email once: a record repeating one is skipped.
                Some("the email appears in an earlier record".to_string())
            } else if only.is_some_and(|o| !o.contains(&key)) {
                Some("not among the emails `only` lists".to_string())
            } else {
                mark(action, &mut c, existing)
            };
            if reason.is_some() {
                c.mark = Mark::Skipped;
                c.changes.clear();
            }
            c.reason = reason;
            c
        })
        .collect()
}

/// Marks a record that passed the common checks; the reason when skipped.
fn mark(action: &str, c: &mut Candidate, existing: Option<&User>) -> Option<String> {
    match (action, existing) {
        ("update", Some(u)) => {
            let extra: Map<String, Value> =
                serde_json::from_str(&u.extra_fields).unwrap_or_default();
            for (k, v) in &c.record {
                if k != "email" && extra.get(k) != Some(v) {
                    let old = extra.get(k).cloned().unwrap_or(Value::Null);
                    c.changes
                        .insert(format!("extra_fields.{k}"), json!({"old": old, "new": v}));
                }
            }
            if c.changes.is_empty() {
                // Nothing new: no write, and no `user.updated` to trigger runs.
                return Some("nothing changes".into());
            }
            c.mark = Mark::Update;
            None
        }
        ("update", None) => Some("no user has this email (the sync's action is update)".into()),
        ("create", Some(_)) => {
            Some("a user has this email already (the sync's action is create)".into())
        }
        ("create", None) => {
            if text(&c.record, "first_name").is_empty() || text(&c.record, "last_name").is_empty() {
                return Some("first_name and last_name are needed to create a user".into());
            }
            c.mark = Mark::New;
            None
        }
        (other, _) => Some(format!("unknown action '{other}'")),
    }
}

/// The counts of a plan: `{"new": n, "update": n, "skipped": n}`.
pub fn counts(plan: &[Candidate]) -> Value {
    let n = |m: Mark| plan.iter().filter(|c| c.mark == m).count();
    json!({"new": n(Mark::New), "update": n(Mark::Update), "skipped": n(Mark::Skipped)})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(email: &str, extra: Value) -> User {
        let now = crate::db::time::now();
        User {
            id: format!("usr_{email}"),
            email: email.into(),
            email_key: email.to_lowercase(),
            first_name: "F".into(),
            last_name: "L".into(),
            position: String::new(),
            department: String::new(),
            start_date: None,
            phone: String::new(),
            manager_id: None,
            buddy_id: None,
            extra_fields: extra.to_string(),
            created_at: now,
            updated_at: now,
            organization_id: "org_1".into(),
        }
    }

    fn records(v: Value) -> Vec<Map<String, Value>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn create_marks_new_existing_invalid_repeated_and_nameless() {
        let known: HashMap<String, User> =
            [("old@x.io".to_string(), user("Old@x.io", json!({})))].into();
        let p = plan(
            "create",
            records(json!([
                {"email": "new@x.io", "first_name": "N", "last_name": "M"},
                {"email": "OLD@x.io", "first_name": "O", "last_name": "P"},
                {"email": "not-an-email", "first_name": "A", "last_name": "B"},
                {"email": "NEW@x.io", "first_name": "N", "last_name": "M"},
                {"email": "nameless@x.io"}
            ])),
            &known,
            None,
        );
        let marks: Vec<Mark> = p.iter().map(|c| c.mark).collect();
        assert_eq!(
            marks,
            [
                Mark::New,
                Mark::Skipped,
                Mark::Skipped,
                Mark::Skipped,
                Mark::Skipped
            ]
        );
        assert_eq!(p[1].user_id.as_deref(), Some("usr_Old@x.io"));
        assert!(p[1].reason.as_deref().unwrap().contains("already"));
        assert!(p[3].reason.as_deref().unwrap().contains("earlier record"));
        assert!(p[4].reason.as_deref().unwrap().contains("first_name"));
        assert_eq!(counts(&p), json!({"new": 1, "update": 0, "skipped": 4}));
    }

    #[test]
    fn update_lists_changed_fields_and_skips_the_rest() {
        let known: HashMap<String, User> = [
            (
                "a@x.io".to_string(),
                user("a@x.io", json!({"ID": 1, "T": "x"})),
            ),
            ("b@x.io".to_string(), user("b@x.io", json!({"ID": 2}))),
        ]
        .into();
        let p = plan(
            "update",
            records(json!([
                {"email": "a@x.io", "ID": 7, "T": "x"},
                {"email": "b@x.io", "ID": 2},
                {"email": "c@x.io", "ID": 3}
            ])),
            &known,
            None,
        );
        assert_eq!(p[0].mark, Mark::Update);
        assert_eq!(
            Value::Object(p[0].changes.clone()),
            json!({"extra_fields.ID": {"old": 1, "new": 7}})
        );
        assert_eq!(p[1].mark, Mark::Skipped);
        assert_eq!(p[1].reason.as_deref(), Some("nothing changes"));
        assert_eq!(p[2].mark, Mark::Skipped);
    }

    #[test]
    fn only_keeps_the_listed_emails() {
        let only: HashSet<String> = ["b@x.io".to_string()].into();
        let p = plan(
            "create",
            records(json!([
                {"email": "a@x.io", "first_name": "A", "last_name": "A"},
                {"email": "B@x.io", "first_name": "B", "last_name": "B"}
            ])),
            &HashMap::new(),
            Some(&only),
        );
        assert_eq!(p[0].mark, Mark::Skipped);
        assert_eq!(p[1].mark, Mark::New);
    }
}
