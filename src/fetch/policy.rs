//! The SSRF guard: which URLs, redirect targets and resolved addresses a download may reach.
//!
//! [`UrlPolicy::check`] judges everything knowable from a URL (scheme, credentials, allow-list,
//! IP-literal hosts); [`GuardedResolver`] judges the addresses a host name resolves to, at
//! connection time, so DNS rebinding cannot slip past a pre-check; [`redirect_policy`] applies
//! the same check to every redirect target. Refusals travel through reqwest as the marker
//! errors [`Blocked`] and [`TooManyRedirects`], which `error::classify` recognises.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::redact_url;

/// Marker error: the redirect policy or the resolver refused a target.
#[derive(Debug)]
pub(super) struct Blocked {
    /// The refused redirect target, redacted; `None` when it is the URL being downloaded.
    pub(super) url: Option<String>,
    pub(super) reason: String,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl StdError for Blocked {}

/// Marker error: more redirects than `max_redirects`.
#[derive(Debug)]
pub(super) struct TooManyRedirects;

impl fmt::Display for TooManyRedirects {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("too many redirects")
    }
}

impl StdError for TooManyRedirects {}

/// The rules deciding which URLs and addresses may be contacted.
#[derive(Debug)]
pub(super) struct UrlPolicy {
    allow: Vec<AllowEntry>,
    allow_insecure: bool,
}

impl UrlPolicy {
    /// The policy for [`FetchConfig::allow_hosts`](super::FetchConfig::allow_hosts) and
    /// [`FetchConfig::allow_insecure_http`](super::FetchConfig::allow_insecure_http).
    ///
    /// # Errors
    ///
    /// An `allow_hosts` entry that is not `HOST[:PORT]`; the text names it.
    pub(super) fn new(allow_hosts: &[String], allow_insecure: bool) -> Result<Self, String> {
        let allow = allow_hosts
            .iter()
            .map(|entry| AllowEntry::parse(entry).map_err(|e| format!("allow_hosts: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            allow,
            allow_insecure,
        })
    }

    /// Checks everything knowable from the URL alone. Host names are checked again, on their
    /// resolved addresses, by [`GuardedResolver`].
    pub(super) fn check(&self, url: &Url) -> Result<(), String> {
        if !matches!(url.scheme(), "https" | "http") {
            return Err("only https urls may be downloaded".to_owned());
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("urls with embedded credentials are refused".to_owned());
        }
        let Some(host) = url.host() else {
            return Err("url has no host".to_owned());
        };
        let allow_listed = self.allow.iter().any(|e| e.matches_url(url));
        if !self.allow.is_empty() && !allow_listed {
            return Err("host is not in allow_hosts".to_owned());
        }
        let insecure_ok = self.allow_insecure && allow_listed;
        if url.scheme() == "http" && !insecure_ok {
            return Err("plain http is refused (only allow-listed hosts with \
                        allow_insecure_http may use it)"
                .to_owned());
        }
        let ip = match host {
            Host::Ipv4(ip) => IpAddr::V4(ip),
            Host::Ipv6(ip) => IpAddr::V6(ip),
            Host::Domain(_) => return Ok(()),
        };
        match non_public(ip) {
            Some(category) if !insecure_ok => Err(format!("address is {category}")),
            _ => Ok(()),
        }
    }

    /// Whether `name` may resolve to non-public addresses (allow-listed, insecure mode).
    fn name_may_be_non_public(&self, name: &str) -> bool {
        self.allow_insecure && self.allow.iter().any(|e| e.matches_name(name))
    }
}

/// Follows at most `max` redirects, each only to a URL that passes `policy`. A refusal ends
/// the request with [`Blocked`] (naming the redacted target) or [`TooManyRedirects`].
pub(super) fn redirect_policy(policy: Arc<UrlPolicy>, max: u32) -> reqwest::redirect::Policy {
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    reqwest::redirect::Policy::custom(move |attempt| {
        // `previous` holds every URL visited so far, starting with the original one,
        // so its length is the number of this redirect.
        if attempt.previous().len() > max {
            return attempt.error(TooManyRedirects);
        }
        match policy.check(attempt.url()) {
            Ok(()) => attempt.follow(),
            Err(reason) => {
                let url = Some(redact_url(attempt.url()));
                attempt.error(Blocked { url, reason })
            }
        }
    })
}

/// One `allow_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowEntry {
    host: AllowHost,
    /// `None` matches every port.
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowHost {
    /// Lowercase host name, compared exactly.
    Name(String),
    /// From `*.example.com`: stored as `.example.com`, matches names ending in it.
    Suffix(String),
    Ip(IpAddr),
}

impl AllowEntry {
    fn parse(entry: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("{entry:?} is not HOST[:PORT]: {why}");
        let e = entry.trim();
        if e.is_empty() {
            return Err(bad("empty"));
        }
        if e.contains('/') || e.contains('@') {
            return Err(bad("write a host, not a url"));
        }
        let parse_port = |p: &str| match p.parse::<u16>() {
            Ok(0) | Err(_) => Err(bad("invalid port")),
            Ok(port) => Ok(port),
        };
        if let Some(rest) = e.strip_prefix('[') {
            let (ip, after) = rest.split_once(']').ok_or_else(|| bad("missing ]"))?;
            let ip: Ipv6Addr = ip.parse().map_err(|_| bad("invalid ipv6 address"))?;
            let port = match after {
                "" => None,
                p => Some(parse_port(
                    p.strip_prefix(':').ok_or_else(|| bad("junk after ]"))?,
                )?),
            };
            return Ok(Self {
                host: AllowHost::Ip(IpAddr::V6(ip)),
                port,
            });
        }
        let (host, port) = match e.rsplit_once(':') {
            Some((h, p)) => (h, Some(parse_port(p)?)),
            None => (e, None),
        };
        if host.contains(':') {
            return Err(bad("put ipv6 addresses in brackets"));
        }
        if let Ok(ip) = host.parse::<Ipv4Addr>() {
            return Ok(Self {
                host: AllowHost::Ip(IpAddr::V4(ip)),
                port,
            });
        }
        let (name, wildcard) = match host.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (host, false),
        };
        let valid = !name.is_empty()
            && !name.starts_with(['.', '-'])
            && !name.ends_with('.')
            && !name.contains("..")
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !valid {
            return Err(bad("invalid host name (use ascii/punycode, optionally *.)"));
        }
        let name = name.to_ascii_lowercase();
        let host = if wildcard {
            AllowHost::Suffix(format!(".{name}"))
        } else {
            AllowHost::Name(name)
        };
        Ok(Self { host, port })
    }

