//! Request rendering into a pre-sized buffer: `METHOD path HTTP/1.1`, the host's fixed headers
//! (rendered once into a [`RequestTemplate`]), per-request extra headers (e.g. the L2 auth
//! headers `POLY_ADDRESS`, `POLY_SIGNATURE`, `POLY_TIMESTAMP`, `POLY_API_KEY`,
//! `POLY_PASSPHRASE`), `Content-Length` and the body.
//!
//! Invariants: [`RequestTemplate::write`] never allocates and never grows the output buffer: the
//! exact size is computed first and a request that does not fit its capacity is refused with
//! [`HttpError::RequestTooLarge`]. Nothing that could break the framing (CR, LF, NUL, a space
//! in the path, a non-token header name) is ever written.

use super::HttpError;

/// Request method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `HEAD` (the response carries no body whatever its headers say)
    Head,
}

impl Method {
    /// The method token as sent on the wire.
    #[inline]
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Method::Get => b"GET",
            Method::Post => b"POST",
            Method::Put => b"PUT",
            Method::Delete => b"DELETE",
            Method::Head => b"HEAD",
        }
    }

    /// Whether `Content-Length` is sent even for an empty body.
    #[inline]
    fn always_sends_length(self) -> bool {
        matches!(self, Method::Post | Method::Put)
    }
}

/// One request, borrowed from the caller for the duration of [`RequestTemplate::write`].
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// Method.
    pub method: Method,
    /// Origin-form target: path and optional query, e.g. `b"/order"` or `b"/book?token_id=1"`.
    pub path: &'a [u8],
    /// Per-request headers written after the fixed ones, as `(name, value)`.
    pub headers: &'a [(&'a [u8], &'a [u8])],
    /// Body bytes (empty for none).
    pub body: &'a [u8],
}

/// The per-host constant part of every request: `Host` and fixed headers (`User-Agent`,
/// `Accept`, `Content-Type`, ...), validated and rendered once at construction.
#[derive(Clone, Debug)]
pub struct RequestTemplate {
    /// `Host: ...\r\n` followed by each fixed header line.
    fixed_lines: Box<[u8]>,
}

const VERSION_CRLF: &[u8] = b" HTTP/1.1\r\n";
const CONTENT_LENGTH: &[u8] = b"Content-Length: ";
const CRLF: &[u8] = b"\r\n";
const COLON_SP: &[u8] = b": ";

impl RequestTemplate {
    /// Validate and render `Host: host` and the fixed headers. Allocates (once, at set-up).
    pub fn new(host: &str, fixed_headers: &[(&str, &str)]) -> Result<Self, HttpError> {
        if host.is_empty() || !valid_value(host.as_bytes()) || host.contains(' ') {
            return Err(HttpError::InvalidRequest);
        }
        let mut lines = Vec::with_capacity(64);
        push_header(&mut lines, b"Host", host.as_bytes())?;
        for (name, value) in fixed_headers {
            push_header(&mut lines, name.as_bytes(), value.as_bytes())?;
        }
        Ok(Self {
            fixed_lines: lines.into_boxed_slice(),
        })
    }

    /// Exact number of bytes [`write`](Self::write) would produce for `req`.
    pub fn encoded_len(&self, req: &Request<'_>) -> usize {
        let mut n = req.method.as_bytes().len() + 1 + req.path.len() + VERSION_CRLF.len();
        n += self.fixed_lines.len();
        for (name, value) in req.headers {
            n += name.len() + COLON_SP.len() + value.len() + CRLF.len();
        }
        if sends_length(req) {
            n += CONTENT_LENGTH.len() + decimal_len(req.body.len()) + CRLF.len();
        }
        n + CRLF.len() + req.body.len()
    }

    /// Render `req` into `out` (cleared first). Never allocates: fails with
    /// [`HttpError::RequestTooLarge`] when `out`'s capacity is too small, and with
    /// [`HttpError::InvalidRequest`] when the path or an extra header would break framing.
    pub fn write(&self, req: &Request<'_>, out: &mut Vec<u8>) -> Result<(), HttpError> {
        if !valid_path(req.path) {
            return Err(HttpError::InvalidRequest);
        }
        for (name, value) in req.headers {
            if !valid_name(name) || !valid_value(value) {
                return Err(HttpError::InvalidRequest);
            }
        }
        out.clear();
        if self.encoded_len(req) > out.capacity() {
            return Err(HttpError::RequestTooLarge);
        }
        out.extend_from_slice(req.method.as_bytes());
        out.push(b' ');
        out.extend_from_slice(req.path);
        out.extend_from_slice(VERSION_CRLF);
        out.extend_from_slice(&self.fixed_lines);
        for (name, value) in req.headers {
            out.extend_from_slice(name);
            out.extend_from_slice(COLON_SP);
            out.extend_from_slice(value);
            out.extend_from_slice(CRLF);
        }
        if sends_length(req) {
            out.extend_from_slice(CONTENT_LENGTH);
            push_decimal(out, req.body.len());
            out.extend_from_slice(CRLF);
        }
        out.extend_from_slice(CRLF);
        out.extend_from_slice(req.body);
        Ok(())
    }
}

