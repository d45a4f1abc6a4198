//! Form values a run is started with, checked against the manifest's `form`.
//!
//! A form value becomes a template variable, so an unchecked key could
//! stand in for anything the manifest does not protect; and a `choice` with
//! static `items` offers only those values.

use serde_json::{Map, Value};

use super::render::{lookup, plain_text};
use super::run::form_ids;

/// What is wrong with one form value: its key and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormProblem {
    pub key: String,
    pub message: String,
}

/// Checks every key of `form`: an id of the manifest's `form`, and for a
/// `choice`/`multiple_choice` item with static `items`, one of their values.
/// Options fetched from a `url` depend on the user and are not checked here.
pub fn check(manifest: &Value, form: &Map<String, Value>) -> Result<(), FormProblem> {
    let ids = form_ids(manifest);
    for (key, value) in form {
        if !ids.contains(key) {
            let asks = if ids.is_empty() {
                "this manifest has no form".to_string()
            } else {
                format!("its form asks for: {}", ids.join(", "))
            };
            return Err(FormProblem {
                key: key.clone(),
                message: format!("'{key}' is not an id of the manifest's form; {asks}"),
            });
        }
        if let Some(item) = item(manifest, key) {
            check_choice(item, key, value)?;
        }
    }
    Ok(())
}

fn item<'m>(manifest: &'m Value, id: &str) -> Option<&'m Value> {
    manifest
        .get("form")?
        .as_array()?
        .iter()
        .find(|i| i.get("id").map(plain_text).as_deref() == Some(id))
}

/// A choice's value must be one of its static options (a multiple choice:
/// a list of them).
fn check_choice(item: &Value, key: &str, value: &Value) -> Result<(), FormProblem> {
    let kind = item.get("type").and_then(Value::as_str).unwrap_or("input");
    let Some(Value::Array(options)) = item.get("items") else {
        return Ok(());
    };
    if kind != "choice" && kind != "multiple_choice" {
        return Ok(());
    }
    let value_key = item
        .get("choice_value")
        .map(plain_text)
        .unwrap_or_else(|| "id".into());
    let allowed: Vec<String> = options
        .iter()
        .filter_map(|o| lookup(o, &value_key))
        .map(plain_text)
        .collect();
    let problem = |message: String| FormProblem {
        key: key.to_string(),
        message,
    };
    let given: Vec<&Value> = match (kind, value) {
        ("multiple_choice", Value::Array(list)) => list.iter().collect(),
        ("multiple_choice", _) => {
            return Err(problem(format!(
                "'{key}' is a multiple choice: give a list of option values"
            )))
        }
        _ => vec![value],
    };
    for v in given {
        if !allowed.contains(&plain_text(v)) {
            return Err(problem(format!(
                "{} is not an option of '{key}'; the options are: {}",
                v,
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn manifest() -> Value {
        json!({"form": [
            {"id": "TEAM", "name": "Team", "type": "choice", "items": [{"id": "t1", "name": "One"}, {"id": 2, "name": "Two"}]},
            {"id": "TAGS", "name": "Tags", "type": "multiple_choice", "items": [{"k": "a"}, {"k": "b"}], "choice_value": "k"},
            {"id": "NOTE", "name": "Note", "type": "input"},
            {"id": "REMOTE", "name": "Remote", "type": "choice", "url": "https://x"}
        ]})
    }

    fn form(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn accepts_form_ids_and_static_options() {
        let m = manifest();
        let ok = json!({"TEAM": "t1", "TAGS": ["a", "b"], "NOTE": "anything", "REMOTE": "x"});
        assert_eq!(check(&m, &form(ok)), Ok(()));
        assert_eq!(check(&m, &form(json!({"TEAM": 2}))), Ok(()));
        assert_eq!(check(&m, &form(json!({"TEAM": "2"}))), Ok(()));
    }

    #[test]
    fn refuses_unknown_keys_and_values_outside_the_options() {
        let m = manifest();
        let e = check(&m, &form(json!({"DOMAIN": "evil.example"}))).unwrap_err();
        assert_eq!(e.key, "DOMAIN");
        assert!(
            e.message.contains("TEAM, TAGS, NOTE, REMOTE"),
            "{}",
            e.message
        );
        let e = check(&m, &form(json!({"TEAM": "t9"}))).unwrap_err();
        assert_eq!(e.key, "TEAM");
        assert!(e.message.contains("t1, 2"), "{}", e.message);
        assert_eq!(
            check(&m, &form(json!({"TAGS": ["a", "z"]})))
                .unwrap_err()
                .key,
            "TAGS"
        );
        assert_eq!(
            check(&m, &form(json!({"TAGS": "a"}))).unwrap_err().key,
            "TAGS"
        );
        let e = check(&json!({}), &form(json!({"X": 1}))).unwrap_err();
        assert!(e.message.contains("has no form"));
    }
}
