//! Alerts against local HTTP capture servers standing in for the Telegram Bot API and a Discord
//! webhook: request paths (with the token) and JSON bodies, deduplication, the per-minute rate
//! limit, and dead endpoints (a listener that never answers, a closed port) that must not stall
//! the caller.

use std::collections::HashMap;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sattebaaz::telemetry::alerts::{
    Alert, AlertKind, AlertSecrets, AlertSender, AlertSettings, Raised, ENV_DISCORD_WEBHOOK_URL,
    ENV_TELEGRAM_BOT_TOKEN,
};

const TOKEN: &str = "123456:TEST-token_abc";
const WEBHOOK: &str = "https://discord.com/api/webhooks/4242/hook-TOKEN_xyz";

/// One request the capture server saw.
#[derive(Debug)]
struct Captured {
    method: String,
    path: String,
    content_type: Option<String>,
    body: serde_json::Value,
}

/// Answers every request with `200 {"ok":true}` (keep-alive) and reports it.
fn capture_server() -> (SocketAddr, Receiver<Captured>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || serve_connection(stream, tx));
        }
    });
    (addr, rx)
}

fn serve_connection(mut s: TcpStream, tx: Sender<Captured>) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        // Parse whatever is buffered; read more when incomplete.
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut req = httparse::Request::new(&mut headers);
        let parsed = req.parse(&buf);
        let head_len = match parsed {
            Ok(httparse::Status::Complete(n)) => Some(n),
            Ok(httparse::Status::Partial) => None,
            Err(_) => return,
        };
        if let Some(head_len) = head_len {
            let len: usize = req
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok())
                .unwrap_or(0);
            if buf.len() >= head_len + len {
                let body = &buf[head_len..head_len + len];
                let captured = Captured {
                    method: req.method.unwrap_or("").to_owned(),
                    path: req.path.unwrap_or("").to_owned(),
                    content_type: req
                        .headers
                        .iter()
                        .find(|h| h.name.eq_ignore_ascii_case("content-type"))
                        .map(|h| String::from_utf8_lossy(h.value).into_owned()),
                    body: serde_json::from_slice(body).unwrap_or(serde_json::Value::Null),
                };
                let _ = tx.send(captured);
                let reply = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";
                if s.write_all(reply).is_err() {
                    return;
                }
                buf.drain(..head_len + len);
                continue;
            }
        }
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

fn env(pairs: Vec<(&'static str, &'static str)>) -> impl FnMut(&str) -> Option<OsString> {
    let map: HashMap<&str, &str> = pairs.into_iter().collect();
    move |name| map.get(name).map(OsString::from)
}

fn settings(base: &str) -> AlertSettings {
    AlertSettings {
        telegram_api_url: base.to_owned(),
        telegram_chat_id: "-1001234567890".to_owned(),
        discord_base_url: base.to_owned(),
        max_per_minute: 20,
        dedup_window: Duration::from_secs(60),
        queue_capacity: 16,
        request_timeout: Duration::from_secs(10),
    }
}

fn both_secrets() -> AlertSecrets {
    AlertSecrets::load_with(env(vec![
        (ENV_TELEGRAM_BOT_TOKEN, TOKEN),
        (ENV_DISCORD_WEBHOOK_URL, WEBHOOK),
    ]))
    .expect("valid secrets")
}

fn tls() -> Arc<rustls::ClientConfig> {
    sattebaaz::net::tls::client_config(None).expect("webpki roots")
}

