//! The `[telemetry]` server keys and the `[alerts]` section: shipped values, and every wrong
//! type, unknown key, out-of-range or inconsistent value named by its key path (edits made on
//! the shipped file as a TOML table, like tests/config.rs).

use std::sync::Arc;

use sattebaaz::config::{Config, ConfigError, ErrorKind, SHIPPED_CONFIG_TOML};
use sattebaaz::telemetry::service::TelemetrySetup;
use toml::{Table, Value};

fn section<'a>(t: &'a mut Table, name: &str) -> &'a mut Table {
    match t.get_mut(name) {
        Some(Value::Table(s)) => s,
        _ => panic!("no [{name}]"),
    }
}

fn edited(name: &str, edit: impl FnOnce(&mut Table)) -> String {
    let mut table: Table = SHIPPED_CONFIG_TOML.parse().unwrap();
    edit(section(&mut table, name));
    toml::to_string(&table).unwrap()
}

fn errors_after(name: &str, edit: impl FnOnce(&mut Table)) -> Vec<ConfigError> {
    match edited(name, edit).parse::<Config>() {
        Ok(_) => panic!("config unexpectedly valid"),
        Err(e) => e.into_vec(),
    }
}

#[track_caller]
fn has(errors: &[ConfigError], path: &str, kind: ErrorKind) {
    assert!(
        errors.iter().any(|e| e.path == path && e.kind == kind),
        "no {kind:?} at `{path}` in {errors:#?}"
    );
}

fn tls() -> Arc<rustls::ClientConfig> {
    sattebaaz::net::tls::client_config(None).unwrap()
}

#[test]
fn shipped_values() {
    let cfg = Config::shipped().unwrap();
    let t = &cfg.telemetry;
    assert!(t.enabled);
    assert_eq!(t.metrics_bind, "127.0.0.1:9464".parse().unwrap());
    assert!(!t.allow_non_loopback);
    assert_eq!(t.dashboard_refresh_ms, 1000);
    let a = &cfg.alerts;
    assert!(!a.enabled);
    assert_eq!(a.telegram_api_url, "https://api.telegram.org");
    assert_eq!(a.discord_base_url, "https://discord.com");
    assert_eq!(
        (a.max_per_minute, a.dedup_window_s, a.disconnect_alert_secs),
        (20, 300, 30)
    );
    assert_eq!(
        (
            a.daily_summary_utc_hour,
            a.queue_capacity,
            a.request_timeout_ms
        ),
        (0, 64, 5000)
    );
    assert_eq!(a.telegram_chat_id, "");
}

#[test]
fn a_non_loopback_bind_is_refused_unless_allowed() {
    let errors = errors_after("telemetry", |t| {
        t.insert("metrics_bind".into(), "0.0.0.0:9464".into());
    });
    has(&errors, "telemetry.metrics_bind", ErrorKind::Inconsistent);
    let text = errors.iter().map(|e| e.to_string()).collect::<String>();
    assert!(text.contains("telemetry.allow_non_loopback"), "{text}");

    let allowed = edited("telemetry", |t| {
        t.insert("metrics_bind".into(), "0.0.0.0:9464".into());
        t.insert("allow_non_loopback".into(), true.into());
    });
    allowed.parse::<Config>().unwrap();
    // Disabled: the address is never bound, so it is not refused.
    let off = edited("telemetry", |t| {
        t.insert("metrics_bind".into(), "10.1.2.3:9464".into());
        t.insert("enabled".into(), false.into());
    });
    off.parse::<Config>().unwrap();
    // IPv6 loopback and port 0 are fine.
    edited("telemetry", |t| {
        t.insert("metrics_bind".into(), "[::1]:0".into());
    })
    .parse::<Config>()
    .unwrap();
}

#[test]
fn wrong_types_unknown_and_missing_keys_are_named() {
    let errors = errors_after("telemetry", |t| {
        t.insert("metrics_bind".into(), "localhost".into());
    });
    has(&errors, "telemetry.metrics_bind", ErrorKind::WrongType);
    let errors = errors_after("telemetry", |t| {
        t.insert("enabled".into(), "yes".into());
    });
    has(&errors, "telemetry.enabled", ErrorKind::WrongType);
    let errors = errors_after("alerts", |t| {
        t.insert("max_per_minute".into(), "many".into());
    });
    has(&errors, "alerts.max_per_minute", ErrorKind::WrongType);
    let errors = errors_after("alerts", |t| {
        t.insert("telegram_chat".into(), "1".into());
    });
    has(&errors, "alerts.telegram_chat", ErrorKind::UnknownKey);
    let errors = errors_after("alerts", |t| {
        t.remove("dedup_window_s");
    });
    has(&errors, "alerts.dedup_window_s", ErrorKind::MissingKey);
    let errors = errors_after("telemetry", |t| {
        t.remove("dashboard_refresh_ms");
    });
    has(
        &errors,
        "telemetry.dashboard_refresh_ms",
        ErrorKind::MissingKey,
    );
}

