//! Polymarket's real-time data socket (RTDS, legacy `ws-live-data` shape) for the simulated
//! oracle: topics `crypto_prices_chainlink` and `crypto_prices_twap_sixty`, subscribed with
//! `{"action":"subscribe","subscriptions":[{"topic","type","filters":"{\"symbol\":\"btc/usd\"}"}]}`
//! (no filter = every symbol), unsubscribed the same way; text `PING` → `PONG`.
//!
//! Hub stream keys are `<topic>|<symbol>` and `<topic>|*`. One unknown topic rejects the whole
//! batch, as on the real socket. Updates carry the send time outside and the whole-second
//! observation time, the float value and the exact E18 `full_accuracy_value` inside.

use std::sync::Arc;

use serde_json::{json, Value};

use super::oracle::{e18_to_f64, Observation, TWAP_LOOKBACK_S};
use crate::sim::ws_server::{ClientProtocol, FeedHub, Reply};

/// The Chainlink spot topic.
pub const TOPIC_CHAINLINK: &str = "crypto_prices_chainlink";
/// The 60-second TWAP topic.
pub const TOPIC_TWAP_SIXTY: &str = "crypto_prices_twap_sixty";

/// The RTDS client protocol (served on the root path).
#[derive(Default)]
pub struct RtdsProtocol;

/// Hub keys for one subscription entry, or `None` for an unknown topic.
fn keys_for(sub: &Value) -> Option<String> {
    let topic = sub.get("topic").and_then(Value::as_str)?;
    if topic != TOPIC_CHAINLINK && topic != TOPIC_TWAP_SIXTY {
        return None;
    }
    let symbol = sub
        .get("filters")
        .and_then(Value::as_str)
        .filter(|f| !f.trim().is_empty())
        .and_then(|f| serde_json::from_str::<Value>(f).ok())
        .and_then(|f| {
            f.get("symbol")
                .and_then(Value::as_str)
                .map(str::to_ascii_lowercase)
        })
        .unwrap_or_else(|| "*".to_string());
    Some(format!("{topic}|{symbol}"))
}

impl ClientProtocol for RtdsProtocol {
    fn accepts(&self, path_and_query: &str) -> bool {
        path_and_query.is_empty() || path_and_query.starts_with('/')
    }

    fn on_text(&self, text: &str, hub: &FeedHub, sub_id: u64) -> Vec<Reply> {
        if text.trim() == "PING" {
            return vec![Reply::Control("PONG".into())];
        }
        let invalid = || {
            vec![Reply::Control(
                json!({"message": "Invalid request body", "statusCode": 400}).to_string(),
            )]
        };
        let Ok(msg) = serde_json::from_str::<Value>(text) else {
            return invalid();
        };
        let action = msg.get("action").and_then(Value::as_str);
        let Some(subs) = msg.get("subscriptions").and_then(Value::as_array) else {
            return invalid();
        };
        let keys: Option<Vec<String>> = subs.iter().map(keys_for).collect();
        let Some(keys) = keys else {
            return vec![Reply::Control(
                json!({"message": "topic not found", "statusCode": 404}).to_string(),
            )];
        };
        match action {
            Some("subscribe") => {
                hub.add_streams(sub_id, &keys);
                Vec::new()
            }
            Some("unsubscribe") => {
                hub.remove_streams(sub_id, &keys);
                Vec::new()
            }
            _ => invalid(),
        }
    }
}

fn update(
    topic: &str,
    symbol: &str,
    obs_ms: u64,
    value_e18: i128,
    now_ms: u64,
    twap: bool,
) -> Value {
    let mut payload = json!({
        "symbol": symbol,
        "timestamp": obs_ms,
        "value": e18_to_f64(value_e18),
        "full_accuracy_value": value_e18.to_string(),
    });
    if twap {
        payload["window_s"] = json!(TWAP_LOOKBACK_S);
    }
    json!({
        "topic": topic,
        "type": "update",
        "timestamp": now_ms,
        "payload": payload,
        "connection_id": "sim",
    })
}

/// Publish one relayed observation on both topics.
pub fn publish_observation(hub: &FeedHub, symbol: &str, obs: &Observation, now_ms: u64) {
    let obs_ms = obs.sec * 1000;
    for (topic, value, twap) in [
        (TOPIC_CHAINLINK, obs.spot_e18, false),
        (TOPIC_TWAP_SIXTY, obs.twap_e18, true),
    ] {
        let v = update(topic, symbol, obs_ms, value, now_ms, twap);
        let exact = format!("{topic}|{symbol}");
        let all = format!("{topic}|*");
        hub.publish_any(&[&exact, &all], Arc::from(v.to_string().into_bytes()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscription_keys() {
        let v: Value = serde_json::from_str(
            r#"{"topic":"crypto_prices_chainlink","type":"*","filters":"{\"symbol\":\"BTC/usd\"}"}"#,
        )
        .unwrap();
        assert_eq!(
            keys_for(&v).as_deref(),
            Some("crypto_prices_chainlink|btc/usd")
        );
        let v: Value =
            serde_json::from_str(r#"{"topic":"crypto_prices_twap_sixty","type":"*"}"#).unwrap();
        assert_eq!(keys_for(&v).as_deref(), Some("crypto_prices_twap_sixty|*"));
        let v: Value = serde_json::from_str(r#"{"topic":"comments","type":"*"}"#).unwrap();
        assert_eq!(keys_for(&v), None);
    }
}
