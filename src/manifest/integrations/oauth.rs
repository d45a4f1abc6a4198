//! Connecting an integration over OAuth: the authorize redirect (with a
//! one-time `state`, and PKCE when the manifest asks), and the callback:
//! the state redeemed, the code exchanged, the token sealed and stored,
//! the exchange recorded as an `oauth` run.

use serde_json::{Map, Value};

use super::Integrations;
use crate::db::integrations::{self as store, Integration, IntegrationChanges};
use crate::db::runs::{Run, RunKind, RunStatus, RunStep, TriggeredBy};
use crate::db::time;
use crate::error::{Error, Result};
use crate::manifest::pkce;
use crate::manifest::queue::step_rows;
use crate::manifest::run::{Runner, Step};
use crate::manifest::validate::targets::url_refusal;
use crate::vault::integration_oauth_label;

/// What the callback says of a provider's `error`: the code, reduced to
/// the characters codes are made of (RFC 6749 §4.1.2.1) and 40 of them,
/// with what the standard codes mean. The provider's own sentences
/// (`error_description`, or text posing as a code) are never shown.
pub fn provider_refusal(error: &str) -> String {
    let code: String = error
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        .take(40)
        .collect();
    let meaning = match code.as_str() {
        "access_denied" => "access was denied",
        "invalid_request" => "the authorization request was invalid",
        "unauthorized_client" => "this client may not ask for authorization",
        "unsupported_response_type" => "the provider does not support this response type",
        "invalid_scope" => "the requested scope is invalid",
        "server_error" => "the provider failed",
        "temporarily_unavailable" => "the provider is temporarily unavailable",
        "login_required" | "interaction_required" | "consent_required" => {
            "the provider needs the admin to sign in or consent there first"
        }
        _ => "the provider returned an error",
    };
    if code.is_empty() {
        format!("the provider did not connect the integration: {meaning}")
    } else {
        format!("the provider did not connect the integration: {meaning} (error code {code})")
    }
}

/// How long an authorize `state` can be redeemed.
const STATE_TTL: chrono::Duration = chrono::Duration::minutes(15);

/// What the provider sent back to the callback.
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// A connected integration and the run that recorded the exchange.
pub struct Connected {
    pub integration_id: String,
    pub run_id: String,
}

impl Integrations {
    /// The provider URL to send the admin to, with a `state` checked on
    /// return (stored now) and the PKCE challenge if enabled.
    pub async fn authorize_url(&self, org: String, id: String) -> Result<url::Url> {
        let i = self.find_integration(org, id).await?;
        let manifest = i.manifest_value();
        let Some(template) = manifest
            .pointer("/oauth/authenticate_url")
            .and_then(Value::as_str)
        else {
            return Err(Error::conflict(
                crate::error::ErrorCode::NoOauth,
                format!("integration '{}' has no oauth.authenticate_url", i.id),
            ));
        };
        let input = self.inputs.load(&i, None, Map::new()).await?;
        let runner = Runner::new(&self.services, input);
        let rendered = runner
            .render(template)
            .await
            .map_err(|e| Error::field("manifest.oauth.authenticate_url", runner.mask(&e)))?;
        let mut url = url::Url::parse(&rendered).map_err(|e| {
            Error::field(
                "manifest.oauth.authenticate_url",
                runner.mask(&format!(
                    "renders to '{rendered}', which is not a URL ({e})"
                )),
            )
        })?;
        // The admin's browser is sent there: `javascript:` and the like
        // would run on whichever page follows the answer.
        if let Some(why) = url_refusal(&url) {
            return Err(Error::field(
                "manifest.oauth.authenticate_url",
                runner.mask(&format!("renders to a URL that is refused: {why}")),
            ));
        }
        let oauth_state = crate::tokens::generate_token().replacen("hr_", "st_", 1);
        url.query_pairs_mut().append_pair("state", &oauth_state);
        if pkce::enabled(&manifest) {
            let verifier = pkce::verifier(&self.vault, &oauth_state);
            url.query_pairs_mut()
                .append_pair("code_challenge", &pkce::challenge(&verifier))
                .append_pair("code_challenge_method", "S256");
        }
        let (sid, org, iid) = (oauth_state, i.organization_id.clone(), i.id.clone());
        let limit = self.limits.oauth_states();
        self.db
            .write(move |c| {
                use diesel::Connection;
                c.transaction(|c| {
                    // Pending states are rows: without a quota one
                    // organization could fill the table for an hour.
                    if let Some(l) = limit {
                        l.check(crate::db::quotas::oauth_states(c, &org, time::now())?)?;
                    }
                    Ok(store::store_oauth_state(
                        c,
                        &sid,
                        &org,
                        &iid,
                        time::now() + STATE_TTL,
                    )?)
                })
            })
            .await?;
        Ok(url)
    }