#[test]
fn out_of_range_values_are_reported_together() {
    let errors = errors_after("alerts", |t| {
        t.insert("max_per_minute".into(), 0.into());
        t.insert("dedup_window_s".into(), 100_000.into());
        t.insert("disconnect_alert_secs".into(), 0.into());
        t.insert("daily_summary_utc_hour".into(), 24.into());
        t.insert("queue_capacity".into(), 0.into());
        t.insert("request_timeout_ms".into(), 0.into());
        t.insert("telegram_chat_id".into(), "12ab".into());
    });
    for path in [
        "alerts.max_per_minute",
        "alerts.dedup_window_s",
        "alerts.disconnect_alert_secs",
        "alerts.daily_summary_utc_hour",
        "alerts.queue_capacity",
        "alerts.request_timeout_ms",
        "alerts.telegram_chat_id",
    ] {
        has(&errors, path, ErrorKind::OutOfRange);
    }
    assert_eq!(errors.len(), 7, "{errors:#?}");
    let errors = errors_after("alerts", |t| {
        t.insert("telegram_api_url".into(), "ftp://api.telegram.org".into());
        t.insert("discord_base_url".into(), "wss://discord.com".into());
    });
    has(&errors, "alerts.telegram_api_url", ErrorKind::BadUrl);
    has(&errors, "alerts.discord_base_url", ErrorKind::BadUrl);
    let errors = errors_after("telemetry", |t| {
        t.insert("dashboard_refresh_ms".into(), 50.into());
    });
    has(
        &errors,
        "telemetry.dashboard_refresh_ms",
        ErrorKind::OutOfRange,
    );
}

#[test]
fn chat_ids_numeric_or_channel_names_are_accepted() {
    for ok in ["", "12345", "-1001234567890", "@my_channel"] {
        edited("alerts", |t| {
            t.insert("telegram_chat_id".into(), ok.into());
        })
        .parse::<Config>()
        .unwrap_or_else(|e| panic!("{ok:?}: {e}"));
    }
    for bad in ["-", "@", "@a b", "12 34"] {
        let errors = errors_after("alerts", |t| {
            t.insert("telegram_chat_id".into(), bad.into());
        });
        has(&errors, "alerts.telegram_chat_id", ErrorKind::OutOfRange);
    }
}

#[test]
fn the_setup_reads_alert_secrets_only_when_alerts_are_enabled() {
    let cfg: Config = edited("alerts", |t| {
        t.insert("enabled".into(), true.into());
        t.insert("telegram_chat_id".into(), "-100".into());
    })
    .parse()
    .unwrap();
    let bad_env = |name: &str| {
        (name == sattebaaz::telemetry::alerts::ENV_TELEGRAM_BOT_TOKEN)
            .then(|| "garbage SECRETZ".into())
    };
    let err = TelemetrySetup::from_config_with(&cfg, tls(), bad_env).unwrap_err();
    assert!(
        err.to_string().contains("SATTEBAAZ_TELEGRAM_BOT_TOKEN"),
        "{err}"
    );
    assert!(!err.to_string().contains("SECRETZ"), "{err}");

    // Alerts off: the environment is not read at all.
    let shipped = Config::shipped().unwrap();
    let setup = TelemetrySetup::from_config_with(&shipped, tls(), |_| {
        panic!("environment read with alerts disabled")
    })
    .unwrap()
    .expect("the server is enabled");
    assert_eq!(setup.bind, Some("127.0.0.1:9464".parse().unwrap()));
    assert!(setup.alerts.is_none());

    // Both off: nothing to start.
    let off: Config = edited("telemetry", |t| {
        t.insert("enabled".into(), false.into());
    })
    .parse()
    .unwrap();
    assert!(TelemetrySetup::from_config_with(&off, tls(), |_| None)
        .unwrap()
        .is_none());
}
