//! The trading brain's strategy layer (strategy spec §4): each strategy reads the signal
//! snapshot, the market's books and the engine's positions, and pushes order / cancel intents
//! with a reason code into a fixed-capacity buffer; it never signs or sends anything.
//!
//! * [`intent`]: the intent types every strategy produces and the orchestrator consumes.

pub mod intent;

pub use intent::{CancelIntent, IntentBuf, OrderIntent, Reason, StrategyId, TimeInForce};
