//! Operator alerts to Telegram (Bot API `sendMessage`) and Discord (webhook), sent by a
//! dedicated worker thread so that a slow or dead endpoint never stalls the caller (the risk
//! thread).
//!
//! Flow: [`AlertSender::raise`] (caller's thread, never blocks) deduplicates by alert key
//! (the same key within `dedup_window` is counted, not sent; the next message after the window
//! says how many were suppressed) and hands the alert to a bounded queue (`sync_channel`;
//! full ⇒ dropped and counted). The worker posts each alert to every configured destination
//! with a per-request deadline ([`super::alert_post::JsonPoster`] over the crate's HTTP
//! client), at most `max_per_minute` messages per destination per rolling minute (more are
//! dropped and counted).
//!
//! Secrets: the Telegram bot token and the Discord webhook URL come only from the environment
//! ([`ENV_TELEGRAM_BOT_TOKEN`], [`ENV_DISCORD_WEBHOOK_URL`]) as
//! [`crate::config::secrets::Secret`]s: never in `config.toml`, never in an error, a log line or
//! `Debug` output. Loading reads through a lookup closure ([`AlertSecrets::load_with`]) so tests
//! never touch the process environment.

use std::collections::{HashMap, VecDeque};
use std::ffi::OsString;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::ClientConfig;

use super::alert_post::JsonPoster;
use super::snapshot::AlertFigures;
use crate::config::schema::AlertsConfig;
use crate::config::secrets::Secret;

/// Env var holding the Telegram bot token (`<digits>:<token>`).
pub const ENV_TELEGRAM_BOT_TOKEN: &str = "SATTEBAAZ_TELEGRAM_BOT_TOKEN";
/// Env var holding the Discord webhook URL (`https://discord.com/api/webhooks/<id>/<token>`).
pub const ENV_DISCORD_WEBHOOK_URL: &str = "SATTEBAAZ_DISCORD_WEBHOOK_URL";

/// Telegram's limit on a message text, characters.
pub const TELEGRAM_MAX_TEXT: usize = 4096;
/// Discord's limit on a message content, characters.
pub const DISCORD_MAX_TEXT: usize = 2000;
/// Largest response body read from either API.
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Dedup keys remembered at most (older ones are forgotten first).
const MAX_DEDUP_KEYS: usize = 1024;

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    KillSwitch,
    TradingPaused,
    ExposureBreach,
    ConnectionDown,
    DailySummary,
}

impl AlertKind {
    /// Short stable name (message prefix, dedup key prefix).
    pub const fn name(self) -> &'static str {
        match self {
            AlertKind::KillSwitch => "kill_switch",
            AlertKind::TradingPaused => "trading_paused",
            AlertKind::ExposureBreach => "exposure_breach",
            AlertKind::ConnectionDown => "connection_down",
            AlertKind::DailySummary => "daily_summary",
        }
    }
}

/// One alert: `key` identifies "the same alert" for deduplication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub kind: AlertKind,
    pub key: String,
    pub text: String,
}

impl Alert {
    /// An alert whose key is its kind's name plus `subject` (`connection_down:binance spot`).
    pub fn new(kind: AlertKind, subject: &str, text: impl Into<String>) -> Self {
        let key = if subject.is_empty() {
            kind.name().to_owned()
        } else {
            format!("{}:{subject}", kind.name())
        };
        Self {
            kind,
            key,
            text: text.into(),
        }
    }
}

/// Where alerts go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    Telegram = 0,
    Discord = 1,
}

/// Why the secrets could not be loaded (never contains the secret text).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertSecretError {
    #[error("{0} is set but empty")]
    Empty(&'static str),
    #[error("{0} is not valid UTF-8")]
    NotUtf8(&'static str),
    #[error("{ENV_TELEGRAM_BOT_TOKEN} is not a bot token (<digits>:<letters, digits, _ or ->)")]
    BadToken,
    #[error(
        "{ENV_DISCORD_WEBHOOK_URL} is not a webhook URL (https://<host>/api/webhooks/<id>/<token>)"
    )]
    BadWebhook,
}

