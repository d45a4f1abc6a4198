//! The shared HTTP clients: every outbound request goes through the SSRF
//! guard's resolver, without proxies and without following redirects.

use std::sync::Arc;
use std::time::Duration;

use super::guard::{GuardedResolver, TargetPolicy};

/// `User-Agent` of every delivery.
pub const USER_AGENT: &str = concat!("hookrelay/", env!("CARGO_PKG_VERSION"));

/// The two shared HTTP clients: certificate-checking and, for webhooks with
/// `verify_ssl = false` only, not.
#[derive(Clone)]
pub struct HttpClients {
    verifying: reqwest::Client,
    insecure: reqwest::Client,
    /// Integration runs call third-party APIs, which may redirect: the
    /// runner follows them itself (`outbound::redirects`), each hop guarded.
    integrations: reqwest::Client,
    policy: Arc<TargetPolicy>,
}

impl HttpClients {
    /// Builds both clients. Redirects are never followed: a webhook URL is
    /// where the operator said, and following would bypass target checks.
    pub fn new(timeout: Duration, policy: TargetPolicy) -> Result<Self, String> {
        let policy = Arc::new(policy);
        let build = |insecure: bool| {
            reqwest::Client::builder()
                .dns_resolver(Arc::new(GuardedResolver {
                    policy: policy.clone(),
                }))
                .user_agent(USER_AGENT)
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(10)))
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(256)
                .tcp_nodelay(true)
                // A proxy would resolve hostnames itself, out of the SSRF guard's sight.
                .no_proxy()
                .danger_accept_invalid_certs(insecure)
                .build()
                .map_err(|e| format!("cannot build HTTP client: {e}"))
        };
        let integrations = reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver {
                policy: policy.clone(),
            }))
            .user_agent(USER_AGENT)
            .timeout(timeout.max(Duration::from_secs(30)))
            // `outbound::redirects` follows redirects itself, origin-aware.
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build HTTP client: {e}"))?;
        Ok(HttpClients {
            verifying: build(false)?,
            insecure: build(true)?,
            integrations,
            policy,
        })
    }

    /// The client integration runs use (guard applied; redirects are the runner's).
    pub fn integrations(&self) -> &reqwest::Client {
        &self.integrations
    }

    /// The SSRF policy deliveries run under.
    pub fn policy(&self) -> &TargetPolicy {
        &self.policy
    }

    /// The client for a webhook: certificate-checking unless it opted out.
    pub fn for_delivery(&self, verify_ssl: bool) -> &reqwest::Client {
        if verify_ssl {
            &self.verifying
        } else {
            &self.insecure
        }
    }
}
