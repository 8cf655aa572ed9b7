//! Integration tests of config loading/validation and secret loading.
//!
//! Bad configs are made by editing the shipped `config.toml` as a TOML table (so the tests do
//! not depend on its comments or layout). Secret tests go through `secrets::load_with` with a
//! map, so no test touches the process environment.

use std::collections::HashMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use sattebaaz::config::secrets::{self, KeySource, PrivateKey, SecretError};
use sattebaaz::config::{
    check_config_file, Asset, Config, ConfigError, EngineMode, ErrorKind, PollMode, Window,
    SHIPPED_CONFIG_TOML, SYNTAX_PATH,
};
use toml::{Table, Value};

// ---------------------------------------------------------------------------------------------
// helpers

fn shipped_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")
}

fn shipped_table() -> Table {
    SHIPPED_CONFIG_TOML
        .parse::<Table>()
        .expect("shipped config is TOML")
}

/// Mutable access to the value at a dotted path; `markets[2]` selects an array element.
fn value_at<'a>(table: &'a mut Table, path: &str) -> &'a mut Value {
    let mut segments = path.split('.');
    let first = segments.next().expect("non-empty path");
    let mut current = element(table, first);
    for segment in segments {
        let Value::Table(inner) = current else {
            panic!("{path}: `{segment}` is not inside a table");
        };
        current = element(inner, segment);
    }
    current
}

fn element<'a>(table: &'a mut Table, segment: &str) -> &'a mut Value {
    match segment.split_once('[') {
        Some((key, index)) => {
            let index: usize = index.trim_end_matches(']').parse().expect("index");
            let Some(Value::Array(array)) = table.get_mut(key) else {
                panic!("{key} is not an array");
            };
            &mut array[index]
        }
        None => table
            .entry(segment.to_owned())
            .or_insert_with(|| Value::Table(Table::new())),
    }
}

fn set(table: &mut Table, path: &str, value: impl Into<Value>) {
    *value_at(table, path) = value.into();
}

fn remove(table: &mut Table, path: &str) {
    let (parent, key) = match path.rsplit_once('.') {
        Some((parent, key)) => (Some(parent), key),
        None => (None, path),
    };
    let owner = match parent {
        Some(parent) => match value_at(table, parent) {
            Value::Table(inner) => inner,
            _ => panic!("{parent} is not a table"),
        },
        None => table,
    };
    assert!(owner.remove(key).is_some(), "{path} was not present");
}

fn to_text(table: &Table) -> String {
    toml::to_string(table).expect("serialises")
}

fn errors_of(text: &str) -> Vec<ConfigError> {
    match text.parse::<Config>() {
        Ok(_) => panic!("config unexpectedly valid"),
        Err(errors) => errors.into_vec(),
    }
}

fn errors_after(edit: impl FnOnce(&mut Table)) -> Vec<ConfigError> {
    let mut table = shipped_table();
    edit(&mut table);
    errors_of(&to_text(&table))
}

#[track_caller]
fn find<'a>(errors: &'a [ConfigError], path: &str, kind: ErrorKind) -> &'a ConfigError {
    errors
        .iter()
        .find(|error| error.path == path && error.kind == kind)
        .unwrap_or_else(|| panic!("no {kind:?} error at `{path}` in:\n{}", render(errors)))
}

fn render(errors: &[ConfigError]) -> String {
    errors.iter().map(|error| format!("{error}\n")).collect()
}

