//! One line saying why a request failed, for history and run logs.

/// `kind: innermost cause`, e.g. `connection failed: … loopback address`.
/// Never the URL: it may carry credentials, and callers mask what they quote.
pub fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "response body error"
    } else if e.is_request() {
        "request error"
    } else {
        "error"
    };
    // The innermost cause is the one that says what happened (the outer
    // ones are reqwest's and hyper's wrappers).
    let mut detail = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        detail = s.to_string();
        source = s.source();
    }
    if detail.is_empty() {
        kind.to_string()
    } else {
        format!("{kind}: {detail}")
    }
}
