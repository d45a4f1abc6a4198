//! `hookrelay verify`: checks a received webhook's signature (body on
//! stdin), and when it fails, says what most likely went wrong.

use std::process::ExitCode;

use crate::verify::{self, BodyFormat, SignedRequestForm, StandardHeaders, VerifyError};

/// `hookrelay verify` arguments.
#[derive(clap::Args)]
pub struct VerifyArgs {
    /// The webhook's signing secret (`whsec_…`, or the one HrFlow issued).
    #[arg(long, env = "HOOKRELAY_VERIFY_SECRET", hide_env_values = true)]
    secret: String,
    /// `HTTP-HRFLOW-SIGNATURE`, or `Webhook-Signature` for `--scheme standard`.
    // base64url values may start with `-`.
    #[arg(long, allow_hyphen_values = true)]
    signature: String,
    /// The webhook's `signature_scheme` (`both`: pick `hrflow` or `standard`
    /// for the header you check).
    #[arg(long, value_parser = ["hrflow", "standard", "hrflow_sdk", "signed_request"], default_value = "hrflow")]
    scheme: String,
    /// `hrflow` only: how the body was sent (`auto` looks at it).
    #[arg(long, value_parser = ["form", "json", "auto"], default_value = "auto")]
    format: String,
    /// `standard` only: the `Webhook-Id` header.
    #[arg(long)]
    webhook_id: Option<String>,
    /// `standard` only: the `Webhook-Timestamp` header.
    #[arg(long)]
    timestamp: Option<String>,
    /// `standard` only: how far the timestamp may be from now.
    #[arg(long, default_value = "5m")]
    tolerance: humantime::Duration,
}

/// Exits 0 when the signature verifies, 1 when it does not, 2 on bad input.
pub fn main(args: VerifyArgs) -> ExitCode {
    use std::io::Read;
    let mut body = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut body) {
        eprintln!("hookrelay verify: cannot read the body from stdin: {e}");
        return ExitCode::from(2);
    }
    if args.scheme == "standard" && (args.webhook_id.is_none() || args.timestamp.is_none()) {
        eprintln!("hookrelay verify: --scheme standard needs --webhook-id and --timestamp (the Webhook-Id and Webhook-Timestamp headers)");
        return ExitCode::from(2);
    }
    let result = check(&args, &body);
    match result {
        Ok(note) => {
            println!(
                "valid: the {} signature matches ({} body bytes){note}",
                args.scheme,
                body.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("invalid: {e}");
            if let Some(hint) = hint(&args, &body, &e) {
                println!("hint: {hint}");
            }
            ExitCode::FAILURE
        }
    }
}

/// Verifies `body` as the scheme says; on success, a note to print after
/// `valid: …` (empty when there is nothing to add).
fn check(args: &VerifyArgs, body: &[u8]) -> Result<String, VerifyError> {
    match args.scheme.as_str() {
        "standard" => {
            let headers = StandardHeaders {
                id: args.webhook_id.as_deref().unwrap_or_default(),
                timestamp: args.timestamp.as_deref().unwrap_or_default(),
                signature: &args.signature,
            };
            let now = chrono::Utc::now().timestamp();
            verify::standard(&args.secret, body, &headers, *args.tolerance, now)?;
            Ok(String::new())
        }
        "hrflow_sdk" | "signed_request" => {
            let form = signed_form(&args.scheme);
            let payload = verify::signed_request(&args.secret, &args.signature, form)?;
            // The signature proves the payload in the header; the body is a
            // copy of it, which the receiver may or may not use.
            Ok(if body.is_empty() {
                format!("; it carries {} bytes of event JSON", payload.len())
            } else if verify::payload_matches_body(&payload, body) {
                "; the body carries the same event".to_string()
            } else if verify::payload_matches_body(&payload, trim_newline(body)) {
                "; the body carries the same event, apart from a final newline".to_string()
            } else {
                "; warning: the body is not the event the header carries (use the header's payload)"
                    .to_string()
            })
        }
        _ => {
            let format = match args.format.as_str() {
                "form" => BodyFormat::Form,
                "json" => BodyFormat::Json,
                _ => BodyFormat::Auto,
            };
            verify::hrflow(&args.secret, body, &args.signature, format)?;
            Ok(String::new())
        }
    }
}

fn signed_form(scheme: &str) -> SignedRequestForm {
    if scheme == "hrflow_sdk" {
        SignedRequestForm::Sdk
    } else {
        SignedRequestForm::Php
    }
}

/// The likeliest cause of a failure, when the input shows one: a value of
/// another scheme, or a body saved with a newline the request did not have.
fn hint(args: &VerifyArgs, body: &[u8], error: &VerifyError) -> Option<String> {
    let signature = args.signature.trim();
    if args.scheme != "standard" && signature.starts_with("v1,") {
        return Some("this is a Webhook-Signature value (Standard Webhooks): check it with --scheme standard --webhook-id <Webhook-Id> --timestamp <Webhook-Timestamp>".into());
    }
    if args.scheme == "hrflow" && signature.contains('.') {
        return Some(match other_form_verifies(args) {
            Some(scheme) => format!("this HTTP-HRFLOW-SIGNATURE is a signed request, and it verifies with --scheme {scheme}"),
            None => "this HTTP-HRFLOW-SIGNATURE is a signed request: check it with --scheme hrflow_sdk or --scheme signed_request (the webhook's signature_scheme)".into(),
        });
    }
    if matches!(args.scheme.as_str(), "hrflow_sdk" | "signed_request") {
        let other = if args.scheme == "hrflow_sdk" {
            "signed_request"
        } else {
            "hrflow_sdk"
        };
        let retried = verify::signed_request(&args.secret, signature, signed_form(other));
        if retried.is_ok() {
            return Some(format!(
                "it verifies with --scheme {other}: the webhook's signature_scheme is `{other}`"
            ));
        }
    }
    if *error == VerifyError::Mismatch
        && args.scheme != "hrflow_sdk"
        && args.scheme != "signed_request"
    {
        let trimmed = trim_newline(body);
        if trimmed.len() < body.len() && check(args, trimmed).is_ok() {
            return Some("the signature matches the body without its final newline: the file has a newline the request did not (an editor, `echo` or a copy from the terminal adds one); save the body as received, e.g. with `printf '%s'` or the sample receiver in docs/signatures.md".into());
        }
    }
    None
}

/// Which signed-request scheme, if any, verifies `args.signature`.
fn other_form_verifies(args: &VerifyArgs) -> Option<&'static str> {
    [
        ("hrflow_sdk", SignedRequestForm::Sdk),
        ("signed_request", SignedRequestForm::Php),
    ]
    .into_iter()
    .find(|(_, form)| verify::signed_request(&args.secret, &args.signature, *form).is_ok())
    .map(|(name, _)| name)
}

/// `body` without one final `\n` or `\r\n`.
fn trim_newline(body: &[u8]) -> &[u8] {
    let body = body.strip_suffix(b"\n").unwrap_or(body);
    body.strip_suffix(b"\r").unwrap_or(body)
}
