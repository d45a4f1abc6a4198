//! What goes on the wire for a webhook: body, content type and signature.

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use crate::db::webhooks::Format;
use crate::db::webhooks::Webhook;
use crate::signing::{self, Signer, SigningInput};
use crate::vault::{webhook_secret_label, Vault};

/// One event ready to render: its JSON object and its entity field name.
pub struct EventDoc {
    pub object: Map<String, Value>,
    pub entity: String,
    /// Length of the JSON text it was parsed from (sizes the event cache).
    pub text_len: usize,
    /// The trace context it was published in: its deliveries' parent.
    pub traceparent: Option<String>,
    /// Its single-event bodies, rendered once: every webhook of a format
    /// gets the same bytes, and an event usually goes to several.
    form: OnceLock<Arc<Rendered>>,
    json: OnceLock<Arc<Rendered>>,
    /// `traceparent` parsed, once for all its web hooks' attempts.
    trace_context: OnceLock<Option<opentelemetry::Context>>,
}

impl EventDoc {
    /// Parses a stored payload; the entity is the type's first segment.
    pub fn from_payload(payload: &str) -> Result<EventDoc, String> {
        let object: Map<String, Value> = serde_json::from_str(payload)
            .map_err(|e| format!("stored event is not a JSON object: {e}"))?;
        let entity = signing::entity_field(&object);
        Ok(EventDoc {
            object,
            entity,
            text_len: payload.len(),
            traceparent: None,
            form: OnceLock::new(),
            json: OnceLock::new(),
            trace_context: OnceLock::new(),
        })
    }

    /// The trace it was published in, parsed on first need.
    pub fn trace_context(&self) -> Option<&opentelemetry::Context> {
        self.trace_context
            .get_or_init(|| {
                self.traceparent
                    .as_deref()
                    .map(crate::telemetry::stored_context)
            })
            .as_ref()
    }
}

/// A rendered request body.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub content_type: &'static str,
    pub body: String,
    /// What the HrFlow signature covers when it is not the body: a form's
    /// fields re-encoded as the receiver recomputes them.
    pub hrflow_input: Option<String>,
    /// For a form, the same event rendered as a JSON webhook's body: what a
    /// signed request (`hrflow_sdk`, `signed_request`) carries.
    pub json: Option<Arc<Rendered>>,
}

impl Rendered {
    /// What each signature of this request covers.
    pub fn signing_input(&self) -> SigningInput<'_> {
        SigningInput {
            body: &self.body,
            hrflow: self.hrflow_input.as_deref().unwrap_or(&self.body),
            json: self.json.as_ref().map_or(&self.body, |j| &j.body),
        }
    }
}

/// Renders `events` for a webhook. `batched` webhooks (max events per request
/// above one) always get `{"events": [...]}`, even for a single event, so a
/// receiver sees one shape. Signing happens at send time (`Signer`), since
/// Standard Webhooks signatures cover the send timestamp.
pub fn render(format: Format, batched: bool, events: &[&EventDoc]) -> Arc<Rendered> {
    let doc = events[0];
    match format {
        // Form webhooks are never batched (the API refuses it).
        Format::Form => doc.form.get_or_init(|| Arc::new(render_form(doc))).clone(),
        Format::Json if !batched => doc
            .json
            .get_or_init(|| Arc::new(render_json(&doc.object)))
            .clone(),
        Format::Json => {
            let list = events
                .iter()
                .map(|d| Value::Object(d.object.clone()))
                .collect();
            let mut wrapper = Map::new();
            wrapper.insert("events".into(), Value::Array(list));
            Arc::new(render_json(&wrapper))
        }
    }
}

/// A form body, with the event's JSON rendering beside it (shared with the
/// event's JSON webhooks) for signed requests.
fn render_form(doc: &EventDoc) -> Rendered {
    let fields = signing::form_fields(&doc.object, &doc.entity);
    Rendered {
        content_type: "application/x-www-form-urlencoded",
        body: signing::form_body(&fields),
        hrflow_input: Some(signing::form_signing_input(&fields)),
        json: Some(
            doc.json
                .get_or_init(|| Arc::new(render_json(&doc.object)))
                .clone(),
        ),
    }
}

fn render_json(object: &Map<String, Value>) -> Rendered {
    Rendered {
        content_type: "application/json",
        body: signing::ascii_json(object),
        hrflow_input: None,
        json: None,
    }
}

/// The signer of a webhook's requests at `now`, or `None` when it does not
/// sign. Fails only when its sealed secret cannot be opened.
pub fn signer_for(
    w: &Webhook,
    vault: &Vault,
    now: chrono::NaiveDateTime,
) -> Result<Option<Signer>, String> {
    if !w.signing {
        return Ok(None);
    }
    let open = |sealed: &str| {
        vault
            .open(sealed, &webhook_secret_label(&w.id))
            .map_err(|e| format!("cannot open the webhook's signing secret: {e}"))
    };
    let previous = match (&w.previous_secret, w.previous_secret_expires_at) {
        (Some(p), Some(until)) if until > now => Some(open(p)?),
        _ => None,
    };
    let scheme = w.signature_scheme;
    Ok(Some(Signer::new(scheme, open(&w.secret)?, previous)))
}

