#!/usr/bin/env python3
"""Drives Polymarket's official Python clients, unmodified, against a CLOB (the simulator's).

Both clients run the same session for one EOA wallet (signature type 0): `py-clob-client-v2`
(module py_clob_client_v2) first, then the unified SDK `polymarket-client` (module polymarket).
Each derives its API credentials, reads the order books (checking their hash), the price and the
midpoint, posts a single and a batch of resting limit orders, lists open orders, cancels one,
cancels a batch, cancels all, takes the crowd's liquidity with a marketable order, reads the
resulting trades and the collateral balance. Finally the two exchange an order heartbeat.

Usage: official_client.py --clob-url URL --ca-file PEM TOKEN_ID [TOKEN_ID ...]
The private key comes from the environment variable SIM_PRIVATE_KEY only (never argv, so it does
not show in process listings). Orders go to the first token; every token's book is read.
Prints one line per passed step; on the first failure prints the step and the reason, exits 1.
"""

import argparse
import dataclasses
import os
import sys
import time
from contextlib import contextmanager
from decimal import Decimal

CHAIN_ID = 137
# A crypto market holds marketable orders for a short taker delay: "delayed" is an acceptance,
# and the trades appear once the delay has passed.
TAKER_STATUSES = ("matched", "delayed")
POLLS, POLL_PAUSE_S = 300, 0.1


class CheckFailed(Exception):
    pass


class StepFailed(Exception):
    def __init__(self, step, reason):
        super().__init__(f"{step}: {reason}")


def check(condition, what):
    if not condition:
        raise CheckFailed(what)


def dec(value, what):
    """A decimal the venue must print as a JSON string."""
    check(isinstance(value, str), f"{what} is a JSON string (got {value!r})")
    return Decimal(value)


def wait_for(fetch, what):
    """Calls fetch() until it returns something non-empty."""
    for _ in range(POLLS):
        got = fetch()
        if got:
            return got
        time.sleep(POLL_PAUSE_S)
    raise CheckFailed(f"{what} (polled {POLLS} times, {POLL_PAUSE_S} s apart)")


@contextmanager
def step(name):
    try:
        yield
    except CheckFailed as e:
        raise StepFailed(name, f"expected: {e}") from e
    except Exception as e:  # a client error: report it with the step that hit it
        raise StepFailed(name, f"{type(e).__name__}: {e}") from e
    print(f"ok   {name}", flush=True)


# ---- py-clob-client-v2 ------------------------------------------------------------------------


def v2_book(client, token):
    """Reads and checks one book; returns (tick, min size, best bid, best ask)."""
    book = client.get_order_book(token)
    check(
        book.get("asset_id") == token,
        f"book of {token} names its asset (got {book.get('asset_id')})",
    )
    bids = [dec(level["price"], "bid price") for level in book["bids"]]
    asks = [dec(level["price"], "ask price") for level in book["asks"]]
    check(bids and asks, "book has bids and asks")
    check(bids == sorted(bids) and asks == sorted(asks, reverse=True), "best levels come last")
    check(bids[-1] < asks[-1], f"best bid {bids[-1]} < best ask {asks[-1]}")
    computed = client.get_order_book_hash(dict(book))
    check(computed == book["hash"], f"book hash {book['hash']} is the client's SHA-1 {computed}")
    return (
        dec(book["tick_size"], "tick_size"),
        dec(book["min_order_size"], "min_order_size"),
        bids[-1],
        asks[-1],
    )


def v2_accepted(resp, statuses):
    check(isinstance(resp, dict), f"an order response object (got {resp!r})")
    check(
        resp.get("success") is True and resp.get("errorMsg") == "", f"order accepted (got {resp})"
    )
    check(resp.get("status") in statuses, f"status in {statuses} (got {resp.get('status')!r})")
    check(isinstance(resp.get("orderID"), str) and resp["orderID"], "an order id")
    return resp["orderID"]


