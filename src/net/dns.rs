//! Endpoints and name resolution: parse a `ws://`, `wss://`, `http://` or `https://` URL (or a
//! bare `host:port`) into an [`Endpoint`] and resolve it to socket addresses.
//!
//! Resolution uses the system resolver through std's `ToSocketAddrs` and therefore **blocks**:
//! it runs only at start-up or on the risk/telemetry thread, never on the hot thread, which is
//! handed the resulting `SocketAddr`s. Parsing is strict: anything we cannot represent exactly
//! (user info, empty host, bad port, whitespace) is a typed error rather than a guess.

use std::fmt;
use std::net::{SocketAddr, ToSocketAddrs};

/// URL schemes the wire layer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// Plain WebSocket.
    Ws,
    /// WebSocket over TLS.
    Wss,
    /// Plain HTTP/1.1.
    Http,
    /// HTTP/1.1 over TLS.
    Https,
}

impl Scheme {
    /// True when the connection runs over TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, Scheme::Wss | Scheme::Https)
    }
    /// True for the WebSocket schemes.
    pub fn is_websocket(self) -> bool {
        matches!(self, Scheme::Ws | Scheme::Wss)
    }
    /// The port used when the URL names none (443 for TLS, 80 otherwise).
    pub fn default_port(self) -> u16 {
        if self.is_tls() {
            443
        } else {
            80
        }
    }
    /// The scheme as written in a URL.
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Ws => "ws",
            Scheme::Wss => "wss",
            Scheme::Http => "http",
            Scheme::Https => "https",
        }
    }
}

/// Why a URL or `host:port` string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// No `scheme://` prefix.
    #[error("URL has no scheme (expected ws://, wss://, http:// or https://)")]
    MissingScheme,
    /// A scheme other than ws/wss/http/https.
    #[error("unsupported URL scheme {0:?} (expected ws, wss, http or https)")]
    UnsupportedScheme(String),
    /// Empty host.
    #[error("URL has an empty host")]
    EmptyHost,
    /// A host with characters not allowed in a DNS name or IP literal.
    #[error("invalid host {0:?}")]
    InvalidHost(String),
    /// A port that is empty, not a number, zero or above 65535.
    #[error("invalid port {0:?}")]
    InvalidPort(String),
    /// `user:pass@host` is not supported (credentials never travel in URLs here).
    #[error("user info (user@host) in URLs is not supported")]
    UserInfo,
    /// Whitespace or control characters anywhere in the input.
    #[error("URL contains whitespace or control characters")]
    IllegalCharacter,
    /// An IPv6 literal missing its closing bracket.
    #[error("unterminated IPv6 literal in {0:?}")]
    UnterminatedIpv6(String),
}

/// Why resolution failed.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// The system resolver failed.
    #[error("resolving {host}:{port}: {source}")]
    Lookup {
        /// Host that was looked up.
        host: String,
        /// Port that was attached.
        port: u16,
        /// Resolver error.
        #[source]
        source: std::io::Error,
    },
    /// The resolver succeeded but returned no address.
    #[error("resolving {host}:{port}: no addresses")]
    NoAddresses {
        /// Host that was looked up.
        host: String,
        /// Port that was attached.
        port: u16,
    },
    /// The input could not be parsed.
    #[error(transparent)]
    Url(#[from] UrlError),
}

/// A parsed connection target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// URL scheme; decides TLS and the default port.
    pub scheme: Scheme,
    /// Host name (lower-cased) or IP literal (IPv6 without brackets). Also the TLS server name.
    pub host: String,
    /// TCP port (explicit, or the scheme default).
    pub port: u16,
    /// Request target: path plus query, always starting with `/`; the fragment is dropped.
    pub path: String,
}