fn tmp_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("config-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

// ---------------------------------------------------------------------------------------------
// the shipped file

#[test]
fn shipped_config_loads_and_matches_the_strategy_spec() {
    let config = Config::load(shipped_path()).unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(config, Config::shipped().expect("embedded copy parses"));
    assert_eq!(
        config,
        check_config_file(shipped_path()).expect("check-config passes")
    );

    assert_eq!(config.engine.mode, EngineMode::Paper);
    assert!(!config.engine.live_confirmed);
    assert_eq!(config.poll.mode, PollMode::Busy);
    assert_ne!(config.threads.hot_cpu, config.threads.risk_cpu);
    assert_eq!(
        config.venues.binance.spot_ws_url,
        "wss://stream.binance.com:9443"
    );
    assert_eq!(config.venues.polymarket.chain_id, 137);
    assert_eq!(config.net.tls_extra_ca_path(), None);
    assert_eq!(config.histogram_path(), Path::new("out").join("histograms"));

    let markets: Vec<(Asset, Window, u32, u32)> = config
        .markets
        .iter()
        .map(|market| {
            (
                market.asset,
                market.window,
                market.capital_share_bps,
                market.priority,
            )
        })
        .collect();
    assert_eq!(
        markets,
        vec![
            (Asset::Btc, Window::Min5, 4000, 1),
            (Asset::Btc, Window::Min15, 2000, 2),
            (Asset::Eth, Window::Min15, 2000, 3),
            (Asset::Sol, Window::Min15, 1000, 4),
            (Asset::Xrp, Window::Min15, 1000, 5),
        ]
    );
    assert_eq!(Window::Min5.secs(), 300);
    assert_eq!(Window::Min15.secs(), 900);
}

#[test]
fn edited_table_round_trip_is_still_valid() {
    // Guards the helpers: an unedited table re-serialised must load.
    let text = to_text(&shipped_table());
    text.parse::<Config>()
        .unwrap_or_else(|errors| panic!("{errors}"));
}

#[test]
fn confirmed_live_mode_with_tls_urls_is_valid() {
    let mut table = shipped_table();
    set(&mut table, "engine.mode", "live");
    set(&mut table, "engine.live_confirmed", true);
    let config = to_text(&table)
        .parse::<Config>()
        .unwrap_or_else(|errors| panic!("{errors}"));
    assert_eq!(config.engine.mode, EngineMode::Live);
}

// ---------------------------------------------------------------------------------------------
// schema errors

#[test]
fn every_unknown_key_is_reported_with_its_full_path() {
    let errors = errors_after(|table| {
        set(table, "colour", "blue");
        set(table, "net.websocket.max_mesage_bytes", 5);
        set(table, "markets[1].leverage", 3);
    });
    let top = find(&errors, "colour", ErrorKind::UnknownKey);
    assert!(top.to_string().starts_with("colour: unknown key"), "{top}");
    find(
        &errors,
        "net.websocket.max_mesage_bytes",
        ErrorKind::UnknownKey,
    );
    find(&errors, "markets[1].leverage", ErrorKind::UnknownKey);
    assert_eq!(errors.len(), 3, "{}", render(&errors));
}

#[test]
fn unknown_section_is_reported() {
    let errors = errors_after(|table| set(table, "bogus.max_loss", 5));
    find(&errors, "bogus", ErrorKind::UnknownKey);
}

#[test]
fn wrong_types_name_the_key_and_line() {
    let text = SHIPPED_CONFIG_TOML.replace("pool_size = 4", "pool_size = \"four\"");
    assert_ne!(text, SHIPPED_CONFIG_TOML);
    let errors = errors_of(&text);
    let error = find(&errors, "net.http.pool_size", ErrorKind::WrongType);
    let line = SHIPPED_CONFIG_TOML
        .lines()
        .position(|line| line.starts_with("pool_size"))
        .expect("line present")
        + 1;
    assert!(error.reason.contains(&format!("line {line}")), "{error}");

    let errors = errors_after(|table| set(table, "queues.hot_to_risk", -1));
    find(&errors, "queues.hot_to_risk", ErrorKind::WrongType);

    let errors = errors_after(|table| set(table, "markets[0].capital_share_bps", 40.5));
    find(
        &errors,
        "markets[0].capital_share_bps",
        ErrorKind::WrongType,
    );

    let errors = errors_after(|table| set(table, "engine.live_confirmed", "yes"));
    find(&errors, "engine.live_confirmed", ErrorKind::WrongType);

    let errors = errors_after(|table| set(table, "sim.seed", i64::MIN));
    find(&errors, "sim.seed", ErrorKind::WrongType);
}

#[test]
fn bad_enum_strings_name_the_key() {
    let errors = errors_after(|table| set(table, "engine.mode", "turbo"));
    let error = find(&errors, "engine.mode", ErrorKind::WrongType);
    assert!(
        error.reason.contains("turbo") && error.reason.contains("paper"),
        "{error}"
    );

    let errors = errors_after(|table| set(table, "markets[3].window", "1h"));
    find(&errors, "markets[3].window", ErrorKind::WrongType);

    let errors = errors_after(|table| set(table, "markets[2].asset", "doge"));
    find(&errors, "markets[2].asset", ErrorKind::WrongType);

    let errors = errors_after(|table| set(table, "poll.mode", "spin"));
    find(&errors, "poll.mode", ErrorKind::WrongType);

    let errors = errors_after(|table| set(table, "sim.bind", "localhost"));
    find(&errors, "sim.bind", ErrorKind::WrongType);
}

#[test]
fn missing_keys_and_sections_are_named() {
    let errors = errors_after(|table| remove(table, "net.backoff.jitter"));
    let error = find(&errors, "net.backoff.jitter", ErrorKind::MissingKey);
    assert!(
        error
            .to_string()
            .starts_with("net.backoff.jitter: missing key"),
        "{error}"
    );

    let errors = errors_after(|table| remove(table, "sim"));
    find(&errors, "sim", ErrorKind::MissingKey);

    let errors = errors_after(|table| remove(table, "markets[2].priority"));
    find(&errors, "markets[2].priority", ErrorKind::MissingKey);
}

#[test]
fn toml_syntax_error_is_reported_with_its_line() {
    let text = format!("{SHIPPED_CONFIG_TOML}\n[engine]\nmode = \"paper\"\n");
    let errors = errors_of(&text);
    let error = find(&errors, SYNTAX_PATH, ErrorKind::Syntax);
    assert!(error.reason.contains("line "), "{error}");
}

// ---------------------------------------------------------------------------------------------
// ranges and consistency

#[test]
fn all_out_of_range_values_are_reported_together() {
    let errors = errors_after(|table| {
        set(table, "threads.hot_cpu", 1024);
        set(table, "poll.blocking_timeout_us", 0);
        set(table, "poll.events_capacity", 1);
        set(table, "poll.warm_send_interval_us", 50);
        set(table, "poll.warm_order_interval_us", 2_000_000);
        set(table, "queues.hot_to_risk", 1000);
        set(table, "queues.risk_to_hot", 1 << 23);
        set(table, "net.connect_timeout_ms", 0);
        set(table, "net.http.pool_size", 65);
        set(table, "net.backoff.multiplier", 1.0);
        set(table, "net.backoff.jitter", 1.5);
        set(table, "venues.polymarket.chain_id", 1);
        set(table, "telemetry.heartbeat_interval_ms", 0);
        set(table, "sim.window_secs_override", 100_000);
        set(table, "markets[4].capital_share_bps", 0);
    });
    for path in [
        "threads.hot_cpu",
        "poll.blocking_timeout_us",
        "poll.events_capacity",
        "poll.warm_send_interval_us",
        "poll.warm_order_interval_us",
        "queues.hot_to_risk",
        "queues.risk_to_hot",
        "net.connect_timeout_ms",
        "net.http.pool_size",
        "net.backoff.multiplier",
        "net.backoff.jitter",
        "venues.polymarket.chain_id",
        "telemetry.heartbeat_interval_ms",
        "sim.window_secs_override",
        "markets[4].capital_share_bps",
    ] {
        find(&errors, path, ErrorKind::OutOfRange);
    }
    let pool = find(&errors, "net.http.pool_size", ErrorKind::OutOfRange);
    assert_eq!(
        pool.to_string(),
        "net.http.pool_size: 65 is out of range 1..=64"
    );
    let not_pow2 = find(&errors, "queues.hot_to_risk", ErrorKind::OutOfRange);
    assert!(not_pow2.reason.contains("power of two"), "{not_pow2}");
}

#[test]
fn nan_multiplier_is_rejected() {
    let errors = errors_after(|table| set(table, "net.backoff.multiplier", f64::NAN));
    find(&errors, "net.backoff.multiplier", ErrorKind::OutOfRange);
}

#[test]
fn inconsistent_pairs_name_the_dependent_key() {
    let errors = errors_after(|table| {
        set(table, "net.backoff.initial_ms", 5000);
        set(table, "net.backoff.max_ms", 1000);
        set(table, "net.websocket.max_message_bytes", 65536);
        set(table, "net.websocket.max_frame_bytes", 131072);
        set(table, "net.websocket.silence_timeout_ms", 20000);
        set(table, "threads.risk_cpu", 1);
    });
    let backoff = find(&errors, "net.backoff.max_ms", ErrorKind::Inconsistent);
    assert!(backoff.reason.contains("initial_ms"), "{backoff}");
    find(
        &errors,
        "net.websocket.max_frame_bytes",
        ErrorKind::Inconsistent,
    );
    find(
        &errors,
        "net.websocket.silence_timeout_ms",
        ErrorKind::Inconsistent,
    );
    find(&errors, "threads.risk_cpu", ErrorKind::Inconsistent);
    assert_eq!(errors.len(), 4, "{}", render(&errors));
}

#[test]
fn live_mode_needs_confirmation_and_tls() {
    let errors = errors_after(|table| {
        set(table, "engine.mode", "live");
        set(table, "venues.polymarket.clob_url", "http://127.0.0.1:8080");
    });
    find(&errors, "engine.live_confirmed", ErrorKind::Inconsistent);
    find(
        &errors,
        "venues.polymarket.clob_url",
        ErrorKind::Inconsistent,
    );

    // The same plain URL is fine in paper mode (the embedded simulator).
    let mut table = shipped_table();
    set(
        &mut table,
        "venues.polymarket.clob_url",
        "http://127.0.0.1:8080",
    );
    to_text(&table)
        .parse::<Config>()
        .unwrap_or_else(|errors| panic!("{errors}"));
}

#[test]
fn bad_urls_are_rejected_per_key() {
    let errors = errors_after(|table| {
        set(
            table,
            "venues.binance.spot_ws_url",
            "https://stream.binance.com:9443",
        );
        set(
            table,
            "venues.polymarket.clob_url",
            "wss://clob.polymarket.com",
        );
        set(
            table,
            "venues.polymarket.gamma_url",
            "gamma-api.polymarket.com",
        );
        set(table, "venues.polymarket.market_ws_url", "wss://");
        set(
            table,
            "venues.polymarket.rtds_ws_url",
            "wss://ws-live-data.polymarket.com:99999",
        );
    });
    for path in [
        "venues.binance.spot_ws_url",
        "venues.polymarket.clob_url",
        "venues.polymarket.gamma_url",
        "venues.polymarket.market_ws_url",
        "venues.polymarket.rtds_ws_url",
    ] {
        find(&errors, path, ErrorKind::BadUrl);
    }
    assert_eq!(errors.len(), 5, "{}", render(&errors));
}

#[test]
fn duplicate_market_is_rejected() {
    let errors = errors_after(|table| {
        set(table, "markets[4].asset", "btc");
        set(table, "markets[4].window", "5m");
    });
    let error = find(&errors, "markets[4]", ErrorKind::Inconsistent);
    assert!(error.reason.contains("markets[0]"), "{error}");
}

#[test]
fn duplicate_priority_is_rejected() {
    let errors = errors_after(|table| set(table, "markets[3].priority", 1));
    find(&errors, "markets[3].priority", ErrorKind::Inconsistent);
}

#[test]
fn capital_shares_over_100_percent_are_rejected() {
    let errors = errors_after(|table| set(table, "markets[0].capital_share_bps", 4001));
    let error = find(
        &errors,
        "markets.capital_share_bps",
        ErrorKind::Inconsistent,
    );
    assert!(error.reason.contains("10001"), "{error}");
}

#[test]
fn empty_market_list_is_rejected() {
    let errors = errors_after(|table| set(table, "markets", Value::Array(Vec::new())));
    find(&errors, "markets", ErrorKind::OutOfRange);
}

#[test]
fn histogram_dir_must_stay_inside_run_dir() {
    for bad in ["../elsewhere", "/tmp/histograms", ""] {
        let errors = errors_after(|table| set(table, "telemetry.histogram_dir", bad));
        find(&errors, "telemetry.histogram_dir", ErrorKind::OutOfRange);
    }
}

// ---------------------------------------------------------------------------------------------
// secrets in the file

const VECTOR_KEY: &str = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318";

#[test]
fn secret_like_keys_in_the_file_point_to_the_environment() {
    let errors = errors_after(|table| {
        set(table, "private_key", VECTOR_KEY);
        set(table, "venues.polymarket.api_secret", "c2VjcmV0");
        set(table, "venues.polymarket.API_PASSPHRASE", "hunter2");
    });
    for path in [
        "private_key",
        "venues.polymarket.api_secret",
        "venues.polymarket.API_PASSPHRASE",
    ] {
        let error = find(&errors, path, ErrorKind::SecretInFile);
        assert!(error.reason.contains("environment"), "{error}");
        assert!(error.reason.contains("SATTEBAAZ_PRIVATE_KEY"), "{error}");
    }
    let all = render(&errors);
    assert!(!all.contains(&VECTOR_KEY[2..]), "{all}");
    assert!(
        !all.contains("c2VjcmV0") && !all.contains("hunter2"),
        "{all}"
    );
}

#[test]
fn key_pasted_into_a_typed_field_is_not_echoed() {
    let errors = errors_after(|table| set(table, "sim.seed", VECTOR_KEY));
    let error = find(&errors, "sim.seed", ErrorKind::WrongType);
    assert!(!error.to_string().contains(&VECTOR_KEY[2..20]), "{error}");
    assert!(error.reason.contains("[redacted]"), "{error}");

    let text = SHIPPED_CONFIG_TOML.replace("seed = 1", &format!("seed = {VECTOR_KEY}x"));
    let all = render(&errors_of(&text));
    assert!(!all.contains(&VECTOR_KEY[2..20]), "{all}");
}

// ---------------------------------------------------------------------------------------------
// file loading

#[test]
fn load_reports_unreadable_file_and_missing_ca_file() {
    let dir = tmp_dir("load");
    let missing = dir.join("nope.toml");
    let errors = check_config_file(&missing).expect_err("missing file");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].kind, ErrorKind::Io);
    assert_eq!(errors[0].path, missing.display().to_string());

    let ca = dir.join("absent-ca.pem");
    let mut table = shipped_table();
    set(
        &mut table,
        "net.tls_extra_ca_file",
        ca.display().to_string(),
    );
    let config_path = dir.join("with-ca.toml");
    std::fs::write(&config_path, to_text(&table)).expect("write config");
    let errors = check_config_file(&config_path).expect_err("CA file absent");
    find(&errors, "net.tls_extra_ca_file", ErrorKind::BadPath);

    std::fs::write(&ca, "-----BEGIN CERTIFICATE-----\n").expect("write ca");
    let config = check_config_file(&config_path).expect("CA file present");
    assert_eq!(config.net.tls_extra_ca_path(), Some(ca.as_path()));
}

