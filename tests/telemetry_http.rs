//! The telemetry HTTP server over real sockets: `/metrics` parsed whole by a strict Prometheus
//! text-format (0.0.4) parser written here, `/api/snapshot` JSON, the dashboard page, 404 / 405,
//! and clients that must not block others (oversized request, silent client, connection limit).

mod telemetry_support;

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use sattebaaz::telemetry::http_server::ServerLimits;
use telemetry_support::{exchange, filled_snapshot, get, read_response, Served, LABELS, ODD_SLUG};

// ---------------------------------------------------------------------------------------------
// A strict parser of the Prometheus text exposition format, independent of the renderer.

type Labels = BTreeMap<String, String>;

#[derive(Debug, Default)]
struct Exposition {
    /// Family name → type.
    types: HashMap<String, String>,
    helps: HashMap<String, String>,
    /// (name, labels) → value.
    samples: HashMap<(String, Labels), f64>,
}

impl Exposition {
    #[track_caller]
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let key: Labels = labels
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        *self
            .samples
            .get(&(name.to_owned(), key.clone()))
            .unwrap_or_else(|| panic!("no sample {name}{key:?}"))
    }

    fn series_of(&self, name: &str) -> Vec<&Labels> {
        self.samples
            .keys()
            .filter(|(n, _)| n == name)
            .map(|(_, l)| l)
            .collect()
    }
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

fn parse_name(s: &str) -> Result<(&str, &str), String> {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, c)) if is_name_start(c) => {}
        _ => return Err(format!("bad metric name start in {s:?}")),
    }
    let end = s
        .char_indices()
        .find(|(_, c)| !is_name_char(*c))
        .map_or(s.len(), |(i, _)| i);
    Ok((&s[..end], &s[end..]))
}

fn parse_value(s: &str) -> Result<f64, String> {
    match s {
        "NaN" => Ok(f64::NAN),
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        _ => {
            if s.is_empty()
                || !s
                    .chars()
                    .all(|c| c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E'))
            {
                return Err(format!("bad value {s:?}"));
            }
            s.parse::<f64>()
                .map_err(|e| format!("bad value {s:?}: {e}"))
        }
    }
}

/// `{k="v",...}` → labels and the rest of the line.
fn parse_labels(s: &str) -> Result<(Labels, &str), String> {
    let mut labels = Labels::new();
    let Some(mut rest) = s.strip_prefix('{') else {
        return Ok((labels, s));
    };
    loop {
        if let Some(r) = rest.strip_prefix('}') {
            return Ok((labels, r));
        }
        let (key, r) = parse_name(rest)?;
        if key.contains(':') {
            return Err(format!("label name {key:?} has a colon"));
        }
        let r = r
            .strip_prefix("=\"")
            .ok_or_else(|| format!("expected =\" after label {key}"))?;
        let mut value = String::new();
        let mut chars = r.char_indices();
        let end = loop {
            match chars.next() {
                None => return Err("unterminated label value".into()),
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, '\\')) => value.push('\\'),
                    Some((_, '"')) => value.push('"'),
                    Some((_, 'n')) => value.push('\n'),
                    other => return Err(format!("bad escape {other:?}")),
                },
                Some((_, '\n')) => return Err("raw newline in label value".into()),
                Some((_, c)) => value.push(c),
            }
        };
        if labels.insert(key.to_owned(), value).is_some() {
            return Err(format!("label {key} twice"));
        }
        rest = &r[end + 1..];
        if let Some(r) = rest.strip_prefix(',') {
            rest = r;
        } else if !rest.starts_with('}') {
            return Err(format!("expected , or }} in {rest:?}"));
        }
    }
}

