//! A conventional Binance → Polymarket lag bot, written the way such bots usually are: a tokio
//! runtime, tokio-tungstenite WebSockets over rustls, reqwest for REST, serde_json values,
//! shared state behind an async lock, and each order signed (k256 + sha3 EIP-712) and posted
//! on the fly from a spawned task.
//!
//! It keeps the latest Binance spot trade price and the Up/Down books (REST snapshot at start,
//! then the market channel), and on every trade that changes the price computes
//! P(Up) = Φ(d), d = ((S − K)/K) / (σ/√525600 · √minutes_left), and buys the side whose
//! fair − ask − taker fee beats `--min-edge`, FAK at the ask.
//!
//! Configuration: command-line options (see `Args`); the wallet key and API credentials come
//! from the environment (`BOT_PRIVATE_KEY`, `BOT_API_KEY`, `BOT_API_SECRET`,
//! `BOT_API_PASSPHRASE`) and are never printed. Prints `READY` on stdout once both feeds are
//! connected and the books are loaded.

mod order;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use k256::ecdsa::SigningKey;
use serde_json::Value;
use tokio::sync::RwLock;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::Connector;

#[derive(Debug, Clone)]
struct Args {
    binance_ws: String,
    market_ws: String,
    clob: String,
    ca: String,
    up_token: String,
    down_token: String,
    strike: f64,
    end_ms: u64,
    vol: f64,
    min_edge: f64,
    fee_rate: f64,
    max_shares: f64,
    cooldown_ms: u64,
    chain_id: u64,
}

fn parse_args() -> Result<Args, String> {
    let mut map = std::collections::HashMap::new();
    let mut it = std::env::args().skip(1);
    while let Some(k) = it.next() {
        let v = it.next().ok_or(format!("{k} needs a value"))?;
        map.insert(k.trim_start_matches("--").to_string(), v);
    }
    let s = |k: &str| map.get(k).cloned().ok_or(format!("--{k} is required"));
    let f = |k: &str, d: f64| {
        map.get(k).map_or(Ok(d), |v| {
            v.parse::<f64>().map_err(|e| format!("--{k}: {e}"))
        })
    };
    let u = |k: &str, d: u64| {
        map.get(k).map_or(Ok(d), |v| {
            v.parse::<u64>().map_err(|e| format!("--{k}: {e}"))
        })
    };
    Ok(Args {
        binance_ws: s("binance-ws")?,
        market_ws: s("market-ws")?,
        clob: s("clob")?,
        ca: s("ca")?,
        up_token: s("up-token")?,
        down_token: s("down-token")?,
        strike: f("strike", 0.0)?,
        end_ms: u("end-ms", 0)?,
        vol: f("vol", 0.55)?,
        min_edge: f("min-edge", 0.02)?,
        fee_rate: f("fee-rate", 0.072)?,
        max_shares: f("max-shares", 20.0)?,
        cooldown_ms: u("cooldown-ms", 250)?,
        chain_id: u("chain-id", 137)?,
    })
}

struct Creds {
    key: SigningKey,
    address: String,
    api_key: String,
    secret: String,
    passphrase: String,
}

#[derive(Default, Debug)]
struct Book {
    /// price (micro) → size (shares)
    bids: BTreeMap<u64, f64>,
    asks: BTreeMap<u64, f64>,
}

impl Book {
    fn best_ask(&self) -> Option<(u64, f64)> {
        self.asks.iter().next().map(|(p, s)| (*p, *s))
    }
}

#[derive(Default)]
struct Books {
    up: Book,
    down: Book,
    neg_risk: bool,
}

