//! Incremental HTTP/1.1 response parser over one reused, pre-sized read buffer.
//!
//! The caller reads socket bytes straight into [`ResponseParser::spare`] and reports them with
//! [`ResponseParser::advance`]; end of stream is reported with [`ResponseParser::on_eof`]. The
//! head is parsed with httparse once complete; the body is framed by `Content-Length`, by
//! chunked transfer coding (decoded in place: chunk data is moved down over the chunk-size lines
//! so the body ends up contiguous; extensions and trailers are skipped) or, failing both, by the
//! peer closing. `1xx` interim responses are skipped.
//!
//! Invariants: reads may split anywhere (mid status line, mid chunk-size line, mid CRLF); no
//! allocation after construction; any peer input yields a complete response or an
//! [`HttpError`], never a panic and never an unbounded wait for buffer space (a full buffer is
//! [`HttpError::HeadTooLarge`] or [`HttpError::BodyTooLarge`]); a truncated response is
//! [`HttpError::Truncated`]. Header and body views borrow the buffer and stay valid until the
//! next `reset`/`advance`.

use super::{HttpError, Stage};

/// Maximum response headers recorded (more is [`HttpError::TooManyHeaders`]).
pub const MAX_HEADERS: usize = 48;
/// Maximum length of one chunk-size line or trailer line.
pub const MAX_CHUNK_LINE: usize = 1024;

#[derive(Clone, Copy, Debug, Default)]
struct Span {
    start: u32,
    len: u32,
}

