//! `/v1/integrations`: manifests, their configuration, form options, runs,
//! OAuth, and the public OAuth callback.

use std::collections::HashMap;

use actix_web::{web, HttpRequest, HttpResponse};
use diesel::Connection;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use super::auth::{IntegrationsRun, IntegrationsWrite, Need};
use super::page::{self, Cursor, Page};
use super::runs::{respond, WaitQuery};
use crate::db::integrations::{self as store, ConfigValue, Integration, IntegrationChanges};
use crate::db::users::User;
use crate::db::{new_id, time};
use crate::error::{ApiError, ApiResult};
use crate::manifest::jobs::{config_context, next_sync, Integrations};
use crate::manifest::pkce;
use crate::manifest::run::Runner;
use crate::manifest::validate::{validate, Report};
use crate::manifest::Kind;
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    name: String,
    kind: String,
    manifest: Value,
    triggers: Option<Vec<Trigger>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateIntegration {
    name: Option<String>,
    manifest: Option<Value>,
    triggers: Option<Vec<Trigger>>,
}

/// Runs the integration for the user an event names.
#[derive(Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    event_type: String,
    #[serde(default)]
    form: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    limit: Option<i64>,
    cursor: Option<String>,
}

/// Body of `PUT /v1/integrations/{id}/config`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PutConfig {
    values: Map<String, Value>,
}

/// Body of `POST /v1/integrations/{id}/runs`.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct StartRun {
    user_id: Option<String>,
    #[serde(default)]
    form: Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormQuery {
    user_id: Option<String>,
}

/// An integration as the API shows it (never its secrets).
#[derive(Serialize)]
pub struct IntegrationView {
    id: String,
    name: String,
    kind: String,
    manifest: Value,
    triggers: Value,
    /// Which `initial_data_form` ids have a value, and which still need one.
    config: Value,
    oauth: Value,
    next_sync_at: Option<String>,
    warnings: Value,
    created_at: String,
    updated_at: String,
}

impl IntegrationView {
    fn new(i: Integration, set: &[String]) -> Self {
        let manifest = i.manifest_value();
        let wanted = config_ids(&manifest);
        let missing: Vec<&String> = wanted.iter().filter(|id| !set.contains(id)).collect();
        let report = validate(&manifest, i.kind());
        IntegrationView {
            config: json!({"set": set, "missing": missing}),
            oauth: json!({
                "configured": manifest.get("oauth").and_then(Value::as_object).is_some_and(|o| !o.is_empty()),
                "connected": i.oauth_token.is_some(),
            }),
            warnings: json!(report.warnings),
            triggers: serde_json::from_str(&i.triggers).unwrap_or(json!([])),
            next_sync_at: time::rfc3339_opt(&i.next_sync_at),
            created_at: time::rfc3339(&i.created_at),
            updated_at: time::rfc3339(&i.updated_at),
            manifest,
            id: i.id,
            name: i.name,
            kind: i.kind,
        }
    }
}

/// The ids an admin fills in (`generate` items are made per run).
fn config_ids(manifest: &Value) -> Vec<String> {
    manifest
        .get("initial_data_form")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|i| i.get("name").and_then(Value::as_str) != Some("generate"))
        .filter_map(|i| i.get("id").map(crate::manifest::render::plain_text))
        .collect()
}

fn check_manifest(manifest: &Value, kind: Kind) -> ApiResult<Report> {
    let report = validate(manifest, kind);
    if report.is_ok() {
        return Ok(report);
    }
    let listed: Vec<String> = report.errors.iter().map(|p| p.to_string()).collect();
    Err(ApiError::InvalidManifest {
        message: format!(
            "the manifest has {} problem(s): {}",
            listed.len(),
            listed.join("; ")
        ),
        problems: report.errors,
    })
}

/// A run's form, checked against the manifest's `form` (422 naming the key).
fn check_form(manifest: &Value, form: &Map<String, Value>, path: &str) -> ApiResult<()> {
    crate::manifest::form::check(manifest, form)
        .map_err(|p| ApiError::field(format!("{path}.{}", p.key), p.message))
}

