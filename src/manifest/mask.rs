//! Secret masking for run logs: every configured value, generated value,
//! OAuth token field and Basic credential is replaced by `***KEY***` before
//! a step is stored.

use base64::Engine as _;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde_json::{Map, Value};

/// The secrets of one run, and what each is called in logs.
#[derive(Default, Clone)]
pub struct Masker {
    /// (secret, label), longest secret first once sorted.
    secrets: Vec<(String, String)>,
}

impl Masker {
    /// Adds a secret, in every encoding the runner itself can send it in;
    /// empty values are ignored.
    pub fn add(&mut self, secret: &str, label: &str) {
        if secret.is_empty() {
            return;
        }
        for form in encodings(secret) {
            if !self.secrets.iter().any(|(s, _)| *s == form) {
                self.secrets.push((form, label.to_string()));
            }
        }
        // Longest first, so a secret containing another is masked whole.
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.0.len()));
    }

    /// Adds the string leaves of a JSON object (`prefix.key`), e.g. an
    /// OAuth token. A field whose name says it is a credential (`*token`,
    /// `*key`, `*secret*`, `*password*`) is masked whatever its length;
    /// other leaves from 8 characters on: numbers and short words
    /// (`expires_in`, `"Bearer"`) are not secrets, and masking them would
    /// garble unrelated text.
    pub fn add_tree(&mut self, prefix: &str, v: &Value) {
        match v {
            Value::Object(o) => {
                for (k, v) in o {
                    self.add_tree(&format!("{prefix}.{k}"), v);
                }
            }
            Value::String(s) if s.len() >= 8 || names_a_credential(prefix) => self.add(s, prefix),
            _ => {}
        }
    }

    /// The longest text a secret is masked in (in any of its encodings):
    /// a log cut anywhere is masked over this much more than it keeps.
    pub fn longest(&self) -> usize {
        self.secrets.first().map_or(0, |(s, _)| s.len())
    }

    /// The first `cap` bytes of `text` (on a character boundary), masked.
    /// Masked before it is cut, so a secret the cut runs through is masked
    /// whole, never logged in part; whether it was cut.
    pub fn mask_capped(&self, text: &str, cap: usize) -> (String, bool) {
        if text.len() <= cap {
            return (self.mask(text), false);
        }
        let window = prefix(text, cap.saturating_add(self.longest()));
        (prefix(&self.mask(window), cap).to_string(), true)
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

/// Whether the last segment of a token field's path names a credential.
fn names_a_credential(path: &str) -> bool {
    let field = path.rsplit('.').next().unwrap_or(path).to_ascii_lowercase();
    // `access_token`, `refresh_token`, `id_token`, `client_secret`, `api_key`;
    // not `token_type`.
    field.ends_with("token")
        || field.ends_with("key")
        || field.contains("secret")
        || field.contains("password")
}

/// At most `n` bytes of `s`, cut on a character boundary.
fn prefix(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A secret as it can appear in a step: as is; form-encoded (bodies with
/// `x-www-form-urlencoded`, the OAuth `code` query); percent-encoded by the
/// `urlencode` filter (`/` kept) and strictly (RFC 3986 unreserved only);
/// as the url crate writes it into a query; JSON-escaped (JSON bodies and
/// echoes); base64 (Basic credentials are also added whole by `add_basic`).
fn encodings(secret: &str) -> Vec<String> {
    use url::form_urlencoded::byte_serialize;
    let json = serde_json::to_string(secret).unwrap_or_default();
    let mut out = vec![
        secret.to_string(),
        byte_serialize(secret.as_bytes()).collect(),
        percent(secret, UNRESERVED_SLASH),
        percent(secret, UNRESERVED),
        json[1..json.len() - 1].to_string(),
        base64::engine::general_purpose::STANDARD.encode(secret),
    ];
    // What the url crate leaves of it inside a query (`é` → `%C3%A9`…).
    if let Ok(u) = url::Url::parse(&format!("http://x/?{secret}")) {
        out.extend(u.query().map(str::to_string));
    }
    out.retain(|f| !f.is_empty());
    out.sort();
    out.dedup();
    out
}

/// RFC 3986 unreserved: every byte but ASCII letters, digits and `-._~`
/// is escaped.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// [`UNRESERVED`] keeping `/` too, as the `urlencode` filter does.
const UNRESERVED_SLASH: &AsciiSet = &UNRESERVED.remove(b'/');

/// Percent-encodes `s` with `set` (uppercase hex, as the filters write it).
fn percent(s: &str, set: &'static AsciiSet) -> String {
    utf8_percent_encode(s, set).to_string()
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

    /// A secret the log's cut runs through is masked whole (issue 25,
    /// item 11); short credential fields of a token are masked too.
    #[test]
    fn a_cut_never_leaves_part_of_a_secret() {
        let mut m = Masker::default();
        m.add("SECRET-0123456789", "TOKEN");
        let text = format!("{}SECRET-0123456789 and more", "x".repeat(100));
        for cap in 90..120 {
            let (logged, cut) = m.mask_capped(&text, cap);
            assert!(cut);
            assert!(logged.len() <= cap, "{cap}: {logged}");
            assert!(!logged.contains("SECRET-"), "{cap}: {logged}");
        }
        m.add_tree(
            "oauth",
            &serde_json::json!({"access_token": "ab12", "token_type": "bear"}),
        );
        assert_eq!(m.mask("t=ab12 bear"), "t=***oauth.access_token*** bear");
    }

    #[test]
    fn masks_every_encoding_the_runner_produces() {
        let secret = "s3~c/r+e&t\"q\\é x";
        let mut m = Masker::default();
        m.add(secret, "TOKEN");
        let sent = [
            secret.to_string(),
            url::form_urlencoded::byte_serialize(secret.as_bytes()).collect(),
            "s3~c/r%2Be%26t%22q%5C%C3%A9%20x".to_string(),
            "s3~c%2Fr%2Be%26t%22q%5C%C3%A9%20x".to_string(),
            serde_json::to_string(secret).unwrap(),
            base64::engine::general_purpose::STANDARD.encode(secret),
        ];
        for s in sent {
            let masked = m.mask(&format!("a={s}&b=1"));
            assert!(masked.contains("***TOKEN***"), "{s} -> {masked}");
            assert!(
                !masked.contains("r+e") && !masked.contains("r%2Be"),
                "{masked}"
            );
        }
    }
}