// ---------------------------------------------------------------------------------------------
// secrets from the environment (through a lookup map; the process env is never touched)

fn env_of(pairs: &[(&str, &str)]) -> impl FnMut(&str) -> Option<OsString> {
    let map: HashMap<String, OsString> = pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), OsString::from(value)))
        .collect();
    move |name| map.get(name).cloned()
}

/// The well-known test key and its signer address (the same pair as `fixed` in
/// `shared/vectors/polymarket_v2.json`, produced there by eth-account).
fn shared_vector() -> (String, String) {
    (
        VECTOR_KEY.to_owned(),
        "0x2c7536E3605D9C16a7a3D7b1898e529396a65c23".to_owned(),
    )
}

#[test]
fn valid_env_key_loads_and_derives_the_vector_address() {
    let (key, address) = shared_vector();
    let secrets =
        secrets::load_with(env_of(&[(secrets::ENV_PRIVATE_KEY, &key)])).expect("valid key");
    let private_key = secrets.private_key.as_ref().expect("key present");
    assert_eq!(private_key.address_checksummed(), address);
    assert!(secrets.api.is_none());
    secrets
        .require_for(EngineMode::Live)
        .expect("live has its key");

    // Without the 0x prefix and with a trailing newline: the same key.
    let bare = format!("{}\n", &key[2..]);
    let again =
        secrets::load_with(env_of(&[(secrets::ENV_PRIVATE_KEY, &bare)])).expect("valid key");
    assert_eq!(
        again.private_key.expect("key").address_checksummed(),
        address
    );

    // Private key 1 -> the well-known address of generator point G.
    let one = format!("0x{:064x}", 1);
    let key_one = PrivateKey::parse(one.as_bytes(), KeySource::Env).expect("key 1");
    assert_eq!(
        key_one.address_checksummed(),
        "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf"
    );
}