#[inline]
fn sends_length(req: &Request<'_>) -> bool {
    !req.body.is_empty() || req.method.always_sends_length()
}

fn push_header(out: &mut Vec<u8>, name: &[u8], value: &[u8]) -> Result<(), HttpError> {
    if !valid_name(name) || !valid_value(value) {
        return Err(HttpError::InvalidRequest);
    }
    out.extend_from_slice(name);
    out.extend_from_slice(COLON_SP);
    out.extend_from_slice(value);
    out.extend_from_slice(CRLF);
    Ok(())
}

/// RFC 9110 `token` characters, as a lookup table (one load per byte on the hot path).
const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        b += 1;
    }
    table
};

#[inline]
fn valid_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| TCHAR[usize::from(b)])
}

/// No CR, LF or NUL (branch-free fold so the loop vectorises).
#[inline]
fn valid_value(value: &[u8]) -> bool {
    !value.iter().fold(false, |bad, &b| {
        bad | (b == b'\r') | (b == b'\n') | (b == 0)
    })
}

#[inline]
fn valid_path(path: &[u8]) -> bool {
    path.first() == Some(&b'/') && path.iter().all(|&b| b > b' ' && b != 0x7f)
}

#[inline]
fn decimal_len(mut n: usize) -> usize {
    let mut digits = 1;
    while n >= 10 {
        n /= 10;
        digits += 1;
    }
    digits
}

/// Append `n` in decimal without formatting machinery.
#[inline]
fn push_decimal(out: &mut Vec<u8>, mut n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> RequestTemplate {
        RequestTemplate::new(
            "clob.example.com",
            &[
                ("User-Agent", "sattebaaz"),
                ("Content-Type", "application/json"),
            ],
        )
        .expect("valid template")
    }

    #[test]
    fn renders_post_with_auth_headers_and_length() {
        let t = template();
        let req = Request {
            method: Method::Post,
            path: b"/order",
            headers: &[
                (b"POLY_ADDRESS", b"0xabc"),
                (b"POLY_TIMESTAMP", b"1700000000"),
            ],
            body: b"{\"a\":1}",
        };
        let mut out = Vec::with_capacity(512);
        t.write(&req, &mut out).expect("fits");
        let expected: &[u8] = b"POST /order HTTP/1.1\r\nHost: clob.example.com\r\n\
User-Agent: sattebaaz\r\nContent-Type: application/json\r\nPOLY_ADDRESS: 0xabc\r\n\
POLY_TIMESTAMP: 1700000000\r\nContent-Length: 7\r\n\r\n{\"a\":1}";
        assert_eq!(out, expected);
        assert_eq!(t.encoded_len(&req), out.len());
    }

    #[test]
    fn get_without_body_has_no_length() {
        let t = template();
        let req = Request {
            method: Method::Get,
            path: b"/book?token_id=12",
            headers: &[],
            body: b"",
        };
        let mut out = Vec::with_capacity(512);
        t.write(&req, &mut out).expect("fits");
        assert!(out.starts_with(b"GET /book?token_id=12 HTTP/1.1\r\n"));
        assert!(!out.windows(15).any(|w| w == b"Content-Length:"));
        assert!(out.ends_with(b"\r\n\r\n"));
    }

    #[test]
    fn decimal_lengths() {
        for n in [0usize, 9, 10, 99, 100, 12345, usize::MAX] {
            let mut v = Vec::new();
            push_decimal(&mut v, n);
            assert_eq!(v, n.to_string().as_bytes());
            assert_eq!(decimal_len(n), v.len());
        }
    }

    #[test]
    fn refuses_injection_and_overflow() {
        let t = template();
        let mut out = Vec::with_capacity(64);
        let bad_header = Request {
            method: Method::Get,
            path: b"/",
            headers: &[(b"X", b"a\r\nEvil: 1")],
            body: b"",
        };
        assert_eq!(
            t.write(&bad_header, &mut out),
            Err(HttpError::InvalidRequest)
        );
        let bad_path = Request {
            method: Method::Get,
            path: b"/a b",
            headers: &[],
            body: b"",
        };
        assert_eq!(t.write(&bad_path, &mut out), Err(HttpError::InvalidRequest));
        let big = Request {
            method: Method::Post,
            path: b"/",
            headers: &[],
            body: &[b'x'; 100],
        };
        assert_eq!(t.write(&big, &mut out), Err(HttpError::RequestTooLarge));
        assert_eq!(out.capacity(), 64, "the buffer must never grow");
        assert!(RequestTemplate::new("h", &[("Bad Name", "v")]).is_err());
    }
}