/// The `Webhook-Id` of a request: the event id, or for a batch a digest of
/// its event ids, so a retried or re-sent request keeps its id.
pub fn message_id(event_ids: &[String]) -> String {
    match event_ids {
        [one] => one.clone(),
        many => {
            let digest = Sha256::digest(many.join(",").as_bytes());
            format!("batch_{}", &hex::encode(digest)[..26])
        }
    }
}

#[cfg(test)]
mod tests {
    //! Every vector of the HrFlow signature fixture, byte for byte.
    use super::*;
    use crate::signing::Scheme;

    #[test]
    fn reproduces_every_hrflow_vector() {
        let raw = include_str!("../../tests/fixtures/hrflow-signatures.json");
        let fixture: Value = serde_json::from_str(raw).unwrap();
        let vectors = fixture["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 11);
        for (i, v) in vectors.iter().enumerate() {
            let secret = v["secret"].as_str().unwrap();
            let (format, batched, docs) = vector_events(v);
            let refs: Vec<&EventDoc> = docs.iter().collect();
            let r = render(format, batched, &refs);
            assert_eq!(r.body, v["body"].as_str().unwrap(), "vector {i}: body");
            let signer = Signer::new(Scheme::Hrflow, secret.to_string(), None);
            let headers = signer.headers("evt_1", 0, r.signing_input()).unwrap();
            assert_eq!(
                headers,
                vec![(
                    signing::HRFLOW_HEADER,
                    v["signature"].as_str().unwrap().to_string()
                )],
                "vector {i}: signature"
            );
        }
    }

    /// Both signed-request forms, from the events through `render` and the
    /// signer, as the fixture's independent Python computed them.
    #[test]
    fn reproduces_every_signed_request_vector() {
        let raw = include_str!("../../tests/fixtures/hrflow-signed-requests.json");
        let fixture: Value = serde_json::from_str(raw).unwrap();
        let vectors = fixture["vectors"].as_array().unwrap();
        assert!(vectors.len() >= 9);
        for (i, v) in vectors.iter().enumerate() {
            let secret = v["secret"].as_str().unwrap();
            let (format, batched, docs) = vector_events(v);
            let refs: Vec<&EventDoc> = docs.iter().collect();
            let r = render(format, batched, &refs);
            assert_eq!(
                r.signing_input().json,
                v["payload"].as_str().unwrap(),
                "vector {i}: payload"
            );
            for (scheme, key) in [
                (Scheme::HrflowSdk, "hrflow_sdk"),
                (Scheme::SignedRequest, "signed_request"),
            ] {
                let signer = Signer::new(scheme, secret.to_string(), None);
                let headers = signer.headers("evt_1", 0, r.signing_input()).unwrap();
                assert_eq!(
                    headers,
                    vec![(signing::HRFLOW_HEADER, v[key].as_str().unwrap().to_string())],
                    "vector {i}: {key}"
                );
            }
        }
    }

    /// A signed request whose header would pass 8 KiB is refused before it
    /// is built; one just under the limit is sent.
    #[test]
    fn signed_requests_stop_at_8_kib() {
        let limit = signing::MAX_HEADER_LINE;
        let event = |len: usize| {
            doc(&serde_json::json!({"type": "profile.parsing.success", "message": "m".repeat(len)}))
        };
        let signer = Signer::new(Scheme::HrflowSdk, "k".into(), None);
        let fits = |d: &EventDoc| {
            let r = render(Format::Json, false, &[d]);
            signer.headers("evt_1", 0, r.signing_input())
        };
        // The largest message that fits (binary search), then one byte more.
        let (mut len, mut over) = (0, limit);
        while over - len > 1 {
            let mid = (len + over) / 2;
            if fits(&event(mid)).is_ok() {
                len = mid;
            } else {
                over = mid;
            }
        }
        let ok = fits(&event(len)).unwrap();
        let line = signing::HRFLOW_HEADER.len() + 2 + ok[0].1.len();
        assert!(line <= limit && line > limit - 4, "{line}");
        let err = fits(&event(len + 1)).unwrap_err();
        assert!(err.bytes > limit && err.bytes <= limit + 4, "{err:?}");
        assert!(err.to_string().starts_with("header_too_large: "), "{err}");
    }

    /// A fixture vector's format, whether it is a batch, and its events.
    fn vector_events(v: &Value) -> (Format, bool, Vec<EventDoc>) {
        match v["format"].as_str().unwrap() {
            "form" => (Format::Form, false, vec![doc(&v["event"])]),
            "json" => (Format::Json, false, vec![doc(&v["event"])]),
            "json-batch" => {
                let events = v["event"]["events"].as_array().unwrap();
                (Format::Json, true, events.iter().map(doc).collect())
            }
            other => panic!("unknown vector format {other}"),
        }
    }

    fn doc(event: &Value) -> EventDoc {
        EventDoc::from_payload(&serde_json::to_string(event).unwrap()).unwrap()
    }
}
