//! SSRF guard: outbound requests (deliveries and integration runs) never
//! reach loopback, private, link-local, unique-local or cloud-metadata
//! addresses unless the operator allows it.
//!
//! The check runs after DNS resolution, on every attempt (a hostname that
//! was public yesterday may resolve to 10.0.0.5 today), through a reqwest
//! resolver; literal IPs in URLs skip resolution, so they are checked before
//! sending. A web hook's URL is also checked when it is set: a literal IP,
//! or a host name whose every address is refused (`localhost`), is refused
//! then with a message that says how to allow it. Redirects are never followed automatically (`redirects` checks
//! each hop it follows), so a receiver cannot bounce a request inward either.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What may be reached.
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    /// Lifts the guard entirely (development, tests).
    pub allow_private: bool,
    /// Networks allowed although private.
    pub allowed: Vec<IpNet>,
}

/// How an operator lifts a refusal; part of every refusal's message.
const ALLOW_HINT: &str =
    "set HOOKRELAY_ALLOW_PRIVATE_TARGETS=true or HOOKRELAY_ALLOWED_CIDRS to allow it";

/// How long a web hook's create or update waits for its host name to
/// resolve before accepting it unchecked (the attempt checks it anyway).
const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

impl TargetPolicy {
    /// Why `ip` must not be contacted, or `None` when it may be.
    fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        if self.allow_private || self.allowed.iter().any(|n| n.contains(&ip)) {
            return None;
        }
        forbidden_kind(ip)
    }

    /// `Err(reason)` when `ip` must not be contacted.
    pub fn check(&self, ip: IpAddr) -> Result<(), String> {
        match self.refusal(ip) {
            Some(kind) => Err(format!(
                "refused to deliver to {ip}: {kind} address ({ALLOW_HINT})"
            )),
            None => Ok(()),
        }
    }

    /// Checks a URL's host when it is a literal IP.
    pub fn check_literal(&self, url: &url::Url) -> Result<(), String> {
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check(IpAddr::V6(ip)),
            _ => Ok(()),
        }
    }

    /// Checks a URL's host as a web hook is created or changed: a literal
    /// IP as [`Self::check_literal`] does, and a host name by resolving it
    /// now, refused only when every address it resolves to is refused
    /// (`localhost` would otherwise be accepted, and every delivery to it
    /// fail). A name that does not resolve, or not within a few seconds, is
    /// accepted: its DNS record may come later. Either way each attempt
    /// checks the addresses again, since they can change.
    pub async fn check_host(&self, url: &url::Url) -> Result<(), String> {
        self.check_literal(url)?;
        let Some(url::Host::Domain(host)) = url.host() else {
            return Ok(());
        };
        if self.allow_private {
            return Ok(());
        }
        let port = url.port_or_known_default().unwrap_or(443);
        let lookup = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)));
        let Ok(Ok(addrs)) = lookup.await else {
            return Ok(());
        };
        let mut refused: Vec<String> = Vec::new();
        for addr in addrs {
            match self.refusal(addr.ip()) {
                None => return Ok(()),
                Some(kind) => {
                    let entry = format!("{} ({kind})", addr.ip());
                    if !refused.contains(&entry) {
                        refused.push(entry);
                    }
                }
            }
        }
        if refused.is_empty() {
            return Ok(());
        }
        Err(format!(
            "refused to deliver to {host}: every address it resolves to is internal: {} ({ALLOW_HINT})",
            refused.join(", ")
        ))
    }
}

