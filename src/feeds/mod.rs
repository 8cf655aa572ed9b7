//! Market-data feeds: venue frame parsers that write straight into small POD records and
//! fixed-memory per-asset state.

pub mod binance;
pub mod oracle;
pub mod polymarket;
pub mod tape;
