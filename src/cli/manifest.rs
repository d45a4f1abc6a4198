//! `hookrelay manifest validate|run`: tools for manifest authors; a run
//! prints its step log and stores nothing.

use std::process::ExitCode;

use crate::manifest::run::{Outcome, RunInput, Runner, Services, UserContext};
use crate::manifest::{validate, Kind};
use serde_json::{Map, Value};

use super::ManifestAction;

/// Runs a manifest command.
pub fn main(action: ManifestAction) -> ExitCode {
    match action {
        ManifestAction::Validate { file, kind } => match load(&file, kind.as_deref()) {
            Ok((manifest, kind)) => {
                let report = validate::validate(&manifest, kind);
                for w in &report.warnings {
                    println!("warning: {w}");
                }
                for e in &report.errors {
                    println!("error: {e}");
                }
                if report.is_ok() {
                    println!("{}: a valid {} manifest", file.display(), kind.as_str());
                    ExitCode::SUCCESS
                } else {
                    println!("{}: {} problem(s)", file.display(), report.errors.len());
                    ExitCode::FAILURE
                }
            }
            Err(e) => fail(&e),
        },
        ManifestAction::Run {
            file,
            kind,
            config,
            form,
            user,
            allow_private_targets,
        } => {
            let rt = tokio::runtime::Runtime::new().expect("runtime");
            match rt.block_on(run(file, kind, config, form, user, allow_private_targets)) {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => fail(&e),
            }
        }
    }
}

fn fail(e: &str) -> ExitCode {
    eprintln!("hookrelay manifest: {e}");
    ExitCode::from(2)
}

fn load(file: &std::path::Path, kind: Option<&str>) -> Result<(Value, Kind), String> {
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    let manifest: Value =
        serde_json::from_str(&text).map_err(|e| format!("{} is not JSON: {e}", file.display()))?;
    let kind = match kind {
        Some(k) => Kind::parse(k).ok_or("--kind is webhook or sync_users")?,
        None => Kind::guess(&manifest),
    };
    Ok((manifest, kind))
}

fn pairs(list: &[String], flag: &str) -> Result<Map<String, Value>, String> {
    list.iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                .ok_or_else(|| format!("--{flag} takes ID=value, not '{kv}'"))
        })
        .collect()
}

async fn run(
    file: std::path::PathBuf,
    kind: Option<String>,
    config: Vec<String>,
    form: Vec<String>,
    user: Option<std::path::PathBuf>,
    allow_private: bool,
) -> Result<bool, String> {
    let (manifest, kind) = load(&file, kind.as_deref())?;
    let report = validate::validate(&manifest, kind);
    if !report.is_ok() {
        for e in &report.errors {
            println!("error: {e}");
        }
        return Ok(false);
    }
    let user = match user {
        Some(path) => {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut fields: Map<String, Value> = serde_json::from_str(&text)
                .map_err(|e| format!("{} is not a JSON object: {e}", path.display()))?;
            let extra = match fields.remove("extra_fields") {
                Some(Value::Object(o)) => o,
                _ => Map::new(),
            };
            let phone = fields
                .get("phone")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            Some(UserContext {
                builtins: fields,
                extra_fields: extra,
                phone,
            })
        }
        None => None,
    };
    let policy = crate::outbound::guard::TargetPolicy {
        allow_private,
        allowed: Vec::new(),
    };
    let clients = crate::outbound::HttpClients::new(
        std::time::Duration::from_secs(30),
        crate::outbound::guard::TargetPolicy {
            allow_private,
            allowed: Vec::new(),
        },
    )?;
    let env = |k: &str| std::env::var(k).ok();
    let notifier = crate::manifest::notify::Notifier::new(
        env("HOOKRELAY_SMTP_URL").as_deref(),
        &env("HOOKRELAY_SMTP_FROM").unwrap_or_else(|| "hookrelay <hookrelay@localhost>".into()),
        env("HOOKRELAY_SMS_URL").as_deref(),
        env("HOOKRELAY_SMS_TOKEN").as_deref(),
        reqwest::Client::new(),
    )?;
    let services = Services {
        http: clients.integrations().clone(),
        policy,
        notifier,
        renderer: crate::manifest::render::Renderer::new(),
        bounds: bounds_from_env(),
    };
    let form = pairs(&form, "form")?;
    crate::manifest::form::check(&manifest, &form)
        .map_err(|p| format!("--form {}: {}", p.key, p.message))?;
    let input = RunInput {
        // One run, outside any organization: no allowance is shared.
        organization: String::new(),
        manifest: manifest.clone(),
        user,
        config: pairs(&config, "config")?,
        oauth: None,
        form,
        redirect_url: "http://127.0.0.1:8080/oauth/callback".into(),
        resume: None,
    };
    let runner = Runner::new(&services, input);
    let (result, records) = match kind {
        Kind::Webhook => (runner.execute().await, None),
        Kind::SyncUsers => crate::manifest::sync::fetch(runner, &manifest).await,
    };
    for (i, s) in result.steps.iter().enumerate() {
        let status = s
            .status
            .map(|c| c.to_string())
            .unwrap_or_else(|| "-".into());
        println!(
            "#{i} {}: {} {} -> {status} ({} ms)",
            s.label, s.method, s.url, s.duration_ms
        );
        for (k, v) in &s.request_headers {
            println!("    > {k}: {}", v.as_str().unwrap_or_default());
        }
        if !s.request_body.is_empty() {
            println!("    > {}", s.request_body);
        }
        if !s.response_body.is_empty() {
            let body: String = s.response_body.chars().take(2000).collect();
            println!("    < {body}");
        }
        if let Some(e) = &s.error {
            println!("    ! {e}");
        }
    }
    if !result.stored.is_empty() {
        println!("stored: {}", Value::Object(result.stored.clone()));
    }
    if let Some(records) = records {
        for r in records {
            println!("record: {}", Value::Object(r));
        }
    }
    match result.outcome {
        Outcome::Succeeded => {
            println!("succeeded");
            Ok(true)
        }
        Outcome::Blocked { reason } => {
            println!("blocked: {reason}");
            Ok(false)
        }
        Outcome::Failed { error, .. } => {
            println!("failed: {error}");
            Ok(false)
        }
        // The command's runner never parks: it sleeps between attempts.
        Outcome::Waiting => {
            println!("failed: the run stopped to wait");
            Ok(false)
        }
    }
}

/// The run bounds `HOOKRELAY_RUN_MAX_RESPONSE_BYTES` and
/// `HOOKRELAY_RUN_MAX_KEPT_BYTES` set, as a server would apply them.
fn bounds_from_env() -> crate::manifest::run::RunBounds {
    let mut b = crate::manifest::run::RunBounds::default();
    let var = |k: &str| std::env::var(k).ok().and_then(|v| v.trim().parse().ok());
    if let Some(n) = var("HOOKRELAY_RUN_MAX_RESPONSE_BYTES") {
        b.response_bytes = n;
    }
    if let Some(n) = var("HOOKRELAY_RUN_MAX_KEPT_BYTES") {
        b.kept_bytes = n;
    }
    b
}
