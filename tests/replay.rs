//! Replay / backtest: a recording of a short demo (paper trading against the simulator, made
//! with `sattebaaz demo --record`) replayed twice gives byte-identical `orders.log` and
//! `summary.json`, and `--check-decisions` reproduces every decision the demo made; the shared recorded data (Binance frames + resolvedkit books, spliced with
//! the Chainlink ticks) replays end to end with at least one market evaluated and the report
//! says it was spliced; the HTML report, opened in headless chromium, shows its charts (its
//! inline script runs).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sattebaaz::config::{Config, SHIPPED_CONFIG_TOML};
use sattebaaz::record::reader::RecordingReader;
use sattebaaz::record::ConnKind;
use sattebaaz::replay::{run, ReplayOptions};

const BIN: &str = env!("CARGO_BIN_EXE_sattebaaz");
const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/replay");

fn tmp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sattebaaz-replay-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config() -> Config {
    SHIPPED_CONFIG_TOML.parse().unwrap()
}

/// A demo (paper trading against the simulator, 15 s windows), recorded; made once per test
/// binary.
fn recording() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = tmp("engine");
        let run_dir = base.join("run");
        let with_dir = SHIPPED_CONFIG_TOML.replacen(
            "run_dir = \"out\"",
            &format!("run_dir = {:?}", run_dir),
            1,
        );
        let text = with_dir.replacen("window_secs_override = 60", "window_secs_override = 15", 1);
        assert!(
            with_dir != SHIPPED_CONFIG_TOML && text != with_dir,
            "the shipped keys changed"
        );
        let cfg_path = base.join("config.toml");
        std::fs::write(&cfg_path, text).unwrap();
        let rec = base.join("rec");
        let out = Command::new(BIN)
            .args([
                "demo",
                "--quiet",
                "--duration",
                "35",
                "--seed",
                "3",
                "--config",
            ])
            .arg(&cfg_path)
            .arg("--record")
            .arg(&rec)
            .output()
            .expect("binary runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{text}");
        assert!(text.contains("recording "), "{text}");
        rec
    })
}

fn replay(inputs: Vec<PathBuf>, out: &Path, splice: bool) -> sattebaaz::replay::ReplayOutcome {
    run(
        &config(),
        &ReplayOptions {
            inputs,
            latency_ms: 50,
            out_dir: out.to_path_buf(),
            splice,
            splice_lead_secs: 60,
            progress: false,
        },
    )
    .unwrap()
}

#[test]
fn engine_recording_holds_every_feed_and_the_discovery_messages() {
    let rec = recording();
    let mut reader = RecordingReader::open(rec).unwrap();
    let kinds: Vec<ConnKind> = reader.index.conns.iter().map(|c| c.kind).collect();
    for k in [
        ConnKind::BinanceSpot,
        ConnKind::BinanceFutures,
        ConnKind::PolyMarket,
        ConnKind::Rtds,
        ConnKind::Discovery,
        ConnKind::Warmup,
        ConnKind::Journal,
    ] {
        assert!(kinds.contains(&k), "{k:?} missing from {kinds:?}");
    }
    let mut seen = [0u64; 7];
    let mut last = 0u64;
    let mut backwards = 0u64;
    while let Some(f) = reader.next_frame() {
        let k = reader
            .index
            .kind_of(f.conn)
            .expect("every conn id is listed");
        seen[k as usize] += 1;
        // The journal has a ring of its own, drained after the frames' (a replay sorts).
        if k != ConnKind::Journal {
            if f.recv_ns < last {
                backwards += 1;
            }
            last = last.max(f.recv_ns);
        }
        if k == ConnKind::Journal {
            sattebaaz::record::journal::decode(&f.payload).expect("journal entry");
        }
        if k == ConnKind::Warmup {
            let text = std::str::from_utf8(&f.payload).unwrap();
            let h = sattebaaz::record::warmup_text::parse(text).expect("warm-up text");
            assert!(!h.candles.is_empty());
        }
        if k == ConnKind::Discovery {
            let text = std::str::from_utf8(&f.payload).unwrap();
            assert!(
                sattebaaz::record::discovery_text::parse(text).is_some(),
                "{text}"
            );
        }
    }
    assert_eq!(reader.errors, 0);
    assert!(seen.iter().all(|n| *n > 0), "frames per kind {seen:?}");
    // Receive times are Unix ns of this run.
    let now = sattebaaz::clock::wall_ns();
    assert!(
        last <= now && last > now - 3_600_000_000_000,
        "{last} vs {now}"
    );
    // The drain may interleave discovery lines with frames received a moment earlier, but
    // never by much.
    assert!(backwards < seen.iter().sum::<u64>() / 10, "{backwards}");
}