/// Wait (polling) until the worker has finished with `n` alerts; fails after a long safety
/// deadline instead of hanging.
#[track_caller]
fn wait_processed(sender: &AlertSender, n: u64) {
    let give_up = Instant::now() + Duration::from_secs(120);
    while sender.processed() < n {
        assert!(
            Instant::now() < give_up,
            "worker stuck at {}",
            sender.processed()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn drain(rx: &Receiver<Captured>) -> Vec<Captured> {
    let mut v = Vec::new();
    while let Ok(c) = rx.try_recv() {
        v.push(c);
    }
    v
}

#[test]
fn telegram_and_discord_get_the_documented_requests() {
    let (addr, rx) = capture_server();
    let mut sender = AlertSender::start(settings(&format!("http://{addr}")), both_secrets(), tls())
        .expect("start");
    let raised = sender.raise(Alert::new(
        AlertKind::KillSwitch,
        "",
        "kill switch fired \"now\"\nline two",
    ));
    assert_eq!(raised, Raised::Queued);
    wait_processed(&sender, 1);
    let got = drain(&rx);
    assert_eq!(got.len(), 2, "{got:?}");
    let expected_text = "[sattebaaz] kill_switch: kill switch fired \"now\"\nline two";

    let tg = got
        .iter()
        .find(|c| c.path.starts_with("/bot"))
        .expect("telegram request");
    assert_eq!(tg.method, "POST");
    assert_eq!(tg.path, format!("/bot{TOKEN}/sendMessage"));
    assert_eq!(tg.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        tg.body,
        serde_json::json!({"chat_id": -1001234567890i64, "text": expected_text})
    );

    let dc = got
        .iter()
        .find(|c| c.path.starts_with("/api/webhooks/"))
        .expect("discord request");
    assert_eq!(dc.method, "POST");
    assert_eq!(dc.path, "/api/webhooks/4242/hook-TOKEN_xyz");
    assert_eq!(dc.body, serde_json::json!({"content": expected_text}));

    let f = sender.figures();
    assert_eq!((f.queued, f.sent, f.failed), (1, [1, 1], [0, 0]));
    // Nothing secret in the sender's Debug output.
    let shown = format!("{sender:?}");
    assert!(
        !shown.contains("TEST-token") && !shown.contains("hook-TOKEN"),
        "{shown}"
    );
}

#[test]
fn a_destination_without_its_secret_is_skipped() {
    let (addr, rx) = capture_server();
    let secrets = AlertSecrets::load_with(env(vec![(ENV_DISCORD_WEBHOOK_URL, WEBHOOK)])).unwrap();
    let mut sender =
        AlertSender::start(settings(&format!("http://{addr}")), secrets, tls()).unwrap();
    assert_eq!(sender.destinations().len(), 1);
    sender.raise(Alert::new(AlertKind::TradingPaused, "", "paused"));
    wait_processed(&sender, 1);
    let got = drain(&rx);
    assert_eq!(got.len(), 1);
    assert!(got[0].path.starts_with("/api/webhooks/"));
}

#[test]
fn the_same_alert_within_the_window_is_sent_once_and_counted() {
    let (addr, rx) = capture_server();
    let mut sender =
        AlertSender::start(settings(&format!("http://{addr}")), both_secrets(), tls()).unwrap();
    let down = || {
        Alert::new(
            AlertKind::ConnectionDown,
            "binance spot",
            "binance spot down",
        )
    };
    assert_eq!(sender.raise_at(down(), 1_000), Raised::Queued);
    assert_eq!(sender.raise_at(down(), 1_500), Raised::Deduplicated);
    assert_eq!(sender.raise_at(down(), 60_999), Raised::Deduplicated);
    // Another key is not affected.
    let other = Alert::new(AlertKind::ConnectionDown, "polymarket rtds", "rtds down");
    assert_eq!(sender.raise_at(other, 2_000), Raised::Queued);
    // After the window the alert goes out again and says how many were suppressed.
    assert_eq!(sender.raise_at(down(), 61_000), Raised::Queued);
    wait_processed(&sender, 3);
    let f = sender.figures();
    assert_eq!((f.queued, f.deduplicated), (3, 2));
    let texts: Vec<String> = drain(&rx)
        .into_iter()
        .filter(|c| c.path.starts_with("/api/webhooks/"))
        .map(|c| c.body["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts.len(), 3);
    assert!(
        texts[2].contains("2 similar alert(s) suppressed"),
        "{texts:?}"
    );
    assert!(!texts[0].contains("suppressed"));
}

#[test]
fn messages_over_the_per_minute_limit_are_dropped_and_counted() {
    let (addr, rx) = capture_server();
    let s = AlertSettings {
        max_per_minute: 2,
        ..settings(&format!("http://{addr}"))
    };
    let mut sender = AlertSender::start(s, both_secrets(), tls()).unwrap();
    for i in 0..5 {
        let a = Alert::new(
            AlertKind::ExposureBreach,
            &i.to_string(),
            format!("breach {i}"),
        );
        assert_eq!(sender.raise(a), Raised::Queued);
    }
    wait_processed(&sender, 5);
    let f = sender.figures();
    assert_eq!(f.sent, [2, 2]);
    assert_eq!(f.rate_limited, [3, 3]);
    let got = drain(&rx);
    assert_eq!(got.len(), 4);
    // The first two alerts are the ones delivered.
    assert!(got.iter().all(
        |c| c.body.to_string().contains("breach 0") || c.body.to_string().contains("breach 1")
    ));
}

#[test]
fn an_endpoint_that_never_answers_does_not_stall_the_caller() {
    // Accepts connections and reads, never answers.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (seen_tx, seen_rx) = channel::<usize>();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut buf = [0u8; 4096];
            if let Ok(n) = stream.read(&mut buf) {
                let _ = seen_tx.send(n);
            }
            held.push(stream);
        }
    });
    let s = AlertSettings {
        queue_capacity: 2,
        request_timeout: Duration::from_secs(60),
        ..settings(&format!("http://{addr}"))
    };
    let secrets = AlertSecrets::load_with(env(vec![(ENV_TELEGRAM_BOT_TOKEN, TOKEN)])).unwrap();
    let mut sender = AlertSender::start(s, secrets, tls()).unwrap();
    assert_eq!(
        sender.raise(Alert::new(AlertKind::KillSwitch, "0", "first")),
        Raised::Queued
    );
    // The worker is now inside a request the endpoint will not answer.
    let read = seen_rx
        .recv_timeout(Duration::from_secs(120))
        .expect("request reached the endpoint");
    assert!(read > 0);
    let mut outcomes = Vec::new();
    for i in 1..20 {
        outcomes.push(sender.raise(Alert::new(AlertKind::KillSwitch, &i.to_string(), "again")));
    }
    // The queue took two, the rest were dropped and counted; every call returned.
    assert_eq!(
        outcomes.iter().filter(|r| **r == Raised::Queued).count(),
        2,
        "{outcomes:?}"
    );
    let f = sender.figures();
    assert_eq!((f.queued, f.dropped), (3, 17));
    assert_eq!(sender.processed(), 0);
    assert_eq!(f.sent, [0, 0]);
}

#[test]
fn a_closed_port_is_a_counted_failure() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let s = AlertSettings {
        request_timeout: Duration::from_millis(300),
        ..settings(&format!("http://127.0.0.1:{port}"))
    };
    let mut sender = AlertSender::start(s, both_secrets(), tls()).unwrap();
    assert_eq!(
        sender.raise(Alert::new(AlertKind::DailySummary, "1", "summary")),
        Raised::Queued
    );
    // The caller is free while the worker fails: more alerts are accepted at once.
    assert_eq!(
        sender.raise(Alert::new(AlertKind::DailySummary, "2", "summary")),
        Raised::Queued
    );
    wait_processed(&sender, 2);
    let f = sender.figures();
    assert_eq!(f.failed, [2, 2]);
    assert_eq!(f.sent, [0, 0]);
}

#[test]
fn secrets_from_the_environment_are_validated_without_echoing_them() {
    let bad = AlertSecrets::load_with(env(vec![(ENV_TELEGRAM_BOT_TOKEN, "not a token SECRETX")]))
        .unwrap_err();
    assert!(!bad.to_string().contains("SECRETX"));
    assert!(bad.to_string().contains(ENV_TELEGRAM_BOT_TOKEN));
    let bad = AlertSecrets::load_with(env(vec![(
        ENV_DISCORD_WEBHOOK_URL,
        "https://example.com/hooks/SECRETY",
    )]))
    .unwrap_err();
    assert!(!bad.to_string().contains("SECRETY"));
    let none = AlertSecrets::load_with(env(vec![])).unwrap();
    assert!(none.telegram_bot_token.is_none() && none.discord_webhook_path.is_none());
}

// ---------------------------------------------------------------------------------------------
// The risk thread's side: alerts raised from what it sees.

#[test]
fn the_risk_thread_raises_connection_down_and_kill_switch_alerts() {
    use sattebaaz::engine::messages::HotEvent;
    use sattebaaz::engine::risk::{ExecReport, RiskReport};
    use sattebaaz::net::counters::{DropReason, NetEvent, NetEventKind};
    use sattebaaz::telemetry::http_server::ServerLimits;
    use sattebaaz::telemetry::service::{Telemetry, TelemetrySetup};

    let (addr, rx) = capture_server();
    let secrets = AlertSecrets::load_with(env(vec![(ENV_DISCORD_WEBHOOK_URL, WEBHOOK)])).unwrap();
    let setup = TelemetrySetup {
        bind: Some("127.0.0.1:0".parse().unwrap()),
        limits: ServerLimits::default(),
        refresh_ms: 1000,
        mode: "live",
        alerts: Some((settings(&format!("http://{addr}")), secrets, tls())),
        disconnect_alert: Duration::ZERO,
        daily_summary_utc_hour: 0,
    };
    let mut t = Telemetry::start(setup, &["binance spot", "polymarket market"]);
    assert!(t.bound_addr().is_some_and(|a| a.port() != 0));
    let now = sattebaaz::clock::mono_ns();
    t.on_event(&HotEvent::Net(NetEvent::new(
        0,
        NetEventKind::Connected,
        now,
    )));
    t.on_event(&HotEvent::Net(NetEvent::new(
        1,
        NetEventKind::Dropped(DropReason::Io),
        now,
    )));
    let mut report = RiskReport::default();
    let next = |rx: &Receiver<Captured>, t: &mut Telemetry, report: &RiskReport| {
        let give_up = Instant::now() + Duration::from_secs(120);
        loop {
            t.poll(report);
            if let Ok(c) = rx.try_recv() {
                return c.body["content"].as_str().unwrap_or("").to_owned();
            }
            assert!(Instant::now() < give_up, "no alert arrived");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let text = next(&rx, &mut t, &report);
    assert!(
        text.contains("connection_down") && text.contains("polymarket market"),
        "{text}"
    );
    assert!(!text.contains("binance spot"), "{text}");

    report.exec = Some(ExecReport {
        kill_fired: true,
        kill_canceled: 4,
        ..ExecReport::default()
    });
    let text = next(&rx, &mut t, &report);
    assert!(
        text.contains("kill_switch") && text.contains("canceled 4"),
        "{text}"
    );
    assert!(t.snapshot().kill_switch_fired);

    // The risk monitor's tick: a limit breach (the kill is already alerted) and a pause.
    t.on_monitor_tick(
        &sattebaaz::risk::monitor::TickReport {
            killed: Some(sattebaaz::risk::state::KillReason::LimitBreach),
            paused: true,
            cancel_all_sent: true,
        },
        Some(1_700_000_000_000),
    );
    let mut texts = vec![next(&rx, &mut t, &report), next(&rx, &mut t, &report)];
    texts.sort();
    assert!(texts[0].contains("exposure_breach"), "{texts:?}");
    assert!(
        texts[1].contains("trading_paused") && texts[1].contains("1700000000000"),
        "{texts:?}"
    );
    assert!(t.snapshot().trading_paused);

    // Seen again on later polls (past a refresh period): still one alert per kill and outage.
    let until = Instant::now() + sattebaaz::telemetry::service::TICK_EVERY * 2;
    while Instant::now() < until {
        t.poll(&report);
        std::thread::sleep(Duration::from_millis(5));
    }
    let f = t.alerts().unwrap().figures();
    assert_eq!(f.queued, 4, "{f:?}");
}
