//! Binance stream names, connection endpoints, URL paths and SUBSCRIBE frames.
//!
//! Spot streams all go to one combined connection (`/stream?streams=a/b/c`). USD-M futures are
//! routed (2026): `/public` carries bookTicker and depth, `/market` carries aggTrade, markPrice,
//! forceOrder (and, unverified, `@trade`); an unrouted fstream connection stays silent for
//! `/market` streams, so every stream is checked against its endpoint. Everything is written into
//! caller-provided byte buffers: nothing here allocates, and a too-small buffer is a typed error.

use thiserror::Error;

use super::records::{Asset, Venue};

/// Spot market-data host.
pub const SPOT_HOST: &str = "stream.binance.com";
/// Spot market-data port.
pub const SPOT_PORT: u16 = 9443;
/// USD-M futures market-data host.
pub const FUTURES_HOST: &str = "fstream.binance.com";
/// USD-M futures port.
pub const FUTURES_PORT: u16 = 443;
/// Most streams a single connection is asked to carry (fstream's documented floor is 200).
pub const MAX_STREAMS_PER_CONNECTION: usize = 64;

/// Update speed suffix of a depth stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DepthSpeed {
    /// No suffix (1000 ms on spot, 250 ms on futures).
    Default,
    Ms500,
    Ms250,
    Ms100,
    /// Futures real-time (`@0ms`).
    Ms0,
}

impl DepthSpeed {
    const fn suffix(self) -> &'static str {
        match self {
            DepthSpeed::Default => "",
            DepthSpeed::Ms500 => "@500ms",
            DepthSpeed::Ms250 => "@250ms",
            DepthSpeed::Ms100 => "@100ms",
            DepthSpeed::Ms0 => "@0ms",
        }
    }

    fn from_suffix(s: &[u8]) -> Option<DepthSpeed> {
        Some(match s {
            b"" => DepthSpeed::Default,
            b"@500ms" => DepthSpeed::Ms500,
            b"@250ms" => DepthSpeed::Ms250,
            b"@100ms" => DepthSpeed::Ms100,
            b"@0ms" => DepthSpeed::Ms0,
            _ => return None,
        })
    }
}

/// One per-symbol stream type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamKind {
    Trade,
    AggTrade,
    BookTicker,
    /// Diff depth (`depthUpdate`).
    Depth(DepthSpeed),
    /// Top-N book (`depth5`/`depth10`/`depth20`).
    PartialDepth {
        levels: u8,
        speed: DepthSpeed,
    },
    /// Futures mark price and funding, every 3 s.
    MarkPrice,
    /// Futures mark price and funding, every 1 s.
    MarkPrice1s,
    /// Futures liquidation snapshots.
    ForceOrder,
}

/// A parsed combined-stream name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StreamName {
    Symbol {
        asset: Asset,
        kind: StreamKind,
    },
    /// `!serverShutdown`.
    ServerShutdown,
}

/// A WebSocket endpoint: spot, or one of the two futures routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Spot,
    FuturesPublic,
    FuturesMarket,
}

impl Endpoint {
    pub const fn venue(self) -> Venue {
        match self {
            Endpoint::Spot => Venue::Spot,
            Endpoint::FuturesPublic | Endpoint::FuturesMarket => Venue::Futures,
        }
    }
    pub const fn host(self) -> &'static str {
        match self {
            Endpoint::Spot => SPOT_HOST,
            _ => FUTURES_HOST,
        }
    }
    pub const fn port(self) -> u16 {
        match self {
            Endpoint::Spot => SPOT_PORT,
            _ => FUTURES_PORT,
        }
    }
    /// Route prefix placed before `/stream` or `/ws`.
    pub const fn route(self) -> &'static str {
        match self {
            Endpoint::Spot => "",
            Endpoint::FuturesPublic => "/public",
            Endpoint::FuturesMarket => "/market",
        }
    }
    /// The streams the engine subscribes per asset on this endpoint.
    pub const fn default_kinds(self) -> &'static [StreamKind] {
        match self {
            Endpoint::Spot => &[StreamKind::Trade, StreamKind::BookTicker],
            Endpoint::FuturesPublic => &[StreamKind::BookTicker],
            Endpoint::FuturesMarket => &[
                StreamKind::AggTrade,
                StreamKind::MarkPrice1s,
                StreamKind::ForceOrder,
            ],
        }
    }
    /// Endpoint that carries `kind` on `venue`, or `None` when the venue has no such stream.
    pub const fn for_stream(venue: Venue, kind: StreamKind) -> Option<Endpoint> {
        match venue {
            Venue::Spot => match kind {
                StreamKind::MarkPrice | StreamKind::MarkPrice1s | StreamKind::ForceOrder => None,
                _ => Some(Endpoint::Spot),
            },
            Venue::Futures => match kind {
                StreamKind::BookTicker | StreamKind::Depth(_) | StreamKind::PartialDepth { .. } => {
                    Some(Endpoint::FuturesPublic)
                }
                StreamKind::Trade
                | StreamKind::AggTrade
                | StreamKind::MarkPrice
                | StreamKind::MarkPrice1s
                | StreamKind::ForceOrder => Some(Endpoint::FuturesMarket),
            },
        }
    }
}