/// The alert secrets (each optional: a destination without its secret is not used).
#[derive(Debug, Default)]
pub struct AlertSecrets {
    /// Bot token.
    pub telegram_bot_token: Option<Secret>,
    /// The webhook URL's path (`/api/webhooks/<id>/<token>`), which holds the token.
    pub discord_webhook_path: Option<Secret>,
}

impl AlertSecrets {
    /// From the process environment.
    pub fn from_env() -> Result<Self, AlertSecretError> {
        Self::load_with(|name| std::env::var_os(name))
    }

    /// From `lookup` (tests pass a map).
    pub fn load_with(
        mut lookup: impl FnMut(&str) -> Option<OsString>,
    ) -> Result<Self, AlertSecretError> {
        let token = read(&mut lookup, ENV_TELEGRAM_BOT_TOKEN)?;
        if let Some(t) = &token {
            if !is_bot_token(t.expose()) {
                return Err(AlertSecretError::BadToken);
            }
        }
        let webhook = read(&mut lookup, ENV_DISCORD_WEBHOOK_URL)?;
        let discord_webhook_path = match webhook {
            None => None,
            Some(url) => Some(Secret::new(
                webhook_path(url.expose()).ok_or(AlertSecretError::BadWebhook)?,
            )),
        };
        Ok(Self {
            telegram_bot_token: token,
            discord_webhook_path,
        })
    }
}

fn read(
    lookup: &mut impl FnMut(&str) -> Option<OsString>,
    name: &'static str,
) -> Result<Option<Secret>, AlertSecretError> {
    match lookup(name) {
        None => Ok(None),
        Some(v) => {
            let text = v
                .into_string()
                .map_err(|_| AlertSecretError::NotUtf8(name))?;
            let secret = Secret::new(text);
            if secret.expose().trim().is_empty() {
                return Err(AlertSecretError::Empty(name));
            }
            Ok(Some(secret))
        }
    }
}

/// `<digits>:<[A-Za-z0-9_-]+>`.
fn is_bot_token(t: &str) -> bool {
    let Some((id, rest)) = t.split_once(':') else {
        return false;
    };
    !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The path `/api/webhooks/<id>/<token>` of an `https://` (or `http://`) webhook URL.
fn webhook_path(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let slash = rest.find('/')?;
    let path = rest.get(slash..)?;
    let path = path.split(['?', '#']).next()?;
    let tail = path.strip_prefix("/api/webhooks/")?;
    let (id, token) = tail.trim_end_matches('/').split_once('/')?;
    let ok = !id.is_empty()
        && id.bytes().all(|b| b.is_ascii_digit())
        && !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    ok.then(|| format!("/api/webhooks/{id}/{token}"))
}

/// How the worker reaches the destinations (from `[alerts]` and the secrets).
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub telegram_api_url: String,
    pub telegram_chat_id: String,
    pub discord_base_url: String,
    pub max_per_minute: u32,
    pub dedup_window: Duration,
    pub queue_capacity: usize,
    pub request_timeout: Duration,
}

impl AlertSettings {
    /// From the `[alerts]` section.
    pub fn from_config(a: &AlertsConfig) -> Self {
        Self {
            telegram_api_url: a.telegram_api_url.clone(),
            telegram_chat_id: a.telegram_chat_id.clone(),
            discord_base_url: a.discord_base_url.clone(),
            max_per_minute: a.max_per_minute,
            dedup_window: Duration::from_secs(u64::from(a.dedup_window_s)),
            queue_capacity: a.queue_capacity as usize,
            request_timeout: Duration::from_millis(u64::from(a.request_timeout_ms)),
        }
    }
}