async fn check_triggers(
    state: &AppState,
    kind: Kind,
    manifest: &Value,
    triggers: &[Trigger],
) -> ApiResult<String> {
    if kind == Kind::SyncUsers && !triggers.is_empty() {
        return Err(ApiError::field(
            "triggers",
            "triggers run an integration for one user; sync_users integrations run on their schedule or through POST /v1/integrations/{id}/runs",
        ));
    }
    for (i, t) in triggers.iter().enumerate() {
        check_form(manifest, &t.form, &format!("triggers[{i}].form"))?;
        if state
            .types
            .entity_of(&state.db, &t.event_type)
            .await?
            .is_none()
        {
            return Err(ApiError::field_code(
                crate::error::ErrorCode::UnknownEventType,
                format!("triggers[{i}].event_type"),
                format!(
                    "event type '{}' does not exist; GET /v1/event-types lists them",
                    t.event_type
                ),
            ));
        }
    }
    Ok(serde_json::to_string(triggers).expect("triggers serialize"))
}

pub async fn create(
    state: web::Data<AppState>,
    _: Need<IntegrationsWrite>,
    body: web::Json<CreateIntegration>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let kind = Kind::parse(&b.kind).ok_or_else(|| {
        ApiError::field(
            "kind",
            format!("kind must be webhook or sync_users, not '{}'", b.kind),
        )
    })?;
    let name = super::check_name(&b.name)?;
    check_manifest(&b.manifest, kind)?;
    let triggers =
        check_triggers(&state, kind, &b.manifest, &b.triggers.unwrap_or_default()).await?;
    let now = time::now();
    let integration = Integration {
        id: new_id("int"),
        name,
        kind: kind.as_str().into(),
        next_sync_at: next_sync(&b.manifest, now),
        manifest: b.manifest.to_string(),
        triggers,
        oauth_token: None,
        created_at: now,
        updated_at: now,
    };
    let stored = integration.clone();
    state.db.write(move |c| Ok(stored.insert(c)?)).await?;
    state.integrations.invalidate_triggers();
    Ok(HttpResponse::Created().json(IntegrationView::new(integration, &[])))
}