fn parse_exposition(text: &str) -> Result<Exposition, String> {
    if !text.ends_with('\n') {
        return Err("exposition does not end with a newline".into());
    }
    let mut exp = Exposition::default();
    let mut current: Option<String> = None;
    let mut finished: Vec<String> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let err = |m: String| format!("line {}: {m}: {line:?}", n + 1);
        if line.is_empty() {
            return Err(err("empty line".into()));
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, help) = parse_name(rest).map_err(err)?;
            let help = help
                .strip_prefix(' ')
                .ok_or_else(|| err("no HELP text".into()))?;
            if help.contains('\\') && !help.contains("\\\\") && !help.contains("\\n") {
                return Err(err("bad escape in HELP".into()));
            }
            if exp.helps.insert(name.to_owned(), help.to_owned()).is_some() {
                return Err(err("HELP twice".into()));
            }
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = parse_name(rest).map_err(err)?;
            let kind = kind
                .strip_prefix(' ')
                .ok_or_else(|| err("no TYPE".into()))?;
            if !matches!(
                kind,
                "counter" | "gauge" | "summary" | "histogram" | "untyped"
            ) {
                return Err(err(format!("unknown type {kind}")));
            }
            if kind == "counter" && !name.ends_with("_total") {
                return Err(err("counter name does not end in _total".into()));
            }
            if !exp.helps.contains_key(name) {
                return Err(err("TYPE before HELP".into()));
            }
            if exp.types.insert(name.to_owned(), kind.to_owned()).is_some() {
                return Err(err("TYPE twice".into()));
            }
            if let Some(prev) = current.replace(name.to_owned()) {
                finished.push(prev);
            }
            continue;
        }
        if line.starts_with('#') {
            return Err(err("unexpected comment".into()));
        }
        let (name, rest) = parse_name(line).map_err(err)?;
        if current.as_deref() != Some(name) {
            return Err(err(format!(
                "sample of {name} outside its family (current {current:?})"
            )));
        }
        if finished.iter().any(|f| f == name) {
            return Err(err("family split".into()));
        }
        let (labels, rest) = parse_labels(rest).map_err(err)?;
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| err("no value".into()))?;
        if value.contains(' ') {
            return Err(err("timestamps are not expected".into()));
        }
        let value = parse_value(value).map_err(err)?;
        if exp
            .samples
            .insert((name.to_owned(), labels), value)
            .is_some()
        {
            return Err(err("duplicate series".into()));
        }
    }
    for name in exp.types.keys() {
        if !name.starts_with("sattebaaz_") {
            return Err(format!("{name}: not a sattebaaz_ metric"));
        }
    }
    Ok(exp)
}

#[test]
fn the_parser_rejects_what_the_format_forbids() {
    let ok = "# HELP a_total x\n# TYPE a_total counter\na_total{l=\"q\\\"\\\\\\n\"} 1\n";
    let e = parse_exposition(&ok.replace("a_total", "sattebaaz_a_total")).unwrap();
    assert_eq!(e.value("sattebaaz_a_total", &[("l", "q\"\\\n")]), 1.0);
    for bad in [
        "# HELP sattebaaz_a x\n# TYPE sattebaaz_a counter\nsattebaaz_a 1\n",
        "# HELP sattebaaz_a_total x\n# TYPE sattebaaz_a_total counter\nsattebaaz_a_total{l=\"\\x\"} 1\n",
        "# HELP sattebaaz_g x\n# TYPE sattebaaz_g gauge\nsattebaaz_g one\n",
        "# HELP sattebaaz_g x\n# TYPE sattebaaz_g gauge\nsattebaaz_g 1\nsattebaaz_g 2\n",
        "# HELP sattebaaz_g x\n# TYPE sattebaaz_g gauge\nsattebaaz_h 1\n",
        "# HELP sattebaaz_g x\n# TYPE sattebaaz_g gauge\nsattebaaz_g{a=\"1\" 1\n",
        "# HELP sattebaaz_g x\n# TYPE sattebaaz_g gauge\nsattebaaz_g 1",
    ] {
        assert!(parse_exposition(bad).is_err(), "accepted {bad:?}");
    }
}

// ---------------------------------------------------------------------------------------------

