//! A tiny read-only HTTP/1.1 server for the telemetry endpoints, polled by the risk thread once
//! per loop iteration (no thread of its own, no async runtime): `GET /metrics` (Prometheus
//! text), `GET /` (the dashboard page), `GET /api/snapshot` (JSON); 404 for other paths, 405
//! for other methods.
//!
//! Invariants: nothing blocks: the listener and every accepted socket are non-blocking and
//! [`TelemetryServer::poll`] does a bounded amount of work (at most
//! [`ServerLimits::accepts_per_poll`] accepts, reads bounded by the request limit, writes only
//! what the socket takes). A client cannot stall the thread or hold resources: requests larger
//! than [`ServerLimits::max_request_bytes`] get 431, malformed ones 400, a request not complete
//! within [`ServerLimits::read_timeout`] gets 408 and is closed, a response not taken within
//! [`ServerLimits::write_timeout`] is dropped, connections beyond
//! [`ServerLimits::max_connections`] are refused with 503. One request per connection
//! (`Connection: close`); after the response the server half-closes and discards what the
//! client still sends for at most [`LINGER`], so an unread request tail does not reset the
//! connection before the client has read the answer. Responses carry only the snapshot (which holds no secret).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use super::dashboard;
use super::metrics;
use super::snapshot::{ServerFigures, TelemetrySnapshot, SERVER_STATUSES};

/// Resource limits of the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Open client connections at most; more are answered 503 and closed.
    pub max_connections: usize,
    /// Largest request head accepted, bytes.
    pub max_request_bytes: usize,
    /// A request must be complete this long after the connection was accepted.
    pub read_timeout: Duration,
    /// A response must be taken by the client this long after it was ready.
    pub write_timeout: Duration,
    /// New connections accepted per poll at most.
    pub accepts_per_poll: usize,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            max_connections: 16,
            max_request_bytes: 8 * 1024,
            read_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            accepts_per_poll: 16,
        }
    }
}

/// Most headers parsed in a request.
const MAX_HEADERS: usize = 32;

enum Phase {
    Reading,
    Writing,
    /// Response written and our side shut down: unread request bytes are read and discarded
    /// until the peer closes (or [`LINGER`] / [`LINGER_BYTES`] run out), so that closing with
    /// unread input does not reset the connection before the client has read the response.
    Lingering,
}

/// Longest lingering close.
const LINGER: Duration = Duration::from_secs(2);
/// Most bytes discarded while lingering.
const LINGER_BYTES: usize = 256 * 1024;

struct Client {
    stream: TcpStream,
    input: Vec<u8>,
    output: Vec<u8>,
    written: usize,
    phase: Phase,
    since: Instant,
    /// Over the connection limit: answered 503, not counted as a served connection.
    refused: bool,
}

/// See the module docs.
pub struct TelemetryServer {
    listener: TcpListener,
    addr: SocketAddr,
    clients: Vec<Client>,
    limits: ServerLimits,
    dashboard: String,
    metrics_buf: String,
    json_buf: Vec<u8>,
    figures: ServerFigures,
}

