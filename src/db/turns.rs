//! Taking turns among organizations, for claims that share their room
//! fairly (deliveries' and runs'): the organizations with work, in id
//! order, starting after the one a cursor names and wrapping around to it.

use diesel::QueryResult;

/// Up to `max` organizations, in id order starting after `cursor` and
/// wrapping around to it; `next(after)` finds the first organization with
/// work whose id sorts after `after` (`""`: the first of all).
pub fn orgs_in_turn(
    cursor: &str,
    max: usize,
    mut next: impl FnMut(&str) -> QueryResult<Option<String>>,
) -> QueryResult<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    let mut at = cursor.to_string();
    // Starting from the beginning, the first pass sees every organization.
    let mut wrapped = cursor.is_empty();
    while out.len() < max {
        // Wrapped around to the cursor: the first pass saw what lies after.
        if wrapped && !cursor.is_empty() && at.as_str() >= cursor {
            break;
        }
        match next(&at)? {
            // Back past the cursor: every organization has had its turn.
            Some(o) if wrapped && !cursor.is_empty() && o.as_str() > cursor => break,
            Some(o) => {
                at.clone_from(&o);
                out.push(o);
            }
            None if !wrapped => {
                wrapped = true;
                at.clear();
            }
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::orgs_in_turn;

    /// The organizations with work, after the cursor first, each once.
    #[test]
    fn every_organization_takes_its_turn_once() {
        let orgs = ["org_1", "org_3", "org_5"];
        let next = |after: &str| Ok(orgs.iter().find(|o| **o > after).map(|o| o.to_string()));
        assert_eq!(orgs_in_turn("", 32, next).unwrap(), orgs);
        assert_eq!(
            orgs_in_turn("org_3", 32, next).unwrap(),
            ["org_5", "org_1", "org_3"]
        );
        assert_eq!(
            orgs_in_turn("org_2", 32, next).unwrap(),
            ["org_3", "org_5", "org_1"]
        );
        assert_eq!(orgs_in_turn("org_5", 2, next).unwrap(), ["org_1", "org_3"]);
    }
}
