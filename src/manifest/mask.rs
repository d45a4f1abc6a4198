//! Secret masking for run logs: every configured value, generated value,
//! OAuth token field and Basic credential is replaced by `***KEY***` before
//! a step is stored.

use base64::Engine as _;
use serde_json::{Map, Value};

/// The secrets of one run, and what each is called in logs.
#[derive(Default, Clone)]
pub struct Masker {
    /// (secret, label), longest secret first once sorted.
    secrets: Vec<(String, String)>,
}

impl Masker {
    /// Adds a secret; empty values are ignored.
    pub fn add(&mut self, secret: &str, label: &str) {
        if secret.is_empty() || self.secrets.iter().any(|(s, _)| s == secret) {
            return;
        }
        self.secrets.push((secret.to_string(), label.to_string()));
        // Longest first, so a secret containing another is masked whole.
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
    }

    /// Adds the string leaves of a JSON object (`prefix.key`), e.g. an
    /// OAuth token. Numbers and short words (`expires_in`, `"Bearer"`) are
    /// not secrets, and masking them would garble unrelated text.
    pub fn add_tree(&mut self, prefix: &str, v: &Value) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    self.add_tree(&format!("{prefix}.{k}"), v);
                }
            }
            Value::String(s) if s.len() >= 8 => self.add(s, prefix),
            _ => {}
        }
    }

    /// Adds Basic credentials in clear and as sent (base64).
    pub fn add_basic(&mut self, credentials: &str) {
        self.add(credentials, "basic credentials");
        let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
        self.add(&encoded, "basic credentials");
    }

    /// Adds every value of a config map under its id.
    pub fn add_config(&mut self, config: &Map<String, Value>) {
        for (k, v) in config {
            match v {
                Value::String(s) => self.add(s, k),
                Value::Number(n) => self.add(&n.to_string(), k),
                _ => {}
            }
        }
    }

    /// The text with every secret replaced.
    pub fn mask(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (secret, label) in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), &format!("***{label}***"));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_longest_first_and_encoded_basic() {
        let mut m = Masker::default();
        m.add("abc", "SHORT");
        m.add("abcdef", "LONG");
        m.add_basic("me:pw");
        assert_eq!(m.mask("x abcdef abc"), "x ***LONG*** ***SHORT***");
        assert_eq!(m.mask("Basic bWU6cHc="), "Basic ***basic credentials***");
    }
}