#[test]
fn replaying_a_recording_twice_gives_identical_outputs() {
    let rec = recording().to_path_buf();
    let a = tmp("det-a");
    let b = tmp("det-b");
    let oa = replay(vec![rec.clone()], &a, false);
    let ob = replay(vec![rec], &b, false);
    let read = |p: &Path| std::fs::read(p).unwrap();
    let (log_a, log_b) = (read(&oa.orders_path), read(&ob.orders_path));
    assert_eq!(log_a, log_b, "orders.log differs");
    assert_eq!(
        read(&oa.summary_path),
        read(&ob.summary_path),
        "summary.json differs"
    );
    let s = &oa.summary;
    assert!(!s.spliced);
    assert_eq!(s.clock, "as-recorded");
    assert!(s.input.binance_frames > 0 && s.input.market_frames > 0 && s.input.rtds_frames > 0);
    assert_eq!(s.input.binance_errors, 0);
    assert!(s.input.decision_rounds > 0);
    // The recorded candle warm-up seeds the replay's candles as it seeded the run's.
    assert!(s.input.warm_candles_seeded > 0);
    assert_eq!(s.input.warm_histories_refused, 0);
    assert!(s.markets_evaluated > 0, "{s:?}");
    let text = String::from_utf8(log_a).unwrap();
    assert!(text.lines().any(|l| l.contains(" market slot=")), "{text}");
    // Every line starts with its virtual time, in order.
    let times: Vec<u64> = text
        .lines()
        .map(|l| l.split(' ').next().unwrap().parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    // Every order that was sent ended or is still open at the end, never twice.
    for l in text.lines().filter(|l| l.contains(" order id=")) {
        let id = l.split("id=").nth(1).unwrap().split(' ').next().unwrap();
        let ends = text
            .lines()
            .filter(|x| x.contains(&format!(" end id={id} ")))
            .count();
        assert!(ends <= 1, "order {id} ended {ends} times");
    }
    // A different latency is a different backtest, still deterministic per latency.
    let c = tmp("det-c");
    let oc = run(
        &config(),
        &ReplayOptions {
            inputs: vec![recording().to_path_buf()],
            latency_ms: 0,
            out_dir: c,
            splice: false,
            splice_lead_secs: 60,
            progress: false,
        },
    )
    .unwrap();
    assert_eq!(oc.summary.latency_ms, 0);
    assert_eq!(oc.summary.input.events, s.input.events);
}

fn shared(p: &str) -> PathBuf {
    Path::new(SHARED).join(p)
}

#[test]
fn shared_binance_frames_and_resolvedkit_books_replay_spliced() {
    let out = tmp("shared");
    let o = replay(
        vec![
            shared("binance_ws_hftbacktest/spot_btcusdt_20240808.gz"),
            shared("polymarket_books_resolvedkit"),
            shared("polymarket_chainlink_ligengxin96/BTCUSD-prices-2026-06-08.csv.gz"),
        ],
        &out,
        true,
    );
    let s = &o.summary;
    assert!(s.spliced);
    assert_eq!(s.clock, "spliced");
    assert!(s.clock_note.contains("shifted"), "{}", s.clock_note);
    // The books are the anchor: not shifted; the others are.
    assert_eq!(s.sources[1].kind, "resolvedkit-books");
    assert_eq!(s.sources[1].shift_ns, 0);
    assert_ne!(s.sources[0].shift_ns, 0);
    assert_ne!(s.sources[2].shift_ns, 0);
    // The Chainlink file's own markets are not on the books' clock: dropped and counted.
    assert!(s.sources[2].dropped_markets > 0);
    assert_eq!(s.input.binance_frames, 41_249);
    assert_eq!(s.input.binance_errors, 0);
    assert_eq!(s.sources[1].bad_records, 0);
    assert_eq!(s.input.book_snapshots, 25_256);
    assert_eq!(s.input.book_snapshot_errors, 0);
    assert!(s.input.rtds_frames > 80_000);
    assert_eq!(s.input.rtds_errors, 0);
    assert_eq!(s.markets_seen, 12);
    assert!(s.markets_evaluated >= 1);
    assert_eq!(s.markets_settled, 12);
    let html = std::fs::read_to_string(&o.report_path).unwrap();
    assert!(html.contains("id=\"spliced-banner\""));
    assert!(html.contains("SPLICED"));
    let json = std::fs::read_to_string(&o.summary_path).unwrap();
    assert!(json.contains("\"spliced\": true"));
    // Without --splice the sources stay on their own (years apart) clocks.
    let o2 = replay(
        vec![
            shared("binance_ws_hftbacktest/spot_btcusdt_20240808.gz"),
            shared("polymarket_books_resolvedkit"),
        ],
        &tmp("shared-unspliced"),
        false,
    );
    assert!(!o2.summary.spliced);
    assert!(o2.summary.sources.iter().all(|s| s.shift_ns == 0));
}

#[test]
fn html_report_renders_its_charts_in_headless_chromium() {
    let out = tmp("html");
    let o = replay(
        vec![
            shared("binance_ws_hftbacktest/spot_btcusdt_20240808.gz"),
            shared("polymarket_books_resolvedkit"),
        ],
        &out,
        true,
    );
    let html = std::fs::read_to_string(&o.report_path).unwrap();
    // Self-contained: nothing fetched from elsewhere.
    for bad in ["src=\"http", "href=\"http", "<link ", "@import"] {
        assert!(!html.contains(bad), "external asset: {bad}");
    }
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| {
            Command::new(c)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success())
        })
        .unwrap_or_else(|| {
            panic!("headless chromium is missing: run scripts/setup.sh (it installs chromium)")
        });
    let url = format!("file://{}", o.report_path.canonicalize().unwrap().display());
    let dom = Command::new(chromium)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom"])
        .arg(&url)
        .output()
        .expect("chromium runs");
    let dom = String::from_utf8_lossy(&dom.stdout);
    for id in [
        "equity-chart",
        "drawdown-chart",
        "trades-chart",
        "strategy-table",
        "fill-rate",
        "fees",
    ] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "{id} missing");
    }
    // The inline script ran: it counts the charts and the equity series (five strategies +
    // total, and the drawdown line).
    assert!(
        dom.contains("data-rendered=\"charts:3,series:7\""),
        "script did not run: {}",
        &dom[..dom.len().min(400)]
    );
}

