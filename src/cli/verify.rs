//! `hookrelay verify`: checks a received webhook's signature (body on
//! stdin).

use std::process::ExitCode;

use super::VerifyArgs;

/// Exits 0 when the signature verifies, 1 when it does not, 2 on bad input.
pub fn main(args: VerifyArgs) -> ExitCode {
    use crate::verify::{self, BodyFormat, StandardHeaders};
    use std::io::Read;
    let mut body = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut body) {
        eprintln!("hookrelay verify: cannot read the body from stdin: {e}");
        return ExitCode::from(2);
    }
    let result = if args.scheme == "standard" {
        let (Some(id), Some(timestamp)) = (args.webhook_id.as_deref(), args.timestamp.as_deref())
        else {
            eprintln!("hookrelay verify: --scheme standard needs --webhook-id and --timestamp (the webhook-id and webhook-timestamp headers)");
            return ExitCode::from(2);
        };
        let headers = StandardHeaders {
            id,
            timestamp,
            signature: &args.signature,
        };
        let now = chrono::Utc::now().timestamp();
        verify::standard(&args.secret, &body, &headers, *args.tolerance, now)
    } else {
        let format = match args.format.as_str() {
            "form" => BodyFormat::Form,
            "json" => BodyFormat::Json,
            _ => BodyFormat::Auto,
        };
        verify::hrflow(&args.secret, &body, &args.signature, format)
    };
    match result {
        Ok(()) => {
            println!(
                "valid: the {} signature matches ({} body bytes)",
                args.scheme,
                body.len()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("invalid: {e}");
            ExitCode::FAILURE
        }
    }
}
