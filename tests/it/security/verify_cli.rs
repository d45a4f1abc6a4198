//! `hookrelay verify` on the signed-request schemes (the fixture's
//! independently computed vectors), and the hints it gives when a check
//! fails for a reason it can see: a final newline the request did not have,
//! or a value of another scheme.

use serde_json::Value;

/// Runs `hookrelay verify` with `args` and `stdin`: (exit code, stdout).
fn verify(args: &[&str], stdin: &[u8]) -> (Option<i32>, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_hookrelay"))
        .arg("verify")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

#[test]
fn verify_checks_signed_requests() {
    let raw = include_str!("../../fixtures/hrflow-signed-requests.json");
    let fixture: Value = serde_json::from_str(raw).unwrap();
    for v in fixture["vectors"].as_array().unwrap() {
        let secret = v["secret"].as_str().unwrap();
        let payload = v["payload"].as_str().unwrap();
        for scheme in ["hrflow_sdk", "signed_request"] {
            let value = v[scheme].as_str().unwrap();
            let args = ["--scheme", scheme, "--secret", secret, "--signature", value];
            let (code, out) = verify(&args, payload.as_bytes());
            assert_eq!(code, Some(0), "{scheme}: {out}");
            assert!(out.ends_with("the body carries the same event"), "{out}");
            // Tampered: one character of the payload part changed.
            let mut forged = value.to_string();
            let at = forged.len() - 8;
            let c = if &forged[at..=at] == "A" { "B" } else { "A" };
            forged.replace_range(at..=at, c);
            let (code, out) = verify(
                &[
                    "--scheme",
                    scheme,
                    "--secret",
                    secret,
                    "--signature",
                    &forged,
                ],
                b"",
            );
            assert_eq!(code, Some(1), "{scheme} tampered: {out}");
            assert!(out.starts_with("invalid: "), "{out}");
        }
    }
}

#[test]
fn verify_hints_name_the_likely_mistake() {
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let body = br#"{"type":"profile.parsing.success"}"#;

    // A body saved with a final newline.
    let sig = hookrelay::signing::hrflow_signature(secret, body);
    let with_newline = [&body[..], b"\n"].concat();
    let (code, out) = verify(&["--secret", secret, "--signature", &sig], &with_newline);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("hint: the signature matches the body without its final newline"),
        "{out}"
    );
    // A plain mismatch gives no such hint.
    let (_, out) = verify(
        &["--secret", "whsec_other", "--signature", &sig],
        &with_newline,
    );
    assert!(!out.contains("hint:"), "{out}");

    // A Webhook-Signature value checked in the HrFlow mode.
    let (code, out) = verify(
        &[
            "--secret",
            secret,
            "--signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ],
        body,
    );
    assert_eq!(code, Some(1));
    assert!(out.contains("--scheme standard"), "{out}");

    // A signed request checked in the hex mode, or as the other form.
    let sdk = hookrelay::signing::signed_request::sign(
        hookrelay::signing::signed_request::Form::Sdk,
        secret,
        body,
    );
    let (code, out) = verify(&["--secret", secret, "--signature", &sdk], body);
    assert_eq!(code, Some(1));
    assert!(out.contains("verifies with --scheme hrflow_sdk"), "{out}");
    let (code, out) = verify(
        &[
            "--scheme",
            "signed_request",
            "--secret",
            secret,
            "--signature",
            &sdk,
        ],
        body,
    );
    assert_eq!(code, Some(1));
    assert!(
        out.contains("it verifies with --scheme hrflow_sdk"),
        "{out}"
    );
}
