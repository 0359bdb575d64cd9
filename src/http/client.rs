//! Who a request comes from, for the per-client limits: the socket peer, or behind trusted
//! proxies the rightmost `X-Forwarded-For` address no trusted proxy wrote; a configured API
//! key (kept as a SHA-256 digest) instead when the request presents one. Anything a client
//! can invent (an unknown key, a forwarded address from an untrusted peer) is ignored.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use super::extract::constant_time_eq;
use crate::error::{Error, Result};

/// Header naming the client chain a proxy saw.
pub const FORWARDED_FOR_HEADER: &str = "x-forwarded-for";

/// Shortest API key accepted in the configuration: shorter keys can be guessed.
pub const MIN_API_KEY_CHARS: usize = 16;

/// An address block, `10.0.0.0/8` or `fd00::/8`; a bare address is a block of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl FromStr for Cidr {
    type Err = Error;

    fn from_str(text: &str) -> Result<Cidr> {
        let bad = |why: &str| Error::InvalidInput(format!("trusted proxy {text:?}: {why}"));
        let (ip, prefix) = match text.trim().split_once('/') {
            Some((ip, p)) => (ip, Some(p)),
            None => (text.trim(), None),
        };
        let network: IpAddr = ip
            .parse()
            .map_err(|_| bad("not an IP address or CIDR block like 10.0.0.0/8"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| bad(&format!("the prefix length must be 0..={max}")))?,
            None => max,
        };
        let cidr = Cidr { network, prefix };
        if cidr.masked(network) != Some(bits(network)) {
            return Err(bad(
                "host bits are set below the prefix (write the network address)",
            ));
        }
        Ok(cidr)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// An address as a 128-bit number (IPv4 in the low 32 bits).
fn bits(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, from dual-stack sockets) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl Cidr {
    /// `ip` with the host bits cleared, when it is of this block's family.
    fn masked(&self, ip: IpAddr) -> Option<u128> {
        let width = if ip.is_ipv4() { 32 } else { 128 };
        if ip.is_ipv4() != self.network.is_ipv4() {
            return None;
        }
        let host_bits = width - u32::from(self.prefix);
        let mask = if host_bits >= 128 {
            0
        } else {
            !((1u128 << host_bits) - 1)
        };
        Some(bits(ip) & mask)
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        self.masked(canonical(ip)) == Some(bits(self.network))
    }
}

/// The configured API keys, as SHA-256 digests (the keys themselves are not kept).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ApiKeys {
    digests: Vec<[u8; 32]>,
}

impl fmt::Debug for ApiKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKeys({} configured)", self.digests.len())
    }
}

fn digest(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

impl ApiKeys {
    /// Keys given on the command line or in the environment.
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Result<ApiKeys> {
        let mut out = ApiKeys::default();
        for key in keys.into_iter().map(str::trim).filter(|k| !k.is_empty()) {
            if key.chars().count() < MIN_API_KEY_CHARS {
                return Err(Error::InvalidInput(format!(
                    "an API key needs at least {MIN_API_KEY_CHARS} characters (one has {})",
                    key.chars().count()
                )));
            }
            let d = digest(key);
            if !out.digests.contains(&d) {
                out.digests.push(d);
            }
        }
        Ok(out)
    }

    /// One key per line; blank lines and lines starting with `#` are skipped.
    pub fn load(path: &Path) -> Result<ApiKeys> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        ApiKeys::new(text.lines().filter(|l| !l.trim_start().starts_with('#')))
            .map_err(|e| Error::InvalidInput(format!("API keys file {}: {e}", path.display())))
    }

    /// Adds the keys of `other`.
    pub fn extend(&mut self, other: ApiKeys) {
        for d in other.digests {
            if !self.digests.contains(&d) {
                self.digests.push(d);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.digests.len()
    }

    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }

    /// A stable, non-secret name of `presented` when it is one of the keys; compared in
    /// constant time against every configured digest.
    pub fn identify(&self, presented: &str) -> Option<String> {
        let d = digest(presented.trim());
        let mut found = false;
        for known in &self.digests {
            found |= constant_time_eq(known, &d);
        }
        found.then(|| hex::encode(&d[..12]))
    }
}

/// A secret from the configuration (the metrics token): printed as `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// How the client of a request is told apart.
#[derive(Debug, Clone, Default)]
pub struct ClientPolicy {
    /// Peers whose `X-Forwarded-For` is believed (the operator's load balancers).
    pub trusted_proxies: Vec<Cidr>,
    /// Keys that make a widget deployment one client, whatever its addresses.
    pub api_keys: ApiKeys,
}

impl ClientPolicy {
    fn trusted(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|c| c.contains(ip))
    }

    /// The client's address: walking `X-Forwarded-For` (every header, in order) from the
    /// right while the hop that handed it over is a trusted proxy; the first hop no trusted
    /// proxy vouches for is the client. An unparsable entry stops the walk at the last
    /// trusted hop.
    pub fn client_ip<'a>(&self, peer: IpAddr, forwarded: impl Iterator<Item = &'a str>) -> IpAddr {
        let mut current = canonical(peer);
        if !self.trusted(current) {
            return current;
        }
        let chain: Vec<&str> = forwarded.flat_map(|h| h.split(',')).collect();
        for entry in chain.iter().rev() {
            if !self.trusted(current) {
                break;
            }
            match parse_hop(entry) {
                Some(ip) => current = canonical(ip),
                None => break,
            }
        }
        current
    }
}