#[test]
fn cli_replay_writes_its_outputs_and_refuses_bad_inputs() {
    let out = tmp("cli");
    let run = |args: &[&str]| {
        let o = Command::new(BIN).args(args).output().expect("binary runs");
        (
            o.status.success(),
            String::from_utf8_lossy(&o.stdout).to_string(),
            String::from_utf8_lossy(&o.stderr).to_string(),
        )
    };
    let binance = shared("binance_ws_hftbacktest/spot_btcusdt_20240808.gz");
    let books = shared("polymarket_books_resolvedkit");
    let cfg = concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml");
    let (ok, stdout, stderr) = run(&[
        "replay",
        binance.to_str().unwrap(),
        books.to_str().unwrap(),
        "--splice",
        "--latency-ms",
        "20",
        "--config",
        cfg,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{stdout}{stderr}");
    assert!(stdout.contains("replay (SPLICED)"), "{stdout}");
    assert!(stdout.contains("12 markets seen"), "{stdout}");
    // stderr is a pipe here: no progress bar.
    assert!(!stderr.contains("replay ["), "{stderr}");
    for f in ["summary.json", "orders.log", "report.html"] {
        assert!(out.join(f).is_file(), "{f}");
    }
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["latency_ms"], 20);
    // A missing input, a file that is not a frame file, and no input at all.
    let (ok, _, stderr) = run(&["replay", "/nonexistent/input.gz", "--config", cfg]);
    assert!(!ok);
    assert!(stderr.contains("/nonexistent/input.gz"), "{stderr}");
    let junk = out.join("junk.txt");
    std::fs::write(&junk, "not a frame\nline\n").unwrap();
    let (ok, _, stderr) = run(&["replay", junk.to_str().unwrap(), "--config", cfg]);
    assert!(!ok);
    assert!(stderr.contains("no `<ns> <json>` frame lines"), "{stderr}");
    let (ok, _, _) = run(&["replay", "--config", cfg]);
    assert!(!ok);
}

/// A recorded demo (paper trading against the simulator), re-driven by `replay
/// --check-decisions`: every tick decides what the run decided, orders and fills included; the
/// same recording with one strategy parameter changed is caught differing.
#[test]
fn replaying_a_demo_recording_reproduces_its_decisions() {
    let rec = recording();
    let base = tmp("check");
    let text = std::fs::read_to_string(rec.parent().unwrap().join("config.toml")).unwrap();
    let cfg_path = rec.parent().unwrap().join("config.toml");
    let cfg: Config = text.parse().unwrap();
    let o = sattebaaz::replay::check_decisions(&cfg, rec, &base.join("check")).unwrap();
    let s = &o.stats;
    assert!(s.all_matched(), "{s:#?}");
    assert_eq!(s.ticks_differing + s.ticks_unready, 0, "{s:#?}");
    assert!(s.ticks > 1_000, "{s:#?}");
    assert!(s.ticks_with_intents > 0 && s.orders_journaled > 0, "{s:#?}");
    // The venue's answers went back into the brain as in the run.
    assert!(s.sent > 0 && s.fills > 0 && s.closes > 0, "{s:#?}");
    assert!(s.markets > 0 && s.resolved > 0, "{s:#?}");
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&o.path).unwrap()).unwrap();
    assert_eq!(json["ticks"], s.ticks);

    // Smaller lag bets: the check must notice.
    let changed = text.replacen("kelly_fraction = 0.25", "kelly_fraction = 0.20", 1);
    assert_ne!(changed, text);
    let cfg2: Config = changed.parse().unwrap();
    let o2 = sattebaaz::replay::check_decisions(&cfg2, rec, &base.join("check2")).unwrap();
    assert!(!o2.stats.all_matched());
    assert!(o2.stats.ticks_differing > 0, "{:#?}", o2.stats);
    assert!(!o2.stats.differences.is_empty());

    // The CLI says so and exits 1 on a difference, 0 on none.
    let cli = |cfg: &Path| {
        Command::new(BIN)
            .args(["replay", "--check-decisions", "--config"])
            .arg(cfg)
            .arg("--out")
            .arg(base.join("cli"))
            .arg(rec)
            .output()
            .unwrap()
    };
    let ok = cli(&cfg_path);
    let ok_text = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{ok_text}");
    assert!(
        ok_text.contains("every decision of the run was reproduced"),
        "{ok_text}"
    );
    let changed_path = base.join("changed.toml");
    std::fs::write(&changed_path, &changed).unwrap();
    let bad = cli(&changed_path);
    assert_eq!(bad.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad.stdout).contains("differs: tick of slot"));
}
