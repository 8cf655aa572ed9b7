//! The simulator is a drop-in venue for Polymarket's official Python clients: `py-clob-client-v2`
//! and the unified SDK `polymarket-client` (versions pinned in `tests/pyclient/requirements.txt`,
//! installed into a virtualenv by `scripts/pyclient-setup.sh`, which `scripts/setup.sh` runs) drive
//! the simulator's CLOB over TLS, unmodified, trusting only its CA. The session and its checks
//! live in `tests/pyclient/official_client.py`: API key derivation, books (and their hashes),
//! price, midpoint, single and batch orders, cancels (one, a batch, all), open orders, a
//! marketable order filled by the simulated crowd, the resulting trades, the collateral balance
//! and an order heartbeat. Afterwards the simulator's own records must agree: the wallet's eight
//! orders are all closed, none of its collateral is still reserved and it holds the bought shares.
//! The test fails (never skips) when the virtualenv is missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use sattebaaz::sim::polymarket::crowd::{Phase, Token};
use sattebaaz::sim::polymarket::{lock, MarketSpec, PolySimOptions, WindowKind};
use sattebaaz::sim::{SimOptions, Simulator};

/// A window must stay open this long after the session starts (it takes seconds; the margin
/// only keeps a roll-over out of it).
const MIN_WINDOW_LEFT_MS: u64 = 120_000;

/// The virtualenv's interpreter (`SATTEBAAZ_PYCLIENT_VENV` overrides the location, as for
/// `scripts/pyclient-setup.sh`).
fn venv_python() -> PathBuf {
    let venv = std::env::var_os("SATTEBAAZ_PYCLIENT_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/pyclient-venv"));
    venv.join("bin/python")
}

/// The well-known test wallet of the official clients' vectors (an EOA, signature type 0): its
/// private key and its lower-case address.
fn test_wallet() -> (String, String) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../shared/vectors/polymarket_v2.json"
    );
    let vectors: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("vectors file")).unwrap();
    let field = |name: &str| {
        vectors["fixed"][name]
            .as_str()
            .unwrap_or_else(|| panic!("fixed.{name} in the vectors"))
            .to_string()
    };
    (
        field("private_key"),
        field("signer_address").to_ascii_lowercase(),
    )
}

fn start_sim() -> Simulator {
    let dir = std::env::temp_dir().join(format!("sattebaaz-pyclient-{}", std::process::id()));
    Simulator::start_with(
        &SimOptions {
            seed: 11,
            bind: "127.0.0.1".into(),
            assets: vec!["btc".into()],
            ca_file: dir.join("ca.pem"),
            step: Duration::from_millis(5),
        },
        &PolySimOptions {
            markets: vec![MarketSpec {
                asset: "btc".into(),
                kind: WindowKind::Min15,
            }],
            ..PolySimOptions::default()
        },
    )
    .expect("simulator starts")
}

/// The token ids of a trading window with both books quoted and at least
/// `MIN_WINDOW_LEFT_MS` to run, the token with the higher best ask first (room for resting bids
/// a few ticks above zero). Waits for the next window when the current one is about to end.
fn trading_tokens(sim: &Simulator) -> Vec<String> {
    for _ in 0..3_000 {
        {
            let st = lock(&sim.polymarket_state);
            let open = st.markets.iter().find(|m| {
                matches!(m.phase, Phase::Opening | Phase::Open)
                    && m.info.end_s * 1000 >= st.now_ms + MIN_WINDOW_LEFT_MS
            });
            if let Some(m) = open {
                let quoted = |t: Token| {
                    let book = m.crowd.book(t);
                    book.best_bid().zip(book.best_ask())
                };
                if let (Some((_, up_ask)), Some((_, down_ask))) =
                    (quoted(Token::Up), quoted(Token::Down))
                {
                    let [up, down] = m.info.token_ids.clone();
                    return if up_ask >= down_ask {
                        vec![up, down]
                    } else {
                        vec![down, up]
                    };
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no quoted window with two minutes left appeared within five minutes");
}

#[test]
fn official_python_clients_trade_on_the_simulator_unmodified() {
    let python = venv_python();
    assert!(
        python.exists(),
        "{} is missing: scripts/pyclient-setup.sh (run by scripts/setup.sh and scripts/test.sh) \
         installs Polymarket's official Python clients there",
        python.display()
    );
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/pyclient/official_client.py");
    let mut sim = start_sim();
    let tokens = trading_tokens(&sim);
    let (private_key, wallet) = test_wallet();
    let out = Command::new(&python)
        .arg(&script)
        .arg("--clob-url")
        .arg(sim.clob_url())
        .arg("--ca-file")
        .arg(sim.ca_file())
        .args(&tokens)
        .env("SIM_PRIVATE_KEY", private_key)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("the virtualenv's python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    eprintln!("{stderr}");
    assert!(
        out.status.success() && stdout.contains("all steps passed"),
        "the official clients failed against the simulator ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        out.status
    );
    // The venue's own records agree with what the clients were told: per client one single, two
    // batched and one marketable order, none still open, no collateral still reserved for them,
    // and the bought shares held.
    {
        let st = lock(&sim.polymarket_state);
        let orders: Vec<_> = st
            .exchange
            .orders
            .values()
            .filter(|o| o.maker == wallet)
            .collect();
        assert_eq!(orders.len(), 8, "orders of {wallet}: {orders:?}");
        let open: Vec<_> = orders.iter().filter(|o| o.status.is_open()).collect();
        assert!(open.is_empty(), "orders left open: {open:?}");
    }
    let ledger = sim.ledger_snapshot(&wallet);
    assert_eq!(ledger.collateral_reserved, 0, "{ledger:?}");
    assert!(
        ledger
            .tokens
            .get(&tokens[0])
            .is_some_and(|&shares| shares > 0),
        "shares of the traded token held: {ledger:?}"
    );
    sim.stop();
}
