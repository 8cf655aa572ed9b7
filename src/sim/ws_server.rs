//! The simulator's WebSocket servers: a TLS listener per simulated venue host, one thread per
//! client connection (the simulator is not latency-critical and may block), and a publish/subscribe
//! hub that fans frames out to the connections that asked for their stream.
//!
//! Routing follows Binance's conventions: `/stream?streams=a/b` (combined: each frame wrapped as
//! `{"stream":..,"data":..}`) and `/ws/<stream>` (raw), optionally under a route prefix such as
//! `/public` or `/market`. Faults can be injected per service: drop every connection, or go silent
//! (stop sending data while still answering pings).
//!
//! A service can instead be driven by client messages ([`ClientProtocol`]): the connection starts
//! with no streams and the protocol adds/removes hub streams and answers (snapshots, `PONG`) as
//! the client's text frames arrive — the Polymarket market channel and RTDS work this way.

use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use tungstenite::handshake::server::{Request, Response};
use tungstenite::protocol::WebSocketConfig;
use tungstenite::{Message, WebSocket};

/// How many frames may wait for one slow client before it is disconnected.
const CLIENT_QUEUE: usize = 8192;

/// A frame published on a named stream.
#[derive(Clone)]
pub struct Published {
    /// Stream name as clients subscribe to it (`btcusdt@trade`).
    pub stream: Arc<str>,
    /// Payload JSON (without the combined-stream wrapper).
    pub payload: Arc<[u8]>,
    /// Set for frames injected with [`FeedHub::inject`]: the connection flushes the frame at
    /// once and reports the time it was written.
    pub receipt: Option<Arc<super::bench_hooks::WriteReceipt>>,
}

struct Subscriber {
    id: u64,
    streams: Vec<String>,
    tx: SyncSender<Published>,
}

/// Fan-out of published frames to subscribed connections.
#[derive(Default)]
pub struct FeedHub {
    subscribers: Mutex<Vec<Subscriber>>,
    next_id: AtomicU64,
    /// Frames that could not be queued to a slow client (that client is then dropped).
    pub slow_client_drops: AtomicU64,
    /// Frames handed to at least one subscriber.
    pub frames_published: AtomicU64,
}

impl FeedHub {
    /// Publish `payload` on `stream` to every subscriber of it.
    pub fn publish(&self, stream: &str, payload: Arc<[u8]>) {
        self.publish_any(&[stream], payload);
    }

    /// Number of connected subscribers.
    pub fn subscriber_count(&self) -> usize {
        self.subscribers.lock().map(|s| s.len()).unwrap_or(0)
    }

    /// Publish `payload` to every subscriber of at least one of `streams` (once per subscriber).
    pub fn publish_any(&self, streams: &[&str], payload: Arc<[u8]>) {
        self.fan_out(streams, payload, None);
    }

    /// Publish `payload` on `stream` now, like [`FeedHub::publish`], and return a receipt that
    /// tells when every connection that received it had written it to its socket.
    pub fn inject(
        &self,
        stream: &str,
        payload: Arc<[u8]>,
    ) -> Arc<super::bench_hooks::WriteReceipt> {
        let receipt = Arc::new(super::bench_hooks::WriteReceipt::new());
        self.fan_out(&[stream], payload, Some(&receipt));
        receipt
    }

