//! The venue simulator: serves Binance- and Polymarket-style protocols on loopback over TLS with a
//! certificate it generates, so the engine and the tests run with no exchange reachable.
