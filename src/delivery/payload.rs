//! What goes on the wire for a webhook: body, content type and signature.

use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub use crate::db::webhooks::Format;
use crate::db::webhooks::Webhook;
use crate::signing::{self, Signer};
use crate::vault::{webhook_secret_label, Vault};

/// One event ready to render: its JSON object and its entity field name.
pub struct EventDoc {
    pub object: Map<String, Value>,
    pub entity: String,
    /// Length of the JSON text it was parsed from (sizes the event cache).
    pub text_len: usize,
    /// Its single-event bodies, rendered once: every webhook of a format
    /// gets the same bytes, and an event usually goes to several.
    form: OnceLock<Arc<Rendered>>,
    json: OnceLock<Arc<Rendered>>,
}

impl EventDoc {
    /// Parses a stored payload; the entity is the type's first segment.
    pub fn from_payload(payload: &str) -> Result<EventDoc, String> {
        let object: Map<String, Value> = serde_json::from_str(payload)
            .map_err(|e| format!("stored event is not a JSON object: {e}"))?;
        let entity = object
            .get("type")
            .and_then(Value::as_str)
            .and_then(|t| t.split('.').next())
            .unwrap_or_default()
            .to_string();
        Ok(EventDoc {
            object,
            entity,
            text_len: payload.len(),
            form: OnceLock::new(),
            json: OnceLock::new(),
        })
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
}

impl Rendered {
    /// The bytes `HTTP-HRFLOW-SIGNATURE` signs.
    pub fn hrflow_input(&self) -> &str {
        self.hrflow_input.as_deref().unwrap_or(&self.body)
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

fn render_form(doc: &EventDoc) -> Rendered {
    let fields = signing::form_fields(&doc.object, &doc.entity);
    Rendered {
        content_type: "application/x-www-form-urlencoded",
        body: signing::form_body(&fields),
        hrflow_input: Some(signing::form_signing_input(&fields)),
    }
}

fn render_json(object: &Map<String, Value>) -> Rendered {
    Rendered {
        content_type: "application/json",
        body: signing::ascii_json(object),
        hrflow_input: None,
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
            let (format, batched, docs) = match v["format"].as_str().unwrap() {
                "form" => (Format::Form, false, vec![doc(&v["event"])]),
                "json" => (Format::Json, false, vec![doc(&v["event"])]),
                "json-batch" => (
                    Format::Json,
                    true,
                    v["event"]["events"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(doc)
                        .collect(),
                ),
                other => panic!("unknown vector format {other}"),
            };
            let refs: Vec<&EventDoc> = docs.iter().collect();
            let r = render(format, batched, &refs);
            assert_eq!(r.body, v["body"].as_str().unwrap(), "vector {i}: body");
            let signer = Signer::new(Scheme::Hrflow, secret.to_string(), None);
            let headers = signer.headers("evt_1", 0, &r.body, r.hrflow_input());
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

    fn doc(event: &Value) -> EventDoc {
        EventDoc::from_payload(&serde_json::to_string(event).unwrap()).unwrap()
    }
}