impl Span {
    #[inline]
    fn of(base: &[u8], part: &[u8]) -> Self {
        // `part` is a sub-slice of `base` (httparse hands out views into the buffer).
        let start = (part.as_ptr() as usize).wrapping_sub(base.as_ptr() as usize);
        Span {
            start: start as u32,
            len: part.len() as u32,
        }
    }
    #[inline]
    fn get(self, buf: &[u8]) -> &[u8] {
        let start = self.start as usize;
        buf.get(start..start + self.len as usize).unwrap_or(&[])
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct HeaderSpan {
    name: Span,
    value: Span,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Expecting a chunk-size line.
    Size,
    /// Inside chunk data with this many bytes left.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// After the last (zero) chunk: trailer lines until an empty line.
    Trailers,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Waiting for a complete head.
    Head,
    /// Body framed by length: complete when `filled >= body_end`.
    Length,
    /// Chunked body being decoded.
    Chunked(Chunk),
    /// Body runs to end of stream.
    UntilClose,
    /// A full response is available.
    Complete,
}

/// Incremental response parser owning its read buffer. See the module docs.
pub struct ResponseParser {
    buf: Box<[u8]>,
    /// Bytes of `buf` holding received (and, for chunked, partly decoded) data.
    filled: usize,
    max_head: usize,
    max_body: usize,
    phase: Phase,
    /// The request was `HEAD`: no body whatever the headers say.
    head_request: bool,
    status: u16,
    reason: Span,
    keep_alive: bool,
    retry_after_s: Option<u32>,
    headers: [HeaderSpan; MAX_HEADERS],
    header_count: usize,
    head_len: usize,
    /// End of the body (decoded end while chunked).
    body_end: usize,
    /// Chunked: first raw (not yet decoded) byte.
    scan: usize,
}

impl ResponseParser {
    /// A parser accepting heads up to `max_head` bytes and bodies up to `max_body` bytes.
    /// Allocates its buffer once.
    pub fn new(max_head: usize, max_body: usize) -> Self {
        let cap = max_head + max_body + MAX_CHUNK_LINE + 2;
        Self {
            buf: vec![0u8; cap].into_boxed_slice(),
            filled: 0,
            max_head,
            max_body,
            phase: Phase::Head,
            head_request: false,
            status: 0,
            reason: Span::default(),
            keep_alive: false,
            retry_after_s: None,
            headers: [HeaderSpan::default(); MAX_HEADERS],
            header_count: 0,
            head_len: 0,
            body_end: 0,
            scan: 0,
        }
    }

    /// Forget the previous response and expect a new one (to a `HEAD` request when
    /// `head_request`).
    #[inline]
    pub fn reset(&mut self, head_request: bool) {
        self.filled = 0;
        self.phase = Phase::Head;
        self.head_request = head_request;
        self.header_count = 0;
        self.retry_after_s = None;
        self.keep_alive = false;
    }

    /// Bytes received for the current response so far (0 means nothing arrived yet).
    #[inline]
    pub fn received(&self) -> usize {
        self.filled
    }

    /// True once a full response is available.
    #[inline]
    pub fn is_complete(&self) -> bool {
        self.phase == Phase::Complete
    }

    /// Free space to read into. Empty only when the response cannot fit the limits, which
    /// [`advance`](Self::advance) has then already reported as an error.
    #[inline]
    pub fn spare(&mut self) -> &mut [u8] {
        let filled = self.filled;
        self.buf.get_mut(filled..).unwrap_or(&mut [])
    }

    /// Account for `n` bytes just written into [`spare`](Self::spare) and parse as far as
    /// possible. Returns `Ok(true)` when the response is complete.
    pub fn advance(&mut self, n: usize) -> Result<bool, HttpError> {
        self.filled = (self.filled + n).min(self.buf.len());
        self.process()
    }

    /// Copy `bytes` in and parse (for tests and callers that already hold the bytes). Returns
    /// how many bytes were taken and whether the response is complete.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<(usize, bool), HttpError> {
        let spare = self.spare();
        let n = bytes.len().min(spare.len());
        spare[..n].copy_from_slice(&bytes[..n]);
        let done = self.advance(n)?;
        Ok((n, done))
    }

    /// The peer closed the stream. Completes a read-until-close body; otherwise the response
    /// was cut short.
    pub fn on_eof(&mut self) -> Result<(), HttpError> {
        match self.phase {
            Phase::Complete => Ok(()),
            Phase::UntilClose => {
                self.body_end = self.filled;
                self.keep_alive = false;
                self.phase = Phase::Complete;
                Ok(())
            }
            Phase::Head if self.filled == 0 => Err(HttpError::ClosedBeforeResponse),
            Phase::Head => Err(HttpError::Truncated(Stage::Head)),
            Phase::Length | Phase::Chunked(_) => Err(HttpError::Truncated(Stage::Body)),
        }
    }

    /// Whether the connection may carry another request after this (complete) response:
    /// HTTP/1.1 without `Connection: close` (or 1.0 with `keep-alive`), framed by length or
    /// chunks, and no stray bytes after it.
    #[inline]
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// A view of the complete response. Meaningful only when [`is_complete`](Self::is_complete).
    pub fn view(&self) -> ResponseView<'_> {
        ResponseView {
            status: self.status,
            reason: self.reason.get(&self.buf),
            retry_after_s: self.retry_after_s,
            buf: &self.buf,
            headers: self.headers.get(..self.header_count).unwrap_or(&[]),
            body: self.buf.get(self.head_len..self.body_end).unwrap_or(&[]),
        }
    }

    fn process(&mut self) -> Result<bool, HttpError> {
        loop {
            match self.phase {
                Phase::Head => {
                    if !self.parse_head()? {
                        return Ok(false);
                    }
                }
                Phase::Length => {
                    if self.filled < self.body_end {
                        return Ok(false);
                    }
                    if self.filled > self.body_end {
                        // Bytes nobody asked for: the connection's framing is suspect.
                        self.keep_alive = false;
                    }
                    self.phase = Phase::Complete;
                }
                Phase::Chunked(state) => return self.decode_chunks(state),
                Phase::UntilClose => {
                    if self.filled - self.head_len > self.max_body {
                        return Err(HttpError::BodyTooLarge);
                    }
                    return Ok(false);
                }
                Phase::Complete => return Ok(true),
            }
        }
    }