def exercise_v2(url, key, tokens):
    from py_clob_client_v2.client import ClobClient
    from py_clob_client_v2.clob_types import (
        AssetType,
        BalanceAllowanceParams,
        OpenOrderParams,
        OrderArgsV2,
        OrderPayload,
        OrderType,
        PostOrdersV2Args,
        TradeParams,
    )

    token = tokens[0]
    client = ClobClient(url, chain_id=CHAIN_ID, key=key, signature_type=0)

    def bid(price, size):
        return OrderArgsV2(token_id=token, price=float(price), size=float(size), side="BUY")

    def open_ids():
        return {o["id"] for o in client.get_open_orders(OpenOrderParams(asset_id=token))}

    with step("v2  create or derive API credentials"):
        creds = client.create_or_derive_api_key()
        check(creds.api_key and creds.api_secret and creds.api_passphrase, "complete credentials")
        client.set_api_creds(creds)

    with step("v2  order books and their hashes"):
        for t in tokens:
            facts = v2_book(client, t)
            if t == token:
                tick, min_size, _, best_ask = facts
        check(best_ask > 3 * tick, f"room below the best ask {best_ask} for resting bids")

    with step("v2  price and midpoint"):
        for side in ("BUY", "SELL"):
            price = dec(client.get_price(token, side)["price"], f"{side} price")
            check(0 < price < 1 and price % tick == 0, f"{side} price {price} on the tick grid")
        mid = dec(client.get_midpoint(token)["mid"], "mid")
        check(0 < mid < 1, f"midpoint {mid} inside (0, 1)")

    with step("v2  post a single resting limit order"):
        single = v2_accepted(client.create_and_post_order(bid(tick, min_size)), ("live",))

    with step("v2  post a batch of two resting limit orders"):
        orders = [client.create_order(bid(k * tick, min_size)) for k in (2, 3)]
        resps = client.post_orders(
            [PostOrdersV2Args(order=o, orderType=OrderType.GTC) for o in orders]
        )
        check(isinstance(resps, list) and len(resps) == 2, f"two responses (got {resps!r})")
        batch = [v2_accepted(r, ("live",)) for r in resps]
        check(len({single, *batch}) == 3, "distinct order ids")

    with step("v2  list open orders"):
        listed = {o["id"]: o for o in client.get_open_orders(OpenOrderParams(asset_id=token))}
        check(
            {single, *batch} <= listed.keys(), f"the three orders are open (open: {sorted(listed)})"
        )
        o = listed[single]
        check(o["asset_id"] == token and o["side"] == "BUY", f"open order {o} is the BUY we posted")
        check(
            dec(o["price"], "price") == tick
            and dec(o["original_size"], "original_size") == min_size,
            f"open order {o} has our price {tick} and size {min_size}",
        )

    with step("v2  cancel one order"):
        canceled = client.cancel_order(OrderPayload(orderID=single))
        check(single in canceled["canceled"], f"{single} canceled (got {canceled})")

    with step("v2  cancel a batch of orders"):
        canceled = client.cancel_orders([batch[0]])
        check(batch[0] in canceled["canceled"], f"{batch[0]} canceled (got {canceled})")
        ids = open_ids()
        check(
            single not in ids and batch[0] not in ids and batch[1] in ids,
            f"only {batch[1]} still open (open: {sorted(ids)})",
        )

    with step("v2  cancel all"):
        canceled = client.cancel_all()
        check(batch[1] in canceled["canceled"], f"{batch[1]} canceled (got {canceled})")
        check(not open_ids(), "no order left open")

    with step("v2  take liquidity with a marketable FAK limit order"):
        resp = client.post_order(client.create_order(bid(1 - tick, min_size)), OrderType.FAK)
        taker = v2_accepted(resp, TAKER_STATUSES)
        matched = resp["status"] == "matched"
        if matched:
            check(resp.get("tradeIDs"), f"the response lists the trades (got {resp})")

    with step("v2  read the trades"):

        def taker_trades():
            trades = client.get_trades(TradeParams(asset_id=token))
            return [t for t in trades if t["taker_order_id"] == taker]

        mine = wait_for(taker_trades, f"trades of taker order {taker}")
        for t in mine:
            check(
                t["asset_id"] == token and t["side"] == "BUY" and t["trader_side"] == "TAKER",
                f"trade {t} is our taker BUY",
            )
            check(dec(t["price"], "trade price") <= 1 - tick, f"trade {t} within our limit")
        bought = sum(dec(t["size"], "trade size") for t in mine)
        print(f"     taker order {resp['status']}: {bought} shares in {len(mine)} trade(s)")
        check(0 < bought <= min_size, f"{bought} shares bought, at most the {min_size} ordered")
        if matched:
            ids = {t["id"] for t in mine}
            check(set(resp["tradeIDs"]) <= ids, f"trades {resp['tradeIDs']} listed (got {ids})")
            taken = dec(resp["takingAmount"], "takingAmount")
            check(bought == taken, f"trade sizes add up to the {taken} shares taken")

    with step("v2  collateral balance"):
        balance = client.get_balance_allowance(
            BalanceAllowanceParams(asset_type=AssetType.COLLATERAL)
        )
        check(int(balance["balance"]) >= 0, f"a balance in base units (got {balance})")

    return client


