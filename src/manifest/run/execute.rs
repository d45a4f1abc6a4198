//! The manifest's parts a run goes through: `execute` (with polling,
//! `continue_if`, `store_data` and the notifications after it), `exists`,
//! `revoke` and form options.

use std::time::Duration;

use minijinja::value::Value as JValue;
use serde_json::{Map, Value};

use super::notify::Notification;
use super::park::Parked;
use super::{cap, failed, list, Access, Outcome, Response, RunResult, Runner, EXISTS_TIMEOUT};
use crate::manifest::render::{lookup, plain_text, to_template};

/// How polling ended: with the last result, or stopped to wait.
pub(super) enum Polled {
    Done(Result<Response, String>),
    /// `made` requests so far; the next one after `after`.
    Park {
        made: u64,
        after: Duration,
    },
}

impl Runner<'_> {
    /// The `execute` items in order, then the notifications.
    pub async fn execute(mut self) -> RunResult {
        let (outcome, last) = self.execute_items(true).await;
        self.finish(outcome, last)
    }

    /// The `execute` items (and, with `notify`, the notifications): the
    /// outcome and the last response. A resumed run starts again at the
    /// item it was polling, with its next request.
    pub async fn execute_items(&mut self, notify: bool) -> (Outcome, Option<Value>) {
        if let Err(e) = self.refresh_if_due().await {
            return (failed(e, true), None);
        }
        let items: Vec<Value> = list(&self.manifest, "execute").cloned().collect();
        let resume = self.parking.take_resume();
        let mut last = None;
        for (i, item) in items.iter().enumerate() {
            if resume.is_some_and(|(at, _)| i < at) {
                continue;
            }
            let label = format!("execute[{i}]");
            let result = match (item.get("polling"), resume) {
                (Some(polling), Some((at, made))) if at == i => {
                    // The wait happened in the queue: the next attempt now.
                    let made = made + 1;
                    let r = self.request(item, &format!("{label} poll {made}")).await;
                    self.poll(item, polling, &label, r, made).await
                }
                (Some(polling), _) => {
                    let r = self.request(item, &label).await;
                    self.poll(item, polling, &label, r, 1).await
                }
                (None, _) => Polled::Done(self.request(item, &label).await),
            };
            let result = match result {
                Polled::Done(r) => r,
                Polled::Park { made, after } => {
                    self.parking.park(Parked {
                        item: i,
                        made,
                        after,
                    });
                    return (Outcome::Waiting, None);
                }
            };
            if let Some(cond) = item.get("continue_if") {
                if !self.condition_holds(cond, result.as_ref().ok()).await {
                    let shown = match &result {
                        Ok(r) => self.masker.mask(&r.text_or_json()),
                        Err(e) => e.clone(),
                    };
                    let reason = format!(
                        "{label}: continue_if {} == {:?} did not hold; response: {}",
                        cond.get("response_notation")
                            .map(plain_text)
                            .unwrap_or_default(),
                        cond.get("value").map(plain_text).unwrap_or_default(),
                        cap(&shown, 2000)
                    );
                    return (Outcome::Blocked { reason }, None);
                }
            }
            let response = match result {
                Ok(r) => r,
                Err(e) => return (failed(format!("{label}: {e}"), true), None),
            };
            if let Err(e) = self.keep_response(item, &label, &response) {
                self.fail_last_step(&e);
                return (failed(e, false), None);
            }
            let parsed = response.json.unwrap_or(Value::Object(Map::new()));
            if let Some(name) = item.get("save_as_file").and_then(Value::as_str) {
                self.kept.files.insert(name.to_string(), response.bytes);
            }
            // Converted once for templates; the list shares the earlier ones.
            self.kept.responses.push(to_template(&parsed));
            self.scope
                .set_converted("responses", JValue::from(self.kept.responses.clone()));
            if let Some(Value::Object(store)) = item.get("store_data") {
                for (prop, notation) in store {
                    let notation = plain_text(notation);
                    match lookup(&parsed, &notation) {
                        Some(v) => {
                            self.kept.stored.insert(prop.clone(), v.clone());
                            self.set(prop, v.clone());
                        }
                        None => {
                            let shown = self.masker.mask(&parsed.to_string());
                            let error = format!(
                                "{label}: store_data {prop}: '{notation}' not found in the response {}",
                                cap(&shown, 2000)
                            );
                            return (failed(error, false), None);
                        }
                    }
                }
            }
            last = Some(parsed);
        }
        if notify {
            self.notify().await;
        }
        (Outcome::Succeeded, last)
    }

    /// Counts what an item's response leaves with the run: its parsed body
    /// (`responses.N`) and, with `save_as_file`, its bytes.
    fn keep_response(&mut self, item: &Value, label: &str, r: &Response) -> Result<(), String> {
        let file = if item.get("save_as_file").is_some() {
            r.size
        } else {
            0
        };
        let parsed = if r.json.is_some() { r.size } else { 0 };
        self.kept
            .keep(file + parsed, &format!("the response of {label}"))
            .map_err(|e| format!("{label}: {e}"))
    }

    /// Sends every `post_execute_notification`, logging each as a step.
    async fn notify(&mut self) {
        let items: Vec<Value> = list(&self.manifest, "post_execute_notification")
            .cloned()
            .collect();
        for (i, n) in items.iter().enumerate() {
            let field = |k: &str| n.get(k).map(plain_text).unwrap_or_default();
            let note = Notification {
                to: self.render_or_keep(field("to")).await,
                subject: self.render_or_keep(field("subject")).await,
                message: self.render_or_keep(field("message")).await,
                kind: n
                    .get("type")
                    .and_then(Value::as_str)
                    .unwrap_or("email")
                    .to_string(),
            };
            let label = format!("post_execute_notification[{i}]");
            let mut step = note
                .send(&self.svc.notifier, &self.organization, &self.phone, label)
                .await;
            step.url = self.masker.mask(&step.url);
            step.request_body = self.masker.mask(&step.request_body);
            step.response_body = self.masker.mask(&step.response_body);
            step.error = step.error.map(|e| self.masker.mask(&e));
            self.steps.push(step);
        }
    }

    /// Polls until `continue_if` holds or `amount` requests were made
    /// (`made` so far, the last one `result`). A wait the run may not spend
    /// in its slot stops the run instead, to resume after it.
    pub(super) async fn poll(
        &mut self,
        item: &Value,
        polling: &Value,
        label: &str,
        mut result: Result<Response, String>,
        mut made: u64,
    ) -> Polled {
        let interval = polling
            .get("interval")
            .and_then(Value::as_f64)
            .unwrap_or(5.0);
        let amount = polling.get("amount").and_then(Value::as_u64).unwrap_or(1);
        let cond = item.get("continue_if").cloned().unwrap_or(Value::Null);
        while made < amount && !self.condition_holds(&cond, result.as_ref().ok()).await {
            let wait = Duration::from_secs_f64(interval.clamp(0.0, 3600.0));
            if self.parking.parks(wait) {
                return Polled::Park { made, after: wait };
            }
            tokio::time::sleep(wait).await;
            made += 1;
            result = self.request(item, &format!("{label} poll {made}")).await;
        }
        Polled::Done(result)
    }

    /// `continue_if`: the rendered `value` equals the text at
    /// `response_notation` (compared as text, so `5` matches `"5"`). A failed
    /// or non-JSON response never satisfies it.
    pub(super) async fn condition_holds(&self, cond: &Value, response: Option<&Response>) -> bool {
        let Some(json) = response.and_then(|r| r.json.as_ref()) else {
            return false;
        };
        let notation = cond
            .get("response_notation")
            .map(plain_text)
            .unwrap_or_default();
        let value = cond.get("value").map(plain_text).unwrap_or_default();
        let expected = self.render_or_keep(value).await;
        lookup(json, &notation).is_some_and(|found| plain_text(found) == expected)
    }

    /// `exists`: has_access when the response contains the rendered
    /// `expected`, no_access when it does not, unknown when the request fails.
    pub async fn exists(mut self) -> (Access, RunResult) {
        let Some(item) = self
            .manifest
            .get("exists")
            .cloned()
            .filter(|e| e.as_object().is_some_and(|o| !o.is_empty()))
        else {
            return (Access::Unknown, self.finish(Outcome::Succeeded, None));
        };
        if let Err(e) = self.refresh_if_due().await {
            return (Access::Unknown, self.finish(failed(e, false), None));
        }
        // Someone is waiting for the answer: an unreachable service is
        // `unknown` after a few seconds, not after the full timeout.
        self.timeout = Some(EXISTS_TIMEOUT);
        // The documented legacy switch: `true` makes a 4xx/5xx answer a failed
        // check (unknown); `false` or absent reads any answer for `expected`.
        let fail_on_error_status =
            item.get("fail_when_4xx_response_code") == Some(&Value::Bool(true));
        let access = match self.request(&item, "exists").await {
            Err(_) => Access::Unknown,
            Ok(r) if fail_on_error_status && r.status >= 400 => Access::Unknown,
            Ok(r) => {
                if self.expected_found(&item, &r).await {
                    Access::HasAccess
                } else {
                    Access::NoAccess
                }
            }
        };
        (access, self.finish(Outcome::Succeeded, None))
    }

    /// `expected` rendered, then a substring test on the raw response (the
    /// unmasked one: masking first makes a secret-bearing answer miss).
    pub(super) async fn expected_found(&self, item: &Value, r: &Response) -> bool {
        let expected = item.get("expected").map(plain_text).unwrap_or_default();
        let expected = self.render_or_keep(expected).await;
        if expected.is_empty() {
            return true;
        }
        r.text_or_json().contains(&expected)
    }

    /// Every `revoke` item in order; stops at the first failure or missing
    /// `expected`.
    pub async fn revoke(mut self) -> RunResult {
        if let Err(e) = self.refresh_if_due().await {
            return self.finish(failed(e, false), None);
        }
        let items: Vec<Value> = list(&self.manifest, "revoke").cloned().collect();
        for (i, item) in items.iter().enumerate() {
            let label = format!("revoke[{i}]");
            match self.request(item, &label).await {
                Err(e) => return self.finish(failed(format!("{label}: {e}"), false), None),
                Ok(r) if item.get("expected").is_some() && !self.expected_found(item, &r).await => {
                    let error = format!(
                        "{label}: the response does not contain the expected text: {}",
                        cap(&self.masker.mask(&r.text_or_json()), 2000)
                    );
                    return self.finish(failed(error, false), None);
                }
                Ok(_) => {}
            }
        }
        self.finish(Outcome::Succeeded, None)
    }

    /// Fetches a form item's options: `[{value, name}]`.
    pub async fn form_options(&mut self, item: &Value) -> Result<Vec<Value>, String> {
        let source = match item.get("items") {
            Some(Value::Array(items)) => Value::Array(items.clone()),
            _ => {
                let r = self.request(item, "form options").await?;
                let json = r.json.ok_or("the options URL did not answer JSON")?;
                let from = item.get("data_from").map(plain_text).unwrap_or_default();
                lookup(&json, &from)
                    .cloned()
                    .ok_or_else(|| format!("'{from}' not found in the options response"))?
            }
        };
        let Value::Array(list) = source else {
            return Err("the options are not a list".into());
        };
        let value_key = item
            .get("choice_value")
            .map(plain_text)
            .unwrap_or_else(|| "id".into());
        let name_key = item
            .get("choice_name")
            .map(plain_text)
            .unwrap_or_else(|| "name".into());
        Ok(list
            .iter()
            .map(|o| {
                serde_json::json!({
                    "value": lookup(o, &value_key).cloned().unwrap_or(Value::Null),
                    "name": lookup(o, &name_key).cloned().unwrap_or(Value::Null),
                })
            })
            .collect())
    }
}