/// Predicate telling whether an error is the expected variant.
type ErrorCheck = fn(&SecretError) -> bool;

#[test]
fn malformed_keys_are_errors_that_do_not_leak_the_text() {
    let (key, _) = shared_vector();
    let digits = &key[2..];
    let curve_order = "0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141";
    let cases: Vec<(String, ErrorCheck)> = vec![
        (format!("0x{}g", &digits[..63]), |e| {
            matches!(e, SecretError::KeyNotHex { .. })
        }),
        (format!("0x{}", &digits[..62]), |e| {
            matches!(e, SecretError::KeyWrongLength { hex_digits: 62, .. })
        }),
        (format!("0x{digits}00"), |e| {
            matches!(e, SecretError::KeyWrongLength { hex_digits: 66, .. })
        }),
        (format!("0x{:064x}", 0), |e| {
            matches!(e, SecretError::KeyOutOfRange { .. })
        }),
        (curve_order.to_owned(), |e| {
            matches!(e, SecretError::KeyOutOfRange { .. })
        }),
        (format!("0x{}", "f".repeat(64)), |e| {
            matches!(e, SecretError::KeyOutOfRange { .. })
        }),
    ];
    for (text, expected) in cases {
        let error = secrets::load_with(env_of(&[(secrets::ENV_PRIVATE_KEY, &text)]))
            .expect_err("malformed key must fail");
        assert!(expected(&error), "{text}: unexpected {error:?}");
        let shown = format!("{error} {error:?}");
        assert!(shown.contains(secrets::ENV_PRIVATE_KEY), "{shown}");
        let body = text.trim_start_matches("0x");
        for chunk in body.as_bytes().chunks(16) {
            let chunk = std::str::from_utf8(chunk).expect("ascii");
            if chunk.len() >= 8 && !chunk.bytes().all(|byte| byte == b'0' || byte == b'f') {
                assert!(!shown.contains(chunk), "error leaks key text: {shown}");
            }
        }
    }
}