/// Counters shared by the sender and its worker.
#[derive(Debug, Default)]
struct Counters {
    queued: AtomicU64,
    deduplicated: AtomicU64,
    dropped: AtomicU64,
    sent: [AtomicU64; 2],
    failed: [AtomicU64; 2],
    rate_limited: [AtomicU64; 2],
    /// Alerts the worker finished with (all destinations tried or skipped).
    processed: AtomicU64,
}

/// What [`AlertSender::raise`] did with an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raised {
    /// Handed to the worker.
    Queued,
    /// The same key was sent within the dedup window: counted, not sent.
    Deduplicated,
    /// The queue was full (or the worker gone): dropped and counted.
    Dropped,
}

struct DedupEntry {
    last_sent_ms: u64,
    suppressed: u64,
}

/// The caller's side. See the module docs.
pub struct AlertSender {
    tx: Option<SyncSender<Alert>>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    dedup: HashMap<String, DedupEntry>,
    dedup_window_ms: u64,
    destinations: Vec<Destination>,
}

impl std::fmt::Debug for AlertSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AlertSender")
            .field("destinations", &self.destinations)
            .finish_non_exhaustive()
    }
}

impl AlertSender {
    /// Start the worker thread. Destinations: Telegram when the bot token is set and
    /// `telegram_chat_id` is not empty; Discord when the webhook is set. `tls` verifies
    /// `https://` endpoints.
    pub fn start(
        settings: AlertSettings,
        secrets: AlertSecrets,
        tls: Arc<ClientConfig>,
    ) -> std::io::Result<Self> {
        let mut destinations = Vec::new();
        let telegram = match secrets.telegram_bot_token {
            Some(token) if !settings.telegram_chat_id.is_empty() => {
                destinations.push(Destination::Telegram);
                Some(token)
            }
            _ => None,
        };
        let discord = secrets.discord_webhook_path;
        if discord.is_some() {
            destinations.push(Destination::Discord);
        }
        let (tx, rx) = sync_channel(settings.queue_capacity.max(1));
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            telegram: telegram.map(|t| Target {
                base_url: settings.telegram_api_url.clone(),
                path: Secret::new(format!("/bot{}/sendMessage", t.expose())),
                poster: None,
                recent: VecDeque::new(),
            }),
            discord: discord.map(|p| Target {
                base_url: settings.discord_base_url.clone(),
                path: p,
                poster: None,
                recent: VecDeque::new(),
            }),
            chat_id: settings.telegram_chat_id.clone(),
            max_per_minute: settings.max_per_minute.max(1) as usize,
            timeout: settings.request_timeout,
            tls,
            counters: counters.clone(),
            stop: stop.clone(),
        };
        std::thread::Builder::new()
            .name("sattebaaz-alerts".into())
            .spawn(move || worker.run(rx))?;
        Ok(Self {
            tx: Some(tx),
            counters,
            stop,
            dedup: HashMap::new(),
            dedup_window_ms: u64::try_from(settings.dedup_window.as_millis()).unwrap_or(u64::MAX),
            destinations,
        })
    }

    /// The destinations in use (none: every alert is still counted, nothing is sent).
    pub fn destinations(&self) -> &[Destination] {
        &self.destinations
    }

    /// Raise `alert` now (monotonic clock). Never blocks.
    pub fn raise(&mut self, alert: Alert) -> Raised {
        self.raise_at(alert, crate::clock::mono_ns() / 1_000_000)
    }

    /// Raise `alert` at monotonic `now_ms` (tests drive the dedup window with it).
    pub fn raise_at(&mut self, mut alert: Alert, now_ms: u64) -> Raised {
        if self.dedup_window_ms > 0 {
            if let Some(e) = self.dedup.get_mut(&alert.key) {
                if now_ms.saturating_sub(e.last_sent_ms) < self.dedup_window_ms {
                    e.suppressed += 1;
                    self.counters.deduplicated.fetch_add(1, Ordering::Relaxed);
                    return Raised::Deduplicated;
                }
                if e.suppressed > 0 {
                    alert.text.push_str(&format!(
                        "\n({} similar alert(s) suppressed since the last one)",
                        e.suppressed
                    ));
                }
            }
        }
        let Some(tx) = self.tx.as_ref() else {
            self.counters.dropped.fetch_add(1, Ordering::Relaxed);
            return Raised::Dropped;
        };
        let key = alert.key.clone();
        match tx.try_send(alert) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                if self.dedup_window_ms > 0 {
                    if self.dedup.len() >= MAX_DEDUP_KEYS && !self.dedup.contains_key(&key) {
                        let window = self.dedup_window_ms;
                        self.dedup
                            .retain(|_, e| now_ms.saturating_sub(e.last_sent_ms) < window);
                        if self.dedup.len() >= MAX_DEDUP_KEYS {
                            self.dedup.clear();
                        }
                    }
                    self.dedup.insert(
                        key,
                        DedupEntry {
                            last_sent_ms: now_ms,
                            suppressed: 0,
                        },
                    );
                }
                Raised::Queued
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.counters.dropped.fetch_add(1, Ordering::Relaxed);
                Raised::Dropped
            }
        }
    }

    /// The counters.
    pub fn figures(&self) -> AlertFigures {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        AlertFigures {
            queued: load(&c.queued),
            deduplicated: load(&c.deduplicated),
            dropped: load(&c.dropped),
            sent: [load(&c.sent[0]), load(&c.sent[1])],
            failed: [load(&c.failed[0]), load(&c.failed[1])],
            rate_limited: [load(&c.rate_limited[0]), load(&c.rate_limited[1])],
        }
    }

    /// Alerts the worker has finished with (sent, failed or rate-limited everywhere).
    pub fn processed(&self) -> u64 {
        self.counters.processed.load(Ordering::Relaxed)
    }

    /// Wait (blocking, at most `limit`) until the worker has finished with every queued alert;
    /// whether it did. For shutdown, so a last alert is not lost when the process exits.
    pub fn flush(&self, limit: Duration) -> bool {
        let give_up = Instant::now() + limit;
        loop {
            if self.processed() >= self.counters.queued.load(Ordering::Relaxed) {
                return true;
            }
            if Instant::now() >= give_up {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for AlertSender {
    fn drop(&mut self) {
        // The worker stops after its current request (bounded by the request deadline); it is
        // not joined, so dropping never waits for a dead endpoint.
        self.stop.store(true, Ordering::Relaxed);
        self.tx = None;
    }
}

struct Target {
    base_url: String,
    path: Secret,
    poster: Option<JsonPoster>,
    /// Send times within the last minute.
    recent: VecDeque<Instant>,
}

struct Worker {
    telegram: Option<Target>,
    discord: Option<Target>,
    chat_id: String,
    max_per_minute: usize,
    timeout: Duration,
    tls: Arc<ClientConfig>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self, rx: Receiver<Alert>) {
        while let Ok(alert) = rx.recv() {
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let text = format!("[sattebaaz] {}: {}", alert.kind.name(), alert.text);
            if self.telegram.is_some() {
                let body = telegram_body(&self.chat_id, &text);
                self.deliver(Destination::Telegram, &body);
            }
            if self.discord.is_some() {
                let body = discord_body(&text);
                self.deliver(Destination::Discord, &body);
            }
            self.counters.processed.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn deliver(&mut self, dest: Destination, body: &[u8]) {
        let d = dest as usize;
        let timeout = self.timeout;
        let tls = self.tls.clone();
        let max = self.max_per_minute;
        let target = match dest {
            Destination::Telegram => self.telegram.as_mut(),
            Destination::Discord => self.discord.as_mut(),
        };
        let Some(target) = target else {
            return;
        };
        let now = Instant::now();
        while target
            .recent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(60))
        {
            target.recent.pop_front();
        }
        if target.recent.len() >= max {
            self.counters.rate_limited[d].fetch_add(1, Ordering::Relaxed);
            return;
        }
        target.recent.push_back(now);
        if target.poster.is_none() {
            // Connect and answer share the request deadline.
            let connect = (timeout / 2).max(Duration::from_millis(1));
            let answer = timeout
                .saturating_sub(connect)
                .max(Duration::from_millis(1));
            match JsonPoster::connect(&target.base_url, tls, connect, answer, MAX_RESPONSE_BYTES) {
                Ok(p) => target.poster = Some(p),
                Err(_) => {
                    self.counters.failed[d].fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
        let Some(poster) = target.poster.as_mut() else {
            return;
        };
        match poster.post(target.path.expose(), body) {
            Ok(status) if (200..300).contains(&status) => {
                self.counters.sent[d].fetch_add(1, Ordering::Relaxed);
            }
            Ok(_) | Err(_) => {
                self.counters.failed[d].fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// `{"chat_id": <id>, "text": <text>}`; a numeric id is sent as a number, `@name` as a string.
pub fn telegram_body(chat_id: &str, text: &str) -> Vec<u8> {
    let text = truncate_chars(text, TELEGRAM_MAX_TEXT);
    let chat = match chat_id.parse::<i64>() {
        Ok(n) => serde_json::Value::from(n),
        Err(_) => serde_json::Value::from(chat_id),
    };
    serde_json::to_vec(&serde_json::json!({ "chat_id": chat, "text": text })).unwrap_or_default()
}

/// `{"content": <text>}`.
pub fn discord_body(text: &str) -> Vec<u8> {
    let text = truncate_chars(text, DISCORD_MAX_TEXT);
    serde_json::to_vec(&serde_json::json!({ "content": text })).unwrap_or_default()
}

/// At most `max` characters of `s` (ending in `…` when cut).
fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl FnMut(&str) -> Option<OsString> {
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(*v))
        }
    }

    #[test]
    fn secrets_parse_and_never_show() {
        let s = AlertSecrets::load_with(env(&[
            (ENV_TELEGRAM_BOT_TOKEN, "123456:AAH-secret_tok"),
            (
                ENV_DISCORD_WEBHOOK_URL,
                "https://discord.com/api/webhooks/987/hook-TOKEN_x?wait=true",
            ),
        ]))
        .unwrap();
        assert_eq!(
            s.discord_webhook_path.as_ref().unwrap().expose(),
            "/api/webhooks/987/hook-TOKEN_x"
        );
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("AAH") && !shown.contains("hook-TOKEN"),
            "{shown}"
        );
        assert!(AlertSecrets::load_with(env(&[]))
            .unwrap()
            .telegram_bot_token
            .is_none());
        assert_eq!(
            AlertSecrets::load_with(env(&[(ENV_TELEGRAM_BOT_TOKEN, "nocolon")])).unwrap_err(),
            AlertSecretError::BadToken
        );
        assert_eq!(
            AlertSecrets::load_with(env(&[(ENV_TELEGRAM_BOT_TOKEN, " ")])).unwrap_err(),
            AlertSecretError::Empty(ENV_TELEGRAM_BOT_TOKEN)
        );
        let err = AlertSecrets::load_with(env(&[(
            ENV_DISCORD_WEBHOOK_URL,
            "https://discord.com/not-a-hook/secretpart",
        )]))
        .unwrap_err();
        assert!(!err.to_string().contains("secretpart"));
    }

    #[test]
    fn bodies_are_json_and_truncated() {
        let b: serde_json::Value = serde_json::from_slice(&telegram_body("-100123", "hi")).unwrap();
        assert_eq!(b, serde_json::json!({"chat_id": -100123, "text": "hi"}));
        let b: serde_json::Value = serde_json::from_slice(&telegram_body("@chan", "x")).unwrap();
        assert_eq!(b["chat_id"], "@chan");
        let long = "é".repeat(5000);
        let b: serde_json::Value = serde_json::from_slice(&discord_body(&long)).unwrap();
        assert_eq!(
            b["content"].as_str().unwrap().chars().count(),
            DISCORD_MAX_TEXT
        );
    }
}