/// Why an address is internal, or `None` for a public one.
pub fn forbidden_kind(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            if v4.is_loopback() {
                Some("loopback")
            } else if v4.is_private() {
                Some("private")
            } else if v4.is_link_local() {
                Some("link-local (cloud metadata)")
            } else if v4.is_unspecified() || o[0] == 0 {
                Some("unspecified")
            } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
                Some("carrier-grade NAT")
            } else if o[..3] == [192, 0, 0] {
                // 192.0.0.0/24: IETF protocol assignments (DS-Lite, NAT64 discovery).
                Some("IETF protocol assignment")
            } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
                // 198.18.0.0/15: benchmarking; often routed to lab networks.
                Some("benchmarking")
            } else if v4.is_broadcast() || v4.is_multicast() || o[0] >= 240 {
                Some("broadcast, multicast or reserved")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            // IPv6 forms that carry an IPv4 address: judge the IPv4 inside.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return forbidden_kind(IpAddr::V4(v4));
            }
            let embedded = |hi: u16, lo: u16| {
                std::net::Ipv4Addr::new((hi >> 8) as u8, hi as u8, (lo >> 8) as u8, lo as u8)
            };
            if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                // NAT64 (64:ff9b::/96).
                return forbidden_kind(IpAddr::V4(embedded(seg[6], seg[7])));
            }
            if seg[..3] == [0x64, 0xff9b, 1] {
                // Local-use NAT64 (64:ff9b:1::/48, RFC 8215): the operator's
                // own translator, with the IPv4 anywhere in the suffix.
                return Some("local-use NAT64");
            }
            if seg[..6] == [0, 0, 0, 0, 0xffff, 0] {
                // IPv4-translated (::ffff:0:a.b.c.d, RFC 2765).
                return forbidden_kind(IpAddr::V4(embedded(seg[6], seg[7])));
            }
            if seg[..2] == [0x2001, 0] {
                // Teredo (2001::/32) tunnels to an IPv4 host we cannot vet.
                return Some("Teredo tunnel");
            }
            if seg[0] == 0x2002 {
                // 6to4 (2002::/16) carries the IPv4 in the next 32 bits.
                return forbidden_kind(IpAddr::V4(embedded(seg[1], seg[2])));
            }
            if seg[..6] == [0, 0, 0, 0, 0, 0] && !v6.is_loopback() && !v6.is_unspecified() {
                // Deprecated IPv4-compatible (::a.b.c.d).
                return forbidden_kind(IpAddr::V4(embedded(seg[6], seg[7])));
            }
            if v6.is_loopback() {
                Some("loopback")
            } else if v6.is_unspecified() {
                Some("unspecified")
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                Some("unique-local")
            } else if (seg[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else if (seg[0] & 0xffc0) == 0xfec0 {
                Some("site-local")
            } else if v6.is_multicast() {
                Some("multicast")
            } else {
                None
            }
        }
    }
}

/// reqwest resolver that drops refused addresses after resolving.
pub struct GuardedResolver {
    pub policy: Arc<TargetPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy.clone();
        Box::pin(async move {
            let addrs = resolve_guarded(&policy, name.as_str()).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// Resolves `host` and keeps the addresses `policy` allows; none allowed
/// is an error that says why.
pub async fn resolve_guarded(
    policy: &TargetPolicy,
    host: &str,
) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0)).await?.collect();
    let mut refusal = None;
    let allowed: Vec<SocketAddr> = addrs
        .into_iter()
        .filter(|a| match policy.check(a.ip()) {
            Ok(()) => true,
            Err(why) => {
                refusal.get_or_insert(why);
                false
            }
        })
        .collect();
    if allowed.is_empty() {
        let why = refusal.unwrap_or_else(|| format!("{host} did not resolve to any address"));
        return Err(format!("{host}: {why}").into());
    }
    Ok(allowed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_internal_addresses() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::7f00:1",
            "2002:a00:1::1",
            "fec0::1",
            "::10.0.0.1",
        ] {
            assert!(forbidden_kind(ip.parse().unwrap()).is_some(), "{ip}");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "64:ff9b::808:808",
        ] {
            assert!(forbidden_kind(ip.parse().unwrap()).is_none(), "{ip}");
        }
    }

    #[test]
    fn refuses_translation_tunnel_and_special_ranges() {
        for ip in [
            "64:ff9b:1::a00:1",
            "64:ff9b:1:ffff::1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:0:10.0.0.1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
            "2001::1",
            "192.0.0.1",
            "192.0.0.170",
            "198.18.0.1",
            "198.19.255.254",
        ] {
            assert!(forbidden_kind(ip.parse().unwrap()).is_some(), "{ip}");
        }
        // Neighbours of those ranges stay reachable.
        for ip in [
            "192.0.1.1",
            "198.17.0.1",
            "198.20.0.1",
            "2001:4860::8888",
            "::ffff:8.8.8.8",
        ] {
            assert!(forbidden_kind(ip.parse().unwrap()).is_none(), "{ip}");
        }
    }

    #[test]
    fn allow_list_and_switch() {
        let p = TargetPolicy {
            allow_private: false,
            allowed: vec!["10.0.0.0/8".parse().unwrap()],
        };
        assert!(p.check("10.9.9.9".parse().unwrap()).is_ok());
        assert!(p
            .check("192.168.0.1".parse().unwrap())
            .unwrap_err()
            .contains("private"));
        let open = TargetPolicy {
            allow_private: true,
            allowed: vec![],
        };
        assert!(open.check("127.0.0.1".parse().unwrap()).is_ok());
    }
}