    fn matches_name(&self, name: &str) -> bool {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        match &self.host {
            AllowHost::Name(n) => *n == name,
            AllowHost::Suffix(s) => name.len() > s.len() && name.ends_with(s.as_str()),
            AllowHost::Ip(_) => false,
        }
    }

    fn matches_url(&self, url: &Url) -> bool {
        let host_ok = match (url.host(), &self.host) {
            (Some(Host::Domain(d)), _) => self.matches_name(d),
            (Some(Host::Ipv4(ip)), AllowHost::Ip(a)) => *a == IpAddr::V4(ip),
            (Some(Host::Ipv6(ip)), AllowHost::Ip(a)) => *a == IpAddr::V6(ip),
            _ => false,
        };
        host_ok
            && self
                .port
                .is_none_or(|p| url.port_or_known_default() == Some(p))
    }
}

/// If `ip` is not a public unicast address, what it is.
fn non_public(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => non_public_v4(v4),
        IpAddr::V6(v6) => non_public_v6(v6),
    }
}

fn non_public_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match () {
        _ if a == 0 => "unspecified (0.0.0.0/8)",
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private",
        _ if a == 100 && (b & 0xc0) == 64 => "shared address space (cgnat, 100.64.0.0/10)",
        _ if ip.is_link_local() => "link-local (169.254.0.0/16, incl. cloud metadata)",
        _ if ip.is_broadcast() => "broadcast",
        _ if ip.is_documentation() => "documentation",
        _ if ip.is_multicast() => "multicast",
        _ if a == 192 && b == 0 && c == 0 => "ietf protocol assignment (192.0.0.0/24)",
        _ if a == 198 && (b & 0xfe) == 18 => "benchmarking (198.18.0.0/15)",
        _ if a >= 240 => "reserved (240.0.0.0/4)",
        _ => return None,
    })
}

