//! What makes manifests written for Django render in minijinja: filter
//! arguments in Django's spelling, and Django's `urlencode`.

/// What Django's `urlencode` escapes: all but ASCII letters, digits and
/// `_.-~/` (it keeps `/`).
const URLENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'_')
    .remove(b'.')
    .remove(b'-')
    .remove(b'~')
    .remove(b'/');

/// Percent-encodes like Django's `urlencode` (`/` kept).
pub(super) fn urlencode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, URLENCODE).to_string()
}

/// Rewrites Django filter arguments (`|name:arg`) into minijinja calls
/// (`|name(arg)`), outside string literals.
pub(super) fn djangoize(src: &str) -> String {
    if !src.contains('|') {
        return src.to_string();
    }
    let chars: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len() + 8);
    let mut i = 0;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            out.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '"' || c == '\'' {
            quote = Some(c);
            out.push(c);
            i += 1;
            continue;
        }
        if c != '|' {
            out.push(c);
            i += 1;
            continue;
        }
        // `|` then optional spaces, a filter name, then maybe `:arg`.
        out.push('|');
        i += 1;
        while i < chars.len() && chars[i] == ' ' {
            out.push(' ');
            i += 1;
        }
        while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
            out.push(chars[i]);
            i += 1;
        }
        if i < chars.len() && chars[i] == ':' {
            i += 1;
            let mut arg = String::new();
            if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
                let q = chars[i];
                arg.push(q);
                i += 1;
                while i < chars.len() && chars[i] != q {
                    arg.push(chars[i]);
                    i += 1;
                }
                if i < chars.len() {
                    arg.push(q);
                    i += 1;
                }
            } else {
                while i < chars.len() && (chars[i].is_alphanumeric() || "._-".contains(chars[i])) {
                    arg.push(chars[i]);
                    i += 1;
                }
            }
            out.push('(');
            out.push_str(&arg);
            out.push(')');
        }
    }
    out
}