    /// Completes the OAuth flow the callback reports: redeems the state,
    /// exchanges the code (with the PKCE verifier), stores the token and
    /// records the exchange. A failed exchange is recorded too, and answers
    /// 409 naming its run. The callback is unauthenticated: the state alone
    /// names the organization and integration written to.
    pub async fn complete_oauth(&self, q: Callback) -> Result<Connected> {
        if let Some(e) = q.error {
            // The provider's text is shown on hookrelay's origin: only a
            // short code of it, never its sentences.
            return Err(Error::field("error", provider_refusal(&e)));
        }
        let s = q
            .state
            .ok_or_else(|| Error::field("state", "the callback has no state"))?;
        let code_given = q.code.is_some();
        let taken = s.clone();
        let (org, iid) = self.redeem_state(s, code_given).await?;
        let i = self.find_integration(org, iid).await?;
        let input = self.inputs.load(&i, None, Map::new()).await?;
        let runner = Runner::new(&self.services, input);
        let verifier =
            pkce::enabled(&i.manifest_value()).then(|| pkce::verifier(&self.vault, &taken));
        let (result, steps) = runner
            .oauth_access(q.code.as_deref(), verifier.as_deref())
            .await;
        let run = Run::queued(
            &i.organization_id,
            &i.id,
            None,
            RunKind::Oauth,
            &Map::new(),
            TriggeredBy::Oauth,
        );
        match result {
            Ok(token) => {
                let run = self.connect(run, &token, &steps).await?;
                Ok(Connected {
                    integration_id: i.id,
                    run_id: run.id,
                })
            }
            Err(e) => {
                let run = self
                    .runs
                    .record(run, RunStatus::Failed, Some(e.clone()), &steps)
                    .await?;
                Err(Error::conflict(
                    crate::error::ErrorCode::OauthFailed,
                    format!("could not get a token: {e} (run {})", run.id),
                ))
            }
        }
    }

    /// Stores the token on the run's integration and records the run
    /// (succeeded), in one transaction: once this returns, both are
    /// committed, and a reader sees the integration connected. An
    /// integration deleted during the exchange answers 404 and keeps nothing.
    async fn connect(&self, mut run: Run, token: &Value, steps: &[Step]) -> Result<Run> {
        let now = time::now();
        run.status = RunStatus::Succeeded.into();
        run.started_at = Some(run.created_at);
        run.finished_at = Some(now);
        let rows = step_rows(&run.id, &run.organization_id, steps);
        let sealed = self.vault.seal(
            &token.to_string(),
            &integration_oauth_label(&run.integration_id),
        );
        let stored = run.clone();
        self.db
            .write(move |c| {
                use diesel::Connection;
                c.transaction::<_, Error, _>(|c| {
                    let changes = IntegrationChanges {
                        oauth_token: Some(Some(sealed)),
                        updated_at: Some(now),
                        ..Default::default()
                    };
                    let (org, id) = (&stored.organization_id, &stored.integration_id);
                    if Integration::update(c, org, id, &changes)? != 1 {
                        return Err(Error::not_found("integration", id));
                    }
                    stored.insert(c)?;
                    Ok(RunStep::insert_all(c, &rows)?)
                })
            })
            .await?;
        Ok(run)
    }

    /// Takes the state `s` (once), returning its organization and
    /// integration. A callback
    /// without its code leaves the state usable, unless the manifest says
    /// `oauth.without_code`.
    async fn redeem_state(&self, s: String, code_given: bool) -> Result<store::OauthTarget> {
        self.db
            .write(move |c| {
                let now = time::now();
                let unknown = || {
                    Error::field(
                        "state",
                        "unknown or expired state; start again from /oauth/authorize",
                    )
                };
                let (org, iid) = store::peek_oauth_state(c, &s, now)?.ok_or_else(unknown)?;
                let i = Integration::find(c, &org, &iid)?.ok_or_else(unknown)?;
                let without_code =
                    i.manifest_value().pointer("/oauth/without_code") == Some(&Value::Bool(true));
                if !code_given && !without_code {
                    return Err(Error::field("code", "the callback has no code"));
                }
                store::take_oauth_state(c, &s, now)?.ok_or_else(unknown)
            })
            .await
    }
}
