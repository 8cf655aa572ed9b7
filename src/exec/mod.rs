//! Execution plane: CLOB V2 order construction and signing, authentication, REST client and
//! order tracking.

pub mod signing;
