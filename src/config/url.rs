//! Minimal URL parsing for venue endpoints: `scheme://host[:port][/path][?query]`.
//!
//! Only what the engine connects to is accepted: schemes `ws`, `wss`, `http`, `https`; a
//! non-empty host (DNS name, IPv4, or bracketed IPv6); an optional port 1..=65535. No user
//! info, no fragment, no whitespace or control characters. The result tells the network layer
//! whether to wrap TLS, which host to resolve and send as SNI/`Host`, and the request target.

use std::fmt;

/// URL scheme of an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain WebSocket.
    Ws,
    /// WebSocket over TLS.
    Wss,
    /// Plain HTTP.
    Http,
    /// HTTP over TLS.
    Https,
}

impl Scheme {
    /// `true` for `wss` and `https`.
    pub fn is_tls(self) -> bool {
        matches!(self, Self::Wss | Self::Https)
    }

    /// `true` for `ws` and `wss`.
    pub fn is_websocket(self) -> bool {
        matches!(self, Self::Ws | Self::Wss)
    }

    /// Port used when the URL names none.
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
            Self::Ws => "ws",
            Self::Wss => "wss",
            Self::Http => "http",
            Self::Https => "https",
        }
    }
}

/// A parsed endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Scheme (decides TLS and protocol).
    pub scheme: Scheme,
    /// Host name or IP literal (IPv6 without brackets), lower-cased.
    pub host: String,
    /// Explicit port or the scheme's default.
    pub port: u16,
    /// Request target: path plus query, at least `/`.
    pub path_and_query: String,
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = self.scheme.as_str();
        if self.host.contains(':') {
            write!(
                f,
                "{scheme}://[{}]:{}{}",
                self.host, self.port, self.path_and_query
            )
        } else {
            write!(
                f,
                "{scheme}://{}:{}{}",
                self.host, self.port, self.path_and_query
            )
        }
    }
}

/// Why a URL was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    /// No `://` separator.
    #[error("not a URL (expected scheme://host...)")]
    NoScheme,
    /// Scheme other than ws/wss/http/https.
    #[error("unsupported scheme `{0}`")]
    UnknownScheme(String),
    /// Empty host.
    #[error("no host")]
    NoHost,
    /// Host has characters not allowed in a DNS name or IP literal.
    #[error("invalid host")]
    BadHost,
    /// Port not a number in 1..=65535.
    #[error("invalid port")]
    BadPort,
    /// `user@` parts are not accepted (credentials never live in URLs).
    #[error("user info (`user@`) is not allowed")]
    UserInfo,
    /// `#fragment` is meaningless for an endpoint.
    #[error("fragment (`#`) is not allowed")]
    Fragment,
    /// Whitespace or control characters.
    #[error("contains whitespace or control characters")]
    BadCharacter,
}

/// Parses `url` into an [`Endpoint`].
pub fn parse_endpoint(url: &str) -> Result<Endpoint, UrlError> {
    if url
        .bytes()
        .any(|byte| byte.is_ascii_whitespace() || byte.is_ascii_control())
    {
        return Err(UrlError::BadCharacter);
    }
    let (scheme_text, rest) = url.split_once("://").ok_or(UrlError::NoScheme)?;
    let scheme = match scheme_text.to_ascii_lowercase().as_str() {
        "ws" => Scheme::Ws,
        "wss" => Scheme::Wss,
        "http" => Scheme::Http,
        "https" => Scheme::Https,
        _ => return Err(UrlError::UnknownScheme(scheme_text.to_owned())),
    };
    if rest.contains('#') {
        return Err(UrlError::Fragment);
    }
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, target) = rest.split_at(authority_end);
    if authority.contains('@') {
        return Err(UrlError::UserInfo);
    }
    let (host, port_text) = split_host_port(authority)?;
    if host.is_empty() {
        return Err(UrlError::NoHost);
    }
    let port = match port_text {
        None => scheme.default_port(),
        Some(text) => parse_port(text)?,
    };
    let path_and_query = if target.is_empty() {
        "/".to_owned()
    } else if target.starts_with('?') {
        format!("/{target}")
    } else {
        target.to_owned()
    };
    Ok(Endpoint {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
        path_and_query,
    })
}

/// Splits `host[:port]` or `[v6]:port`; validates the host's characters.
fn split_host_port(authority: &str) -> Result<(&str, Option<&str>), UrlError> {
    if let Some(after_bracket) = authority.strip_prefix('[') {
        let (v6, after) = after_bracket.split_once(']').ok_or(UrlError::BadHost)?;
        if v6.parse::<std::net::Ipv6Addr>().is_err() {
            return Err(UrlError::BadHost);
        }
        return match after {
            "" => Ok((v6, None)),
            _ => match after.strip_prefix(':') {
                Some(port) => Ok((v6, Some(port))),
                None => Err(UrlError::BadHost),
            },
        };
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = host
        .bytes()
        .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.' || byte == b'_');
    if !host_ok || host.starts_with('.') || host.starts_with('-') || host.contains("..") {
        return Err(UrlError::BadHost);
    }
    Ok((host, port))
}

fn parse_port(text: &str) -> Result<u16, UrlError> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(UrlError::BadPort);
    }
    match text.parse::<u16>() {
        Ok(0) | Err(_) => Err(UrlError::BadPort),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_venue_urls() {
        let spot = parse_endpoint("wss://stream.binance.com:9443").expect("valid");
        assert_eq!(spot.scheme, Scheme::Wss);
        assert_eq!(spot.host, "stream.binance.com");
        assert_eq!(spot.port, 9443);
        assert_eq!(spot.path_and_query, "/");

        let user =
            parse_endpoint("wss://ws-subscriptions-clob.polymarket.com/ws/user").expect("valid");
        assert_eq!(user.port, 443);
        assert_eq!(user.path_and_query, "/ws/user");

        let local = parse_endpoint("http://127.0.0.1:8080?x=1").expect("valid");
        assert!(!local.scheme.is_tls());
        assert_eq!(local.path_and_query, "/?x=1");

        let v6 = parse_endpoint("ws://[::1]:9000/a").expect("valid");
        assert_eq!(v6.host, "::1");
        assert_eq!(v6.to_string(), "ws://[::1]:9000/a");
    }

    #[test]
    fn rejects_bad_urls() {
        assert_eq!(
            parse_endpoint("stream.binance.com"),
            Err(UrlError::NoScheme)
        );
        assert_eq!(
            parse_endpoint("ftp://x.com"),
            Err(UrlError::UnknownScheme("ftp".to_owned()))
        );
        assert_eq!(parse_endpoint("wss://"), Err(UrlError::NoHost));
        assert_eq!(parse_endpoint("wss://:443/x"), Err(UrlError::NoHost));
        assert_eq!(parse_endpoint("wss://a.com:0"), Err(UrlError::BadPort));
        assert_eq!(parse_endpoint("wss://a.com:70000"), Err(UrlError::BadPort));
        assert_eq!(parse_endpoint("wss://a.com:"), Err(UrlError::BadPort));
        assert_eq!(parse_endpoint("wss://u:p@a.com"), Err(UrlError::UserInfo));
        assert_eq!(parse_endpoint("wss://a.com/#x"), Err(UrlError::Fragment));
        assert_eq!(parse_endpoint("wss://a b.com"), Err(UrlError::BadCharacter));
        assert_eq!(parse_endpoint("wss://a..com"), Err(UrlError::BadHost));
        assert_eq!(parse_endpoint("wss://[zz]:1"), Err(UrlError::BadHost));
    }
}