    fn fan_out(
        &self,
        streams: &[&str],
        payload: Arc<[u8]>,
        receipt: Option<&Arc<super::bench_hooks::WriteReceipt>>,
    ) {
        let Some(first) = streams.first() else {
            return;
        };
        let mut subs = match self.subscribers.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        if subs.is_empty() {
            return;
        }
        let name: Arc<str> = Arc::from(*first);
        let mut delivered = false;
        subs.retain(|s| {
            if !s.streams.iter().any(|x| streams.contains(&x.as_str())) {
                return true;
            }
            if let Some(r) = receipt {
                r.queued_once();
            }
            match s.tx.try_send(Published {
                stream: name.clone(),
                payload: payload.clone(),
                receipt: receipt.cloned(),
            }) {
                Ok(()) => {
                    delivered = true;
                    true
                }
                Err(TrySendError::Full(_)) => {
                    if let Some(r) = receipt {
                        r.abandoned_once();
                    }
                    self.slow_client_drops.fetch_add(1, Ordering::Relaxed);
                    false
                }
                Err(TrySendError::Disconnected(_)) => {
                    if let Some(r) = receipt {
                        r.abandoned_once();
                    }
                    false
                }
            }
        });
        if delivered {
            self.frames_published.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Add `streams` to subscriber `id` (ignoring ones it already has). Returns those added.
    pub fn add_streams(&self, id: u64, streams: &[String]) -> Vec<String> {
        let mut added = Vec::new();
        if let Ok(mut subs) = self.subscribers.lock() {
            if let Some(s) = subs.iter_mut().find(|s| s.id == id) {
                for name in streams {
                    if !s.streams.contains(name) {
                        s.streams.push(name.clone());
                        added.push(name.clone());
                    }
                }
            }
        }
        added
    }

    /// Remove `streams` from subscriber `id`.
    pub fn remove_streams(&self, id: u64, streams: &[String]) {
        if let Ok(mut subs) = self.subscribers.lock() {
            if let Some(s) = subs.iter_mut().find(|s| s.id == id) {
                s.streams.retain(|x| !streams.contains(x));
            }
        }
    }

    /// The streams subscriber `id` currently receives.
    pub fn streams_of(&self, id: u64) -> Vec<String> {
        self.subscribers
            .lock()
            .ok()
            .and_then(|subs| subs.iter().find(|s| s.id == id).map(|s| s.streams.clone()))
            .unwrap_or_default()
    }

    fn subscribe(&self, streams: Vec<String>) -> (u64, Receiver<Published>) {
        let (tx, rx) = mpsc::sync_channel(CLIENT_QUEUE);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut subs) = self.subscribers.lock() {
            subs.push(Subscriber { id, streams, tx });
        }
        (id, rx)
    }

    fn unsubscribe(&self, id: u64) {
        if let Ok(mut subs) = self.subscribers.lock() {
            subs.retain(|s| s.id != id);
        }
    }
}

/// Faults a test (or the demo) can inject into one simulated service.
#[derive(Default)]
pub struct ServiceControl {
    /// While set, connections stay open and answer pings but receive no data.
    pub silent: AtomicBool,
    /// Bumping this closes every connection accepted before the bump.
    pub drop_generation: AtomicU64,
    /// Connections accepted so far.
    pub accepted: AtomicU64,
    /// Order requests read by an HTTP service (the CLOB), recorded while enabled.
    pub order_arrivals: super::bench_hooks::OrderArrivalLog,
}

impl ServiceControl {
    /// Close every current connection abruptly (TCP shutdown, no close frame).
    pub fn drop_all(&self) {
        self.drop_generation.fetch_add(1, Ordering::SeqCst);
    }
}

/// A frame a [`ClientProtocol`] sends back to its client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Keep-alive or protocol answer (`PONG`, errors): sent even while the service is silent.
    Control(String),
    /// Market data (snapshots): suppressed while the service is silent, like published frames.
    Data(String),
}

/// A service whose subscriptions come from client messages rather than the URL.
///
/// Implementations must take any lock that also guards the publishing side *before* calling
/// [`FeedHub::add_streams`] and build snapshots under it, so a snapshot and the frames that follow
/// it are consistent.
pub trait ClientProtocol: Send + Sync + 'static {
    /// Whether a WebSocket upgrade to `path_and_query` is served.
    fn accepts(&self, path_and_query: &str) -> bool;
    /// Handle one text frame of connection `sub_id` (its hub subscriber id); return the replies.
    fn on_text(&self, text: &str, hub: &FeedHub, sub_id: u64) -> Vec<Reply>;
}

/// How a service decides what a connection receives.
#[derive(Clone)]
enum Mode {
    /// Binance-style: streams named in the URL under one of these route prefixes.
    Routes(&'static [&'static str]),
    /// Subscriptions driven by client messages.
    Protocol(Arc<dyn ClientProtocol>),
}

/// What a connection asked for, decoded from its request path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Stream names to deliver.
    pub streams: Vec<String>,
    /// Combined (`{"stream":..,"data":..}`) or raw payloads.
    pub combined: bool,
}

/// Decode `[/prefix]/stream?streams=a/b` or `[/prefix]/ws/<stream>[/<stream>...]`.
/// `prefix` is the route the service lives under (`""`, `"/public"`, `"/market"`).
pub fn parse_route(path_and_query: &str, prefix: &str) -> Option<Route> {
    let rest = path_and_query.strip_prefix(prefix)?;
    if let Some(q) = rest.strip_prefix("/stream?") {
        let streams = q
            .split('&')
            .find_map(|kv| kv.strip_prefix("streams="))?
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>();
        (!streams.is_empty()).then_some(Route {
            streams,
            combined: true,
        })
    } else if let Some(s) = rest.strip_prefix("/ws/") {
        let streams = s
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect::<Vec<_>>();
        (!streams.is_empty()).then_some(Route {
            streams,
            combined: false,
        })
    } else {
        None
    }
}

/// A running simulated WebSocket service.
pub struct WsService {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Fault injection.
    pub control: Arc<ServiceControl>,
    /// Its publish hub.
    pub hub: Arc<FeedHub>,
    handle: Option<JoinHandle<()>>,
}

