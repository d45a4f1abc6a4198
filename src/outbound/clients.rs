//! The shared HTTP clients: every outbound request goes through the SSRF
//! guard's resolver, without proxies and without following redirects.

use std::sync::Arc;
use std::time::Duration;

use super::delivery_client::DeliveryClient;
use super::guard::{GuardedResolver, TargetPolicy};

/// `User-Agent` of every delivery.
pub const USER_AGENT: &str = concat!("hookrelay/", env!("CARGO_PKG_VERSION"));

/// The shared HTTP clients: two for deliveries, certificate-checking and,
/// for webhooks with `verify_ssl = false` only, not; one for integrations.
#[derive(Clone)]
pub struct HttpClients {
    verifying: DeliveryClient,
    insecure: DeliveryClient,
    /// Integration runs call third-party APIs, which may redirect: the
    /// runner follows them itself (`outbound::redirects`), each hop guarded.
    integrations: reqwest::Client,
    policy: Arc<TargetPolicy>,
}

impl HttpClients {
    /// Builds the clients. Redirects are never followed: a webhook URL is
    /// where the operator said, and following would bypass target checks.
    pub fn new(timeout: Duration, policy: TargetPolicy) -> Result<Self, String> {
        let policy = Arc::new(policy);
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
            verifying: DeliveryClient::new(policy.clone(), timeout, false)?,
            insecure: DeliveryClient::new(policy.clone(), timeout, true)?,
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
    pub fn for_delivery(&self, verify_ssl: bool) -> &DeliveryClient {
        if verify_ssl {
            &self.verifying
        } else {
            &self.insecure
        }
    }
}