/// One `X-Forwarded-For` entry: an address, optionally with a port (`1.2.3.4:5678`,
/// `[::1]:5678`).
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidr_parses_and_matches() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.1.2.3")));
        assert!(c.contains(ip("::ffff:10.1.2.3")), "IPv4-mapped peers");
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(!c.contains(ip("::1")));
        let one: Cidr = "192.168.1.7".parse().unwrap();
        assert!(one.contains(ip("192.168.1.7")) && !one.contains(ip("192.168.1.8")));
        let v6: Cidr = "fd00::/8".parse().unwrap();
        assert!(v6.contains(ip("fd12::1")) && !v6.contains(ip("fe80::1")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        for bad in ["10.0.0.1/8", "10.0.0.0/33", "proxy", "10.0.0.0/x", "::/129"] {
            let e = bad.parse::<Cidr>().unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let policy = ClientPolicy {
            trusted_proxies: vec!["10.0.0.0/8".parse().unwrap()],
            ..Default::default()
        };
        let untrusted = ip("203.0.113.9");
        // A client talking to us directly cannot pick its address.
        assert_eq!(
            policy.client_ip(untrusted, ["1.1.1.1"].into_iter()),
            untrusted
        );
        // Through our proxy: the address the proxy saw.
        let proxy = ip("10.0.0.2");
        assert_eq!(
            policy.client_ip(proxy, ["198.51.100.4"].into_iter()),
            ip("198.51.100.4")
        );
        // A client-forged entry on the left is skipped: the rightmost untrusted wins.
        assert_eq!(
            policy.client_ip(proxy, ["6.6.6.6, 198.51.100.4, 10.0.0.1"].into_iter()),
            ip("198.51.100.4")
        );
        // Several headers are one chain, in order.
        assert_eq!(
            policy.client_ip(proxy, ["6.6.6.6", "198.51.100.4:5555"].into_iter()),
            ip("198.51.100.4")
        );
        // Garbage stops the walk at the last trusted hop; no header: the proxy itself.
        assert_eq!(policy.client_ip(proxy, ["junk"].into_iter()), proxy);
        assert_eq!(policy.client_ip(proxy, std::iter::empty()), proxy);
        // No trusted proxies configured: the header never counts.
        let none = ClientPolicy::default();
        assert_eq!(none.client_ip(proxy, ["1.1.1.1"].into_iter()), proxy);
    }

    #[test]
    fn only_configured_api_keys_identify() {
        let keys = ApiKeys::new(["widget-key-0123456789", " "]).unwrap();
        assert_eq!(keys.len(), 1);
        let name = keys.identify("widget-key-0123456789").unwrap();
        assert_eq!(name.len(), 24);
        assert!(!name.contains("widget"), "the key itself is never the name");
        assert!(keys.identify("widget-key-0123456780").is_none());
        assert!(keys.identify("").is_none());
        let e = ApiKeys::new(["short"]).unwrap_err().to_string();
        assert!(e.contains("16"), "{e}");
        assert!(!format!("{keys:?}").contains("widget"));
    }

    #[test]
    fn keys_file_skips_comments() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        std::fs::write(
            &path,
            "# partners\nkey-of-partner-one-aaaa\n\nkey-of-partner-two-bbbb\n",
        )
        .unwrap();
        let keys = ApiKeys::load(&path).unwrap();
        assert_eq!(keys.len(), 2);
        std::fs::write(&path, "tiny\n").unwrap();
        let e = ApiKeys::load(&path).unwrap_err().to_string();
        assert!(e.contains(&path.display().to_string()), "{e}");
    }
}
