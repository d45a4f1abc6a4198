//! What hookrelay shows of a URL that may carry credentials: in views for
//! callers who may not change the web hook, and in every event hookrelay
//! publishes itself (`webhook.disabled` goes to every subscriber and stays
//! in history, readable with `history:read`).

/// `url` with its credentials masked: user and password become `***`, and
/// so does every query value (`https://***:***@host/path?token=***`). Keys,
/// host and path stay, so the webhook can still be recognised.
pub fn redact_url(raw: &str) -> String {
    let Ok(mut url) = url::Url::parse(raw) else {
        // Stored URLs passed `check_url`; anything else shows nothing.
        return "***".into();
    };
    if !url.username().is_empty() {
        let _ = url.set_username("***");
    }
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if let Some(query) = url.query().map(mask_query) {
        url.set_query(Some(&query));
    }
    url.to_string()
}

/// `a=1&b&c=2` → `a=***&***&c=***`: keys kept, values (and bare items) masked.
fn mask_query(query: &str) -> String {
    query
        .split('&')
        .map(|item| match item.split_once('=') {
            Some((key, _)) => format!("{key}=***"),
            None if item.is_empty() => String::new(),
            None => "***".into(),
        })
        .collect::<Vec<_>>()
        .join("&")
}

#[cfg(test)]
mod tests {
    use super::redact_url;

    #[test]
    fn credentials_in_urls_are_masked() {
        assert_eq!(
            redact_url("https://user:pa55@example.com/hooks?token=abc&v=2"),
            "https://***:***@example.com/hooks?token=***&v=***"
        );
        assert_eq!(
            redact_url("https://tok@example.com/h?secret"),
            "https://***@example.com/h?***"
        );
        assert_eq!(
            redact_url("http://example.com:8080/plain"),
            "http://example.com:8080/plain"
        );
        assert_eq!(redact_url("not a url"), "***");
    }
}
