//! Execution plane: CLOB V2 order construction and signing, authentication, REST client and
//! order tracking.

pub mod events;
pub mod heartbeat;
pub mod json;
pub mod keys;
pub mod orders;
pub mod rest;
pub mod signing;
pub mod user_channel;
