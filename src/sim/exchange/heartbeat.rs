//! The order-heartbeat dead-man switch (protocol §9): `POST /v1/heartbeats` with
//! `{"heartbeat_id":""}` arms it for the API key and returns an id; each later call must carry the
//! id of the previous answer. Once armed, no accepted heartbeat within the timeout cancels all of
//! that key's open orders and disarms the switch.
//!
//! Invariant: an armed key always has exactly one expected id and a deadline.

use std::collections::HashMap;

/// One key's switch.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Armed {
    expected: String,
    deadline_ms: u64,
}

/// All keys' switches.
#[derive(Debug, Clone, Default)]
pub struct Heartbeats {
    armed: HashMap<String, Armed>,
    counter: u64,
}

/// Outcome of one heartbeat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Beat {
    /// Accepted: the id for the next call.
    Next(String),
    /// Wrong id: the id expected.
    WrongId(String),
}

impl Heartbeats {
    /// Handle a heartbeat of `api_key` carrying `id` at `now_ms`.
    pub fn beat(&mut self, api_key: &str, id: &str, now_ms: u64, timeout_ms: u64) -> Beat {
        if let Some(a) = self.armed.get(api_key) {
            if a.expected != id {
                return Beat::WrongId(a.expected.clone());
            }
        } else if !id.is_empty() {
            // Not armed (never, or lapsed): only a fresh start is accepted.
            return Beat::WrongId(String::new());
        }
        self.counter += 1;
        let next = format!("hb-{:016x}-{}", self.counter, now_ms);
        self.armed.insert(
            api_key.to_string(),
            Armed {
                expected: next.clone(),
                deadline_ms: now_ms + timeout_ms,
            },
        );
        Beat::Next(next)
    }

    /// Keys whose deadline passed at `now_ms` (they are disarmed).
    pub fn lapsed(&mut self, now_ms: u64) -> Vec<String> {
        let keys: Vec<String> = self
            .armed
            .iter()
            .filter(|(_, a)| now_ms > a.deadline_ms)
            .map(|(k, _)| k.clone())
            .collect();
        for k in &keys {
            self.armed.remove(k);
        }
        keys
    }

    /// Whether `api_key` is armed.
    pub fn is_armed(&self, api_key: &str) -> bool {
        self.armed.contains_key(api_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_chain_wrong_id_and_lapse() {
        let mut h = Heartbeats::default();
        let Beat::Next(id1) = h.beat("k", "", 1_000, 10_000) else {
            panic!("arms");
        };
        assert_eq!(
            h.beat("k", "bogus", 2_000, 10_000),
            Beat::WrongId(id1.clone())
        );
        let Beat::Next(id2) = h.beat("k", &id1, 5_000, 10_000) else {
            panic!("chains");
        };
        assert_ne!(id1, id2);
        assert!(h.lapsed(15_000).is_empty(), "deadline moved to 15 000");
        assert_eq!(h.lapsed(15_001), vec!["k".to_string()]);
        assert!(!h.is_armed("k"));
        assert!(matches!(h.beat("k", "", 20_000, 10_000), Beat::Next(_)));
    }
}
