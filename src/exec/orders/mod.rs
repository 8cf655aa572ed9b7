//! Order and position bookkeeping: [`tracker`] (every order by its digest, from signing to a
//! terminal state; fills from trade events, provisional until CONFIRMED) over [`positions`]
//! (tokens and collateral in micro-units), both settling fills with [`settlement`] (the venue's
//! collateral and fee arithmetic, shared with the simulated exchange).

pub mod positions;
pub mod settlement;
pub mod tracker;

pub use positions::{FeeParams, FillLeg, Positions, TokenKey, TokenPosition};
pub use tracker::{OrderRecord, OrderState, Tracker, TrackerConfig, TrackerError};
