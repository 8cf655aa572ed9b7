//! The exchange's REST routes on the CLOB host (protocol §3, §4, §9), answered with the venue's
//! response shapes. Public: `/version`, `/price`, `/midpoint`, `/spread`, `/last-trade-price`,
//! `/neg-risk`, `/fee-rate`. L1: `GET /auth/derive-api-key`, `POST /auth/api-key`. L2: `POST
//! /order`, `POST /orders`, `DELETE /order`, `DELETE /orders`, `DELETE /cancel-all`, `DELETE
//! /cancel-market-orders`, `GET /data/orders`, `GET /data/order/<id>`, `GET /data/trades`, `GET
//! /balance-allowance[/update]`, `POST /v1/heartbeats`.
//!
//! Faults ([`ExchangeControl`](super::faults::ExchangeControl)) apply to the order and cancel
//! routes: injected 500 (not processed), 425 while "restarting", 503 for non-post-only orders in
//! post-only mode, 429 + `Retry-After` from the per-signer buckets; a response delay or a dropped
//! connection happen *after* processing.

use std::time::Instant;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{json, Value};

use super::auth::{derive_creds, verify_l1, verify_l2, KeyInfo};
use super::engine::{self, Placed};
use super::faults::EngineMode;
use super::heartbeat::Beat;
use super::ratelimit::BucketKind;
use super::records::{micro_text, OrderStatus};
use super::validate::{parse_order, Reject};
use crate::exec::signing::eip712::Exchange as ExchangeContract;
use crate::exec::signing::hex;
use crate::sim::polymarket::crowd::Token;
use crate::sim::polymarket::http::{HttpRequest, HttpResponse};
use crate::sim::polymarket::{lock, px, PolyState, SharedState};

/// Largest batch of `POST /orders`.
pub const MAX_BATCH: usize = 15;
const MAX_UINT: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639935";

fn err(status: u16, msg: &str) -> HttpResponse {
    HttpResponse::json(status, &json!({ "error": msg }))
}

fn ok(v: &Value) -> HttpResponse {
    HttpResponse::json(200, v)
}

/// Answer `req` if it is an exchange route (`None` otherwise: market-data routes follow).
pub fn handle(req: &HttpRequest, state: &SharedState) -> Option<HttpResponse> {
    let m = req.method.as_str();
    let p = req.path.as_str();
    let trading = matches!(
        (m, p),
        ("POST", "/order")
            | ("POST", "/orders")
            | ("DELETE", "/order")
            | ("DELETE", "/orders")
            | ("DELETE", "/cancel-all")
            | ("DELETE", "/cancel-market-orders")
    );
    let known = trading
        || matches!(
            (m, p),
            ("GET", "/version")
                | ("GET", "/price")
                | ("GET", "/midpoint")
                | ("GET", "/spread")
                | ("GET", "/last-trade-price")
                | ("GET", "/neg-risk")
                | ("GET", "/fee-rate")
                | ("GET", "/auth/derive-api-key")
                | ("POST", "/auth/api-key")
                | ("GET", "/data/orders")
                | ("GET", "/auth/api-keys")
                | ("GET", "/data/trades")
                | ("GET", "/balance-allowance")
                | ("GET", "/balance-allowance/update")
                | ("POST", "/v1/heartbeats")
        )
        || (m == "GET" && p.starts_with("/data/order/"));
    if !known {
        return None;
    }
    let now_ms = crate::clock::wall_ms();
    let mut st = lock(state);
    let tolerance = st.exchange.opts.timestamp_tolerance_s;
    let control = st.exchange.control.clone();
    if trading && control.take_500() {
        return Some(err(500, "Internal Server Error"));
    }
    let mut resp = match (m, p) {
        ("GET", "/version") => ok(&json!({"version": 2})),
        (
            "GET",
            "/price" | "/midpoint" | "/spread" | "/last-trade-price" | "/neg-risk" | "/fee-rate",
        ) => public(req, &st),
        ("GET", "/auth/derive-api-key") | ("POST", "/auth/api-key") => {
            match verify_l1(req, now_ms / 1000, tolerance) {
                Ok((address, nonce)) => {
                    let creds = derive_creds(&address, nonce);
                    let v = json!({
                        "apiKey": creds.api_key,
                        "secret": creds.secret,
                        "passphrase": creds.passphrase,
                    });
                    st.exchange
                        .keys
                        .insert(creds.api_key.clone(), KeyInfo { address, creds });
                    ok(&v)
                }
                Err(e) => err(401, &e.to_string()),
            }
        }
        _ => {
            let key = match verify_l2(req, &st.exchange.keys, now_ms / 1000, tolerance) {
                Ok(k) => k.clone(),
                Err(e) => return Some(err(401, &e.to_string())),
            };
            if trading {
                match control.mode(Instant::now()) {
                    EngineMode::Restarting => {
                        return Some(err(425, "Too Early: the matching engine is restarting"))
                    }
                    EngineMode::PostOnly | EngineMode::Normal => {}
                }
            }
            private(req, &mut st, &key, now_ms)
        }
    };
    if trading && resp.status < 500 {
        if let Some(d) = control.take_delay() {
            resp.delay_ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        }
        if control.take_drop() {
            resp.drop_connection = true;
        }
    }
    Some(resp)
}

