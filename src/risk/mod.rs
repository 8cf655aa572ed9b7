//! Risk: the per-order pre-trade gate of the hot thread ([`pretrade`]), the independent
//! monitor of the risk thread with its kill switch ([`monitor`]), the state they share through
//! atomics ([`state`]), and positions and P&L per strategy and market ([`pnl`]).

pub mod monitor;
pub mod pnl;
pub mod pretrade;
pub mod state;

pub use monitor::{CancelAll, Monitor, MonitorInputs, MonitorParams};
pub use pnl::{Attribution, FillRecord, OrderTag, Pnl, PnlSummary};
pub use pretrade::{Account, Approval, MarketRisk, PreTrade, PreTradeLimits, Rejection};
pub use state::{KillReason, RiskShared, TradingMode};