#[test]
fn metrics_carry_every_section_with_the_right_values() {
    let served = Served::start(filled_snapshot(), ServerLimits::default(), 200);
    let r = get(served.addr, "/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let e = parse_exposition(r.text()).unwrap_or_else(|m| panic!("{m}\n{}", r.text()));

    let arb = [("strategy", "arb")];
    assert_eq!(e.value("sattebaaz_strategy_orders_sent_total", &arb), 7.0);
    assert_eq!(e.value("sattebaaz_strategy_fills_total", &arb), 5.0);
    assert_eq!(e.value("sattebaaz_strategy_partial_fills_total", &arb), 1.0);
    assert_eq!(e.value("sattebaaz_strategy_cancels_total", &arb), 3.0);
    assert_eq!(
        e.value("sattebaaz_strategy_fees_micro_total", &arb),
        12_345.0
    );
    assert_eq!(
        e.value("sattebaaz_strategy_realised_pnl_micro", &arb),
        2_000_000.0
    );
    assert_eq!(
        e.value("sattebaaz_strategy_unrealised_pnl_micro", &arb),
        -250_000.0
    );
    assert_eq!(
        e.value(
            "sattebaaz_strategy_rejects_total",
            &[("strategy", "arb"), ("reason", "stale_book")]
        ),
        4.0
    );
    assert_eq!(
        e.value(
            "sattebaaz_strategy_rejects_total",
            &[("strategy", "arb"), ("reason", "venue")]
        ),
        2.0
    );
    assert_eq!(
        e.value(
            "sattebaaz_strategy_rejects_total",
            &[("strategy", "mm"), ("reason", "stale_book")]
        ),
        0.0
    );
    // All five strategies, every one with every reason.
    let strategies: std::collections::BTreeSet<_> = e
        .series_of("sattebaaz_strategy_orders_sent_total")
        .iter()
        .map(|l| l["strategy"].clone())
        .collect();
    assert_eq!(
        strategies.into_iter().collect::<Vec<_>>(),
        ["arb", "lag", "mm", "momentum", "straddle"]
    );
    assert_eq!(
        e.series_of("sattebaaz_strategy_rejects_total").len(),
        5 * 16
    );

    // Connections, with the label that needs escaping read back intact.
    let odd = [("connection", LABELS[1])];
    assert_eq!(e.value("sattebaaz_connection_reconnects_total", &odd), 1.0);
    assert_eq!(e.value("sattebaaz_connection_drops_total", &odd), 1.0);
    assert_eq!(e.value("sattebaaz_connection_connects_total", &odd), 1.0);
    assert_eq!(
        e.value(
            "sattebaaz_connection_errors_total",
            &[("connection", LABELS[1]), ("kind", "tls")]
        ),
        1.0
    );
    assert_eq!(
        e.value(
            "sattebaaz_connection_up",
            &[("connection", LABELS[0]), ("state", "up")]
        ),
        1.0
    );
    assert_eq!(
        e.value(
            "sattebaaz_connection_up",
            &[("connection", LABELS[1]), ("state", "reconnecting")]
        ),
        0.0
    );
    assert_eq!(
        e.value("sattebaaz_queue_drops_total", &[("queue", "hot_to_risk")]),
        17.0
    );
    assert_eq!(
        e.value("sattebaaz_feed_messages_total", &[("source", "binance")]),
        900.0
    );
    assert_eq!(e.value("sattebaaz_feed_parse_errors_total", &[]), 2.0);

    // Markets, with the escaped slug read back intact.
    let info = e.series_of("sattebaaz_market_info");
    assert_eq!(info.len(), 1);
    assert_eq!(info[0]["slug"], ODD_SLUG);
    assert_eq!(info[0]["phase"], "prime");
    assert_eq!(info[0]["asset"], "btc");
    let m = [("market", "3")];
    assert_eq!(e.value("sattebaaz_market_fair_up", &m), 0.625);
    assert_eq!(e.value("sattebaaz_market_ask_sum_micro", &m), 1_010_000.0);
    assert_eq!(e.value("sattebaaz_market_book_age_ms", &m), 42.0);
    assert_eq!(e.value("sattebaaz_market_book_stale", &m), 1.0);
    assert_eq!(e.value("sattebaaz_market_book_stale_ms_total", &m), 600.0);
    assert_eq!(
        e.value(
            "sattebaaz_market_best_price_micro",
            &[("market", "3"), ("outcome", "down"), ("side", "ask")]
        ),
        390_000.0
    );
    // Oracle: 1.25 s lag, +10 USD over 100,000 USD = 1 bp.
    assert_eq!(
        e.value("sattebaaz_oracle_lag_ms", &[("asset", "btc")]),
        1_250.0
    );
    assert_eq!(
        e.value("sattebaaz_oracle_deviation_e8", &[("asset", "btc")]),
        1_000_000_000.0
    );
    assert_eq!(
        e.value("sattebaaz_oracle_deviation_bps", &[("asset", "btc")]),
        1.0
    );
    // Every counter is typed as one and every family has help text.
    assert_eq!(e.types["sattebaaz_strategy_fills_total"], "counter");
    assert_eq!(e.types["sattebaaz_market_fair_up"], "gauge");
    assert!(e.helps.values().all(|h| !h.is_empty()));
}

#[test]
fn snapshot_json_and_dashboard_are_served() {
    let served = Served::start(filled_snapshot(), ServerLimits::default(), 200);
    let r = get(served.addr, "/api/snapshot?t=1");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/json"));
    let v: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    let arb = &v["strategies"][1];
    assert_eq!(arb["strategy"], "arb");
    assert_eq!(arb["figures"]["orders_sent"], 7);
    let reasons = v["reject_reasons"].as_array().expect("reason names");
    let stale_book = reasons.iter().position(|r| r == "stale_book").unwrap();
    assert_eq!(arb["figures"]["rejects"][stale_book], 4);
    // realised + unrealised (−0.25 USD) at each update.
    assert_eq!(
        arb["pnl_series"],
        serde_json::json!([[10000, 750000], [11000, 1250000], [12000, 1750000]])
    );
    assert_eq!(v["markets"][0]["slug"], ODD_SLUG);
    assert_eq!(v["connections"][1]["state"], "reconnecting");
    assert_eq!(v["queue_drops"], 17);

    let page = get(served.addr, "/");
    assert_eq!(page.status, 200);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("connect-src 'self'"));
    assert!(page.text().contains("const REFRESH_MS = 200;"));
}