impl WsService {
    /// Bind `bind:0` and serve Binance-style routes under `prefix` over TLS.
    pub fn start(
        bind: &str,
        prefixes: &'static [&'static str],
        tls: Arc<rustls::ServerConfig>,
        stop: Arc<AtomicBool>,
    ) -> io::Result<WsService> {
        Self::start_mode(bind, Mode::Routes(prefixes), tls, stop)
    }

    /// Bind `bind:0` and serve a message-driven protocol over TLS.
    pub fn start_protocol(
        bind: &str,
        protocol: Arc<dyn ClientProtocol>,
        tls: Arc<rustls::ServerConfig>,
        stop: Arc<AtomicBool>,
    ) -> io::Result<WsService> {
        Self::start_mode(bind, Mode::Protocol(protocol), tls, stop)
    }

    fn start_mode(
        bind: &str,
        mode: Mode,
        tls: Arc<rustls::ServerConfig>,
        stop: Arc<AtomicBool>,
    ) -> io::Result<WsService> {
        let listener = TcpListener::bind((bind, 0))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let control = Arc::new(ServiceControl::default());
        let hub = Arc::new(FeedHub::default());
        let (c, h) = (control.clone(), hub.clone());
        let handle = thread::Builder::new()
            .name(format!("sim-ws-{}", addr.port()))
            .spawn(move || accept_loop(listener, mode, tls, h, c, stop))?;
        Ok(WsService {
            addr,
            control,
            hub,
            handle: Some(handle),
        })
    }

    /// Wait for the accept thread to end (after the stop flag is set).
    pub fn join(&mut self) {
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    mode: Mode,
    tls: Arc<rustls::ServerConfig>,
    hub: Arc<FeedHub>,
    control: Arc<ServiceControl>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((sock, _)) => {
                control.accepted.fetch_add(1, Ordering::Relaxed);
                let (mode, tls, hub, control, stop) = (
                    mode.clone(),
                    tls.clone(),
                    hub.clone(),
                    control.clone(),
                    stop.clone(),
                );
                let _ = thread::Builder::new()
                    .name("sim-ws-conn".into())
                    .spawn(move || {
                        let _ = serve_connection(sock, mode, tls, hub, control, stop);
                    });
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

type TlsSock = rustls::StreamOwned<rustls::ServerConnection, TcpStream>;

fn serve_connection(
    sock: TcpStream,
    mode: Mode,
    tls: Arc<rustls::ServerConfig>,
    hub: Arc<FeedHub>,
    control: Arc<ServiceControl>,
    stop: Arc<AtomicBool>,
) -> io::Result<()> {
    let generation = control.drop_generation.load(Ordering::SeqCst);
    sock.set_nonblocking(false)?;
    sock.set_nodelay(true)?;
    sock.set_read_timeout(Some(Duration::from_secs(5)))?;
    let conn = rustls::ServerConnection::new(tls).map_err(io::Error::other)?;
    let stream = rustls::StreamOwned::new(conn, sock);
    let mut route: Option<Route> = None;
    let mut accepted = false;
    let cfg = WebSocketConfig::default();
    #[expect(
        clippy::result_large_err,
        reason = "tungstenite's callback signature fixes the error type"
    )]
    let callback = |req: &Request, resp: Response| {
        let pq = req.uri().path_and_query().map(|p| p.as_str()).unwrap_or("");
        match &mode {
            Mode::Routes(prefixes) => {
                route = prefixes.iter().find_map(|p| parse_route(pq, p));
                accepted = route.is_some();
            }
            Mode::Protocol(p) => accepted = p.accepts(pq),
        }
        Ok(resp)
    };
    let mut ws = tungstenite::accept_hdr_with_config(stream, callback, Some(cfg))
        .map_err(|e| io::Error::other(e.to_string()))?;
    if !accepted {
        let _ = ws.close(None);
        let _ = ws.flush();
        return Ok(());
    }
    ws.get_mut().sock.set_nonblocking(true)?;
    let (route, protocol) = match mode {
        Mode::Routes(_) => (
            route.unwrap_or(Route {
                streams: Vec::new(),
                combined: false,
            }),
            None,
        ),
        Mode::Protocol(p) => (
            Route {
                streams: Vec::new(),
                combined: false,
            },
            Some(p),
        ),
    };
    let (id, rx) = hub.subscribe(route.streams.clone());
    let link = Link {
        hub: &hub,
        sub_id: id,
        protocol: protocol.as_deref(),
    };
    let result = pump(&mut ws, &rx, &route, &link, &control, generation, &stop);
    hub.unsubscribe(id);
    result
}

/// The connection's place in its hub, and its protocol when message-driven.
struct Link<'a> {
    hub: &'a FeedHub,
    sub_id: u64,
    protocol: Option<&'a dyn ClientProtocol>,
}

