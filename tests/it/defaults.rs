//! The defaults the contract and the docs state are the code's (issue 31,
//! item 9: `openapi.yaml` said `max_in_flight` defaulted to 4 where the
//! configuration says 256).
//!
//! Three checks: every configuration default that `openapi.yaml` states in
//! prose (`HOOKRELAY_X`, 256 / (`HOOKRELAY_X` (8) / … 15 s by default) is
//! clap's default for that variable; every row of the configuration table
//! in docs/operations.md states clap's default, and the table lists every
//! variable; and a web hook created with only its required fields has the
//! values the `CreateWebhook` schema's `default:` keywords give.

use std::collections::BTreeMap;

use hookrelay::config::Config;
use serde_json::{json, Value};

use crate::both_backends;
use crate::common::{Backend, TestApp};

/// Environment variable → its default as clap has it (`None`: unset).
fn config_defaults() -> BTreeMap<String, Option<String>> {
    #[derive(clap::Parser)]
    struct Wrapper {
        #[command(flatten)]
        config: Config,
    }
    let command = <Wrapper as clap::CommandFactory>::command();
    command
        .get_arguments()
        .filter_map(|a| {
            let env = a.get_env()?.to_str()?.to_string();
            let default = a
                .get_default_values()
                .first()
                .map(|v| v.to_string_lossy().into_owned());
            Some((env, default))
        })
        .collect()
}

/// A number with an optional unit (`1 MiB`, `15 s`, `5 days`, `256`) in
/// the variable's base unit (bytes, seconds, a count); `None` for any
/// other text, which states no default.
fn stated_value(text: &str) -> Option<u64> {
    let text = text.trim().trim_end_matches(" by default");
    let written: String = text
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .collect();
    let n: u64 = written.replace(',', "").parse().ok()?;
    let factor = match text[written.len()..].trim() {
        "" | "s" | "seconds" => 1,
        "MiB" => 1024 * 1024,
        "days" => 86_400,
        _ => return None,
    };
    Some(n * factor)
}

/// A configuration default in the same base unit (`5d` → seconds).
fn default_value(text: &str) -> u64 {
    text.parse()
        .unwrap_or_else(|_| humantime::parse_duration(text).expect(text).as_secs())
}