#[test]
fn unknown_paths_are_404_and_other_methods_405() {
    let served = Served::start(filled_snapshot(), ServerLimits::default(), 200);
    assert_eq!(get(served.addr, "/nope").status, 404);
    assert_eq!(get(served.addr, "/metrics/extra").status, 404);
    let post = exchange(
        served.addr,
        b"POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi",
    );
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET"));
    let delete = exchange(served.addr, b"DELETE /api/snapshot HTTP/1.1\r\n\r\n");
    assert_eq!(delete.status, 405);
    let garbage = exchange(served.addr, b"\x01\x02 nonsense\r\n\r\n");
    assert_eq!(garbage.status, 400);
    // The counters saw them.
    let m = parse_exposition(get(served.addr, "/metrics").text()).unwrap();
    assert_eq!(
        m.value("sattebaaz_http_responses_total", &[("code", "405")]),
        2.0
    );
    assert_eq!(
        m.value("sattebaaz_http_responses_total", &[("code", "404")]),
        2.0
    );
}

#[test]
fn oversized_and_silent_clients_do_not_block_another_client() {
    let limits = ServerLimits {
        max_request_bytes: 4096,
        // Long enough that the silent client is still open while the others are served.
        read_timeout: Duration::from_secs(600),
        ..ServerLimits::default()
    };
    let served = Served::start(filled_snapshot(), limits, 200);

    // Connects and sends nothing.
    let silent = TcpStream::connect(served.addr).unwrap();
    // Sends a head that never ends and is larger than the limit.
    let mut big = TcpStream::connect(served.addr).unwrap();
    big.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut head = b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Filler: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 20_000));
    // The server stops reading at the limit and answers; the rest of the write may fail.
    let _ = big.write_all(&head);
    let answer = read_response(&mut big);
    assert_eq!(answer.status, 431);

    // Meanwhile a well-behaved client is served in full.
    let r = get(served.addr, "/metrics");
    assert_eq!(r.status, 200);
    parse_exposition(r.text()).unwrap();
    // The silent client is still connected and got nothing.
    silent.set_nonblocking(true).unwrap();
    let mut buf = [0u8; 16];
    let pending = (&silent).read(&mut buf);
    assert!(
        matches!(&pending, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "{pending:?}"
    );
}

