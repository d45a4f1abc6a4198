//! OAuth: the `access_token` exchange after the callback, and refreshing a
//! token that expires (or was refused with a 401).

use serde_json::{Map, Value};

use super::{Runner, Step, Target};

impl Runner<'_> {
    /// Runs `oauth.access_token` with the callback's `code` (or without one)
    /// and returns the token object to store.
    /// With PKCE, `verifier` is appended as `code_verifier` the same way as
    /// the code, and templates see it as `{{ code_verifier }}`.
    pub async fn oauth_access(
        mut self,
        code: Option<&str>,
        verifier: Option<&str>,
    ) -> (Result<Value, String>, Vec<Step>) {
        let Some(mut item) = self.manifest.pointer("/oauth/access_token").cloned() else {
            return (
                Err("the manifest has no oauth.access_token".into()),
                self.steps,
            );
        };
        let params = [("code", code), ("code_verifier", verifier)];
        for (name, value) in params {
            let (Some(value), Some(Value::String(url))) = (value, item.get("url").cloned()) else {
                continue;
            };
            let sep = if url.contains('?') { '&' } else { '?' };
            item["url"] = Value::String(format!("{url}{sep}{name}={}", urlencode(value)));
            self.masker.add(value, &format!("oauth {name}"));
        }
        if let Some(v) = verifier {
            self.scope.set("code_verifier", &Value::from(v));
        }
        let result = match self.request(&item, "oauth.access_token").await {
            Ok(r) => match self.token_answer(&r) {
                Some(token) if (200..300).contains(&r.status) => Ok(stamp_expiry(token, None)),
                _ => Err(format!(
                    "the token endpoint answered HTTP {} without a token (a JSON object, or a form-encoded access_token)",
                    r.status
                )),
            },
            Err(e) => Err(e),
        };
        (result, self.steps)
    }

    /// The token in a token endpoint's answer: a JSON object, or the form
    /// encoding some providers answer (`access_token=…&scope=…`). Whatever
    /// it holds becomes a secret of the run, and the step just logged is
    /// logged again from the whole answer with it masked (it was logged
    /// before its tokens were known), whether the answer is accepted or not.
    fn token_answer(&mut self, r: &super::Response) -> Option<Value> {
        let token = match &r.json {
            Some(Value::Object(t)) => Some(Value::Object(t.clone())),
            Some(_) => None,
            None => form_token(&r.text),
        }?;
        // An error answer (`{"error": "invalid_grant", …}`) holds no secret,
        // and masking its words would hide why the exchange failed.
        let credential = token.as_object().is_some_and(|o| {
            o.keys()
                .any(|k| k.ends_with("token") || k.ends_with("key") || k.contains("secret"))
        });
        if !(200..300).contains(&r.status) && !credential {
            return Some(token);
        }
        self.masker.add_tree("oauth", &token);
        if let Some(step) = self.steps.last_mut() {
            step.response_body = self.masker.mask_capped(&r.text_or_json(), super::LOG_CAP).0;
        }
        Some(token)
    }

    /// Refreshes the OAuth token when it expires within 60 s.
    pub(super) async fn refresh_if_due(&mut self) -> Result<(), String> {
        let Some(token) = &self.oauth else {
            return Ok(());
        };
        let due = token
            .get("expires_at")
            .and_then(Value::as_i64)
            .is_some_and(|at| at - chrono::Utc::now().timestamp() < 60);
        if due && self.manifest.pointer("/oauth/refresh").is_some() {
            self.refresh().await?;
        }
        Ok(())
    }

    /// Runs `oauth.refresh` and merges its answer into the token.
    pub(super) async fn refresh(&mut self) -> Result<(), String> {
        self.refreshed = true;
        let item = self
            .manifest
            .pointer("/oauth/refresh")
            .cloned()
            .ok_or("the manifest has no oauth.refresh")?;
        let r = self
            .request_once(&item, "oauth.refresh", Target::Template)
            .await
            .map_err(|e| format!("refreshing the OAuth token failed: {e}"))?;
        let answer = self.token_answer(&r);
        let Some(Value::Object(fresh)) = answer.filter(|_| (200..300).contains(&r.status)) else {
            return Err(format!(
                "refreshing the OAuth token failed: HTTP {} without a token",
                r.status
            ));
        };
        let mut token = self.oauth.clone().unwrap_or(Value::Object(Map::new()));
        if let Value::Object(t) = &mut token {
            t.extend(fresh);
        }
        let token = stamp_expiry(token, None);
        self.scope.set("oauth", &token);
        self.oauth = Some(token);
        self.oauth_changed = true;
        Ok(())
    }
}

/// A form-encoded token answer (`access_token=…&token_type=bearer`) as a
/// token object; `None` unless it has an `access_token`.
fn form_token(body: &str) -> Option<Value> {
    let pairs: Map<String, Value> = url::form_urlencoded::parse(body.trim().as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect();
    pairs
        .contains_key("access_token")
        .then_some(Value::Object(pairs))
}

/// Adds `expires_at` (unix seconds) from `expires_in`, so expiry survives storage.
fn stamp_expiry(mut token: Value, now: Option<i64>) -> Value {
    let now = now.unwrap_or_else(|| chrono::Utc::now().timestamp());
    if let Some(secs) = token.get("expires_in").and_then(|v| {
        v.as_i64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
    }) {
        token["expires_at"] = Value::from(now + secs);
    }
    token
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}