/// Every string of a YAML document (descriptions, examples).
fn strings(v: &serde_yaml::Value, out: &mut Vec<String>) {
    match v {
        serde_yaml::Value::String(s) => {
            out.push(s.split_whitespace().collect::<Vec<_>>().join(" "))
        }
        serde_yaml::Value::Sequence(items) => items.iter().for_each(|i| strings(i, out)),
        serde_yaml::Value::Mapping(m) => m.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

/// (variable, stated value) for each "`VAR`, N …" or "`VAR` (N …" in `text`.
fn stated_defaults(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (at, _) in text.match_indices("`HOOKRELAY_") {
        let rest = &text[at + 1..];
        let Some(end) = rest.find('`') else { continue };
        let (var, after) = (&rest[..end], &rest[end + 1..]);
        let Some(value) = after
            .strip_prefix(", ")
            .or_else(|| after.strip_prefix(" ("))
        else {
            continue;
        };
        let value = value.strip_prefix("by default ").unwrap_or(value);
        // A comma ends the value only when a space follows it: `100,000`
        // is one number.
        let end = [value.find(')'), value.find(';'), value.find(", ")]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(value.len());
        let value = &value[..end];
        if value.starts_with(|c: char| c.is_ascii_digit()) {
            out.push((var.to_string(), value.to_string()));
        }
    }
    out
}

#[test]
fn openapi_states_the_configuration_defaults() {
    let defaults = config_defaults();
    let doc: serde_yaml::Value = serde_yaml::from_str(include_str!("../../openapi.yaml")).unwrap();
    let mut texts = Vec::new();
    strings(&doc, &mut texts);
    let mut checked = 0;
    for text in &texts {
        for (var, stated) in stated_defaults(text) {
            let Some(value) = stated_value(&stated) else {
                continue;
            };
            let default = defaults
                .get(&var)
                .unwrap_or_else(|| {
                    panic!("openapi.yaml names {var}, which is no configuration variable")
                })
                .as_deref()
                .unwrap_or_else(|| {
                    panic!("openapi.yaml states a default for {var}, which has none")
                });
            assert_eq!(
                value,
                default_value(default),
                "openapi.yaml says {var} defaults to '{stated}', the configuration to '{default}': {text}"
            );
            checked += 1;
        }
    }
    // The statements this reads: keep it reading them.
    assert!(checked >= 8, "only {checked} stated defaults found");
}

#[test]
fn operations_table_states_every_variable_and_its_default() {
    let defaults = config_defaults();
    let page = include_str!("../../docs/operations.md");
    let mut listed = BTreeMap::new();
    for line in page.lines() {
        let cells: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let Some(var) = cells.first().and_then(|c| c.strip_prefix("| `")) else {
            continue;
        };
        let var = var.trim_end_matches('`');
        if cells.len() < 3 || !(var.starts_with("HOOKRELAY_") || var == "DATABASE_URL") {
            continue;
        }
        // The first code span is the value; a note may follow it
        // (`20971520` (20 MiB)).
        let cell = cells[1];
        let value = cell
            .strip_prefix('`')
            .and_then(|rest| rest.split_once('`'))
            .map_or(cell, |(value, _)| value);
        listed.insert(var.to_string(), value.to_string());
    }
    for (var, default) in &defaults {
        let Some(cell) = listed.get(var) else {
            panic!("docs/operations.md's configuration table lacks {var}");
        };
        // Worked out at start-up from other values: clap has no default.
        let computed = cell.contains('$') || cell.contains("<HOOKRELAY_");
        let expected = match cell.as_str() {
            "unset" => None,
            "empty" => Some(String::new()),
            _ if computed => None,
            other => Some(other.to_string()),
        };
        assert_eq!(
            expected.map(|e| e.to_lowercase()),
            default.as_ref().map(|d| d.to_lowercase()),
            "docs/operations.md says {var} defaults to '{cell}'"
        );
    }
    for var in hookrelay::telemetry::VARIABLES {
        assert!(
            page.contains(&format!("| `{var}` | ")),
            "docs/operations.md's configuration table lacks {var}"
        );
    }
    for var in listed.keys() {
        assert!(
            defaults.contains_key(var) || var == "HOOKRELAY_BOOTSTRAP_TOKEN",
            "docs/operations.md lists {var}, which the configuration does not read"
        );
    }
}

both_backends!(create_webhook_schema_defaults_are_the_api_s);

async fn create_webhook_schema_defaults_are_the_api_s(backend: Backend) {
    let Some(app) = TestApp::start(backend).await else {
        return;
    };
    let doc: serde_yaml::Value = serde_yaml::from_str(include_str!("../../openapi.yaml")).unwrap();
    let properties = doc["components"]["schemas"]["CreateWebhook"]["properties"]
        .as_mapping()
        .expect("CreateWebhook properties");
    let created = app
        .create_webhook(json!({"name": "n", "url": "http://127.0.0.1:9/h", "event_types": ["*"]}))
        .await;
    let mut checked = 0;
    for (name, schema) in properties {
        let Some(default) = schema.get("default") else {
            continue;
        };
        let name = name.as_str().unwrap();
        let default: Value = serde_json::to_value(default).unwrap();
        assert_eq!(created[name], default, "CreateWebhook.{name}: {created}");
        checked += 1;
    }
    assert!(checked >= 5, "{checked}");
    // Stated in prose: HOOKRELAY_MAX_IN_FLIGHT_PER_WEBHOOK's default.
    let max = config_defaults()["HOOKRELAY_MAX_IN_FLIGHT_PER_WEBHOOK"]
        .clone()
        .unwrap();
    assert_eq!(created["max_in_flight"].to_string(), max);
    app.stop().await;
}
