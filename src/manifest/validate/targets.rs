//! Where a manifest's requests may go and what they may say about it:
//! only `http` and `https` URLs, and none of the headers that route or
//! frame a request (`Host`, `Connection`, `Content-Length`, …), which
//! hookrelay sets itself. Checked on the manifest as written (issue 25,
//! items 8 and 9) and again on what templates render, at run time.

use serde_json::Value;

use super::{join, Checker};

/// Headers a manifest may not set: the request's routing (`Host` and the
/// forwarding headers proxies route on), its framing (`Content-Length`,
/// `Transfer-Encoding`) and the connection-level (hop-by-hop) headers of
/// RFC 9110 §7.6.1. hookrelay derives all of them from the URL and body.
pub const FORBIDDEN_HEADERS: &[&str] = &[
    "Host",
    "Connection",
    "Keep-Alive",
    "Proxy-Connection",
    "Transfer-Encoding",
    "TE",
    "Trailer",
    "Upgrade",
    "Content-Length",
    "Expect",
    "Proxy-Authorization",
    "Forwarded",
    "X-Forwarded-For",
    "X-Forwarded-Host",
    "X-Forwarded-Proto",
    "X-Real-IP",
];

/// Why header `name` may not be sent, if it may not (names compare
/// without regard to case; HTTP/2 pseudo-headers such as `:authority` are
/// refused too).
pub fn header_refusal(name: &str) -> Option<String> {
    let name = name.trim();
    let forbidden = name.starts_with(':')
        || FORBIDDEN_HEADERS
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name));
    forbidden.then(|| {
        format!(
            "the header {name} may not be set by a manifest: hookrelay sets the routing and \
             connection headers ({}) itself",
            FORBIDDEN_HEADERS.join(", ")
        )
    })
}

/// Why a URL as rendered may not be requested, if it may not: it must be
/// an absolute `http` or `https` URL.
pub fn url_refusal(url: &url::Url) -> Option<String> {
    (!matches!(url.scheme(), "http" | "https")).then(|| {
        format!(
            "the URL's scheme is {}: only http and https URLs are requested",
            url.scheme()
        )
    })
}

/// What a URL template as written says of its scheme: the text before its
/// first template tag is all that is known before rendering.
fn template_refusal(template: &str) -> Option<String> {
    let t = template.trim();
    let literal_end = [t.find("{{"), t.find("{%")]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(t.len());
    let literal = &t[..literal_end];
    match literal.split_once(':') {
        // `https:`, `HTTP:`: fine. Anything else before a colon is a scheme
        // (`javascript:`, `file:`, `localhost:` as a URL parser reads it).
        Some((scheme, _)) if !scheme.contains(['/', '?', '#']) => {
            (!matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https"))
                .then(|| format!("must be an http or https URL; the scheme {scheme}: is refused"))
        }
        // Wholly literal and without a scheme: relative, never requestable.
        _ if literal_end == t.len() => {
            Some("must be an absolute http or https URL (https://…)".to_string())
        }
        // It starts with a template (`{{ BASE_URL }}/users`): checked once rendered.
        _ => None,
    }
}

impl Checker {
    /// `key` of `o`, when present and a string, is an http(s) URL template.
    pub(super) fn url(&mut self, o: &serde_json::Map<String, Value>, key: &str, path: &str) {
        if let Some(Value::String(s)) = o.get(key) {
            if s.trim().is_empty() {
                return;
            }
            if let Some(why) = template_refusal(s) {
                self.error(&join(path, key), &why);
            }
        }
    }

    /// A headers object: string values, and no header hookrelay sets itself.
    pub(super) fn headers(&mut self, v: &Value, path: &str) {
        self.string_map(v, path);
        if let Some(o) = v.as_object() {
            for name in o.keys() {
                if let Some(why) = header_refusal(name) {
                    self.error(&join(path, name), &why);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_http_and_https_templates_pass() {
        for ok in [
            "https://x.example/a",
            "HTTP://x.example",
            " https://{{ HOST }}/a",
            "{{ BASE_URL }}/users",
            "http://[{{ X }}/teams",
            "https://x.example/a?next=javascript:1",
        ] {
            assert_eq!(template_refusal(ok), None, "{ok}");
        }
        for bad in [
            "javascript:alert(document.domain)//{{ X }}",
            "JavaScript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<script>",
            "localhost:8000/x",
            "/relative/path",
            "example.com/users",
        ] {
            assert!(template_refusal(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn routing_headers_are_refused_whatever_their_case() {
        for h in [
            "Host",
            "host",
            "CONTENT-LENGTH",
            "Transfer-Encoding",
            ":authority",
            " Connection ",
        ] {
            let why = header_refusal(h).unwrap_or_else(|| panic!("{h} accepted"));
            assert!(why.contains(h.trim()), "{why}");
        }
        for h in ["Authorization", "Content-Type", "X-Api-Key", "Accept"] {
            assert_eq!(header_refusal(h), None, "{h}");
        }
    }
}