#[test]
fn a_silent_client_is_answered_408_after_the_read_timeout() {
    let limits = ServerLimits {
        read_timeout: Duration::from_millis(100),
        ..ServerLimits::default()
    };
    let served = Served::start(filled_snapshot(), limits, 200);
    let mut silent = TcpStream::connect(served.addr).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    // A partial request that never completes.
    silent.write_all(b"GET /metrics HTTP/1.1\r\n").unwrap();
    assert_eq!(read_response(&mut silent).status, 408);
    let m = parse_exposition(get(served.addr, "/metrics").text()).unwrap();
    assert_eq!(m.value("sattebaaz_http_timeouts_total", &[]), 1.0);
}

#[test]
fn connections_beyond_the_limit_are_refused_with_503() {
    let limits = ServerLimits {
        max_connections: 2,
        read_timeout: Duration::from_secs(600),
        ..ServerLimits::default()
    };
    let served = Served::start(filled_snapshot(), limits, 200);
    let _a = TcpStream::connect(served.addr).unwrap();
    let _b = TcpStream::connect(served.addr).unwrap();
    // Both silent clients hold the two slots once accepted; a third is refused. Whether the
    // server has accepted them yet is not known, so retry until the refusal shows.
    let mut statuses = Vec::new();
    for _ in 0..50 {
        let s = get(served.addr, "/metrics").status;
        statuses.push(s);
        if s == 503 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(statuses.last(), Some(&503), "{statuses:?}");
}

// ---------------------------------------------------------------------------------------------
// Wiring: the engine's risk thread serves the endpoints while it runs.

mod common;

#[test]
fn the_running_engine_serves_live_metrics() {
    use sattebaaz::engine::{run, EngineOptions};
    use sattebaaz::sim::Simulator;

    let (mut cfg, dir) = common::test_config("telemetry", "engine");
    // A port that was free a moment ago (the engine binds it itself).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    cfg.telemetry.metrics_bind = format!("127.0.0.1:{port}").parse().unwrap();
    let addr = cfg.telemetry.metrics_bind;
    let sim = Simulator::start(&common::sim_options(&cfg, &dir, 5)).expect("simulator");
    let opts = EngineOptions {
        polymarket: None,
        duration: Some(Duration::from_secs(8)),
        ..EngineOptions::against_simulator(&sim)
    };
    let engine = std::thread::spawn(move || run(&cfg, opts).map(|s| s.hot.stats.messages));

    // Scrape until the feeds show up (the safety deadline only turns a hang into a failure).
    let give_up = std::time::Instant::now() + Duration::from_secs(120);
    let exposition = loop {
        assert!(std::time::Instant::now() < give_up, "no live metrics");
        std::thread::sleep(Duration::from_millis(100));
        let Ok(mut s) = TcpStream::connect(addr) else {
            continue;
        };
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let r = read_response(&mut s);
        assert_eq!(r.status, 200);
        let e = parse_exposition(r.text()).unwrap_or_else(|m| panic!("{m}"));
        let up: f64 = e
            .series_of("sattebaaz_connection_up")
            .iter()
            .map(|l| {
                e.value(
                    "sattebaaz_connection_up",
                    &[("connection", &l["connection"]), ("state", &l["state"])],
                )
            })
            .sum();
        let messages = e.value("sattebaaz_feed_messages_total", &[("source", "binance")]);
        if up == 3.0 && messages > 0.0 {
            break e;
        }
    };
    assert_eq!(
        exposition.value("sattebaaz_engine_info", &[("mode", "paper")]),
        1.0
    );
    let json = get(addr, "/api/snapshot");
    let v: serde_json::Value = serde_json::from_slice(&json.body).unwrap();
    assert_eq!(v["connections"].as_array().map(Vec::len), Some(3));
    assert!(v["feeds"].as_array().is_some_and(|f| !f.is_empty()), "{v}");
    let messages = engine.join().expect("engine thread").expect("engine runs");
    assert!(messages > 0);
}