fn micro(v: &Value) -> Option<u64> {
    let f = match v {
        Value::String(s) => s.parse::<f64>().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    Some((f * 1e6).round() as u64)
}

fn size_of(v: &Value) -> f64 {
    match v {
        Value::String(s) => s.parse().unwrap_or(0.0),
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn load_levels(levels: &Value) -> BTreeMap<u64, f64> {
    let mut out = BTreeMap::new();
    if let Some(a) = levels.as_array() {
        for l in a {
            if let Some(p) = micro(&l["price"]) {
                let s = size_of(&l["size"]);
                if s > 0.0 {
                    out.insert(p, s);
                }
            }
        }
    }
    out
}

fn norm_cdf(x: f64) -> f64 {
    0.5 * (1.0 + libm::erf(x / std::f64::consts::SQRT_2))
}

fn fair_up(price: f64, strike: f64, vol: f64, ms_left: u64) -> f64 {
    if ms_left == 0 || vol <= 0.0 {
        return if price >= strike { 1.0 } else { 0.0 };
    }
    let pct = (price - strike) / strike;
    let sigma_per_min = vol / 525_600f64.sqrt();
    let minutes = ms_left as f64 / 60_000.0;
    norm_cdf(pct / (sigma_per_min * minutes.sqrt()))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn book_for<'a>(books: &'a mut Books, args: &Args, asset: &str) -> Option<&'a mut Book> {
    if asset == args.up_token {
        Some(&mut books.up)
    } else if asset == args.down_token {
        Some(&mut books.down)
    } else {
        None
    }
}

fn apply_market_event(ev: &Value, args: &Args, books: &mut Books) {
    match ev["event_type"].as_str() {
        Some("book") => {
            let asset = ev["asset_id"].as_str().unwrap_or("");
            if let Some(b) = book_for(books, args, asset) {
                b.bids = load_levels(&ev["bids"]);
                b.asks = load_levels(&ev["asks"]);
            }
        }
        Some("price_change") => {
            if let Some(changes) = ev["price_changes"].as_array() {
                for c in changes {
                    let asset = c["asset_id"].as_str().unwrap_or("");
                    let Some(b) = book_for(books, args, asset) else {
                        continue;
                    };
                    let Some(p) = micro(&c["price"]) else {
                        continue;
                    };
                    let s = size_of(&c["size"]);
                    let levels = if c["side"] == "BUY" {
                        &mut b.bids
                    } else {
                        &mut b.asks
                    };
                    if s > 0.0 {
                        levels.insert(p, s);
                    } else {
                        levels.remove(&p);
                    }
                }
            }
        }
        _ => {}
    }
}

#[tokio::main]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("conventional-bot: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<(), String> {
    let args = parse_args()?;
    let env = |k: &str| std::env::var(k).map_err(|_| format!("{k} is not set"));
    let key_hex = env("BOT_PRIVATE_KEY")?;
    let key = SigningKey::from_slice(
        &hex::decode(key_hex.trim_start_matches("0x")).map_err(|_| "BOT_PRIVATE_KEY is not hex")?,
    )
    .map_err(|_| "BOT_PRIVATE_KEY is not a valid key")?;
    let creds = Arc::new(Creds {
        address: order::address_of(&key),
        key,
        api_key: env("BOT_API_KEY")?,
        secret: env("BOT_API_SECRET")?,
        passphrase: env("BOT_API_PASSPHRASE")?,
    });

    // TLS: trust the given CA.
    let pem = std::fs::read(&args.ca).map_err(|e| format!("{}: {e}", args.ca))?;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
        roots
            .add(cert.map_err(|e| e.to_string())?)
            .map_err(|e| e.to_string())?;
    }
    let tls = Arc::new(
        rustls::ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth(),
    );
    let http = reqwest::Client::builder()
        .use_rustls_tls()
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).map_err(|e| e.to_string())?)
        .tcp_nodelay(true)
        .pool_max_idle_per_host(4)
        .build()
        .map_err(|e| e.to_string())?;

    // Books: REST snapshot first.
    let books = Arc::new(RwLock::new(Books::default()));
    for (token, is_up) in [(&args.up_token, true), (&args.down_token, false)] {
        let v: Value = http
            .get(format!("{}/book?token_id={token}", args.clob))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json()
            .await
            .map_err(|e| e.to_string())?;
        let mut b = books.write().await;
        let book = if is_up { &mut b.up } else { &mut b.down };
        book.bids = load_levels(&v["bids"]);
        book.asks = load_levels(&v["asks"]);
        b.neg_risk = v["neg_risk"].as_bool().unwrap_or(false);
    }
    // Warm the connection pool.
    let _ = http.get(format!("{}/time", args.clob)).send().await;

    // Market channel.
    let (mut market, _) = tokio_tungstenite::connect_async_tls_with_config(
        args.market_ws.as_str(),
        None,
        true,
        Some(Connector::Rustls(tls.clone())),
    )
    .await
    .map_err(|e| format!("market ws: {e}"))?;
    let sub = serde_json::json!({"type": "market", "assets_ids": [args.up_token, args.down_token]});
    market
        .send(Message::text(sub.to_string()))
        .await
        .map_err(|e| e.to_string())?;
    {
        let (books, args) = (books.clone(), args.clone());
        tokio::spawn(async move {
            let (mut tx, mut rx) = market.split();
            let mut ping = tokio::time::interval(Duration::from_secs(10));
            loop {
                tokio::select! {
                    _ = ping.tick() => { let _ = tx.send(Message::text("PING")).await; }
                    msg = rx.next() => {
                        let Some(Ok(msg)) = msg else { break };
                        let Message::Text(text) = msg else { continue };
                        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                        let mut b = books.write().await;
                        match &v {
                            Value::Array(events) => for ev in events { apply_market_event(ev, &args, &mut b) },
                            ev => apply_market_event(ev, &args, &mut b),
                        }
                    }
                }
            }
        });
    }

    // Binance trades.
    let (mut binance, _) = tokio_tungstenite::connect_async_tls_with_config(
        args.binance_ws.as_str(),
        None,
        true,
        Some(Connector::Rustls(tls.clone())),
    )
    .await
    .map_err(|e| format!("binance ws: {e}"))?;

    println!("READY {}", creds.address);
    let _ = std::io::stdout().flush();

    let mut last_price = 0.0f64;
    let mut last_order: Option<Instant> = None;
    while let Some(msg) = binance.next().await {
        let msg = msg.map_err(|e| format!("binance ws: {e}"))?;
        let text = match msg {
            Message::Text(t) => t,
            Message::Ping(p) => {
                let _ = binance.send(Message::Pong(p)).await;
                continue;
            }
            Message::Close(_) => break,
            _ => continue,
        };
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        let data = if v.get("data").is_some() {
            &v["data"]
        } else {
            &v
        };
        if data["e"] != "trade" {
            continue;
        }
        let Some(price) = data["p"].as_str().and_then(|p| p.parse::<f64>().ok()) else {
            continue;
        };
        if price == last_price {
            continue;
        }
        last_price = price;
        if last_order.is_some_and(|t| t.elapsed() < Duration::from_millis(args.cooldown_ms)) {
            continue;
        }
        let ms_left = args.end_ms.saturating_sub(now_ms());
        let fair = fair_up(price, args.strike, args.vol, ms_left);
        let b = books.read().await;
        let mut best: Option<(&str, u64, f64, f64)> = None;
        for (token, book, f) in [
            (&args.up_token, &b.up, fair),
            (&args.down_token, &b.down, 1.0 - fair),
        ] {
            let Some((ask, size)) = book.best_ask() else {
                continue;
            };
            let a = ask as f64 / 1e6;
            let edge = f - a - args.fee_rate * a * (1.0 - a);
            if edge > args.min_edge && best.is_none_or(|x| edge > x.3) {
                best = Some((token.as_str(), ask, size, edge));
            }
        }
        let neg_risk = b.neg_risk;
        let Some((token, ask, at_ask, _edge)) = best else {
            continue;
        };
        let shares = (at_ask.min(args.max_shares) * 100.0).floor() / 100.0;
        if shares < 5.0 {
            continue;
        }
        let token = token.to_string();
        drop(b);
        last_order = Some(Instant::now());
        let (http, creds, clob, chain_id) = (
            http.clone(),
            creds.clone(),
            args.clob.clone(),
            args.chain_id,
        );
        tokio::spawn(async move {
            let ts = now_ms();
            let signed = order::sign_order(
                &creds.key,
                &order::OrderArgs {
                    token_id: &token,
                    side: "BUY",
                    price_micro: ask,
                    size_micro: (shares * 100.0).round() as u64 * 10_000,
                    salt: ts ^ 0x5a5a_5a5a,
                    timestamp_ms: ts,
                    neg_risk,
                    chain_id,
                },
            );
            let body = serde_json::to_string(&order::PostOrder {
                order: signed,
                owner: creds.api_key.clone(),
                order_type: "FAK".into(),
                defer_exec: false,
                post_only: false,
            })
            .expect("body");
            let l2_ts = ts / 1000;
            let sig = order::l2_signature(&creds.secret, l2_ts, "POST", "/order", &body);
            let res = http
                .post(format!("{clob}/order"))
                .header("POLY_ADDRESS", &creds.address)
                .header("POLY_SIGNATURE", sig)
                .header("POLY_TIMESTAMP", l2_ts.to_string())
                .header("POLY_API_KEY", &creds.api_key)
                .header("POLY_PASSPHRASE", &creds.passphrase)
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await;
            match res {
                Ok(r) => println!("ORDER {}", r.status().as_u16()),
                Err(e) => println!("ORDER error {e}"),
            }
        });
    }
    Ok(())
}