#[test]
fn key_file_mode_is_enforced() {
    let (key, address) = shared_vector();
    let dir = tmp_dir("keyfile");
    let path = dir.join("wallet.key");
    std::fs::write(&path, format!("{key}\n")).expect("write key file");
    let env =
        |path: &Path| env_of(&[(secrets::ENV_PRIVATE_KEY_FILE, path.to_str().expect("utf-8"))]);

    for refused in [0o644, 0o640, 0o604, 0o700, 0o666] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(refused)).expect("chmod");
        let error = secrets::load_with(env(&path)).expect_err("loose mode refused");
        assert!(
            matches!(error, SecretError::KeyFileMode { mode, .. } if mode == refused),
            "{error:?}"
        );
        let message = error.to_string();
        assert!(message.contains(&path.display().to_string()), "{message}");
        assert!(message.contains(&format!("{refused:04o}")), "{message}");
        assert!(!message.contains(&key[2..]), "{message}");
    }
    for accepted in [0o600, 0o400] {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(accepted)).expect("chmod");
        let secrets = secrets::load_with(env(&path)).expect("owner-only mode accepted");
        assert_eq!(
            secrets.private_key.expect("key").address_checksummed(),
            address
        );
    }

    let error = secrets::load_with(env(&dir.join("absent.key"))).expect_err("absent file");
    assert!(matches!(error, SecretError::KeyFileIo { .. }), "{error:?}");

    let error = secrets::load_with(env(&dir)).expect_err("directory");
    assert!(
        matches!(error, SecretError::KeyFileNotRegular { .. }),
        "{error:?}"
    );

    let bad = dir.join("bad.key");
    std::fs::write(&bad, "0x1234").expect("write");
    std::fs::set_permissions(&bad, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let error = secrets::load_with(env(&bad)).expect_err("short key in file");
    assert!(
        matches!(error, SecretError::KeyWrongLength { hex_digits: 4, .. }),
        "{error:?}"
    );
    assert!(
        error.to_string().contains(&bad.display().to_string()),
        "{error}"
    );
}

