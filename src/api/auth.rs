//! Bearer-token authentication and scope checks.
//!
//! Authentication is a middleware on `/v1`, so it runs before any body or
//! query is parsed: a caller without a valid token always gets 401, never a
//! validation error that would tell them about the API.

use std::future::{ready, Ready};
use std::marker::PhantomData;
use std::rc::Rc;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest};

use crate::db::organizations::{Organization, DEFAULT_ORG};
use crate::db::time;
use crate::db::tokens::ApiToken;
use crate::error::Error;
use crate::state::AppState;
use crate::tokens;

/// A scope a handler requires, as a type; see [`Need`]. The scopes
/// themselves are [`tokens::Scope`].
pub trait Scope {
    const SCOPE: tokens::Scope;
    const NAME: &'static str = Self::SCOPE.as_str();
}

/// One marker type per [`tokens::Scope`] variant, of the same name.
macro_rules! scopes {
    ($($ty:ident),* $(,)?) => {$(
        #[doc = concat!("The [`tokens::Scope::", stringify!($ty), "`] scope.")]
        pub struct $ty;
        impl Scope for $ty {
            const SCOPE: tokens::Scope = tokens::Scope::$ty;
        }
    )*};
}

scopes! {
    EventsWrite,
    WebhooksRead,
    WebhooksWrite,
    HistoryRead,
    HistoryResend,
    IntegrationsRun,
    IntegrationsWrite,
    Admin,
    Platform,
}

/// The header a platform token names the organization it acts in with.
pub const ORGANIZATION_HEADER: &str = "Hookrelay-Organization";

/// The caller a `/v1` request was authenticated as.
pub struct Caller {
    pub token_id: String,
    /// The token's name (for `GET /v1/me`).
    pub token_name: String,
    scopes: Vec<tokens::Scope>,
    /// The organization the request acts in: the token's own, or for a
    /// platform token the one its `Hookrelay-Organization` header names
    /// (the default organization without it). Resolved once, here.
    pub organization: String,
    /// Set when the caller is a customer portal link: when it expires.
    pub portal_expires_at: Option<chrono::NaiveDateTime>,
}

impl Caller {
    /// Whether the caller holds `scope`: `admin` holds every scope but
    /// `platform`, `platform` holds every scope.
    pub fn holds(&self, scope: tokens::Scope) -> bool {
        self.scopes.iter().any(|s| {
            *s == scope
                || *s == tokens::Scope::Platform
                || (*s == tokens::Scope::Admin && scope != tokens::Scope::Platform)
        })
    }

    /// The scopes the token was granted, as stored.
    pub fn scopes(&self) -> &[tokens::Scope] {
        &self.scopes
    }

    /// Whether the caller is a platform token.
    pub fn is_platform(&self) -> bool {
        self.holds(tokens::Scope::Platform)
    }

    /// Whether webhook URLs are shown with their credentials (userinfo,
    /// query values): only to callers that could change the webhook.
    pub fn sees_url_credentials(&self) -> bool {
        self.holds(WebhooksWrite::SCOPE)
    }
}

/// Extractor: the caller, who holds scope `S` (or `admin`), else 403 naming
/// it. List it before any body, path or query extractor: extractors run in
/// order, so a token without the scope is refused before its input is read.
pub struct Need<S: Scope> {
    pub caller: Rc<Caller>,
    _scope: PhantomData<S>,
}

impl<S: Scope> FromRequest for Need<S> {
    type Error = Error;
    type Future = Ready<Result<Self, Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let caller = req.extensions().get::<Rc<Caller>>().cloned();
        ready(match caller {
            None => Err(Error::internal(
                "route outside the authenticated scope asked for a scope",
            )),
            Some(c) if c.holds(S::SCOPE) => Ok(Need {
                caller: c,
                _scope: PhantomData,
            }),
            Some(_) => Err(Error::Forbidden(format!(
                "this token lacks the `{}` scope",
                S::NAME
            ))),
        })
    }
}