/// Why a name, path or frame could not be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum StreamError {
    #[error("output buffer too small")]
    BufferTooSmall,
    #[error("stream is not carried by this endpoint")]
    WrongEndpoint,
    #[error("no streams given")]
    Empty,
    #[error("too many streams for one connection")]
    TooMany,
}

/// A write cursor over a caller buffer.
struct Cursor<'a> {
    out: &'a mut [u8],
    len: usize,
}

impl<'a> Cursor<'a> {
    fn new(out: &'a mut [u8]) -> Self {
        Cursor { out, len: 0 }
    }
    fn put(&mut self, bytes: &[u8]) -> Result<(), StreamError> {
        let end = self.len + bytes.len();
        let dst = self
            .out
            .get_mut(self.len..end)
            .ok_or(StreamError::BufferTooSmall)?;
        dst.copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
    fn put_str(&mut self, s: &str) -> Result<(), StreamError> {
        self.put(s.as_bytes())
    }
    fn put_u64(&mut self, mut v: u64) -> Result<(), StreamError> {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        self.put(&digits[i..])
    }
    fn put_i64(&mut self, v: i64) -> Result<(), StreamError> {
        if v < 0 {
            self.put(b"-")?;
        }
        self.put_u64(v.unsigned_abs())
    }
    fn put_stream(&mut self, asset: Asset, kind: StreamKind) -> Result<(), StreamError> {
        self.put_str(asset.symbol_lower())?;
        match kind {
            StreamKind::Trade => self.put(b"@trade"),
            StreamKind::AggTrade => self.put(b"@aggTrade"),
            StreamKind::BookTicker => self.put(b"@bookTicker"),
            StreamKind::Depth(speed) => {
                self.put(b"@depth")?;
                self.put_str(speed.suffix())
            }
            StreamKind::PartialDepth { levels, speed } => {
                self.put(b"@depth")?;
                self.put_u64(u64::from(levels))?;
                self.put_str(speed.suffix())
            }
            StreamKind::MarkPrice => self.put(b"@markPrice"),
            StreamKind::MarkPrice1s => self.put(b"@markPrice@1s"),
            StreamKind::ForceOrder => self.put(b"@forceOrder"),
        }
    }
}

/// Write one stream name (`btcusdt@bookTicker`) into `out`; returns bytes written.
pub fn write_stream_name(
    out: &mut [u8],
    asset: Asset,
    kind: StreamKind,
) -> Result<usize, StreamError> {
    let mut c = Cursor::new(out);
    c.put_stream(asset, kind)?;
    Ok(c.len)
}

fn check_streams(endpoint: Endpoint, streams: &[(Asset, StreamKind)]) -> Result<(), StreamError> {
    if streams.is_empty() {
        return Err(StreamError::Empty);
    }
    if streams.len() > MAX_STREAMS_PER_CONNECTION {
        return Err(StreamError::TooMany);
    }
    for &(_, kind) in streams {
        if Endpoint::for_stream(endpoint.venue(), kind) != Some(endpoint) {
            return Err(StreamError::WrongEndpoint);
        }
    }
    Ok(())
}

fn put_combined_path(
    c: &mut Cursor<'_>,
    endpoint: Endpoint,
    streams: &[(Asset, StreamKind)],
) -> Result<(), StreamError> {
    check_streams(endpoint, streams)?;
    c.put_str(endpoint.route())?;
    c.put(b"/stream?streams=")?;
    for (i, &(asset, kind)) in streams.iter().enumerate() {
        if i > 0 {
            c.put(b"/")?;
        }
        c.put_stream(asset, kind)?;
    }
    Ok(())
}

/// Write the combined-stream request path (`/market/stream?streams=btcusdt@aggTrade/...`).
/// Every stream must be carried by `endpoint`.
pub fn write_combined_path(
    out: &mut [u8],
    endpoint: Endpoint,
    streams: &[(Asset, StreamKind)],
) -> Result<usize, StreamError> {
    let mut c = Cursor::new(out);
    put_combined_path(&mut c, endpoint, streams)?;
    Ok(c.len)
}

/// Write the full URL (`wss://fstream.binance.com:443/public/stream?streams=...`).
pub fn write_url(
    out: &mut [u8],
    endpoint: Endpoint,
    streams: &[(Asset, StreamKind)],
) -> Result<usize, StreamError> {
    let mut c = Cursor::new(out);
    c.put(b"wss://")?;
    c.put_str(endpoint.host())?;
    c.put(b":")?;
    c.put_u64(u64::from(endpoint.port()))?;
    put_combined_path(&mut c, endpoint, streams)?;
    Ok(c.len)
}

/// Subscription request methods.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Subscribe,
    Unsubscribe,
}