pub async fn list(
    state: web::Data<AppState>,
    _: Need<IntegrationsRun>,
    q: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let limit = page::limit(q.limit)?;
    let after = Cursor::decode(q.cursor.as_deref())?.after;
    let rows = state
        .db
        .read(move |c| {
            let rows = Integration::page(c, after.as_deref(), limit + 1)?;
            let ids: Vec<String> = rows.iter().map(|i| i.id.clone()).collect();
            let mut set: HashMap<String, Vec<String>> = HashMap::new();
            for (id, key) in ConfigValue::keys_for(c, &ids)? {
                set.entry(id).or_default().push(key);
            }
            Ok(rows
                .into_iter()
                .map(|i| {
                    let keys = set.remove(&i.id).unwrap_or_default();
                    (i, keys)
                })
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(Page::from_rows(
        rows,
        limit,
        |(i, set)| IntegrationView::new(i, &set),
        |(i, _)| Cursor::after(&i.id),
    )))
}

fn set_ids(c: &mut crate::db::DbConn, id: &str) -> ApiResult<Vec<String>> {
    Ok(ConfigValue::for_integration(c, id)?
        .into_iter()
        .map(|v| v.key)
        .collect())
}

pub async fn get(
    state: web::Data<AppState>,
    _: Need<IntegrationsRun>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (i, set) = find_with_config(&state, id.into_inner()).await?;
    Ok(HttpResponse::Ok().json(IntegrationView::new(i, &set)))
}

pub async fn update(
    state: web::Data<AppState>,
    _: Need<IntegrationsWrite>,
    id: web::Path<String>,
    body: web::Json<UpdateIntegration>,
) -> ApiResult<HttpResponse> {
    let b = body.into_inner();
    let current = find(&state, id.into_inner()).await?;
    if let Some(m) = &b.manifest {
        check_manifest(m, current.kind())?;
    }
    let manifest = b
        .manifest
        .clone()
        .unwrap_or_else(|| current.manifest_value());
    let triggers = match &b.triggers {
        Some(t) => Some(check_triggers(&state, current.kind(), &manifest, t).await?),
        None => None,
    };
    let now = time::now();
    let changes = IntegrationChanges {
        name: b.name.as_deref().map(super::check_name).transpose()?,
        next_sync_at: b.manifest.as_ref().map(|m| next_sync(m, now)),
        manifest: b.manifest.as_ref().map(Value::to_string),
        triggers,
        updated_at: Some(now),
        ..Default::default()
    };
    // Values of ids the new manifest no longer asks for are dropped.
    let keep = b.manifest.as_ref().map(config_ids);
    let id = current.id.clone();
    let (i, set) = state
        .db
        .write(move |c| {
            c.transaction::<_, ApiError, _>(|c| {
                Integration::update(c, &id, &changes)?;
                if let Some(keep) = keep {
                    let values: Vec<ConfigValue> = ConfigValue::for_integration(c, &id)?
                        .into_iter()
                        .filter(|v| keep.contains(&v.key))
                        .collect();
                    ConfigValue::replace_all(c, &id, &values)?;
                }
                let i = Integration::find(c, &id)?
                    .ok_or_else(|| ApiError::not_found("integration", &id))?;
                Ok((i, set_ids(c, &id)?))
            })
        })
        .await?;
    state.integrations.invalidate_triggers();
    Ok(HttpResponse::Ok().json(IntegrationView::new(i, &set)))
}

pub async fn delete(
    state: web::Data<AppState>,
    _: Need<IntegrationsWrite>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let done =
        super::delete_one(&state, "integration", id.into_inner(), Integration::delete).await?;
    state.integrations.invalidate_triggers();
    Ok(done)
}

/// Sets `initial_data_form` values (sealed; never shown again). Values
/// not in the body are kept; `null` removes one.
pub async fn put_config(
    state: web::Data<AppState>,
    _: Need<IntegrationsWrite>,
    id: web::Path<String>,
    body: web::Json<PutConfig>,
) -> ApiResult<HttpResponse> {
    let i = find(&state, id.into_inner()).await?;
    let allowed = config_ids(&i.manifest_value());
    let mut updates: Vec<(String, Option<String>)> = Vec::new();
    for (k, v) in body.into_inner().values {
        if !allowed.contains(&k) {
            return Err(ApiError::field(
                format!("values.{k}"),
                format!(
                    "'{k}' is not an initial_data_form id of this manifest; it asks for: {}",
                    allowed.join(", ")
                ),
            ));
        }
        let text = match v {
            Value::Null => None,
            Value::String(s) => Some(s),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => return Err(ApiError::field(format!("values.{k}"), "values are strings")),
        };
        updates.push((k, text));
    }
    let vault = state.vault.clone();
    let iid = i.id.clone();
    let set = state
        .db
        .write(move |c| {
            c.transaction::<_, ApiError, _>(|c| {
                let now = time::now();
                let mut values: Vec<ConfigValue> = ConfigValue::for_integration(c, &iid)?;
                for (k, v) in updates {
                    values.retain(|x| x.key != k);
                    if let Some(v) = v {
                        values.push(ConfigValue {
                            value: vault.seal(&v, &config_context(&iid, &k)),
                            integration_id: iid.clone(),
                            key: k,
                            updated_at: now,
                        });
                    }
                }
                ConfigValue::replace_all(c, &iid, &values)?;
                set_ids(c, &iid)
            })
        })
        .await?;
    let missing: Vec<&String> = allowed.iter().filter(|a| !set.contains(a)).collect();
    Ok(HttpResponse::Ok().json(json!({"set": set, "missing": missing})))
}

pub async fn get_config(
    state: web::Data<AppState>,
    _: Need<IntegrationsRun>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let (i, set) = find_with_config(&state, id.into_inner()).await?;
    let items: Vec<Value> = i
        .manifest_value()
        .get("initial_data_form")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|item| {
            let id = item
                .get("id")
                .map(crate::manifest::render::plain_text)
                .unwrap_or_default();
            let generated = item.get("name").and_then(Value::as_str) == Some("generate");
            json!({
                "id": id,
                "name": item.get("name"),
                "description": item.get("description"),
                "generated": generated,
                "set": generated || set.contains(&id),
            })
        })
        .collect();
    Ok(HttpResponse::Ok().json(json!({"items": items})))
}

/// The manifest's `form`, with options resolved (static or fetched).
pub async fn form(
    state: web::Data<AppState>,
    _: Need<IntegrationsRun>,
    id: web::Path<String>,
    q: web::Query<FormQuery>,
) -> ApiResult<HttpResponse> {
    let i = find(&state, id.into_inner()).await?;
    let user = optional_user(&state, q.into_inner().user_id).await?;
    let manifest = i.manifest_value();
    let input = state
        .integrations
        .input(&i, user.as_ref(), Map::new())
        .await?;
    let mut runner = Runner::new(&state.integrations.services, input);
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (n, item) in manifest
        .get("form")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        let kind = item.get("type").and_then(Value::as_str).unwrap_or("input");
        let mut view = json!({
            "id": item.get("id"),
            "name": item.get("name"),
            "type": kind,
        });
        if kind == "choice" || kind == "multiple_choice" {
            match runner.form_options(item).await {
                Ok(options) => view["options"] = Value::Array(options),
                Err(e) => {
                    view["error"] = Value::String(e.clone());
                    errors.push(format!("form[{n}]: {e}"));
                }
            }
        }
        out.push(view);
    }
    let steps = runner.into_steps();
    let mut run_id = Value::Null;
    if !steps.is_empty() {
        let run = Integrations::new_run(&i.id, user.map(|u| u.id), "form", &Map::new(), "api");
        let status = if errors.is_empty() {
            "succeeded"
        } else {
            "failed"
        };
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        let run = state
            .integrations
            .record(run, status, error, &steps)
            .await?;
        run_id = Value::String(run.id);
    }
    Ok(HttpResponse::Ok().json(json!({"items": out, "run_id": run_id})))
}