fn non_public_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // ::ffff:a.b.c.d reaches a.b.c.d: judge the IPv4 address.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return non_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        non_public_v4(Ipv4Addr::new(a, b, c, d))
    };
    Some(match () {
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_loopback() => "loopback",
        _ if s[..6] == [0; 6] => "ipv4-compatible (deprecated ::/96)",
        // NAT64 well-known prefix 64:ff9b::/96 translates to the embedded IPv4 address.
        _ if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] => return embedded_v4(s[6], s[7]),
        _ if s[0] == 0x64 && s[1] == 0xff9b && s[2] == 1 => "nat64 local-use (64:ff9b:1::/48)",
        _ if s[..4] == [0x100, 0, 0, 0] => "discard-only (100::/64)",
        _ if s[0] == 0x2001 && s[1] == 0x0db8 => "documentation",
        // Teredo, benchmarking, ORCHID, … none of them is a media server.
        _ if s[0] == 0x2001 && s[1] < 0x0200 => "ietf protocol assignment (2001::/23)",
        // 6to4 2002:AABB:CCDD::/48 carries IPv4 AA.BB.CC.DD.
        _ if s[0] == 0x2002 => return embedded_v4(s[1], s[2]),
        _ if s[0] == 0x3fff && s[1] < 0x1000 => "documentation (3fff::/20)",
        _ if (s[0] & 0xfe00) == 0xfc00 => "unique-local (fc00::/7)",
        _ if (s[0] & 0xffc0) == 0xfe80 => "link-local (fe80::/10)",
        _ if (s[0] & 0xffc0) == 0xfec0 => "site-local (deprecated fec0::/10)",
        _ if ip.is_multicast() => "multicast",
        _ => return None,
    })
}