impl Endpoint {
    /// Parse `scheme://host[:port][/path][?query][#fragment]`.
    #[cold]
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(UrlError::IllegalCharacter);
        }
        let (scheme_str, rest) = url.split_once("://").ok_or(UrlError::MissingScheme)?;
        let scheme = match scheme_str.to_ascii_lowercase().as_str() {
            "ws" => Scheme::Ws,
            "wss" => Scheme::Wss,
            "http" => Scheme::Http,
            "https" => Scheme::Https,
            "" => return Err(UrlError::MissingScheme),
            other => return Err(UrlError::UnsupportedScheme(other.to_owned())),
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(authority_end);
        let (host, port) = split_authority(authority, Some(scheme.default_port()))?;
        let target = target.split('#').next().unwrap_or("");
        let path = if target.is_empty() {
            "/".to_owned()
        } else if target.starts_with('?') {
            let mut p = String::with_capacity(target.len() + 1);
            p.push('/');
            p.push_str(target);
            p
        } else {
            target.to_owned()
        };
        Ok(Endpoint {
            scheme,
            host,
            port,
            path,
        })
    }

    /// True when the connection runs over TLS.
    pub fn tls(&self) -> bool {
        self.scheme.is_tls()
    }

    /// `host[:port]` as sent in an HTTP `Host` header: the port only when it is not the scheme
    /// default, IPv6 literals in brackets.
    pub fn host_header(&self) -> String {
        let host = bracket_if_ipv6(&self.host);
        if self.port == self.scheme.default_port() {
            host.into_owned()
        } else {
            format!("{host}:{}", self.port)
        }
    }

    /// Resolve to socket addresses. **Blocks** (system resolver): start-up or risk thread only.
    #[cold]
    pub fn resolve(&self) -> Result<Vec<SocketAddr>, DnsError> {
        resolve(&self.host, self.port)
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}://{}:{}{}",
            self.scheme.as_str(),
            bracket_if_ipv6(&self.host),
            self.port,
            self.path
        )
    }
}

fn bracket_if_ipv6(host: &str) -> std::borrow::Cow<'_, str> {
    if host.contains(':') {
        std::borrow::Cow::Owned(format!("[{host}]"))
    } else {
        std::borrow::Cow::Borrowed(host)
    }
}

/// Split `host[:port]` / `[v6][:port]`. With `default_port` None the port is required.
fn split_authority(authority: &str, default_port: Option<u16>) -> Result<(String, u16), UrlError> {
    if authority.contains('@') {
        return Err(UrlError::UserInfo);
    }
    let (host, port_str) = if let Some(after_bracket) = authority.strip_prefix('[') {
        let close = after_bracket
            .find(']')
            .ok_or_else(|| UrlError::UnterminatedIpv6(authority.to_owned()))?;
        let (v6, tail) = after_bracket.split_at(close);
        let tail = &tail[1..]; // skip ']' (present: found above)
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UrlError::InvalidHost(v6.to_owned()));
        }
        let port = match tail {
            "" => None,
            t => Some(
                t.strip_prefix(':')
                    .ok_or_else(|| UrlError::InvalidHost(authority.to_owned()))?,
            ),
        };
        (v6.to_owned(), port)
    } else {
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h.to_ascii_lowercase(), Some(p)),
            None => (authority.to_ascii_lowercase(), None),
        };
        if host.is_empty() {
            return Err(UrlError::EmptyHost);
        }
        if !valid_dns_or_ipv4(&host) {
            return Err(UrlError::InvalidHost(host));
        }
        (host, port)
    };
    let port = match (port_str, default_port) {
        (Some(p), _) => parse_port(p)?,
        (None, Some(d)) => d,
        (None, None) => return Err(UrlError::InvalidPort(String::new())),
    };
    Ok((host, port))
}

fn parse_port(p: &str) -> Result<u16, UrlError> {
    if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
        return Err(UrlError::InvalidPort(p.to_owned()));
    }
    match p.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::InvalidPort(p.to_owned())),
        Ok(port) => Ok(port),
    }
}

/// Letters, digits, `-`, `_` and `.` with no empty label (a single trailing dot is allowed).
fn valid_dns_or_ipv4(host: &str) -> bool {
    let trimmed = host.strip_suffix('.').unwrap_or(host);
    !trimmed.is_empty()
        && trimmed.len() <= 253
        && trimmed.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
}

/// Parse a bare `host:port` (IPv6 as `[addr]:port`); the port is required.
#[cold]
pub fn parse_host_port(s: &str) -> Result<(String, u16), UrlError> {
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(UrlError::IllegalCharacter);
    }
    split_authority(s, None)
}

/// Resolve `host` + `port`. **Blocks** (system resolver): start-up or risk thread only.
#[cold]
pub fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, DnsError> {
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|source| DnsError::Lookup {
            host: host.to_owned(),
            port,
            source,
        })?
        .collect();
    if addrs.is_empty() {
        return Err(DnsError::NoAddresses {
            host: host.to_owned(),
            port,
        });
    }
    Ok(addrs)
}

