//! The dashboard in a real headless browser (Debian's `chromium`, installed by
//! `scripts/setup.sh`): the page loads from the telemetry server, fetches `/api/snapshot`,
//! fills the market table and draws the P&L curves, refreshes on its timer, and shows new
//! values after the snapshot changes.

mod telemetry_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sattebaaz::feeds::binance::records::Asset;
use sattebaaz::strategy::intent::StrategyId;
use sattebaaz::telemetry::http_server::ServerLimits;
use telemetry_support::{arb_figures, filled_snapshot, market_view, Served, ODD_SLUG};

/// The browser binary, or a failure telling how to install it.
fn chromium() -> PathBuf {
    for candidate in ["/usr/bin/chromium", "/usr/bin/chromium-browser"] {
        if Path::new(candidate).exists() {
            return PathBuf::from(candidate);
        }
    }
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join("chromium");
            if p.exists() {
                return p;
            }
        }
    }
    panic!("chromium is not installed: run scripts/setup.sh (it installs Debian's chromium)");
}

/// The DOM after the page ran for `budget_ms` of virtual time.
fn dump_dom(url: &str, budget_ms: u32) -> String {
    let profile = tempdir("profile");
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--virtual-time-budget={budget_ms}"))
        .arg("--dump-dom")
        .arg(url)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromium");
    let stdout = child.stdout.take().expect("stdout");
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let mut stdout = stdout;
        std::io::Read::read_to_string(&mut stdout, &mut out).map(|_| out)
    });
    // A safety net: a browser that hangs fails the test instead of blocking the suite.
    let give_up = Instant::now() + Duration::from_secs(180);
    loop {
        if child.try_wait().expect("wait").is_some() {
            break;
        }
        if Instant::now() >= give_up {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let dom = reader.join().expect("reader").expect("read DOM");
    let _ = std::fs::remove_dir_all(&profile);
    dom
}

fn tempdir(tag: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("dashboard-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The text of the element with `id` (its whole outer HTML), or a failure showing the DOM.
fn element<'a>(dom: &'a str, id: &str) -> &'a str {
    let open = format!("id=\"{id}\"");
    let start = dom
        .find(&open)
        .unwrap_or_else(|| panic!("no #{id} in DOM:\n{dom}"));
    let tag_start = dom[..start].rfind('<').expect("tag start");
    let name: String = dom[tag_start + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let close = format!("</{name}>");
    let end = dom[start..]
        .find(&close)
        .map(|i| start + i + close.len())
        .unwrap_or_else(|| panic!("#{id} not closed"));
    &dom[tag_start..end]
}

/// `data-refreshes` on `<body>`.
fn refreshes(dom: &str) -> u32 {
    let at = dom
        .find("data-refreshes=\"")
        .unwrap_or_else(|| panic!("the page never refreshed:\n{dom}"));
    dom[at + 16..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .expect("number")
}

/// The `points` attribute of the P&L line of `strategy`.
fn pnl_points<'a>(chart: &'a str, strategy: &str) -> &'a str {
    let marker = format!("data-strategy=\"{strategy}\"");
    let at = chart
        .find(&marker)
        .unwrap_or_else(|| panic!("no line for {strategy}:\n{chart}"));
    let line_start = chart[..at].rfind("<polyline").expect("polyline");
    let line = &chart[line_start..];
    let p = line.find("points=\"").expect("points attribute") + 8;
    let end = line[p..].find('"').expect("end of points");
    &line[p..p + end]
}

#[test]
fn dashboard_loads_draws_and_follows_the_snapshot() {
    let browser = chromium();
    assert!(browser.exists());
    let served = Served::start(filled_snapshot(), ServerLimits::default(), 200);
    let url = format!("http://{}/", served.addr);

    // First load: the market table and the chart come from /api/snapshot.
    let dom = dump_dom(&url, 2_000);
    let markets = element(&dom, "market-table");
    // The slug with quotes and a backslash arrives as text (escaped by the serialiser).
    let shown_slug = ODD_SLUG.replace('"', "&quot;");
    assert!(
        markets.contains(&shown_slug) || markets.contains(ODD_SLUG),
        "{markets}"
    );
    assert!(markets.contains("prime"), "{markets}");
    assert!(markets.contains("0.625"), "{markets}");
    let chart = element(&dom, "pnl-chart");
    let arb = pnl_points(chart, "arb");
    assert_eq!(arb.split(' ').count(), 3, "three P&L points drawn: {arb}");
    assert!(arb.split(' ').all(|p| p.contains(',')));
    assert!(pnl_points(chart, "mm").is_empty());
    let strategies = element(&dom, "strategy-table");
    assert!(
        strategies.contains("2.0000"),
        "arb realised P&L: {strategies}"
    );
    assert!(
        strategies.contains("-0.2500"),
        "arb unrealised P&L: {strategies}"
    );
    assert!(
        strategies.contains("stale_book 4, venue 2"),
        "reject reasons: {strategies}"
    );
    let conns = element(&dom, "conn-table");
    assert!(conns.contains("reconnecting"), "{conns}");
    // The timer kept refreshing within the page's lifetime.
    let first_refreshes = refreshes(&dom);
    assert!(first_refreshes >= 2, "refreshed {first_refreshes} times");

    // New values: another market, more P&L points.
    let mut next = filled_snapshot();
    next.on_market_gone(3);
    next.on_market_view(&market_view(9, Asset::Eth, 5_000, false));
    next.on_market_slugs(&[(9, "eth-updown-15m-1700000900".to_owned())]);
    next.on_strategy_update(StrategyId::Arb, arb_figures(12_345_600), 13_000);
    next.on_strategy_update(StrategyId::Lag, arb_figures(-3_000_000), 13_000);
    served.set(next);

    let dom = dump_dom(&url, 2_000);
    let markets = element(&dom, "market-table");
    assert!(markets.contains("eth-updown-15m-1700000900"), "{markets}");
    assert!(
        !markets.contains("btc-updown"),
        "retired market still shown: {markets}"
    );
    let chart = element(&dom, "pnl-chart");
    assert_eq!(pnl_points(chart, "arb").split(' ').count(), 4);
    assert_eq!(pnl_points(chart, "lag").split(' ').count(), 1);
    let strategies = element(&dom, "strategy-table");
    assert!(strategies.contains("12.3456"), "{strategies}");
    assert!(strategies.contains("-3.0000"), "{strategies}");
}
