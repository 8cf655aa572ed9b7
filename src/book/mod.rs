//! Polymarket order books: fixed arrays indexed by price tick, one per outcome token, with
//! interned token indexes (never hashed strings on the hot path).