#[test]
fn both_key_sources_empty_values_and_partial_api_credentials_are_errors() {
    let (key, _) = shared_vector();
    let error = secrets::load_with(env_of(&[
        (secrets::ENV_PRIVATE_KEY, &key),
        (secrets::ENV_PRIVATE_KEY_FILE, "/nonexistent"),
    ]))
    .expect_err("both sources");
    assert!(matches!(error, SecretError::BothKeySources), "{error:?}");

    let error = secrets::load_with(env_of(&[(secrets::ENV_PRIVATE_KEY, "")])).expect_err("empty");
    assert!(matches!(error, SecretError::Empty { .. }), "{error:?}");

    let error = secrets::load_with(env_of(&[
        (secrets::ENV_API_KEY, "uuid"),
        (secrets::ENV_API_SECRET, "c2Vj"),
    ]))
    .expect_err("partial API credentials");
    let message = error.to_string();
    assert!(message.contains(secrets::ENV_API_PASSPHRASE), "{message}");
    assert!(!message.contains("c2Vj"), "{message}");

    let nothing = secrets::load_with(env_of(&[])).expect("nothing set is fine");
    assert!(nothing.private_key.is_none() && nothing.api.is_none());
    nothing
        .require_for(EngineMode::Paper)
        .expect("paper needs no key");
    let error = nothing
        .require_for(EngineMode::Live)
        .expect_err("live needs a key");
    assert!(matches!(error, SecretError::KeyRequired), "{error:?}");
}