    /// Try to parse the head. `Ok(false)`: need more bytes.
    fn parse_head(&mut self) -> Result<bool, HttpError> {
        let mut raw_headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut raw_headers);
        let data = self.buf.get(..self.filled).unwrap_or(&[]);
        let head_len = match parsed.parse(data) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => {
                return if self.filled >= self.max_head {
                    Err(HttpError::HeadTooLarge)
                } else {
                    Ok(false)
                };
            }
            Err(httparse::Error::TooManyHeaders) => return Err(HttpError::TooManyHeaders),
            Err(_) => return Err(HttpError::MalformedHead),
        };
        if head_len > self.max_head {
            return Err(HttpError::HeadTooLarge);
        }
        let status = parsed.code.unwrap_or(0);
        if status == 101 {
            return Err(HttpError::MalformedHead);
        }
        if (100..200).contains(&status) {
            // Interim response: drop it and parse what follows.
            self.buf.copy_within(head_len..self.filled, 0);
            self.filled -= head_len;
            return Ok(true);
        }
        let http11 = parsed.version == Some(1);
        let mut content_length: Option<u64> = None;
        let mut chunked = false;
        let mut transfer_encoding = false;
        let mut close = false;
        let mut keep_alive_token = false;
        let mut retry_after = None;
        let mut count = 0;
        for h in parsed.headers.iter() {
            if let Some(slot) = self.headers.get_mut(count) {
                *slot = HeaderSpan {
                    name: Span::of(data, h.name.as_bytes()),
                    value: Span::of(data, h.value),
                };
                count += 1;
            }
            let name = h.name.as_bytes();
            if name.eq_ignore_ascii_case(b"content-length") {
                let n = parse_u64(trim(h.value)).ok_or(HttpError::InvalidContentLength)?;
                if content_length.is_some_and(|prev| prev != n) {
                    return Err(HttpError::InvalidContentLength);
                }
                content_length = Some(n);
            } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
                transfer_encoding = true;
                chunked = last_token(h.value).eq_ignore_ascii_case(b"chunked");
            } else if name.eq_ignore_ascii_case(b"connection") {
                for token in h.value.split(|&b| b == b',') {
                    let token = trim(token);
                    close |= token.eq_ignore_ascii_case(b"close");
                    keep_alive_token |= token.eq_ignore_ascii_case(b"keep-alive");
                }
            } else if name.eq_ignore_ascii_case(b"retry-after") {
                retry_after = parse_u64(trim(h.value)).map(|s| s.min(u64::from(u32::MAX)) as u32);
            }
        }
        self.status = status;
        self.reason = match parsed.reason {
            Some(reason) => Span::of(data, reason.as_bytes()),
            None => Span::default(),
        };
        self.header_count = count;
        self.retry_after_s = retry_after;
        self.head_len = head_len;
        self.keep_alive = !close && (http11 || keep_alive_token);

        let no_body = self.head_request || status == 204 || status == 304;
        if no_body {
            self.body_end = head_len;
            self.phase = Phase::Length;
        } else if transfer_encoding {
            if content_length.is_some() {
                // Both framings present: obey Transfer-Encoding, never reuse the connection.
                self.keep_alive = false;
            }
            if chunked {
                self.body_end = head_len;
                self.scan = head_len;
                self.phase = Phase::Chunked(Chunk::Size);
            } else {
                self.keep_alive = false;
                self.phase = Phase::UntilClose;
            }
        } else if let Some(len) = content_length {
            if len > self.max_body as u64 {
                return Err(HttpError::BodyTooLarge);
            }
            self.body_end = head_len + len as usize;
            self.phase = Phase::Length;
        } else {
            self.keep_alive = false;
            self.phase = Phase::UntilClose;
        }
        Ok(true)
    }

    /// Decode as many chunked-body bytes as are available, starting in `state`.
    fn decode_chunks(&mut self, mut state: Chunk) -> Result<bool, HttpError> {
        loop {
            let raw = self.buf.get(self.scan..self.filled).unwrap_or(&[]);
            match state {
                Chunk::Size => {
                    let Some(&first) = raw.first() else { break };
                    if !first.is_ascii_hexdigit() {
                        return Err(HttpError::InvalidChunk);
                    }
                    match httparse::parse_chunk_size(raw) {
                        Ok(httparse::Status::Complete((used, size))) => {
                            self.scan += used;
                            if size == 0 {
                                state = Chunk::Trailers;
                            } else {
                                let decoded = self.body_end - self.head_len;
                                if size > (self.max_body - decoded) as u64 {
                                    return Err(HttpError::BodyTooLarge);
                                }
                                state = Chunk::Data(size);
                            }
                        }
                        Ok(httparse::Status::Partial) => {
                            if raw.len() > MAX_CHUNK_LINE {
                                return Err(HttpError::ChunkLineTooLong);
                            }
                            break;
                        }
                        Err(_) => return Err(HttpError::InvalidChunk),
                    }
                }
                Chunk::Data(left) => {
                    if raw.is_empty() {
                        break;
                    }
                    let take = (raw.len() as u64).min(left) as usize;
                    self.buf
                        .copy_within(self.scan..self.scan + take, self.body_end);
                    self.body_end += take;
                    self.scan += take;
                    let left = left - take as u64;
                    state = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                }
                Chunk::DataEnd => match raw {
                    [b'\r', b'\n', ..] => {
                        self.scan += 2;
                        state = Chunk::Size;
                    }
                    [] | [b'\r'] => break,
                    _ => return Err(HttpError::InvalidChunk),
                },
                Chunk::Trailers => match raw.windows(2).position(|w| w == b"\r\n") {
                    Some(0) => {
                        self.scan += 2;
                        if self.scan < self.filled {
                            self.keep_alive = false;
                        }
                        self.filled = self.body_end;
                        self.phase = Phase::Complete;
                        return Ok(true);
                    }
                    Some(line) => {
                        if line > MAX_CHUNK_LINE {
                            return Err(HttpError::ChunkLineTooLong);
                        }
                        self.scan += line + 2;
                    }
                    None => {
                        if raw.len() > MAX_CHUNK_LINE {
                            return Err(HttpError::ChunkLineTooLong);
                        }
                        break;
                    }
                },
            }
        }
        // Move the undecoded tail (at most one partial line) down to the decoded end so the
        // buffer never fills with consumed framing.
        if self.scan > self.body_end {
            self.buf.copy_within(self.scan..self.filled, self.body_end);
            self.filled -= self.scan - self.body_end;
            self.scan = self.body_end;
        }
        self.phase = Phase::Chunked(state);
        Ok(false)
    }
}

