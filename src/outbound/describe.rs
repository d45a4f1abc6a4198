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
    let detail = std::error::Error::source(e).map(innermost);
    match detail.filter(|d| !d.is_empty()) {
        Some(detail) => format!("{kind}: {detail}"),
        None => kind.to_string(),
    }
}

/// The innermost cause of `e` (or `e` itself): the one that says what
/// happened, the outer ones being reqwest's and hyper's wrappers.
pub fn innermost(e: &(dyn std::error::Error + 'static)) -> String {
    let mut last = e;
    while let Some(s) = last.source() {
        last = s;
    }
    last.to_string()
}