#[test]
fn debug_and_display_never_show_secret_material() {
    let (key, address) = shared_vector();
    let api_secret = "dGhpcyBpcyBhIHNlY3JldCB2YWx1ZQ==";
    let passphrase = "correct-horse-battery-staple";
    let api_key = "0b5e7a41-7d55-4e2c-9a4a-3f1d2b6c8e90";
    let secrets = secrets::load_with(env_of(&[
        (secrets::ENV_PRIVATE_KEY, &key),
        (secrets::ENV_API_KEY, api_key),
        (secrets::ENV_API_SECRET, api_secret),
        (secrets::ENV_API_PASSPHRASE, passphrase),
    ]))
    .expect("valid secrets");

    let api = secrets.api.as_ref().expect("api credentials");
    assert_eq!(api.secret.expose(), api_secret);
    assert_eq!(format!("{:?}", api.secret), "[redacted]");
    assert_eq!(format!("{}", api.passphrase), "[redacted]");

    let private_key = secrets.private_key.as_ref().expect("key");
    let shown = format!("{secrets:?} {secrets:#?} {private_key:?}");
    assert!(shown.contains("[redacted]"), "{shown}");
    assert!(
        shown.contains(&address),
        "address is public and shown: {shown}"
    );
    let key_digits = &key[2..];
    assert!(!shown.to_lowercase().contains(&key_digits[..16]), "{shown}");
    assert!(!shown.to_lowercase().contains(&key_digits[48..]), "{shown}");
    for secret in [api_secret, passphrase, api_key] {
        assert!(!shown.contains(secret), "{shown}");
    }
}

#[test]
fn exec_section_ranges_are_checked() {
    let errors = errors_after(|t| {
        set(t, "exec.batch_size", 16);
        set(t, "exec.heartbeat_interval_ms", 10_000);
        set(t, "exec.tracker_capacity", 1);
        set(t, "exec.taker_fee_bps", 10_001);
    });
    for path in [
        "exec.batch_size",
        "exec.heartbeat_interval_ms",
        "exec.tracker_capacity",
        "exec.taker_fee_bps",
    ] {
        find(&errors, path, ErrorKind::OutOfRange);
    }
    assert_eq!(errors.len(), 4, "{}", render(&errors));
    let missing = errors_after(|t| remove(t, "exec.order_timeout_ms"));
    assert!(
        render(&missing).contains("exec.order_timeout_ms"),
        "{}",
        render(&missing)
    );
}

#[test]
fn binance_spot_rest_url_must_be_http() {
    let config = Config::load(shipped_path()).expect("shipped config loads");
    assert_eq!(
        config.venues.binance.spot_rest_url,
        "https://api.binance.com"
    );
    let errors = errors_after(|table| {
        set(
            table,
            "venues.binance.spot_rest_url",
            "wss://api.binance.com",
        );
    });
    find(&errors, "venues.binance.spot_rest_url", ErrorKind::BadUrl);
    assert_eq!(errors.len(), 1, "{}", render(&errors));
    let errors = errors_after(|table| remove(table, "venues.binance.spot_rest_url"));
    find(
        &errors,
        "venues.binance.spot_rest_url",
        ErrorKind::MissingKey,
    );
    // Live mode refuses plain http here like on every other venue URL.
    let errors = errors_after(|table| {
        set(table, "engine.mode", "live");
        set(table, "engine.live_confirmed", true);
        set(
            table,
            "venues.binance.spot_rest_url",
            "http://api.binance.com",
        );
    });
    find(
        &errors,
        "venues.binance.spot_rest_url",
        ErrorKind::Inconsistent,
    );
}
