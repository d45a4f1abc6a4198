//! The receivers our users run, verifying real deliveries: the official
//! HrFlow Python SDK, the HrFlow docs' PHP, Python and Ruby samples, and
//! the Node example of docs/signatures.md; and the 8 KiB bound on a signed
//! request's header. Each client is skipped, with a `SKIPPED:` line, when
//! this machine lacks it (`.ci/run` installs them all).

mod header_size;
mod node;
mod php;
mod samples;
mod sdk;

use std::process::Command;

use serde_json::Value;

use crate::common::{notice, TestApp};

/// A command that runs `args` successfully, or `None` after a skip notice.
fn tool(what: &str, program: &str, args: &[&str]) -> Option<String> {
    let ok = Command::new(program)
        .args(args)
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        notice(&format!(
            "SKIPPED: {what}: `{program} {}` fails (.ci/run installs it)",
            args.join(" ")
        ));
    }
    ok.then(|| program.to_string())
}

/// The Python of `HOOKRELAY_TEST_PYTHON` (`python3` when unset), if it can
/// import `modules`.
pub(crate) fn python_with(what: &str, modules: &str) -> Option<String> {
    let python = std::env::var("HOOKRELAY_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    tool(what, &python, &["-c", &format!("import {modules}")])
}

/// The `(Webhook-Id, event)` of each receiver line `event <id> <json>`.
fn printed_events(lines: &[String]) -> Vec<(String, Value)> {
    lines
        .iter()
        .filter_map(|l| {
            let rest = &l[l.find("event ")? + "event ".len()..];
            let (id, json) = rest.split_once(' ')?;
            Some((id.to_string(), serde_json::from_str(json).ok()?))
        })
        .collect()
}

/// Polls until webhook `hook` has `n` history rows; returns them.
async fn history_rows(app: &TestApp, hook: &str, n: usize) -> Vec<Value> {
    crate::common::wait::until(
        &format!("{n} attempts of {hook}"),
        std::time::Duration::from_secs(30),
        || async move {
            let rows = app.all_history(&format!("webhook_id={hook}")).await;
            (rows.len() >= n).then_some(rows)
        },
    )
    .await
}