/// Write `{"method":"SUBSCRIBE","params":["btcusdt@trade",...],"id":n}` into `out`.
/// All streams must belong to `endpoint` (one frame per connection).
pub fn write_subscribe(
    out: &mut [u8],
    method: Method,
    endpoint: Endpoint,
    streams: &[(Asset, StreamKind)],
    id: i64,
) -> Result<usize, StreamError> {
    check_streams(endpoint, streams)?;
    let mut c = Cursor::new(out);
    c.put(b"{\"method\":\"")?;
    c.put(match method {
        Method::Subscribe => b"SUBSCRIBE",
        Method::Unsubscribe => b"UNSUBSCRIBE",
    })?;
    c.put(b"\",\"params\":[")?;
    for (i, &(asset, kind)) in streams.iter().enumerate() {
        if i > 0 {
            c.put(b",")?;
        }
        c.put(b"\"")?;
        c.put_stream(asset, kind)?;
        c.put(b"\"")?;
    }
    c.put(b"],\"id\":")?;
    c.put_i64(id)?;
    c.put(b"}")?;
    Ok(c.len)
}

/// A fixed-capacity list of streams for one connection.
#[derive(Debug, Clone, Copy)]
pub struct StreamSet {
    pub endpoint: Endpoint,
    items: [(Asset, StreamKind); MAX_STREAMS_PER_CONNECTION],
    len: usize,
}

impl StreamSet {
    /// An empty set for `endpoint`.
    pub fn new(endpoint: Endpoint) -> Self {
        StreamSet {
            endpoint,
            items: [(Asset::Btc, StreamKind::Trade); MAX_STREAMS_PER_CONNECTION],
            len: 0,
        }
    }

    /// The endpoint's default streams for each configured asset.
    pub fn defaults(endpoint: Endpoint, assets: &[Asset]) -> Result<Self, StreamError> {
        let mut set = StreamSet::new(endpoint);
        for &asset in assets {
            for &kind in endpoint.default_kinds() {
                set.push(asset, kind)?;
            }
        }
        Ok(set)
    }

    /// Add a stream; refuses one the endpoint does not carry.
    pub fn push(&mut self, asset: Asset, kind: StreamKind) -> Result<(), StreamError> {
        if Endpoint::for_stream(self.endpoint.venue(), kind) != Some(self.endpoint) {
            return Err(StreamError::WrongEndpoint);
        }
        let slot = self.items.get_mut(self.len).ok_or(StreamError::TooMany)?;
        *slot = (asset, kind);
        self.len += 1;
        Ok(())
    }

    pub fn as_slice(&self) -> &[(Asset, StreamKind)] {
        &self.items[..self.len]
    }
}

