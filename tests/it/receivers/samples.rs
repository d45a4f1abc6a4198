//! The HrFlow docs' Python and Ruby `check_signature` samples, as written
//! there, still verify `hrflow` deliveries: Python over form bodies (its
//! `parse_qs` re-encoding), Ruby over JSON bodies (the raw bytes).

use serde_json::json;

use super::tool;
use crate::common::receiver::Receiver;
use crate::common::{event, run_python, run_with_stdin, Backend, TestApp};

const SECRET: &str = "wsk_8f1c2e0d4b7a49c3a1e6f5d2c9b8a7e6";

#[actix_web::test]
async fn seed_python_and_ruby_samples_verify_hrflow() {
    let python = tool("the HrFlow Python sample", "python3", &["-c", "0"]);
    let ruby = tool("the HrFlow Ruby sample", "ruby", &["-e", "0"]);
    if python.is_none() && ruby.is_none() {
        return;
    }
    let app = TestApp::start(Backend::Sqlite).await.unwrap();
    let rx = Receiver::start().await;
    for format in ["form", "json"] {
        app.create_webhook(json!({"name": format, "url": rx.url(&format!("/{format}")),
            "event_types": ["*"], "format": format, "signature_scheme": "hrflow", "secret": SECRET}))
            .await;
    }
    let mut e = event("profile.parsing.success", "k");
    e["message"] = json!("Zoë a reçu 😀");
    app.publish(e).await;
    let case = |path: &str, r: &crate::common::receiver::Received| {
        json!({"path": path, "secret": SECRET, "body": r.body,
            "signature": r.header("HTTP-HRFLOW-SIGNATURE")})
    };
    let form = case("form", &rx.wait_for("/form", 1).await[0]);
    let json_case = case("json", &rx.wait_for("/json", 1).await[0]);

    if let Some(python) = python {
        let out = run_python(&python, PYTHON_SAMPLE, &form);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "True False",
            "{out:?}"
        );
    }
    if let Some(ruby) = ruby {
        let out = run_with_stdin(&ruby, &["-e", RUBY_SAMPLE], &json_case);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            "true false",
            "{out:?}"
        );
    }
    rx.stop().await;
    app.stop().await;
}

/// `check_signature` as the HrFlow docs write it (with `urllib.parse`
/// imported explicitly); then the same body with one byte changed.
const PYTHON_SAMPLE: &str = r#"
import hmac
import hashlib
import json
import sys
import urllib.parse

def check_signature(secret, signature, body_str):
    body_dict = urllib.parse.parse_qs(body_str) # = {'team_name': ['yourteam'], 'type': ['profile.storing.success']}
    body_dict = {key:value[0] for key, value in body_dict.items()} # = {'team_name': 'yourteam', 'type': 'profile.storing.success'}
    # WARNING: the separators parameter is important to ensure there are no spaces in the encoded string
    encoded_body = json.dumps(body_dict, separators=(',', ':'))
    hasher = hmac.new(secret.encode('utf8'), encoded_body.encode('utf8'), hashlib.sha256)
    dig = hasher.hexdigest()
    return hmac.compare_digest(dig, signature)

c = json.load(sys.stdin)
print(check_signature(c["secret"], c["signature"], c["body"]),
      check_signature(c["secret"], c["signature"], c["body"].replace("origin=api", "origin=apx")))
"#;

/// `check_signature` as the HrFlow docs write it; then a changed body.
const RUBY_SAMPLE: &str = r#"
require 'openssl'
require 'json'
def check_signature(secret_key, request_signature, request_body)
  digest = OpenSSL::Digest.new('sha256')
  hmac = OpenSSL::HMAC.new(secret_key, digest)
  hmac.update(request_body)
  hmac.to_s == request_signature
end
c = JSON.parse(STDIN.read)
puts [check_signature(c['secret'], c['signature'], c['body']),
      check_signature(c['secret'], c['signature'], c['body'] + ' ')].join(' ')
"#;