# ---- polymarket-client (the unified SDK) --------------------------------------------------------


def sdk_accepted(resp, statuses):
    check(
        resp.ok,
        f"order accepted (rejected: {getattr(resp, 'code', '')} {getattr(resp, 'message', '')})",
    )
    check(resp.status in statuses, f"status in {statuses} (got {resp.status!r})")
    return resp.order_id


def exercise_sdk(url, key, tokens, v2_api_key):
    from eth_account import Account
    from polymarket import SecureClient

    # The SDK has no host option: an Environment whose CLOB URL is the simulator's.
    from polymarket._internal.environment import PRODUCTION_CONFIG, create_environment

    token = tokens[0]
    environment = create_environment(
        name="sattebaaz-sim", config=dataclasses.replace(PRODUCTION_CONFIG, clob_url=url)
    )

    with step("sdk create the client (derives API credentials)"):
        # wallet = the signer itself: an EOA account (signature type 0), no relayer involved.
        sdk = SecureClient.create(
            private_key=key, wallet=Account.from_key(key).address, environment=environment
        )
        check(sdk.wallet_type == "EOA", f"an EOA wallet (got {sdk.wallet_type})")
        check(sdk.credentials.key == v2_api_key, "the same API key as py-clob-client-v2 derived")

    def open_ids():
        return {o.id for o in sdk.list_open_orders(token_id=token).iter_items()}

    with step("sdk order books"):
        for t in tokens:
            book = sdk.get_order_book(token_id=t)
            check(book.asset_id == t and book.bids and book.asks, f"book of {t} with bids and asks")
            check(book.bids[-1].price < book.asks[-1].price, "best bid < best ask")
            if t == token:
                tick, min_size = book.tick_size, book.min_order_size
                check(book.asks[-1].price > 3 * tick, "room below the best ask for resting bids")

    with step("sdk price and midpoint"):
        for side in ("BUY", "SELL"):
            price = sdk.get_price(token_id=token, side=side)
            check(0 < price < 1 and price % tick == 0, f"{side} price {price} on the tick grid")
        mid = sdk.get_midpoint(token_id=token)
        check(0 < mid < 1, f"midpoint {mid} inside (0, 1)")

    with step("sdk place a single resting limit order"):
        single = sdk_accepted(
            sdk.place_limit_order(token_id=token, price=tick, size=min_size, side="BUY"), "live"
        )

    with step("sdk post a batch of two resting limit orders"):
        signed = [
            sdk.create_limit_order(token_id=token, price=k * tick, size=min_size, side="BUY")
            for k in (2, 3)
        ]
        resps = sdk.post_orders(signed)
        check(len(resps) == 2, f"two responses (got {resps})")
        batch = [sdk_accepted(r, ("live",)) for r in resps]
        check(len({single, *batch}) == 3, "distinct order ids")

    with step("sdk list open orders"):
        listed = {o.id: o for o in sdk.list_open_orders(token_id=token).iter_items()}
        check(
            {single, *batch} <= listed.keys(), f"the three orders are open (open: {sorted(listed)})"
        )
        o = listed[single]
        check(
            o.asset_id == token
            and o.side == "BUY"
            and o.price == tick
            and o.original_size == min_size,
            f"open order {o} is the BUY {min_size} @ {tick} we placed",
        )

    with step("sdk cancel one order"):
        check(single in sdk.cancel_order(order_id=single).canceled, f"{single} canceled")

    with step("sdk cancel a batch of orders"):
        check(batch[0] in sdk.cancel_orders(order_ids=[batch[0]]).canceled, f"{batch[0]} canceled")
        ids = open_ids()
        check(
            single not in ids and batch[0] not in ids and batch[1] in ids,
            f"only {batch[1]} still open (open: {sorted(ids)})",
        )

    with step("sdk cancel all"):
        check(batch[1] in sdk.cancel_all().canceled, f"{batch[1]} canceled")
        check(not open_ids(), "no order left open")

    with step("sdk take liquidity with a FAK market order"):
        # Spending min_size dollars buys at least min_size shares at any price below 1.
        resp = sdk.place_market_order(
            token_id=token, side="BUY", amount=min_size, max_price=1 - tick, order_type="FAK"
        )
        taker = sdk_accepted(resp, TAKER_STATUSES)
        matched = resp.status == "matched"
        if matched:
            check(resp.trade_ids, f"the response lists the trades (got {resp})")

    with step("sdk read the trades"):

        def taker_trades():
            trades = sdk.list_account_trades(token_id=token).iter_items()
            return [t for t in trades if t.taker_order_id == taker]

        mine = wait_for(taker_trades, f"trades of taker order {taker}")
        for t in mine:
            check(
                t.asset_id == token and t.side == "BUY" and t.trader_side == "TAKER",
                f"trade {t} is our taker BUY",
            )
            check(t.price <= 1 - tick, f"trade {t} within our limit")
        bought = sum(t.size for t in mine)
        print(f"     taker order {resp.status}: {bought} shares in {len(mine)} trade(s)")
        check(bought >= min_size, f"{bought} shares bought for {min_size} dollars")
        if matched:
            ids = {t.id for t in mine}
            check(set(resp.trade_ids) <= ids, f"trades {resp.trade_ids} listed (got {ids})")
            check(
                bought == resp.taking_amount,
                f"trade sizes add up to the {resp.taking_amount} taken",
            )

    with step("sdk collateral balance"):
        check(
            sdk.get_balance_allowance(asset_type="COLLATERAL").balance >= 0,
            "a balance in base units",
        )

    return sdk


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clob-url", required=True, help="https:// base URL of the CLOB")
    parser.add_argument(
        "--ca-file", required=True, help="PEM of the CA that signed its certificate"
    )
    parser.add_argument("token_ids", nargs="+", help="token ids; orders go to the first")
    args = parser.parse_args()
    key = os.environ.get("SIM_PRIVATE_KEY")
    if not key:
        print("FAIL setup: SIM_PRIVATE_KEY is not set", file=sys.stderr)
        return 2
    # Both clients build httpx clients (py-clob-client-v2 at import time) that trust
    # SSL_CERT_FILE and honour proxy variables: set both before importing them.
    os.environ["SSL_CERT_FILE"] = args.ca_file
    os.environ["NO_PROXY"] = "*"
    try:
        v2 = exercise_v2(args.clob_url, key, args.token_ids)
        sdk = exercise_sdk(args.clob_url, key, args.token_ids, v2.creds.api_key)
        with step("both order heartbeat: py-clob-client-v2 starts it, the SDK continues it"):
            first = v2.post_heartbeat("")
            check(
                isinstance(first.get("heartbeat_id"), str) and first["heartbeat_id"],
                f"a heartbeat id (got {first})",
            )
            check(
                sdk.send_order_heartbeat(heartbeat_id=first["heartbeat_id"]).heartbeat_id,
                "a next heartbeat id",
            )
        sdk.close()
    except StepFailed as e:
        print(f"FAIL {e}", file=sys.stderr, flush=True)
        return 1
    print("all steps passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
