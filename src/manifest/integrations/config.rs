//! An integration's `initial_data_form` values: which ids the manifest
//! asks for, and setting them, sealed under the integration and key.

use diesel::Connection;
use serde_json::{Map, Value};

use super::Integrations;
use crate::db::integrations::ConfigValue;
use crate::db::{time, DbConn};
use crate::error::{Error, Result};
use crate::manifest::render::plain_text;
use crate::vault::integration_config_label;

/// The ids an admin fills in (`generate` items are made per run).
pub fn config_ids(manifest: &Value) -> Vec<String> {
    manifest
        .get("initial_data_form")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| i.get("name").and_then(Value::as_str) != Some("generate"))
        .filter_map(|i| i.get("id").map(plain_text))
        .collect()
}

/// The ids of the integration's set values.
pub(super) fn set_ids(c: &mut DbConn, id: &str) -> Result<Vec<String>> {
    Ok(ConfigValue::for_integration(c, id)?
        .into_iter()
        .map(|v| v.key)
        .collect())
}

impl Integrations {
    /// Sets `initial_data_form` values, sealed (never shown again). Values
    /// not given are kept; `null` removes one. The manifest's config ids and
    /// those now set.
    pub async fn put_config(
        &self,
        org: String,
        id: String,
        values: Map<String, Value>,
    ) -> Result<(Vec<String>, Vec<String>)> {
        let i = self.find_integration(org, id).await?;
        let allowed = config_ids(&i.manifest_value());
        let mut updates: Vec<(String, Option<String>)> = Vec::new();
        for (k, v) in values {
            if !allowed.contains(&k) {
                return Err(Error::field(
                    format!("values.{k}"),
                    format!(
                        "'{k}' is not an initial_data_form id of this manifest; it asks for: {}",
                        allowed.join(", ")
                    ),
                ));
            }
            let text = match v {
                Value::Null => None,
                Value::String(s) => Some(s),
                Value::Number(n) => Some(n.to_string()),
                Value::Bool(b) => Some(b.to_string()),
                _ => return Err(Error::field(format!("values.{k}"), "values are strings")),
            };
            updates.push((k, text));
        }
        let vault = self.vault.clone();
        let (iid, org) = (i.id.clone(), i.organization_id.clone());
        let set = self
            .db
            .write(move |c| {
                c.transaction::<_, Error, _>(|c| {
                    let now = time::now();
                    let mut values: Vec<ConfigValue> = ConfigValue::for_integration(c, &iid)?;
                    for (k, v) in updates {
                        values.retain(|x| x.key != k);
                        if let Some(v) = v {
                            values.push(ConfigValue {
                                value: vault.seal(&v, &integration_config_label(&iid, &k)),
                                integration_id: iid.clone(),
                                key: k,
                                updated_at: now,
                                organization_id: org.clone(),
                            });
                        }
                    }
                    ConfigValue::replace_all(c, &iid, &values)?;
                    set_ids(c, &iid)
                })
            })
            .await?;
        Ok((allowed, set))
    }
}