/// Resolve a bare `host:port` string. **Blocks**: start-up or risk thread only.
#[cold]
pub fn resolve_host_port(s: &str) -> Result<Vec<SocketAddr>, DnsError> {
    let (host, port) = parse_host_port(s)?;
    resolve(&host, port)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_wss_with_default_port_and_path_query() {
        let e = Endpoint::parse("wss://ws-subscriptions-clob.polymarket.com/ws/market?x=1#frag")
            .unwrap();
        assert_eq!(e.scheme, Scheme::Wss);
        assert!(e.tls());
        assert_eq!(e.host, "ws-subscriptions-clob.polymarket.com");
        assert_eq!(e.port, 443);
        assert_eq!(e.path, "/ws/market?x=1");
        assert_eq!(e.host_header(), "ws-subscriptions-clob.polymarket.com");
    }

    #[test]
    fn parses_defaults_and_explicit_ports() {
        let e = Endpoint::parse("http://Example.COM").unwrap();
        assert_eq!(
            (e.scheme, e.host.as_str(), e.port, e.path.as_str()),
            (Scheme::Http, "example.com", 80, "/")
        );
        assert!(!e.tls());
        let e = Endpoint::parse("ws://localhost:9001?stream=btcusdt").unwrap();
        assert_eq!((e.port, e.path.as_str()), (9001, "/?stream=btcusdt"));
        assert_eq!(e.host_header(), "localhost:9001");
        let e = Endpoint::parse("HTTPS://127.0.0.1:8443/order").unwrap();
        assert_eq!(
            (e.scheme, e.host.as_str(), e.port),
            (Scheme::Https, "127.0.0.1", 8443)
        );
        let e = Endpoint::parse("wss://[::1]:9443/ws").unwrap();
        assert_eq!(
            (e.host.as_str(), e.port, e.path.as_str()),
            ("::1", 9443, "/ws")
        );
        assert_eq!(e.host_header(), "[::1]:9443");
        assert_eq!(e.to_string(), "wss://[::1]:9443/ws");
        let e = Endpoint::parse("https://[::1]").unwrap();
        assert_eq!((e.port, e.host_header().as_str()), (443, "[::1]"));
    }

    #[test]
    fn rejects_bad_urls_with_typed_errors() {
        use UrlError::*;
        let cases: &[(&str, UrlError)] = &[
            ("example.com/x", MissingScheme),
            ("://example.com", MissingScheme),
            ("ftp://example.com", UnsupportedScheme("ftp".into())),
            ("wss://", EmptyHost),
            ("wss:///path", EmptyHost),
            ("wss://:443/", EmptyHost),
            ("wss://host:", InvalidPort(String::new())),
            ("wss://host:0", InvalidPort("0".into())),
            ("wss://host:65536", InvalidPort("65536".into())),
            ("wss://host:+12", InvalidPort("+12".into())),
            ("wss://host:ab", InvalidPort("ab".into())),
            ("wss://user:pw@host/", UserInfo),
            ("wss://ho st/", IllegalCharacter),
            ("wss://host/\n", IllegalCharacter),
            ("wss://[::1/", UnterminatedIpv6("[::1".into())),
            ("wss://[zz]:1/", InvalidHost("zz".into())),
            ("wss://[::1]x/", InvalidHost("[::1]x".into())),
            ("wss://a..b/", InvalidHost("a..b".into())),
            ("wss://a$b/", InvalidHost("a$b".into())),
            ("wss://::1:80/", InvalidHost("::1".into())),
        ];
        for (input, want) in cases {
            assert_eq!(
                Endpoint::parse(input).as_ref(),
                Err(want),
                "input {input:?}"
            );
        }
    }

    #[test]
    fn host_port_requires_a_port() {
        assert_eq!(
            parse_host_port("localhost:8080").unwrap(),
            ("localhost".into(), 8080)
        );
        assert_eq!(parse_host_port("[::1]:1").unwrap(), ("::1".into(), 1));
        assert_eq!(
            parse_host_port("localhost"),
            Err(UrlError::InvalidPort(String::new()))
        );
        assert_eq!(parse_host_port(":80"), Err(UrlError::EmptyHost));
    }

    #[test]
    fn resolves_loopback_literals_and_localhost() {
        let addrs = resolve_host_port("127.0.0.1:4242").unwrap();
        assert_eq!(addrs, vec!["127.0.0.1:4242".parse::<SocketAddr>().unwrap()]);
        let e = Endpoint::parse("ws://[::1]:5/").unwrap();
        assert_eq!(
            e.resolve().unwrap(),
            vec!["[::1]:5".parse::<SocketAddr>().unwrap()]
        );
        let local = resolve("localhost", 80).unwrap();
        assert!(local.iter().all(|a| a.ip().is_loopback() && a.port() == 80));
        assert!(matches!(resolve_host_port("nope"), Err(DnsError::Url(_))));
    }
}
