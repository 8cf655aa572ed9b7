//! The demo trades: `sattebaaz demo --duration 120` (the README's main command) run for three
//! seeds at once, each against its own embedded simulator in paper mode. Every run must end
//! with zero venue rejections, its order tracker matching the simulator's ledger exactly and
//! at least one window settled; over the seeds, each of the five strategies must have sent
//! orders that the venue accepted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const SEEDS: [u64; 3] = [1, 2, 3];
const DURATION_S: &str = "120";
const STRATEGIES: [&str; 5] = ["straddle", "arb", "lag", "mm", "momentum"];

/// The shipped configuration with its own run directory and an ephemeral metrics port.
fn config_for(dir: &Path) -> PathBuf {
    let shipped = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"))
        .expect("shipped config");
    let run_dir = dir.join("out");
    let text = shipped
        .replace(
            "run_dir = \"out\"",
            &format!("run_dir = {:?}", run_dir.display().to_string()),
        )
        .replace(
            "metrics_bind = \"127.0.0.1:9464\"",
            "metrics_bind = \"127.0.0.1:0\"",
        );
    assert_ne!(text, shipped, "the shipped keys this test rewrites moved");
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn run(seed: u64, dir: &Path) -> std::thread::JoinHandle<(Output, PathBuf)> {
    let dir = dir.join(format!("seed{seed}"));
    std::fs::create_dir_all(&dir).unwrap();
    let config = config_for(&dir);
    let summary = dir.join("summary.json");
    std::thread::spawn(move || {
        let out = Command::new(env!("CARGO_BIN_EXE_sattebaaz"))
            .args(["demo", "--duration", DURATION_S, "--quiet", "--seed"])
            .arg(seed.to_string())
            .arg("--config")
            .arg(&config)
            .arg("--summary-json")
            .arg(&summary)
            .output()
            .expect("demo runs");
        (out, summary)
    })
}

#[test]
fn the_demo_trades_every_strategy_with_no_venue_rejection_and_reconciles_exactly() {
    let dir = std::env::temp_dir().join(format!("sattebaaz-demo-trading-{}", std::process::id()));
    let runs: Vec<_> = SEEDS.iter().map(|&s| (s, run(s, &dir))).collect();
    let mut accepted_by = [0u64; STRATEGIES.len()];
    let (mut fills, mut partial_fills) = (0u64, 0u64);
    for (seed, handle) in runs {
        let (out, summary) = handle.join().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "seed {seed}: demo failed\n{stdout}\n{stderr}"
        );
        assert!(
            stdout.contains("(SIMULATED)"),
            "seed {seed}: report not labelled"
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&summary).expect("summary written"))
                .expect("summary is JSON");
        assert_eq!(
            json["ledger_exact"],
            serde_json::Value::Bool(true),
            "seed {seed}: tracker and simulator ledger differ\n{stdout}"
        );
        assert!(
            json["settled_windows"].as_u64().unwrap() >= 1,
            "seed {seed}: no window settled\n{stdout}"
        );
        for row in json["strategies"].as_array().unwrap() {
            let name = row["strategy"].as_str().unwrap();
            assert_eq!(
                row["venue_rejections"].as_u64(),
                Some(0),
                "seed {seed}: the venue rejected {name} orders\n{stdout}"
            );
            let i = STRATEGIES.iter().position(|s| *s == name).unwrap();
            accepted_by[i] += row["accepted"].as_u64().unwrap();
            let (f, p) = (
                row["fills"].as_u64().unwrap(),
                row["partial_fills"].as_u64().unwrap(),
            );
            assert!(p <= f, "seed {seed}: {name} {p} partial of {f} fills");
            fills += f;
            partial_fills += p;
        }
    }
    // Orders larger than one crowd level (and quotes hit by smaller takers) fill in legs.
    assert!(
        partial_fills > 0 && partial_fills < fills,
        "{partial_fills} partial of {fills} fills"
    );
    for (name, n) in STRATEGIES.iter().zip(accepted_by) {
        assert!(
            n > 0,
            "{name} never had an order accepted over seeds {SEEDS:?}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