/// Middleware: resolves the bearer token (or customer portal link) or
/// answers 401.
pub async fn authenticate(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| Error::internal("app state missing"))?;
    let header = req
        .headers()
        .get("Authorization")
        .map(|v| v.to_str().unwrap_or("").to_string());
    let token = bearer(header)?;
    let named = named_organization(&req)?;
    let caller = if token.starts_with(tokens::portal::PREFIX) {
        portal_caller(&state, &token, named).await?
    } else {
        token_caller(&state, token, named).await?
    };
    req.extensions_mut().insert(Rc::new(caller));
    next.call(req).await
}

/// The organization a `Hookrelay-Organization` header names, if any.
fn named_organization(req: &ServiceRequest) -> Result<Option<String>, Error> {
    let Some(v) = req.headers().get(ORGANIZATION_HEADER) else {
        return Ok(None);
    };
    v.to_str()
        .ok()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Some(s.to_string()))
        .ok_or_else(|| {
            Error::field(
                ORGANIZATION_HEADER,
                "the Hookrelay-Organization header must name an organization (org_…)",
            )
        })
}

/// An organization credential acts in its own organization only; naming
/// another is answered as if it did not exist.
fn own_organization(own: &str, named: Option<String>) -> Result<String, Error> {
    match named {
        Some(id) if id != own => Err(Error::not_found("organization", &id)),
        _ => Ok(own.to_string()),
    }
}

/// The caller an API token stands for.
async fn token_caller(
    state: &web::Data<AppState>,
    token: String,
    named: Option<String>,
) -> Result<Caller, Error> {
    let found = state
        .tokens
        .resolve(&state.db, token)
        .await?
        .ok_or_else(|| Error::Unauthorized("unknown or revoked token".into()))?;
    touch(state, &found);
    // Stored scopes were checked when the token was made.
    let scopes: Vec<tokens::Scope> = found
        .scope_list()
        .into_iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let organization = if scopes.contains(&tokens::Scope::Platform) {
        match named {
            None => DEFAULT_ORG.to_string(),
            Some(id) => {
                let key = id.clone();
                let exists = state
                    .db
                    .read(move |c| Ok(Organization::find(c, &key)?.is_some()))
                    .await?;
                if !exists {
                    return Err(Error::not_found("organization", &id));
                }
                id
            }
        }
    } else {
        own_organization(&found.organization_id, named)?
    };
    Ok(Caller {
        token_id: found.id.clone(),
        token_name: found.name.clone(),
        scopes,
        organization,
        portal_expires_at: None,
    })
}

/// The caller a customer portal link stands for: its organization, its
/// scopes (a subset of the web hook and history ones), never more.
async fn portal_caller(
    state: &web::Data<AppState>,
    secret: &str,
    named: Option<String>,
) -> Result<Caller, Error> {
    let session = tokens::portal::resolve(&state.db, secret).await?;
    tokens::portal::touch(&state.db, &session);
    Ok(Caller {
        scopes: tokens::portal::scopes_of(&session),
        organization: own_organization(&session.organization_id, named)?,
        token_name: tokens::portal::NAME.to_string(),
        portal_expires_at: Some(session.expires_at),
        token_id: session.id,
    })
}

fn bearer(header: Option<String>) -> Result<String, Error> {
    let header = header.ok_or_else(|| {
        Error::Unauthorized("missing `Authorization: Bearer <token>` header".into())
    })?;
    header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            Error::Unauthorized("the Authorization header must be `Bearer <token>`".into())
        })
}

/// Records `last_used_at` in the background, at most once a minute.
fn touch(state: &web::Data<AppState>, token: &ApiToken) {
    let now = time::now();
    if token
        .last_used_at
        .is_some_and(|t| now - t < chrono::Duration::seconds(60))
    {
        return;
    }
    let mut seen = token.clone();
    seen.last_used_at = Some(now);
    state.tokens.touched(&seen);
    let (db, id) = (state.db.clone(), token.id.clone());
    tokio::spawn(async move {
        if let Err(e) = db.write(move |c| Ok(ApiToken::touch(c, &id, now)?)).await {
            tracing::debug!(error = %e, "could not record token use");
        }
    });
}