/// Parse a stream name from a combined wrapper (`btcusdt@depth@100ms`, `!serverShutdown`).
pub fn parse_stream_name(name: &[u8]) -> Option<StreamName> {
    if name == b"!serverShutdown" {
        return Some(StreamName::ServerShutdown);
    }
    let at = name.iter().position(|&b| b == b'@')?;
    let asset = Asset::from_symbol(name.get(..at)?)?;
    let rest = name.get(at + 1..)?;
    let kind = match rest {
        b"trade" => StreamKind::Trade,
        b"aggTrade" => StreamKind::AggTrade,
        b"bookTicker" => StreamKind::BookTicker,
        b"markPrice" => StreamKind::MarkPrice,
        b"markPrice@1s" => StreamKind::MarkPrice1s,
        b"forceOrder" => StreamKind::ForceOrder,
        _ => {
            let after = rest.strip_prefix(b"depth")?;
            let digits = after.iter().take_while(|b| b.is_ascii_digit()).count();
            let (num, suffix) = after.split_at(digits);
            let speed = DepthSpeed::from_suffix(suffix)?;
            match num {
                b"" => StreamKind::Depth(speed),
                b"5" => StreamKind::PartialDepth { levels: 5, speed },
                b"10" => StreamKind::PartialDepth { levels: 10, speed },
                b"20" => StreamKind::PartialDepth { levels: 20, speed },
                _ => return None,
            }
        }
    };
    Some(StreamName::Symbol { asset, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(buf: &[u8], n: usize) -> &str {
        std::str::from_utf8(&buf[..n]).unwrap()
    }

    #[test]
    fn spot_combined_url() {
        let mut buf = [0u8; 256];
        let set = StreamSet::defaults(Endpoint::Spot, &[Asset::Btc, Asset::Eth]).unwrap();
        let n = write_url(&mut buf, Endpoint::Spot, set.as_slice()).unwrap();
        assert_eq!(
            s(&buf, n),
            "wss://stream.binance.com:9443/stream?streams=btcusdt@trade/btcusdt@bookTicker/\
             ethusdt@trade/ethusdt@bookTicker"
        );
    }

    #[test]
    fn futures_routes() {
        let mut buf = [0u8; 256];
        let set = StreamSet::defaults(Endpoint::FuturesMarket, &[Asset::Sol]).unwrap();
        let n = write_combined_path(&mut buf, Endpoint::FuturesMarket, set.as_slice()).unwrap();
        assert_eq!(
            s(&buf, n),
            "/market/stream?streams=solusdt@aggTrade/solusdt@markPrice@1s/solusdt@forceOrder"
        );
        let n = write_combined_path(
            &mut buf,
            Endpoint::FuturesPublic,
            &[
                (Asset::Xrp, StreamKind::BookTicker),
                (Asset::Xrp, StreamKind::Depth(DepthSpeed::Ms100)),
            ],
        )
        .unwrap();
        assert_eq!(
            s(&buf, n),
            "/public/stream?streams=xrpusdt@bookTicker/xrpusdt@depth@100ms"
        );
        // aggTrade on /public would connect and stay silent: refused.
        assert_eq!(
            write_combined_path(
                &mut buf,
                Endpoint::FuturesPublic,
                &[(Asset::Btc, StreamKind::AggTrade)]
            ),
            Err(StreamError::WrongEndpoint)
        );
        assert_eq!(
            StreamSet::new(Endpoint::Spot).push(Asset::Btc, StreamKind::MarkPrice),
            Err(StreamError::WrongEndpoint)
        );
    }

    #[test]
    fn subscribe_frame_and_small_buffers() {
        let mut buf = [0u8; 128];
        let n = write_subscribe(
            &mut buf,
            Method::Subscribe,
            Endpoint::Spot,
            &[
                (Asset::Btc, StreamKind::AggTrade),
                (Asset::Btc, StreamKind::Depth(DepthSpeed::Default)),
            ],
            1,
        )
        .unwrap();
        assert_eq!(
            s(&buf, n),
            r#"{"method":"SUBSCRIBE","params":["btcusdt@aggTrade","btcusdt@depth"],"id":1}"#
        );
        let v: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        assert_eq!(v["params"][1], "btcusdt@depth");
        let n = write_subscribe(
            &mut buf,
            Method::Unsubscribe,
            Endpoint::FuturesPublic,
            &[(
                Asset::Eth,
                StreamKind::PartialDepth {
                    levels: 20,
                    speed: DepthSpeed::Ms0,
                },
            )],
            -312,
        )
        .unwrap();
        assert_eq!(
            s(&buf, n),
            r#"{"method":"UNSUBSCRIBE","params":["ethusdt@depth20@0ms"],"id":-312}"#
        );
        let mut tiny = [0u8; 10];
        assert_eq!(
            write_stream_name(&mut tiny, Asset::Btc, StreamKind::BookTicker),
            Err(StreamError::BufferTooSmall)
        );
        assert_eq!(
            write_subscribe(&mut buf, Method::Subscribe, Endpoint::Spot, &[], 1),
            Err(StreamError::Empty)
        );
    }

    #[test]
    fn names_round_trip() {
        let kinds = [
            StreamKind::Trade,
            StreamKind::AggTrade,
            StreamKind::BookTicker,
            StreamKind::Depth(DepthSpeed::Default),
            StreamKind::Depth(DepthSpeed::Ms0),
            StreamKind::Depth(DepthSpeed::Ms100),
            StreamKind::PartialDepth {
                levels: 5,
                speed: DepthSpeed::Ms500,
            },
            StreamKind::PartialDepth {
                levels: 10,
                speed: DepthSpeed::Ms250,
            },
            StreamKind::MarkPrice,
            StreamKind::MarkPrice1s,
            StreamKind::ForceOrder,
        ];
        let mut buf = [0u8; 64];
        for asset in Asset::ALL {
            for kind in kinds {
                let n = write_stream_name(&mut buf, asset, kind).unwrap();
                assert_eq!(
                    parse_stream_name(&buf[..n]),
                    Some(StreamName::Symbol { asset, kind })
                );
            }
        }
        assert_eq!(
            parse_stream_name(b"!serverShutdown"),
            Some(StreamName::ServerShutdown)
        );
        for bad in [
            &b"btcusdt@kline_1m"[..],
            b"dogeusdt@trade",
            b"btcusdt",
            b"btcusdt@depth7",
            b"btcusdt@depth@7ms",
            b"",
        ] {
            assert_eq!(parse_stream_name(bad), None);
        }
    }
}