fn send_text(ws: &mut WebSocket<TlsSock>, text: String) -> io::Result<()> {
    match ws.write(Message::text(text)) {
        Ok(()) => Ok(()),
        Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => Ok(()),
        Err(e) => Err(io::Error::other(e.to_string())),
    }
}

/// Flush everything buffered, waiting out `WouldBlock` (a full socket buffer) for up to a
/// second.
fn flush_all(ws: &mut WebSocket<TlsSock>) -> io::Result<()> {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        match ws.flush() {
            Ok(()) => return Ok(()),
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                if std::time::Instant::now() > deadline {
                    return Ok(());
                }
                std::hint::spin_loop();
            }
            Err(e) => return Err(io::Error::other(e.to_string())),
        }
    }
}

fn pump(
    ws: &mut WebSocket<TlsSock>,
    rx: &Receiver<Published>,
    route: &Route,
    link: &Link<'_>,
    control: &ServiceControl,
    generation: u64,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut wrapped = Vec::with_capacity(4096);
    loop {
        if stop.load(Ordering::Relaxed) {
            let _ = ws.close(None);
            let _ = ws.flush();
            return Ok(());
        }
        if control.drop_generation.load(Ordering::SeqCst) != generation {
            let _ = ws.get_mut().sock.shutdown(std::net::Shutdown::Both);
            return Ok(());
        }
        // Wait briefly for data, then forward everything queued.
        let mut next = rx.recv_timeout(Duration::from_millis(2)).ok();
        while let Some(p) = next {
            if !control.silent.load(Ordering::Relaxed) {
                let bytes: &[u8] = if route.combined {
                    wrapped.clear();
                    wrapped.extend_from_slice(b"{\"stream\":\"");
                    wrapped.extend_from_slice(p.stream.as_bytes());
                    wrapped.extend_from_slice(b"\",\"data\":");
                    wrapped.extend_from_slice(&p.payload);
                    wrapped.push(b'}');
                    &wrapped
                } else {
                    &p.payload
                };
                let text = String::from_utf8_lossy(bytes).into_owned();
                match ws.write(Message::text(text)) {
                    Ok(()) => {}
                    Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => {
                        if let Some(r) = &p.receipt {
                            r.written(crate::clock::mono_ns(), None);
                        }
                        return Err(io::Error::other(e.to_string()));
                    }
                }
                if let Some(r) = &p.receipt {
                    // An injected frame goes out now. Its time is taken just before the TLS
                    // record is made and written, so a thread switch after the write cannot put
                    // it after the peer's reaction; the kernel's transmit time of its last byte
                    // comes with it.
                    let fd = ws.get_ref().sock.as_raw_fd();
                    let start_ns = crate::clock::mono_ns();
                    let (flushed, tx_ns) = super::tx_stamp::tx_stamped(fd, || flush_all(ws));
                    r.written(start_ns, tx_ns);
                    flushed?;
                }
            } else if let Some(r) = &p.receipt {
                r.written(crate::clock::mono_ns(), None);
            }
            next = rx.try_recv().ok();
        }
        match ws.flush() {
            Ok(()) => {}
            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {}
            Err(e) => return Err(io::Error::other(e.to_string())),
        }
        // Answer pings / notice closes without blocking.
        loop {
            match ws.read() {
                Ok(Message::Close(_)) => {
                    let _ = ws.flush();
                    return Ok(());
                }
                Ok(Message::Text(t)) => {
                    if let Some(p) = link.protocol {
                        for reply in p.on_text(t.as_str(), link.hub, link.sub_id) {
                            match reply {
                                Reply::Control(text) => send_text(ws, text)?,
                                Reply::Data(text) => {
                                    if !control.silent.load(Ordering::Relaxed) {
                                        send_text(ws, text)?;
                                    }
                                }
                            }
                        }
                        match ws.flush() {
                            Ok(()) => {}
                            Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => {
                            }
                            Err(e) => return Err(io::Error::other(e.to_string())),
                        }
                    }
                }
                Ok(_) => continue,
                Err(tungstenite::Error::Io(e)) if e.kind() == ErrorKind::WouldBlock => break,
                Err(tungstenite::Error::ConnectionClosed)
                | Err(tungstenite::Error::AlreadyClosed) => return Ok(()),
                Err(e) => return Err(io::Error::other(e.to_string())),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes() {
        assert_eq!(
            parse_route("/stream?streams=btcusdt@trade/btcusdt@bookTicker", ""),
            Some(Route {
                streams: vec!["btcusdt@trade".into(), "btcusdt@bookTicker".into()],
                combined: true
            })
        );
        assert_eq!(
            parse_route("/market/ws/btcusdt@aggTrade", "/market"),
            Some(Route {
                streams: vec!["btcusdt@aggTrade".into()],
                combined: false
            })
        );
        assert_eq!(parse_route("/public/stream?streams=", "/public"), None);
        assert_eq!(parse_route("/other", ""), None);
    }
}