/// Queues a run (202), or with `?wait=true` runs it and answers with it.
pub async fn start_run(
    state: web::Data<AppState>,
    _: Need<IntegrationsRun>,
    id: web::Path<String>,
    q: web::Query<WaitQuery>,
    req: HttpRequest,
    body: web::Payload,
) -> ApiResult<HttpResponse> {
    let b: StartRun = super::optional_json(&req, body, state.config.max_body_bytes).await?;
    let i = find(&state, id.into_inner()).await?;
    check_form(&i.manifest_value(), &b.form, "form")?;
    let user = optional_user(&state, b.user_id).await?;
    let kind = match i.kind() {
        Kind::Webhook => "execute",
        Kind::SyncUsers => "sync",
    };
    let run = Integrations::new_run(&i.id, user.map(|u| u.id), kind, &b.form, "api");
    respond(&state, run, q.wait.unwrap_or(false)).await
}

async fn optional_user(state: &AppState, id: Option<String>) -> ApiResult<Option<User>> {
    let Some(id) = id else { return Ok(None) };
    let found = state
        .db
        .read({
            let id = id.clone();
            move |c| Ok(User::find(c, &id)?)
        })
        .await?;
    found.map(Some).ok_or_else(|| {
        ApiError::field_code(
            crate::error::ErrorCode::UnknownUser,
            "user_id",
            format!("user '{id}' does not exist"),
        )
    })
}

