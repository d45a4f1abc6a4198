//! Template rendering for manifests (minijinja), with the Django spellings
//! manifests are written in: `{{ x|default:"y" }}` works like
//! `{{ x|default("y") }}`. Missing values render as "" and nothing is
//! HTML-escaped (the reference's escaping corrupts values; see
//! docs/manifests.md).
//!
//! Bodies are rendered as a JSON tree, never as text: each string leaf is
//! rendered on its own, so the result is always valid JSON, and a leaf that
//! is exactly one `{{ expr }}` keeps the value's JSON type.

use std::sync::Arc;

mod django;
mod scope;

use django::{djangoize, urlencode};
use minijinja::value::Value as JValue;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::{Map, Value};

/// Instructions one render may execute. Real manifests use tens; a loop
/// written to spin a thread stops here (a few milliseconds of CPU).
pub const FUEL: u64 = 100_000;

/// Bytes one rendered template (or one typed value) may produce.
pub const OUTPUT_CAP: usize = 1024 * 1024;

/// A rendering environment with hookrelay's filters. Cheap to clone.
#[derive(Clone)]
pub struct Renderer {
    env: Arc<Environment<'static>>,
}

impl Default for Renderer {
    fn default() -> Self {
        Renderer::new()
    }
}

impl Renderer {
    pub fn new() -> Renderer {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Chainable);
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_keep_trailing_newline(true);
        // Django's `default` replaces every false value, not only undefined.
        env.add_filter("default", |v: JValue, fallback: Option<JValue>| {
            if v.is_true() {
                v
            } else {
                fallback.unwrap_or_else(|| JValue::from(""))
            }
        });
        env.add_filter("urlencode", |v: JValue| urlencode(&text_of(&v)));
        env.set_fuel(Some(FUEL));
        Renderer { env: Arc::new(env) }
    }

    /// [`Renderer::text`] on the blocking pool: a template is the manifest
    /// author's code, and even with its fuel budget it is not run on the
    /// threads that serve the API and deliveries. The scope is shared with
    /// the render (a reference), never copied.
    pub async fn text_off_runtime(&self, template: String, scope: Scope) -> Result<String, String> {
        if !is_template(&template) {
            return Ok(template);
        }
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.text_in(&template, &scope))
            .await
            .map_err(|e| format!("rendering failed: {e}"))?
    }

    /// [`Renderer::tree`] on the blocking pool.
    pub async fn tree_off_runtime(&self, v: Value, scope: Scope) -> Result<Value, String> {
        let me = self.clone();
        tokio::task::spawn_blocking(move || me.tree_in(&v, &scope))
            .await
            .map_err(|e| format!("rendering failed: {e}"))?
    }

    /// Renders a template string to text with the variables of `ctx`.
    pub fn text(&self, template: &str, ctx: &Map<String, Value>) -> Result<String, String> {
        self.text_in(template, &Scope::from_map(ctx))
    }

    /// Renders every string (keys too) of a JSON tree with `ctx`.
    pub fn tree(&self, v: &Value, ctx: &Map<String, Value>) -> Result<Value, String> {
        self.tree_in(v, &Scope::from_map(ctx))
    }

    /// Renders a template string to text (at most [`OUTPUT_CAP`] bytes,
    /// within [`FUEL`]).
    pub fn text_in(&self, template: &str, scope: &Scope) -> Result<String, String> {
        if !is_template(template) {
            return Ok(template.to_string());
        }
        let source = djangoize(template);
        let err = |e: &dyn std::fmt::Display| format!("template error in {template:?}: {e}");
        let compiled = self.env.template_from_str(&source).map_err(|e| err(&e))?;
        let mut out = Capped::default();
        let rendered = compiled
            .render_captured_to(scope.root(), &mut out)
            .map(|_| ());
        match rendered {
            Ok(()) => Ok(String::from_utf8_lossy(&out.bytes).into_owned()),
            Err(_) if out.over => Err(err(&format!(
                "the output is larger than {OUTPUT_CAP} bytes"
            ))),
            Err(e) => Err(err(&e)),
        }
    }

    /// Renders every string (keys too) of a JSON tree.
    pub fn tree_in(&self, v: &Value, scope: &Scope) -> Result<Value, String> {
        Ok(match v {
            Value::String(s) => match single_expression(s) {
                Some(expr) => self.expression(expr, scope)?,
                None => Value::String(self.text_in(s, scope)?),
            },
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|i| self.tree_in(i, scope))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(o) => {
                let mut out = Map::with_capacity(o.len());
                for (k, v) in o {
                    out.insert(self.text_in(k, scope)?, self.tree_in(v, scope)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }

    /// Evaluates one expression to a JSON value (undefined → "").
    fn expression(&self, expr: &str, scope: &Scope) -> Result<Value, String> {
        let source = djangoize(expr);
        let compiled = self
            .env
            .compile_expression(&source)
            .map_err(|e| format!("template error in {expr:?}: {e}"))?;
        let v = compiled
            .eval(scope.root())
            .map_err(|e| format!("template error in {expr:?}: {e}"))?;
        if v.is_undefined() || v.is_none() {
            return Ok(Value::String(String::new()));
        }
        if v.as_str().is_some_and(|s| s.len() > OUTPUT_CAP) {
            return Err(format!(
                "template error in {expr:?}: the value is larger than {OUTPUT_CAP} bytes"
            ));
        }
        serde_json::to_value(&v).map_err(|e| format!("template value of {expr:?}: {e}"))
    }
}

fn is_template(s: &str) -> bool {
    s.contains("{{") || s.contains("{%")
}

/// Output that refuses to grow past [`OUTPUT_CAP`].
#[derive(Default)]
struct Capped {
    bytes: Vec<u8>,
    over: bool,
}

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > OUTPUT_CAP {
            self.over = true;
            return Err(std::io::Error::other("output cap"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub use scope::{to_template, Scope};

/// `{{ expr }}` and nothing else → `expr`.
fn single_expression(s: &str) -> Option<&str> {
    let inner = s.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    (!inner.contains("{{") && !inner.contains("}}")).then_some(inner.trim())
}

fn text_of(v: &JValue) -> String {
    if v.is_undefined() || v.is_none() {
        String::new()
    } else {
        v.to_string()
    }
}

/// Looks up a dotted notation in a response: each segment is a key, or for
/// a list an index (negative counts from the end). `""` is the whole value.
pub fn lookup<'a>(value: &'a Value, notation: &str) -> Option<&'a Value> {
    if notation.is_empty() {
        return Some(value);
    }
    let mut cur = value;
    for seg in notation.split('.') {
        cur = match cur {
            Value::Object(o) => o.get(seg)?,
            Value::Array(a) => {
                let i: i64 = seg.parse().ok()?;
                let idx = if i < 0 { a.len() as i64 + i } else { i };
                a.get(usize::try_from(idx).ok()?)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

/// A value's text as a template would print it (strings without quotes).
pub fn plain_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Django's `urlencode`: `/` and RFC 3986 unreserved kept, uppercase hex.
    #[test]
    fn urlencode_matches_django() {
        assert_eq!(
            urlencode("s3~c/r+e&t\"q\\é x_.-"),
            "s3~c/r%2Be%26t%22q%5C%C3%A9%20x_.-"
        );
    }

    fn ctx() -> Map<String, Value> {
        json!({
            "email": "o'brien&co@example.com",
            "first_name": "Zoë",
            "teams": ["a", "b"],
            "count": 3,
            "responses": [{"d": {"a": [10, 20]}}],
            "empty": "",
        })
        .as_object()
        .unwrap()
        .clone()
    }

    #[test]
    fn text_is_never_escaped_and_missing_is_empty() {
        let r = Renderer::new();
        let c = ctx();
        assert_eq!(r.text("{{email}}", &c).unwrap(), "o'brien&co@example.com");
        assert_eq!(r.text("x{{ nope.deeper.still }}y", &c).unwrap(), "xy");
        assert_eq!(r.text("{{ responses.0.d.a.1 }}", &c).unwrap(), "20");
        assert_eq!(r.text("{{ first_name|upper }}", &c).unwrap(), "ZOË");
        assert_eq!(r.text("{{ empty|default:\"n/a\" }}", &c).unwrap(), "n/a");
        assert_eq!(
            r.text("{{ email|urlencode }}", &c).unwrap(),
            "o%27brien%26co%40example.com"
        );
        assert_eq!(
            r.text("{% if count > 2 %}many{% endif %}", &c).unwrap(),
            "many"
        );
    }

    #[test]
    fn trees_keep_types_and_stay_valid_json() {
        let r = Renderer::new();
        let body = json!({"user": "{{ email }}", "teams": "{{ teams }}", "n": "{{count}}", "s": "n={{count}}", "q": "say \"{{ first_name }}\"\n"});
        let out = r.tree(&body, &ctx()).unwrap();
        assert_eq!(
            out,
            json!({"user": "o'brien&co@example.com", "teams": ["a", "b"], "n": 3, "s": "n=3", "q": "say \"Zoë\"\n"})
        );
    }

    #[test]
    fn templates_have_a_budget() {
        let r = Renderer::new();
        let c = ctx();
        let started = std::time::Instant::now();
        let spin = "{% for i in range(100000) %}{% for j in range(200) %}{% endfor %}{% endfor %}";
        let e = r.text(spin, &c).unwrap_err();
        assert!(e.contains("fuel"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        let e = r.text("{{ 'x' * 5000000 }}", &c).unwrap_err();
        assert!(e.contains("larger than"), "{e}");
        let e = r
            .tree(&json!({"a": "{{ 'x' * 5000000 }}"}), &c)
            .unwrap_err();
        assert!(e.contains("larger than"), "{e}");
        // Ordinary templates are far inside it.
        assert_eq!(
            r.text("{% for t in teams %}{{ t }}{% endfor %}", &c)
                .unwrap(),
            "ab"
        );
    }

    #[test]
    fn lookups_follow_keys_then_indexes() {
        let v = json!({"a": {"0": "key"}, "l": [1, {"x": true}]});
        assert_eq!(lookup(&v, "a.0"), Some(&json!("key")));
        assert_eq!(lookup(&v, "l.1.x"), Some(&json!(true)));
        assert_eq!(lookup(&v, "l.-1.x"), Some(&json!(true)));
        assert_eq!(lookup(&v, "l.5"), None);
        assert_eq!(lookup(&v, ""), Some(&v));
    }
}
