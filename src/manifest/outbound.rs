pub use crate::outbound::{read::read_limited as read_capped, redirects::*}; // moved to crate::outbound (issue 15); remove once manifest imports from there