fn token_param<'a>(
    req: &HttpRequest,
    st: &'a PolyState,
) -> Option<(&'a crate::sim::polymarket::MarketState, Token)> {
    req.param("token_id").and_then(|t| st.by_token(t))
}

fn public(req: &HttpRequest, st: &PolyState) -> HttpResponse {
    if req.path == "/neg-risk" {
        return ok(&json!({"neg_risk": false}));
    }
    if req.path == "/fee-rate" {
        return ok(&json!({"base_fee": 1000}));
    }
    let Some((m, token)) = token_param(req, st) else {
        return err(404, "No orderbook exists for the requested token id");
    };
    let book = &m.view[token as usize];
    let (bid, ask) = (book.best_bid(), book.best_ask());
    match req.path.as_str() {
        "/price" => {
            let side = req.param("side").unwrap_or("BUY");
            let p = if side.eq_ignore_ascii_case("SELL") {
                ask
            } else {
                bid
            };
            match p {
                Some(p) => ok(&json!({"price": px(p)})),
                None => err(404, "No orderbook exists for the requested token id"),
            }
        }
        "/midpoint" => match (bid, ask) {
            (Some(b), Some(a)) => ok(&json!({"mid": micro_text(i64::from(b + a) * 500)})),
            _ => err(404, "No orderbook exists for the requested token id"),
        },
        "/spread" => match (bid, ask) {
            (Some(b), Some(a)) => ok(&json!({"spread": px(a.saturating_sub(b))})),
            _ => err(404, "No orderbook exists for the requested token id"),
        },
        _ => {
            let (p, side) = match m.last_trade {
                Some((up, side)) => (px(super::matching::token_price(token, up)), side.as_str()),
                None => (String::new(), ""),
            };
            ok(&json!({"price": p, "side": side}))
        }
    }
}

fn placed_json(p: &Placed) -> Value {
    let amount = |v: u64| {
        if p.status == "matched" {
            micro_text(i64::try_from(v).unwrap_or(i64::MAX))
        } else {
            String::new()
        }
    };
    json!({
        "success": true,
        "errorMsg": "",
        "orderID": p.order_id,
        "status": p.status,
        "makingAmount": amount(p.making),
        "takingAmount": amount(p.taking),
        "transactionsHashes": [],
        "tradeIDs": p.trade_ids,
    })
}

fn failed_leg(msg: &str) -> Value {
    json!({
        "success": false,
        "errorMsg": msg,
        "orderID": "",
        "status": "",
        "makingAmount": "",
        "takingAmount": "",
        "transactionsHashes": [],
        "tradeIDs": [],
    })
}

fn place_one(
    st: &mut PolyState,
    key: &KeyInfo,
    v: &Value,
    post_only_mode: bool,
    now_ms: u64,
) -> Result<Placed, Reject> {
    let po = parse_order(v)?;
    if post_only_mode && !po.post_only {
        return Err(Reject::PostOnlyMode);
    }
    let PolyState {
        markets, exchange, ..
    } = st;
    engine::place(exchange, markets, key, &po, now_ms)
}

fn limited(
    st: &mut PolyState,
    key: &KeyInfo,
    kind: BucketKind,
    cost: usize,
) -> Option<HttpResponse> {
    let signer = hex::to_0x_string(&key.address.0);
    match st
        .exchange
        .limiter
        .admit(&signer, kind, cost as f64, Instant::now())
    {
        Ok(()) => None,
        Err(retry) => {
            let mut r = err(429, "Too Many Requests");
            r.headers.push(("Retry-After".into(), retry.to_string()));
            Some(r)
        }
    }
}

fn cancel_ids(st: &mut PolyState, key: &KeyInfo, ids: &[String], now_ms: u64) -> HttpResponse {
    let mut canceled = Vec::new();
    let mut not_canceled = serde_json::Map::new();
    let PolyState {
        markets, exchange, ..
    } = st;
    for id in ids {
        match engine::cancel(
            exchange,
            markets,
            &key.creds.api_key,
            id,
            OrderStatus::Canceled,
            now_ms,
        ) {
            Ok(()) => canceled.push(Value::String(id.clone())),
            Err(reason) => {
                not_canceled.insert(id.clone(), Value::String(reason.into()));
            }
        }
    }
    ok(&json!({"canceled": canceled, "not_canceled": not_canceled}))
}

