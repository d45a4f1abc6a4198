//! A run's template variables, shared rather than copied (issue 25, item
//! 2): each value is converted for templates once, when it is set, and the
//! converted values are reference-counted, so a render takes a reference to
//! them instead of a copy of every response the run has kept.

use std::collections::BTreeMap;
use std::sync::Arc;

use minijinja::value::Value as JValue;
use serde_json::{Map, Value};

/// Template variables. Cheap to clone: a clone shares every value.
#[derive(Clone, Default)]
pub struct Scope {
    vars: Arc<BTreeMap<String, JValue>>,
}

impl Scope {
    /// The variables of `ctx`, converted once.
    pub fn from_map(ctx: &Map<String, Value>) -> Scope {
        Scope {
            vars: Arc::new(
                ctx.iter()
                    .map(|(k, v)| (k.clone(), to_template(v)))
                    .collect(),
            ),
        }
    }

    /// Sets `key` to `v`, converted now (the other values stay shared).
    pub fn set(&mut self, key: &str, v: &Value) {
        self.set_converted(key, to_template(v));
    }

    /// Sets `key` to a value already converted (a list of responses built
    /// from values converted earlier: nothing is converted again).
    pub fn set_converted(&mut self, key: &str, v: JValue) {
        Arc::make_mut(&mut self.vars).insert(key.to_string(), v);
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: &str) {
        if self.vars.contains_key(key) {
            Arc::make_mut(&mut self.vars).remove(key);
        }
    }

    /// The text of `key` as a template prints it, when set and not empty.
    pub fn text(&self, key: &str) -> Option<String> {
        let v = self.vars.get(key)?;
        let text = if v.is_undefined() || v.is_none() {
            String::new()
        } else {
            v.to_string()
        };
        (!text.is_empty()).then_some(text)
    }

    /// What a render sees: a new top-level map of shared values (one
    /// reference per variable, whatever their size).
    pub(super) fn root(&self) -> JValue {
        JValue::from_iter(self.vars.iter().map(|(k, v)| (k.clone(), v.clone())))
    }
}

#[cfg(test)]
thread_local! {
    /// JSON nodes converted for templates on this thread (tests count them).
    pub(super) static CONVERTED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// A JSON value as a template value. Built by hand because serde_json's
/// arbitrary-precision numbers do not serialize as plain numbers.
pub fn to_template(v: &Value) -> JValue {
    #[cfg(test)]
    CONVERTED.with(|c| c.set(c.get() + 1));
    match v {
        Value::Null => JValue::from(()),
        Value::Bool(b) => JValue::from(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                JValue::from(i)
            } else if let Some(u) = n.as_u64() {
                JValue::from(u)
            } else {
                JValue::from(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Value::String(s) => JValue::from(s.as_str()),
        Value::Array(a) => JValue::from_iter(a.iter().map(to_template)),
        Value::Object(o) => JValue::from_iter(o.iter().map(|(k, v)| (k.clone(), to_template(v)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::render::Renderer;
    use serde_json::json;

    /// Renders share the scope: after the values are set, rendering
    /// converts nothing, however many responses the run keeps.
    #[test]
    fn renders_share_the_scope_instead_of_copying_it() {
        let big: Vec<Value> = (0..2000).map(|i| json!({"id": i, "name": "x"})).collect();
        let mut scope = Scope::from_map(json!({"email": "a@b.c"}).as_object().unwrap());
        let responses: Vec<JValue> = (0..5)
            .map(|_| to_template(&Value::Array(big.clone())))
            .collect();
        scope.set_converted("responses", JValue::from(responses));
        let r = Renderer::new();
        let before = CONVERTED.with(|c| c.get());
        for _ in 0..50 {
            assert_eq!(
                r.text_in("{{ responses[4][1999].id }} {{ email }}", &scope)
                    .unwrap(),
                "1999 a@b.c"
            );
            let body = r
                .tree_in(&json!({"n": "{{ responses[0][3].id }}"}), &scope)
                .unwrap();
            assert_eq!(body, json!({"n": 3}));
        }
        let converted = CONVERTED.with(|c| c.get()) - before;
        assert_eq!(converted, 0, "renders converted {converted} values");
        // Setting one variable leaves the others shared.
        let copy = scope.clone();
        scope.set("email", &json!("d@e.f"));
        assert_eq!(CONVERTED.with(|c| c.get()) - before, 1);
        assert_eq!(copy.text("email").as_deref(), Some("a@b.c"));
        assert_eq!(scope.text("email").as_deref(), Some("d@e.f"));
    }
}
