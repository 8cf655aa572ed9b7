//! The CLOB user channel (`/ws/user`, protocol §5): the first frame
//! `{"type":"user","auth":{"apiKey","secret","passphrase"},"markets":[conditionIds]}` authenticates
//! (all three must match a registered key) and subscribes to those markets (none = all);
//! `{"operation":"subscribe"|"unsubscribe","markets":[..]}` changes them later; text `PING` →
//! `PONG`. The exchange publishes `order` and `trade` events per API key.
//!
//! Hub stream keys: `auth|<apiKey>` marks an authenticated connection, `u|<apiKey>|*` (all
//! markets) and `u|<apiKey>|<conditionId lower-case>` carry events.

use std::sync::Arc;

use serde_json::Value;

use crate::sim::polymarket::{lock, SharedState};
use crate::sim::ws_server::{ClientProtocol, FeedHub, Reply};

fn market_key(api_key: &str, condition: &str) -> String {
    format!("u|{api_key}|{}", condition.to_ascii_lowercase())
}

fn all_key(api_key: &str) -> String {
    format!("u|{api_key}|*")
}

/// Publish a user event of `api_key` about market `condition`.
pub fn publish(hub: &FeedHub, api_key: &str, condition: &str, v: &Value) {
    let (a, m) = (all_key(api_key), market_key(api_key, condition));
    hub.publish_any(&[&a, &m], Arc::from(v.to_string().into_bytes()));
}

/// The user channel's client protocol.
pub struct UserChannel {
    state: SharedState,
}

impl UserChannel {
    pub fn new(state: SharedState) -> Self {
        UserChannel { state }
    }
}

fn markets_of(msg: &Value) -> Vec<String> {
    msg.get("markets")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn keys_for(api_key: &str, markets: &[String]) -> Vec<String> {
    if markets.is_empty() {
        vec![all_key(api_key)]
    } else {
        markets.iter().map(|c| market_key(api_key, c)).collect()
    }
}

impl ClientProtocol for UserChannel {
    fn accepts(&self, path_and_query: &str) -> bool {
        path_and_query == "/ws/user" || path_and_query.starts_with("/ws/user?")
    }

    fn on_text(&self, text: &str, hub: &FeedHub, sub_id: u64) -> Vec<Reply> {
        if text.trim() == "PING" {
            return vec![Reply::Control("PONG".into())];
        }
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            return vec![Reply::Control("INVALID OPERATION".into())];
        };
        let authed: Option<String> = hub
            .streams_of(sub_id)
            .iter()
            .find_map(|s| s.strip_prefix("auth|").map(str::to_string));
        if msg.get("type").and_then(Value::as_str) == Some("user") {
            let auth = msg.get("auth").cloned().unwrap_or(Value::Null);
            let field = |k: &str| {
                auth.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let (key, secret, pass) = (field("apiKey"), field("secret"), field("passphrase"));
            let st = lock(&self.state);
            let ok = st.exchange.keys.get(&key).is_some_and(|k| {
                k.creds.secret.trim_end_matches('=') == secret.trim_end_matches('=')
                    && k.creds.passphrase == pass
            });
            if !ok {
                return vec![Reply::Control("INVALID AUTH".into())];
            }
            let mut keys = vec![format!("auth|{key}")];
            keys.extend(keys_for(&key, &markets_of(&msg)));
            hub.add_streams(sub_id, &keys);
            return Vec::new();
        }
        let Some(key) = authed else {
            return vec![Reply::Control("INVALID AUTH".into())];
        };
        match msg.get("operation").and_then(Value::as_str) {
            Some("subscribe") => {
                let _st = lock(&self.state);
                hub.add_streams(sub_id, &keys_for(&key, &markets_of(&msg)));
                Vec::new()
            }
            Some("unsubscribe") => {
                let markets = markets_of(&msg);
                let keys = if markets.is_empty() {
                    hub.streams_of(sub_id)
                        .into_iter()
                        .filter(|s| s.starts_with("u|"))
                        .collect()
                } else {
                    keys_for(&key, &markets)
                };
                hub.remove_streams(sub_id, &keys);
                Vec::new()
            }
            _ => vec![Reply::Control("INVALID OPERATION".into())],
        }
    }
}