impl TelemetryServer {
    /// Bind `addr` (port 0: any free port) and serve the dashboard with `refresh_ms`.
    pub fn bind(addr: SocketAddr, limits: ServerLimits, refresh_ms: u32) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        Ok(Self {
            listener,
            addr,
            clients: Vec::with_capacity(2 * limits.max_connections),
            limits,
            dashboard: dashboard::page(refresh_ms),
            metrics_buf: String::with_capacity(64 * 1024),
            json_buf: Vec::with_capacity(64 * 1024),
            figures: ServerFigures::default(),
        })
    }

    /// The bound address (the real port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Counters (responses by status, refused, timeouts).
    pub fn figures(&self) -> ServerFigures {
        self.figures
    }

    /// Open client connections.
    pub fn open_connections(&self) -> usize {
        self.clients.len()
    }

    /// Accept, read, answer and write what can be done now without blocking; responses are
    /// rendered from `snap`. Returns whether anything happened.
    pub fn poll(&mut self, snap: &TelemetrySnapshot, now: Instant) -> bool {
        let mut busy = self.accept(now);
        let mut i = 0;
        while i < self.clients.len() {
            let (done, worked) = self.step(i, snap, now);
            busy |= worked;
            if done {
                let c = self.clients.swap_remove(i);
                let _ = c.stream.shutdown(Shutdown::Both);
            } else {
                i += 1;
            }
        }
        busy
    }

    fn accept(&mut self, now: Instant) -> bool {
        let mut accepted = false;
        for _ in 0..self.limits.accepts_per_poll {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    accepted = true;
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let serving = self.clients.iter().filter(|c| !c.refused).count();
                    if serving >= self.limits.max_connections {
                        self.figures.refused += 1;
                        self.count(503);
                        // Refusals get a 503 and a lingering close too, up to as many again
                        // as the limit; past that the socket is just closed.
                        if self.clients.len() >= 2 * self.limits.max_connections {
                            let _ = stream.shutdown(Shutdown::Both);
                            continue;
                        }
                        let mut output = Vec::new();
                        response_head(&mut output, 503, "text/plain; charset=utf-8", 0, "");
                        self.clients.push(Client {
                            stream,
                            input: Vec::new(),
                            output,
                            written: 0,
                            phase: Phase::Writing,
                            since: now,
                            refused: true,
                        });
                        continue;
                    }
                    let _ = stream.set_nodelay(true);
                    self.clients.push(Client {
                        stream,
                        input: Vec::with_capacity(1024),
                        output: Vec::new(),
                        written: 0,
                        phase: Phase::Reading,
                        since: now,
                        refused: false,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                // Per-connection accept errors (ECONNABORTED, EMFILE...): try again next poll.
                Err(_) => break,
            }
        }
        accepted
    }

    /// One client's step: `(finished, did_something)`.
    fn step(&mut self, i: usize, snap: &TelemetrySnapshot, now: Instant) -> (bool, bool) {
        let limits = self.limits;
        let Some(c) = self.clients.get_mut(i) else {
            return (true, false);
        };
        let mut worked = false;
        if let Phase::Reading = c.phase {
            let mut chunk = [0u8; 4096];
            let mut peer_closed = false;
            let mut too_large = false;
            loop {
                match c.stream.read(&mut chunk) {
                    Ok(0) => {
                        peer_closed = true;
                        break;
                    }
                    Ok(n) => {
                        worked = true;
                        let room = limits.max_request_bytes.saturating_sub(c.input.len());
                        c.input.extend_from_slice(&chunk[..n.min(room)]);
                        if n > room {
                            too_large = true;
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return (true, worked),
                }
            }
            let status = if too_large {
                Some(Answer::Status(431))
            } else {
                match parse_request(&c.input) {
                    Parsed::Complete(answer) => Some(answer),
                    Parsed::Partial if c.input.len() >= limits.max_request_bytes => {
                        Some(Answer::Status(431))
                    }
                    Parsed::Partial if peer_closed => return (true, worked),
                    Parsed::Partial if now.duration_since(c.since) >= limits.read_timeout => {
                        self.figures.timeouts += 1;
                        Some(Answer::Status(408))
                    }
                    Parsed::Partial => None,
                    Parsed::TooManyHeaders => Some(Answer::Status(431)),
                    Parsed::Malformed => Some(Answer::Status(400)),
                }
            };
            let Some(answer) = status else {
                return (false, worked);
            };
            let code = self.respond(i, answer, snap);
            self.count(code);
            let Some(c) = self.clients.get_mut(i) else {
                return (true, worked);
            };
            c.phase = Phase::Writing;
            c.since = now;
            worked = true;
        }
        let Some(c) = self.clients.get_mut(i) else {
            return (true, worked);
        };
        if let Phase::Lingering = c.phase {
            let mut chunk = [0u8; 4096];
            loop {
                match c.stream.read(&mut chunk) {
                    Ok(0) => return (true, true),
                    Ok(n) => {
                        worked = true;
                        c.written += n;
                        if c.written >= LINGER_BYTES {
                            return (true, worked);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => return (true, worked),
                }
            }
            return (now.duration_since(c.since) >= LINGER, worked);
        }
        while c.written < c.output.len() {
            match c.stream.write(&c.output[c.written..]) {
                Ok(0) => return (true, worked),
                Ok(n) => {
                    c.written += n;
                    worked = true;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return (true, worked),
            }
        }
        if c.written >= c.output.len() {
            // Half-close, then linger until the client closes its side.
            if c.stream.shutdown(Shutdown::Write).is_err() {
                return (true, worked);
            }
            c.phase = Phase::Lingering;
            c.since = now;
            c.written = 0;
            return (false, worked);
        }
        if now.duration_since(c.since) >= limits.write_timeout {
            self.figures.timeouts += 1;
            return (true, worked);
        }
        (false, worked)
    }

    /// Render the answer into client `i`'s output; returns the status.
    fn respond(&mut self, i: usize, answer: Answer, snap: &TelemetrySnapshot) -> u16 {
        let Some(c) = self.clients.get_mut(i) else {
            return 0;
        };
        c.output.clear();
        c.written = 0;
        match answer {
            Answer::Metrics => {
                metrics::render_with_server(snap, &self.figures, &mut self.metrics_buf);
                let body = self.metrics_buf.as_bytes();
                response_head(&mut c.output, 200, metrics::CONTENT_TYPE, body.len(), "");
                c.output.extend_from_slice(body);
                200
            }
            Answer::Dashboard => {
                let body = self.dashboard.as_bytes();
                response_head(
                    &mut c.output,
                    200,
                    "text/html; charset=utf-8",
                    body.len(),
                    dashboard::CSP_HEADER,
                );
                c.output.extend_from_slice(body);
                200
            }
            Answer::Snapshot => {
                snap.write_json(&mut self.json_buf);
                response_head(
                    &mut c.output,
                    200,
                    "application/json",
                    self.json_buf.len(),
                    "",
                );
                c.output.extend_from_slice(&self.json_buf);
                200
            }
            Answer::Status(code) => {
                let body = reason(code).as_bytes();
                let extra = if code == 405 { "Allow: GET\r\n" } else { "" };
                response_head(
                    &mut c.output,
                    code,
                    "text/plain; charset=utf-8",
                    body.len() + 1,
                    extra,
                );
                c.output.extend_from_slice(body);
                c.output.push(b'\n');
                code
            }
        }
    }

    fn count(&mut self, code: u16) {
        if let Some(i) = SERVER_STATUSES.iter().position(|s| *s == code) {
            self.figures.responses[i] += 1;
        }
    }
}

/// What a complete request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    Metrics,
    Dashboard,
    Snapshot,
    Status(u16),
}

enum Parsed {
    Complete(Answer),
    Partial,
    TooManyHeaders,
    Malformed,
}

fn parse_request(input: &[u8]) -> Parsed {
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut headers);
    match req.parse(input) {
        Ok(httparse::Status::Complete(_)) => {}
        Ok(httparse::Status::Partial) => return Parsed::Partial,
        Err(httparse::Error::TooManyHeaders) => return Parsed::TooManyHeaders,
        Err(_) => return Parsed::Malformed,
    }
    let (Some(method), Some(target)) = (req.method, req.path) else {
        return Parsed::Malformed;
    };
    let path = target.split(['?', '#']).next().unwrap_or("");
    let known = matches!(path, "/" | "/index.html" | "/metrics" | "/api/snapshot");
    if method != "GET" {
        return Parsed::Complete(Answer::Status(if known { 405 } else { 404 }));
    }
    Parsed::Complete(match path {
        "/" | "/index.html" => Answer::Dashboard,
        "/metrics" => Answer::Metrics,
        "/api/snapshot" => Answer::Snapshot,
        _ => Answer::Status(404),
    })
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        400 => "Bad Request",
        404 => "Not Found",
        405 => "Method Not Allowed",
        408 => "Request Timeout",
        431 => "Request Header Fields Too Large",
        503 => "Service Unavailable",
        _ => "Error",
    }
}

fn response_head(out: &mut Vec<u8>, code: u16, content_type: &str, len: usize, extra: &str) {
    use std::io::Write as _;
    let _ = write!(
        out,
        "HTTP/1.1 {code} {}\r\nContent-Type: {content_type}\r\nContent-Length: {len}\r\n\
         Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\
         {extra}\r\n",
        reason(code)
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_and_methods() {
        let ok = |s: &str| match parse_request(s.as_bytes()) {
            Parsed::Complete(a) => a,
            _ => panic!("{s:?} not complete"),
        };
        assert_eq!(
            ok("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Answer::Metrics
        );
        assert_eq!(ok("GET /?a=b HTTP/1.1\r\n\r\n"), Answer::Dashboard);
        assert_eq!(ok("GET /api/snapshot HTTP/1.0\r\n\r\n"), Answer::Snapshot);
        assert_eq!(ok("GET /nope HTTP/1.1\r\n\r\n"), Answer::Status(404));
        assert_eq!(ok("POST /metrics HTTP/1.1\r\n\r\n"), Answer::Status(405));
        assert!(matches!(
            parse_request(b"GET /metrics HTTP/1.1\r\n"),
            Parsed::Partial
        ));
        assert!(matches!(
            parse_request(b"G\x00T / HTTP/1.1\r\n\r\n"),
            Parsed::Malformed
        ));
    }
}