fn cursor_offset(req: &HttpRequest) -> usize {
    req.param("next_cursor")
        .and_then(|c| STANDARD.decode(c).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.parse::<usize>().ok())
        .unwrap_or(0)
}

fn page(items: Vec<Value>, offset: usize, limit: usize) -> Value {
    let end = (offset + limit).min(items.len());
    let data: Vec<Value> = items
        .get(offset..end)
        .map(<[Value]>::to_vec)
        .unwrap_or_default();
    let next = if end >= items.len() {
        "LTE=".to_string()
    } else {
        STANDARD.encode(end.to_string())
    };
    json!({"limit": limit, "next_cursor": next, "count": data.len(), "data": data})
}

fn body_json(req: &HttpRequest) -> Option<Value> {
    serde_json::from_str(&req.body).ok()
}

fn private(req: &HttpRequest, st: &mut PolyState, key: &KeyInfo, now_ms: u64) -> HttpResponse {
    let api_key = key.creds.api_key.clone();
    let post_only_mode = st.exchange.control.mode(Instant::now()) == EngineMode::PostOnly;
    match (req.method.as_str(), req.path.as_str()) {
        ("POST", "/order") => {
            let Some(v) = body_json(req) else {
                return err(400, "Invalid order payload");
            };
            if let Some(r) = limited(st, key, BucketKind::Orders, 1) {
                return r;
            }
            match place_one(st, key, &v, post_only_mode, now_ms) {
                Ok(p) => ok(&placed_json(&p)),
                Err(Reject::PostOnlyMode) => err(503, &Reject::PostOnlyMode.to_string()),
                Err(e) => err(400, &e.to_string()),
            }
        }
        ("POST", "/orders") => {
            let Some(Value::Array(items)) = body_json(req) else {
                return err(400, "Invalid order payload");
            };
            if items.len() > MAX_BATCH {
                return err(
                    400,
                    &format!(
                        "Too many orders in payload: {}, max allowed: {MAX_BATCH}",
                        items.len()
                    ),
                );
            }
            if let Some(r) = limited(st, key, BucketKind::Orders, items.len()) {
                return r;
            }
            let legs: Vec<Value> = items
                .iter()
                .map(|v| match place_one(st, key, v, post_only_mode, now_ms) {
                    Ok(p) => placed_json(&p),
                    Err(e) => failed_leg(&e.to_string()),
                })
                .collect();
            ok(&Value::Array(legs))
        }
        ("DELETE", "/order") => {
            let Some(id) = body_json(req)
                .and_then(|v| v.get("orderID").and_then(Value::as_str).map(str::to_string))
            else {
                return err(400, "Invalid order payload");
            };
            if let Some(r) = limited(st, key, BucketKind::Cancels, 1) {
                return r;
            }
            cancel_ids(st, key, &[id], now_ms)
        }
        ("DELETE", "/orders") => {
            let Some(Value::Array(ids)) = body_json(req) else {
                return err(400, "Invalid order payload");
            };
            let ids: Vec<String> = ids
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect();
            if let Some(r) = limited(st, key, BucketKind::Cancels, ids.len().max(1)) {
                return r;
            }
            cancel_ids(st, key, &ids, now_ms)
        }
        ("DELETE", "/cancel-all") | ("DELETE", "/cancel-market-orders") => {
            let body = body_json(req).unwrap_or(Value::Null);
            let market = body
                .get("market")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            let asset = body
                .get("asset_id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty());
            // Cost 1 + number cancelled (§9): admitted on the 1, charged the rest.
            if let Some(r) = limited(st, key, BucketKind::Cancels, 1) {
                return r;
            }
            let ids: Vec<String> = engine::open_orders(&st.exchange, &api_key, market, asset)
                .iter()
                .map(|s| s.to_string())
                .collect();
            let signer = hex::to_0x_string(&key.address.0);
            st.exchange.limiter.charge(
                &signer,
                BucketKind::Cancels,
                ids.len() as f64,
                Instant::now(),
            );
            cancel_ids(st, key, &ids, now_ms)
        }
        ("GET", "/auth/api-keys") => {
            let keys: Vec<&String> = st
                .exchange
                .keys
                .iter()
                .filter(|(_, k)| k.address == key.address)
                .map(|(id, _)| id)
                .collect();
            ok(&json!({ "apiKeys": keys }))
        }
        ("GET", "/data/orders") => {
            let ex = &st.exchange;
            let items: Vec<Value> =
                engine::open_orders(ex, &api_key, req.param("market"), req.param("asset_id"))
                    .iter()
                    .filter(|id| {
                        req.param("id")
                            .is_none_or(|want| want.eq_ignore_ascii_case(id))
                    })
                    .filter_map(|id| ex.orders.get(id).map(|o| o.to_json()))
                    .collect();
            ok(&page(items, cursor_offset(req), ex.opts.page_limit))
        }
        ("GET", p) if p.starts_with("/data/order/") => {
            let id = &p["/data/order/".len()..];
            match st.exchange.orders.get(id).filter(|o| o.owner == api_key) {
                Some(o) => ok(&o.to_json()),
                None => err(404, "order not found"),
            }
        }
        ("GET", "/data/trades") => {
            let ex = &st.exchange;
            let after = req.param("after").and_then(|v| v.parse::<u64>().ok());
            let before = req.param("before").and_then(|v| v.parse::<u64>().ok());
            let items: Vec<Value> = ex
                .trades
                .iter()
                .filter(|t| t.owners().contains(&api_key))
                .filter(|t| req.param("id").is_none_or(|id| t.id == id))
                .filter(|t| {
                    req.param("market")
                        .is_none_or(|c| t.condition_id.eq_ignore_ascii_case(c))
                })
                .filter(|t| {
                    req.param("asset_id")
                        .is_none_or(|a| t.token_id == a || t.makers.iter().any(|l| l.token_id == a))
                })
                .filter(|t| {
                    req.param("maker_address").is_none_or(|a| {
                        t.taker_address.eq_ignore_ascii_case(a)
                            || t.makers
                                .iter()
                                .any(|l| l.maker_address.eq_ignore_ascii_case(a))
                    })
                })
                .filter(|t| after.is_none_or(|a| t.match_ms / 1000 >= a))
                .filter(|t| before.is_none_or(|b| t.match_ms / 1000 <= b))
                .map(|t| t.to_json(&api_key))
                .collect();
            ok(&page(items, cursor_offset(req), ex.opts.page_limit))
        }
        ("GET", "/balance-allowance") | ("GET", "/balance-allowance/update") => {
            let sig_type: u8 = req
                .param("signature_type")
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let account = st
                .exchange
                .funders
                .get(&(api_key.clone(), sig_type))
                .cloned()
                .unwrap_or_else(|| hex::to_0x_string(&key.address.0));
            let snap = st.exchange.ledger_snapshot(&account);
            let balance = match req.param("asset_type") {
                Some(t) if t.eq_ignore_ascii_case("CONDITIONAL") => req
                    .param("token_id")
                    .and_then(|tok| snap.tokens.get(tok).copied())
                    .unwrap_or(0),
                _ => snap.collateral,
            };
            let spenders = [
                ExchangeContract::Standard.address().to_checksum_string(),
                ExchangeContract::NegRisk.address().to_checksum_string(),
            ];
            let allowances: serde_json::Map<String, Value> = spenders
                .iter()
                .map(|a| (a.clone(), Value::String(MAX_UINT.into())))
                .collect();
            ok(
                &json!({"balance": balance.to_string(), "allowance": MAX_UINT, "allowances": allowances}),
            )
        }
        ("POST", "/v1/heartbeats") => {
            let id = body_json(req)
                .and_then(|v| {
                    v.get("heartbeat_id")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                })
                .unwrap_or_default();
            match engine::heartbeat(&mut st.exchange, &api_key, &id, now_ms) {
                Beat::Next(next) => ok(&json!({"heartbeat_id": next})),
                Beat::WrongId(expected) => HttpResponse::json(
                    400,
                    &json!({"error_msg": "Invalid Heartbeat ID", "heartbeat_id": expected}),
                ),
            }
        }
        _ => err(404, "not found"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_pagination() {
        let items: Vec<Value> = (0..5).map(|i| json!(i)).collect();
        let first = page(items.clone(), 0, 2);
        assert_eq!(first["data"], json!([0, 1]));
        assert_eq!(first["next_cursor"], "Mg==");
        let req = HttpRequest {
            method: "GET".into(),
            path: "/data/orders".into(),
            query: vec![("next_cursor".into(), "Mg==".into())],
            headers: Vec::new(),
            body: String::new(),
        };
        let second = page(items.clone(), cursor_offset(&req), 2);
        assert_eq!(second["data"], json!([2, 3]));
        let last = page(items, 4, 2);
        assert_eq!(
            (last["count"].clone(), last["next_cursor"].clone()),
            (json!(1), json!("LTE="))
        );
        // The first cursor `MA==` is offset 0.
        let req = HttpRequest {
            query: vec![("next_cursor".into(), "MA==".into())],
            ..req
        };
        assert_eq!(cursor_offset(&req), 0);
    }
}