/// Redirects the admin to the provider, with a `state` checked on return.
pub async fn authorize(
    state: web::Data<AppState>,
    _: Need<IntegrationsWrite>,
    id: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let i = find(&state, id.into_inner()).await?;
    let manifest = i.manifest_value();
    let Some(template) = manifest
        .pointer("/oauth/authenticate_url")
        .and_then(Value::as_str)
    else {
        return Err(ApiError::conflict(
            crate::error::ErrorCode::NoOauth,
            format!("integration '{}' has no oauth.authenticate_url", i.id),
        ));
    };
    let input = state.integrations.input(&i, None, Map::new()).await?;
    let runner = Runner::new(&state.integrations.services, input);
    let rendered = runner
        .render(template)
        .await
        .map_err(|e| ApiError::field("manifest.oauth.authenticate_url", runner.mask(&e)))?;
    let mut url = url::Url::parse(&rendered).map_err(|e| {
        ApiError::field(
            "manifest.oauth.authenticate_url",
            runner.mask(&format!(
                "renders to '{rendered}', which is not a URL ({e})"
            )),
        )
    })?;
    let oauth_state = crate::tokens::generate_token().replacen("hr_", "st_", 1);
    url.query_pairs_mut().append_pair("state", &oauth_state);
    if pkce::enabled(&manifest) {
        let verifier = pkce::verifier(&state.vault, &oauth_state);
        url.query_pairs_mut()
            .append_pair("code_challenge", &pkce::challenge(&verifier))
            .append_pair("code_challenge_method", "S256");
    }
    let (sid, iid) = (oauth_state.clone(), i.id.clone());
    state
        .db
        .write(move |c| {
            Ok(store::store_oauth_state(
                c,
                &sid,
                &iid,
                time::now() + chrono::Duration::minutes(15),
            )?)
        })
        .await?;
    Ok(HttpResponse::Found()
        .insert_header(("Location", url.to_string()))
        .json(json!({"location": url.to_string()})))
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// Public: the provider sends the admin back here with `code` and `state`.
pub async fn oauth_callback(
    state: web::Data<AppState>,
    q: web::Query<CallbackQuery>,
) -> ApiResult<HttpResponse> {
    let q = q.into_inner();
    if let Some(e) = q.error {
        return Err(ApiError::field(
            "error",
            format!("the provider refused: {e}"),
        ));
    }
    let s = q
        .state
        .ok_or_else(|| ApiError::field("state", "the callback has no state"))?;
    let code_given = q.code.is_some();
    let taken = s.clone();
    let iid = state
        .db
        .write(move |c| {
            let now = time::now();
            let unknown = || {
                ApiError::field(
                    "state",
                    "unknown or expired state; start again from /oauth/authorize",
                )
            };
            let iid = store::peek_oauth_state(c, &s, now)?.ok_or_else(unknown)?;
            let i = Integration::find(c, &iid)?.ok_or_else(unknown)?;
            let without_code =
                i.manifest_value().pointer("/oauth/without_code") == Some(&Value::Bool(true));
            // A callback without its code leaves the state usable.
            if !code_given && !without_code {
                return Err(ApiError::field("code", "the callback has no code"));
            }
            store::take_oauth_state(c, &s, now)?.ok_or_else(unknown)
        })
        .await?;
    let i = find(&state, iid).await?;
    let input = state.integrations.input(&i, None, Map::new()).await?;
    let runner = Runner::new(&state.integrations.services, input);
    let verifier = pkce::enabled(&i.manifest_value()).then(|| pkce::verifier(&state.vault, &taken));
    let (result, steps) = runner
        .oauth_access(q.code.as_deref(), verifier.as_deref())
        .await;
    let run = Integrations::new_run(&i.id, None, "oauth", &Map::new(), "oauth");
    match result {
        Ok(token) => {
            state.integrations.store_token(&i.id, &token).await?;
            let run = state
                .integrations
                .record(run, "succeeded", None, &steps)
                .await?;
            Ok(HttpResponse::Ok()
                .json(json!({"connected": true, "integration_id": i.id, "run_id": run.id})))
        }
        Err(e) => {
            let run = state
                .integrations
                .record(run, "failed", Some(e.clone()), &steps)
                .await?;
            Err(ApiError::conflict(
                crate::error::ErrorCode::OauthFailed,
                format!("could not get a token: {e} (run {})", run.id),
            ))
        }
    }
}

async fn find(state: &AppState, id: String) -> ApiResult<Integration> {
    state
        .db
        .read(move |c| {
            Integration::find(c, &id)?.ok_or_else(|| ApiError::not_found("integration", &id))
        })
        .await
}

async fn find_with_config(state: &AppState, id: String) -> ApiResult<(Integration, Vec<String>)> {
    state
        .db
        .read(move |c| {
            let i = Integration::find(c, &id)?
                .ok_or_else(|| ApiError::not_found("integration", &id))?;
            let set = set_ids(c, &id)?;
            Ok((i, set))
        })
        .await
}
