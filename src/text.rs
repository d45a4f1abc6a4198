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

/// The candidate closest to `given` by edit distance, when it is close
/// enough to be what a typo meant (`profiles.*` → `profile.*`), for "did
/// you mean" hints; ties go to the first candidate.
pub fn closest<'a>(given: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let (best, distance) = candidates
        .into_iter()
        .map(|c| (c, edit_distance(given, c)))
        .min_by_key(|&(_, d)| d)?;
    // Two edits always, more in longer names, never half of the name.
    let close = distance <= 2 || distance * 4 <= given.chars().count();
    (distance > 0 && close).then_some(best)
}

/// Levenshtein distance in characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = diagonal + usize::from(ca != cb);
            diagonal = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(diagonal + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn closest_suggests_only_likely_typos() {
        let names = ["profile.*", "job.*", "profile.parsing.*", "user.*"];
        assert_eq!(closest("profiles.*", names), Some("profile.*"));
        assert_eq!(closest("jobs.*", names), Some("job.*"));
        assert_eq!(
            closest("profile.parsng.*", names),
            Some("profile.parsing.*")
        );
        assert_eq!(closest("candidate.*", names), None);
        assert_eq!(
            closest("profile.*", names),
            None,
            "an exact match is no typo"
        );
        assert_eq!(closest("x", []), None);
    }
}
