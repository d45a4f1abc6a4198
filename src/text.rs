//! Checks of free-text inputs (names, person fields), shared by the API
//! and the services that take names (tokens), so neither imports the other.

use crate::error::{Error, Result};

/// A text field, trimmed, of at most 200 characters; `required` refuses blank.
pub fn check_text(field: &str, v: &str, required: bool) -> Result<String> {
    let t = v.trim();
    if (required && t.is_empty()) || t.chars().count() > 200 {
        let need = if required { "1" } else { "0" };
        return Err(Error::field(
            field,
            format!("{field} must be {need} to 200 characters"),
        ));
    }
    Ok(t.to_string())
}

/// A resource's `name`: 1 to 200 characters.
pub fn check_name(name: &str) -> Result<String> {
    check_text("name", name, true)
}