/// The system resolver, with every answer checked against the policy before reqwest may
/// connect. reqwest skips resolution for IP-literal hosts, which [`UrlPolicy::check`] covers.
pub(super) struct GuardedResolver {
    /// The policy whose allow-list may exempt a name (insecure mode).
    pub(super) policy: Arc<UrlPolicy>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        let may_be_non_public = self.policy.name_may_be_non_public(&host);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            // All-or-nothing: a name with any non-public answer is refused outright rather than
            // trimmed, since a legitimate media host never resolves into a private network.
            let refused = match may_be_non_public {
                true => None,
                false => addrs.iter().find_map(|a| non_public(a.ip())),
            };
            if let Some(category) = refused {
                let reason = format!("host {host} resolves to an address that is {category}");
                let blocked = Blocked { url: None, reason };
                return Err(Box::new(blocked) as Box<dyn StdError + Send + Sync>);
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow: &[&str], insecure: bool) -> UrlPolicy {
        UrlPolicy {
            allow: allow
                .iter()
                .map(|e| AllowEntry::parse(e).expect("entry"))
                .collect(),
            allow_insecure: insecure,
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn allow_entries_parse() {
        let cases = [
            (
                "Media.Example.test",
                AllowHost::Name("media.example.test".into()),
                None,
            ),
            (
                "media.example.test:8443",
                AllowHost::Name("media.example.test".into()),
                Some(8443),
            ),
            (
                "*.example.test",
                AllowHost::Suffix(".example.test".into()),
                None,
            ),
            (
                "127.0.0.1:80",
                AllowHost::Ip("127.0.0.1".parse().expect("ip")),
                Some(80),
            ),
            (
                "[::1]:9000",
                AllowHost::Ip("::1".parse().expect("ip")),
                Some(9000),
            ),
            (
                "[2001:db8::7]",
                AllowHost::Ip("2001:db8::7".parse().expect("ip")),
                None,
            ),
        ];
        for (raw, host, port) in cases {
            assert_eq!(
                AllowEntry::parse(raw),
                Ok(AllowEntry { host, port }),
                "{raw}"
            );
        }
        for bad in [
            "",
            "a.test:",
            "a.test:99999",
            "[::1",
            "[::1]x",
            "*.",
            "a..test",
            "a b",
            "é.test",
        ] {
            assert!(AllowEntry::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn default_policy_allows_public_https_only() {
        let p = policy(&[], false);
        assert_eq!(
            p.check(&url("https://media.example.test/r/1?sig=x")),
            Ok(())
        );
        assert_eq!(p.check(&url("https://93.184.216.34/r")), Ok(()));
        assert_eq!(p.check(&url("https://[2606:4700::1111]/r")), Ok(()));
        for blocked in [
            "http://media.example.test/r",
            "ftp://media.example.test/r",
            "file:///etc/passwd",
            "data:text/plain,hi",
            "https://user:pw@media.example.test/r",
            "https://127.0.0.1/r",
            "https://127.1/r",
            "https://0x7f000001/r",
            "https://2130706433/r",
            "https://0.0.0.0/r",
            "https://10.1.2.3/r",
            "https://172.16.0.1/r",
            "https://192.168.1.1/r",
            "https://100.64.0.1/r",
            "https://169.254.169.254/latest/meta-data/",
            "https://224.0.0.1/r",
            "https://255.255.255.255/r",
            "https://192.0.2.1/r",
            "https://[::1]/r",
            "https://[::]/r",
            "https://[::ffff:127.0.0.1]/r",
            "https://[::ffff:169.254.169.254]/r",
            "https://[fe80::1]/r",
            "https://[fd00::1]/r",
            "https://[ff02::1]/r",
            "https://[2001:db8::1]/r",
            "https://[64:ff9b::a9fe:a9fe]/r",
            "https://[2002:c0a8:0101::1]/r",
        ] {
            assert!(
                p.check(&url(blocked)).is_err(),
                "{blocked} should be blocked"
            );
        }
    }

    #[test]
    fn allow_list_and_insecure_mode() {
        let p = policy(
            &["127.0.0.1:8080", "*.media.example.test", "localhost"],
            true,
        );
        assert_eq!(p.check(&url("http://127.0.0.1:8080/r")), Ok(()));
        assert!(
            p.check(&url("http://127.0.0.1:8081/r")).is_err(),
            "port not allowed"
        );
        assert!(
            p.check(&url("http://10.0.0.1/r")).is_err(),
            "not allow-listed"
        );
        assert_eq!(p.check(&url("https://eu.media.example.test/r")), Ok(()));
        assert!(
            p.check(&url("https://media.example.test/r")).is_err(),
            "apex not covered"
        );
        assert!(
            p.check(&url("https://evil.test/r")).is_err(),
            "not allow-listed"
        );
        assert!(p.name_may_be_non_public("localhost"));
        assert!(p.name_may_be_non_public("LOCALHOST."));
        assert!(!p.name_may_be_non_public("evil.test"));

        // Without allow_insecure_http the same allow-list still refuses http and loopback.
        let strict = policy(&["127.0.0.1:8080", "localhost"], false);
        assert!(strict.check(&url("http://127.0.0.1:8080/r")).is_err());
        assert!(strict.check(&url("https://127.0.0.1:8080/r")).is_err());
        assert!(!strict.name_may_be_non_public("localhost"));

        // An allow-list entry without a port matches any port, with https's default too.
        let any_port = policy(&["media.example.test"], false);
        assert_eq!(
            any_port.check(&url("https://media.example.test:8443/r")),
            Ok(())
        );
        let port_443 = policy(&["media.example.test:443"], false);
        assert_eq!(port_443.check(&url("https://media.example.test/r")), Ok(()));
        assert!(port_443
            .check(&url("https://media.example.test:444/r"))
            .is_err());
    }

    #[test]
    fn address_categories() {
        let public = [
            "8.8.8.8",
            "1.1.1.1",
            "100.63.255.255",
            "100.128.0.0",
            "172.32.0.1",
            "2606:4700::1111",
            "2a00:1450::1",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
        ];
        for ip in public {
            assert_eq!(non_public(ip.parse().expect("ip")), None, "{ip}");
        }
        let blocked = [
            "0.1.2.3",
            "127.255.0.1",
            "10.255.255.255",
            "172.31.255.255",
            "192.168.0.0",
            "100.127.255.255",
            "169.254.0.1",
            "224.0.0.251",
            "239.255.255.250",
            "255.255.255.255",
            "198.51.100.1",
            "203.0.113.1",
            "192.0.0.8",
            "198.19.0.1",
            "240.0.0.1",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "::ffff:0.0.0.0",
            "::7f00:1",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:7f00:0001::1",
            "3fff::1",
            "fc00::1",
            "fdff::1",
            "fe80::1",
            "febf::1",
            "fec0::1",
            "ff02::1",
        ];
        for ip in blocked {
            assert!(non_public(ip.parse().expect("ip")).is_some(), "{ip}");
        }
    }
}
