//! Issue 25, hardening round two (items 3–7): one organization cannot read
//! another's counts, exhaust shared resources past its quotas, make pages
//! too big to serialize, or read credentials in events and cached answers.
//! One file per topic.

mod lanes;
mod leaks;
mod no_store;
mod notifications;
mod pages;
mod quotas;
mod sizes;
mod stats;