/// A borrowed view of one complete response: valid until the parser is reset or fed again.
#[derive(Clone, Copy)]
pub struct ResponseView<'a> {
    /// Status code.
    pub status: u16,
    /// Reason phrase (may be empty).
    pub reason: &'a [u8],
    /// `Retry-After` in seconds when given as delta-seconds (HTTP-date form is not decoded).
    pub retry_after_s: Option<u32>,
    buf: &'a [u8],
    headers: &'a [HeaderSpan],
    /// The body (de-chunked).
    pub body: &'a [u8],
}

impl<'a> ResponseView<'a> {
    /// The first header named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.headers()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    }

    /// All headers in order, as `(name, value)`.
    pub fn headers(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let buf = self.buf;
        self.headers
            .iter()
            .map(move |h| (h.name.get(buf), h.value.get(buf)))
    }
}

impl std::fmt::Debug for ResponseView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseView")
            .field("status", &self.status)
            .field("headers", &self.headers.len())
            .field("body_len", &self.body.len())
            .finish()
    }
}

#[inline]
fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

#[inline]
fn last_token(list: &[u8]) -> &[u8] {
    trim(list.rsplit(|&b| b == b',').next().unwrap_or(&[]))
}

/// Decimal digits only, at most 19 of them (fits u64).
#[inline]
fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        n = n * 10 + u64::from(b - b'0');
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHUNKED: &[u8] = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n\
5;ext=1;q=\"a b\"\r\nhello\r\n1\r\n \r\nA\r\n0123456789\r\n0\r\nX-Trailer: t\r\nY: z\r\n\r\n";
    const CHUNKED_BODY: &[u8] = b"hello 0123456789";
    const LENGTH: &[u8] =
        b"HTTP/1.1 429 Too Many Requests\r\nContent-Length: 11\r\nRetry-After: 7\r\n\r\nhello world";

    /// Feed `wire` in pieces cut at `cuts`, returning the parser when complete.
    fn feed_split(p: &mut ResponseParser, wire: &[u8], cuts: &[usize]) -> Result<bool, HttpError> {
        let mut at = 0;
        let mut done = false;
        for &cut in cuts.iter().chain(std::iter::once(&wire.len())) {
            let (n, d) = p.feed(&wire[at..cut])?;
            assert_eq!(n, cut - at);
            at = cut;
            done = d;
        }
        Ok(done)
    }

    #[test]
    fn chunked_every_two_way_and_bytewise_split() {
        let mut p = ResponseParser::new(1024, 1024);
        for cut in 0..=CHUNKED.len() {
            p.reset(false);
            assert!(
                feed_split(&mut p, CHUNKED, &[cut]).expect("valid"),
                "cut {cut}"
            );
            let v = p.view();
            assert_eq!(v.status, 200);
            assert_eq!(v.body, CHUNKED_BODY, "cut {cut}");
            assert_eq!(v.header(b"x-a"), Some(&b"1"[..]));
            assert!(p.keep_alive());
        }
        p.reset(false);
        let cuts: Vec<usize> = (1..CHUNKED.len()).collect();
        assert!(feed_split(&mut p, CHUNKED, &cuts).expect("valid"));
        assert_eq!(p.view().body, CHUNKED_BODY);
    }

    #[test]
    fn length_body_every_split_and_retry_after() {
        let mut p = ResponseParser::new(1024, 1024);
        for cut in 0..=LENGTH.len() {
            p.reset(false);
            assert!(feed_split(&mut p, LENGTH, &[cut]).expect("valid"));
            let v = p.view();
            assert_eq!((v.status, v.reason), (429, &b"Too Many Requests"[..]));
            assert_eq!(v.retry_after_s, Some(7));
            assert_eq!(v.body, b"hello world");
        }
    }

    #[test]
    fn truncations_are_typed() {
        let mut p = ResponseParser::new(1024, 1024);
        p.reset(false);
        assert_eq!(p.on_eof(), Err(HttpError::ClosedBeforeResponse));
        for (wire, cut, stage) in [
            (LENGTH, 10, Stage::Head),
            (LENGTH, LENGTH.len() - 1, Stage::Body),
            (CHUNKED, CHUNKED.len() - 1, Stage::Body),
            (CHUNKED, 60, Stage::Body),
        ] {
            p.reset(false);
            assert!(!feed_split(&mut p, &wire[..cut], &[]).expect("valid prefix"));
            assert_eq!(p.on_eof(), Err(HttpError::Truncated(stage)));
        }
    }

    #[test]
    fn until_close_and_no_body_statuses() {
        let mut p = ResponseParser::new(1024, 1024);
        p.reset(false);
        assert!(!feed_split(&mut p, b"HTTP/1.1 200 OK\r\n\r\nabc", &[]).expect("valid"));
        p.on_eof().expect("eof completes");
        assert_eq!(p.view().body, b"abc");
        assert!(!p.keep_alive());

        p.reset(false);
        let wire =
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n";
        assert!(feed_split(&mut p, wire, &[]).expect("valid"));
        assert_eq!(p.view().status, 204);
        assert!(p.view().body.is_empty());
        assert!(p.keep_alive());

        p.reset(true);
        assert!(
            feed_split(&mut p, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", &[]).expect("ok")
        );
        assert!(p.view().body.is_empty());
    }

    #[test]
    fn connection_close_and_http10() {
        let mut p = ResponseParser::new(1024, 1024);
        p.reset(false);
        feed_split(
            &mut p,
            b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n",
            &[],
        )
        .expect("valid");
        assert!(p.is_complete() && !p.keep_alive());
        p.reset(false);
        feed_split(&mut p, b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", &[]).expect("valid");
        assert!(p.is_complete() && !p.keep_alive());
        p.reset(false);
        feed_split(
            &mut p,
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxy",
            &[],
        )
        .expect("valid");
        assert!(
            p.is_complete() && !p.keep_alive(),
            "stray bytes forbid reuse"
        );
    }

    #[test]
    fn malformed_inputs_are_errors() {
        let cases: &[(&[u8], HttpError)] = &[
            (b"HTTX/1.1 200 OK\r\n\r\n", HttpError::MalformedHead),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
                HttpError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                HttpError::InvalidContentLength,
            ),
            (
                b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n",
                HttpError::BodyTooLarge,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                HttpError::InvalidChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n",
                HttpError::InvalidChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nabc",
                HttpError::InvalidChunk,
            ),
            (
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nFFFFF\r\n",
                HttpError::BodyTooLarge,
            ),
            (b"HTTP/1.1 101 Switching\r\n\r\n", HttpError::MalformedHead),
        ];
        let mut p = ResponseParser::new(1024, 1024);
        for (wire, err) in cases {
            p.reset(false);
            assert_eq!(
                feed_split(&mut p, wire, &[]),
                Err(*err),
                "{:?}",
                String::from_utf8_lossy(wire)
            );
        }
    }

    #[test]
    fn oversized_head_and_chunk_line_and_body_fill() {
        let mut p = ResponseParser::new(64, 64);
        p.reset(false);
        let mut head = b"HTTP/1.1 200 OK\r\nX: ".to_vec();
        head.extend(std::iter::repeat_n(b'a', 200));
        assert_eq!(feed_split(&mut p, &head, &[]), Err(HttpError::HeadTooLarge));

        p.reset(false);
        let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;".to_vec();
        wire.extend(std::iter::repeat_n(b'e', MAX_CHUNK_LINE + 10));
        assert_eq!(
            feed_split(&mut p, &wire, &[]),
            Err(HttpError::ChunkLineTooLong)
        );

        p.reset(false);
        let mut wire = b"HTTP/1.1 200 OK\r\n\r\n".to_vec();
        wire.extend(std::iter::repeat_n(b'b', 100));
        assert_eq!(feed_split(&mut p, &wire, &[]), Err(HttpError::BodyTooLarge));
    }

    #[test]
    fn many_small_chunks_do_not_fill_the_buffer() {
        // 200 one-byte chunks: the framing is far larger than the buffer's slack.
        let mut wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
        for i in 0..200u8 {
            wire.extend_from_slice(b"1;name=value\r\n");
            wire.push(b'a' + i % 26);
            wire.extend_from_slice(b"\r\n");
        }
        wire.extend_from_slice(b"0\r\n\r\n");
        let mut p = ResponseParser::new(256, 256);
        p.reset(false);
        let cuts: Vec<usize> = (1..wire.len()).step_by(7).collect();
        assert!(feed_split(&mut p, &wire, &cuts).expect("valid"));
        let body = p.view().body;
        assert_eq!(body.len(), 200);
        assert!(body
            .iter()
            .enumerate()
            .all(|(i, &b)| b == b'a' + (i % 26) as u8));
    }
}
