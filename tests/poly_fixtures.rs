//! Market-channel parser against one fixture file per venue message shape
//! (`tests/fixtures/polymarket/`), edge cases included, plus the no-allocation proof for the
//! hot frames (`book`, `price_change`) and a no-panic sweep over truncated / corrupted frames.

use sattebaaz::book::{
    BookSide, Level, MarketBooks, MarketIdx, Outcome, ResyncReason, TickSize, TokenIdx,
};
use sattebaaz::feeds::polymarket::{
    BestBidAsk, BookApplied, JsonFault, LevelChange, MarketChannelParser, MarketResolved,
    MarketSink, NewMarket, ParserConfig, PolyParseError, TakerSide, TickSizeChanged, TradePrint,
};
use sattebaaz::telemetry::alloc_count::{count_allocations, CountingAlloc};

#[global_allocator]
static A: CountingAlloc = CountingAlloc;

const UP: &str = "71321045679252212594626385532706912750332728571942532289631379312455583992563";
const DOWN: &str = "52114319501245915516055106046884209969926127482827954674443846427813813222426";
const MARKET: &str = "0x5f65177b394277fd294cd75650044e32ba009a95022d88a0c1d565897d72f8f1";

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/polymarket/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

struct Env {
    books: MarketBooks,
    parser: MarketChannelParser,
    market: MarketIdx,
    up: TokenIdx,
    down: TokenIdx,
}

fn env() -> Env {
    let mut books = MarketBooks::with_capacity(4);
    let market = books.add_market(MARKET, UP, DOWN, TickSize::Cent).unwrap();
    let (up, down) = MarketBooks::tokens_of(market);
    Env {
        books,
        parser: MarketChannelParser::new(ParserConfig::default()),
        market,
        up,
        down,
    }
}

#[derive(Default)]
struct Rec {
    books: Vec<BookApplied>,
    changes: Vec<LevelChange>,
    trades: Vec<TradePrint>,
    bbas: Vec<BestBidAsk>,
    ticks: Vec<TickSizeChanged>,
    new_markets: Vec<NewMarket>,
    resolved: Vec<MarketResolved>,
}

impl MarketSink for Rec {
    fn on_book(&mut self, e: &BookApplied) {
        self.books.push(*e);
    }
    fn on_level_change(&mut self, e: &LevelChange) {
        self.changes.push(*e);
    }
    fn on_trade(&mut self, e: &TradePrint) {
        self.trades.push(*e);
    }
    fn on_best_bid_ask(&mut self, e: &BestBidAsk) {
        self.bbas.push(*e);
    }
    fn on_tick_size_change(&mut self, e: &TickSizeChanged) {
        self.ticks.push(*e);
    }
    fn on_new_market(&mut self, e: &NewMarket) {
        self.new_markets.push(*e);
    }
    fn on_market_resolved(&mut self, e: &MarketResolved) {
        self.resolved.push(*e);
    }
}

impl Env {
    fn feed(&mut self, frame: &[u8], rec: &mut Rec) -> sattebaaz::feeds::polymarket::FrameSummary {
        self.parser.on_frame(frame, &mut self.books, 1_000, rec)
    }
    fn feed_file(
        &mut self,
        name: &str,
        rec: &mut Rec,
    ) -> sattebaaz::feeds::polymarket::FrameSummary {
        self.feed(&fixture(name), rec)
    }
    fn best(&self, t: TokenIdx) -> (Option<i64>, Option<i64>) {
        let b = self.books.book(t).unwrap();
        (b.best_price(BookSide::Bid), b.best_price(BookSide::Ask))
    }
}

#[test]
fn book_snapshot_replaces_the_book() {
    let mut e = env();
    let mut rec = Rec::default();
    let s = e.feed_file("book.json", &mut rec);
    assert_eq!((s.events, s.errors), (1, 0));
    let b = e.books.book(e.up).unwrap();
    assert_eq!(
        b.best_bid(),
        Some(Level {
            price_micro: 480_000,
            size_micro: 30_000_000
        })
    );
    assert_eq!(
        b.best_ask(),
        Some(Level {
            price_micro: 500_000,
            size_micro: 10_000_000
        })
    );
    assert_eq!(b.size_at(BookSide::Bid, 470_000), 44_250_000);
    assert_eq!(b.size_at(BookSide::Ask, 510_000), 61_100_000);
    assert_eq!(b.level_count(BookSide::Bid), 3);
    assert_eq!(b.depth_within(BookSide::Bid, 1), 74_250_000);
    assert!(b.is_tradeable());
    assert_eq!(b.last_update_exchange_ms(), 1_790_586_001_234);
    assert_eq!(b.last_update_local_ns(), 1_000);
    assert!(b.is_fresh(2_000, 1_000));
    assert!(!b.is_fresh(2_001, 1_000));
    assert_eq!(
        rec.books,
        vec![BookApplied {
            token: e.up,
            bid_levels: 3,
            ask_levels: 3,
            exchange_ms: 1_790_586_001_234
        }]
    );
    // the Down book is untouched and still awaiting its snapshot
    assert!(!e.books.book(e.down).unwrap().is_tradeable());
    // a second, smaller snapshot replaces (not merges)
    let small = format!(
        r#"{{"event_type":"book","asset_id":"{UP}","market":"{MARKET}","bids":[{{"price":".3","size":"1"}}],"asks":[],"timestamp":"1790586009999","hash":"x"}}"#
    );
    e.feed(small.as_bytes(), &mut rec);
    assert_eq!(e.best(e.up), (Some(300_000), None));
    assert_eq!(e.books.book(e.up).unwrap().level_count(BookSide::Bid), 1);
}

#[test]
fn price_change_one_entry() {
    let mut e = env();
    let mut rec = Rec::default();
    e.feed_file("book.json", &mut rec);
    let s = e.feed_file("price_change_one.json", &mut rec);
    assert_eq!((s.events, s.errors, s.resync_requested), (1, 0, false));
    let b = e.books.book(e.up).unwrap();
    assert_eq!(
        b.best_bid(),
        Some(Level {
            price_micro: 490_000,
            size_micro: 15_000_000
        })
    );
    assert!(b.is_tradeable());
    assert_eq!(b.last_update_exchange_ms(), 1_790_586_001_300);
    assert_eq!(rec.changes.len(), 1);
    assert_eq!(rec.changes[0].side, BookSide::Bid);
    assert_eq!(rec.changes[0].venue_best_ask, Some(500_000));
    assert_eq!(e.books.counters().top_checks, 1);
    assert_eq!(e.books.counters().top_mismatches, 0);
}

#[test]
fn array_of_events_and_price_change_on_both_tokens() {
    let mut e = env();
    let mut rec = Rec::default();
    let s = e.feed_file("array_of_events.json", &mut rec);
    assert_eq!((s.events, s.errors), (2, 0));
    assert_eq!(rec.books.len(), 2);
    assert_eq!(e.best(e.up), (Some(480_000), Some(500_000)));
    assert_eq!(e.best(e.down), (Some(500_000), Some(520_000)));
    let m = e.books.mirror_check(e.market).unwrap();
    assert!(m.bid_side_mirrors && m.ask_side_mirrors);

    let s = e.feed_file("price_change_two_tokens.json", &mut rec);
    assert_eq!((s.events, s.errors, s.resync_requested), (1, 0, false));
    assert_eq!(e.best(e.up), (Some(480_000), Some(510_000)));
    assert_eq!(e.best(e.down), (Some(490_000), Some(520_000)));
    let tokens: Vec<TokenIdx> = rec.changes.iter().map(|c| c.token).collect();
    assert_eq!(tokens, vec![e.up, e.down]);
    assert!(rec.changes.iter().all(|c| c.size_micro == 0));
    assert_eq!(e.books.counters().top_checks, 2);
    assert_eq!(e.books.counters().stale_marks, 0);
    assert!(e.books.book(e.up).unwrap().is_tradeable());
    assert!(e.books.book(e.down).unwrap().is_tradeable());
}

#[test]
fn last_trade_price() {
    let mut e = env();
    let mut rec = Rec::default();
    let s = e.feed_file("last_trade_price.json", &mut rec);
    assert_eq!(s.errors, 0);
    assert_eq!(
        rec.trades,
        vec![TradePrint {
            token: e.up,
            price_micro: 490_000,
            size_micro: 219_217_767,
            taker_side: TakerSide::Buy,
            fee_rate_bps: 0,
            exchange_ms: 1_790_586_001_500
        }]
    );
    assert_eq!(
        e.books.book(e.up).unwrap().last_trade_price_micro(),
        490_000
    );
}

#[test]
fn tick_size_change_regrids_until_next_snapshot() {
    let mut e = env();
    let mut rec = Rec::default();
    e.feed_file("book.json", &mut rec);
    assert!(e.books.book(e.up).unwrap().is_tradeable());
    let s = e.feed_file("tick_size_change.json", &mut rec);
    assert_eq!(s.errors, 0);
    assert!(s.resync_requested);
    let b = e.books.book(e.up).unwrap();
    assert!(!b.is_tradeable());
    assert!(b.is_awaiting_snapshot());
    assert_eq!(b.tick(), TickSize::Mill);
    assert_eq!(b.best_bid(), None);
    assert_eq!(
        rec.ticks,
        vec![TickSizeChanged {
            token: e.up,
            old_tick: Some(TickSize::Cent),
            new_tick: TickSize::Mill,
            regridded: true,
            exchange_ms: 1_790_586_001_600
        }]
    );
    assert_eq!(e.books.counters().regrids, 1);
    assert!(e.books.resync_pending(e.up));
    // price changes on the new grid are ignored until the snapshot arrives
    e.feed_file("price_change_one.json", &mut rec);
    assert_eq!(e.books.book(e.up).unwrap().best_bid(), None);
    assert!(!e.books.book(e.up).unwrap().is_tradeable());
    // snapshot on the new grid
    let snap = format!(
        r#"{{"event_type":"book","asset_id":"{UP}","market":"{MARKET}","bids":[{{"price":"0.481","size":"7"}}],"asks":[{{"price":"0.483","size":"9"}}],"timestamp":"1790586001700","hash":"h"}}"#
    );
    let s = e.feed(snap.as_bytes(), &mut rec);
    assert_eq!(s.errors, 0);
    assert!(!s.resync_requested);
    assert_eq!(e.best(e.up), (Some(481_000), Some(483_000)));
    assert!(e.books.book(e.up).unwrap().is_tradeable());
}

#[test]
fn best_bid_ask_compared_with_local_book() {
    let mut e = env();
    let mut rec = Rec::default();
    e.feed_file("book.json", &mut rec);
    let s = e.feed_file("best_bid_ask.json", &mut rec);
    assert_eq!(s.errors, 0);
    assert_eq!(
        rec.bbas,
        vec![BestBidAsk {
            token: e.up,
            best_bid: Some(480_000),
            best_ask: Some(500_000),
            matches_local: true,
            exchange_ms: 1_790_586_001_700
        }]
    );
    assert_eq!(e.parser.counters().best_bid_ask_mismatches, 0);
}

#[test]
fn new_market_announcement_can_be_registered() {
    let mut e = env();
    let mut rec = Rec::default();
    let s = e.feed_file("new_market.json", &mut rec);
    assert_eq!(s.errors, 0);
    let nm = rec.new_markets[0];
    assert_eq!(
        nm.condition_id.as_str(),
        "0x589c4f84e088209977f39f772779c3a035ca6ec826a0fe6045a7211b81548eb7"
    );
    assert_eq!(nm.slug.as_str(), "btc-updown-15m-1790586900");
    assert_eq!(nm.token_count, 2);
    assert_eq!(nm.tick, Some(TickSize::Cent));
    assert_eq!(nm.exchange_ms, 1_790_585_100_000);
    let m = e
        .books
        .add_market(
            nm.condition_id.as_str(),
            nm.token_ids[0].as_str(),
            nm.token_ids[1].as_str(),
            nm.tick.unwrap(),
        )
        .unwrap();
    assert_eq!(
        e.books.token(nm.token_ids[1].as_bytes()),
        Some(MarketBooks::tokens_of(m).1)
    );
}

#[test]
fn market_resolved_stops_trading() {
    let mut e = env();
    let mut rec = Rec::default();
    e.feed_file("array_of_events.json", &mut rec);
    let s = e.feed_file("market_resolved.json", &mut rec);
    assert_eq!(s.errors, 0);
    let r = rec.resolved[0];
    assert_eq!(r.market, Some(e.market));
    assert_eq!(r.winning_token, Some(e.down));
    assert_eq!(r.winning_outcome, Some(Outcome::Down));
    assert_eq!(r.condition_id.as_str(), MARKET);
    assert!(!e.books.book(e.up).unwrap().is_tradeable());
    assert!(!e.books.book(e.down).unwrap().is_tradeable());
}

#[test]
fn unknown_event_type_is_counted_and_skipped() {
    let mut e = env();
    let mut rec = Rec::default();
    e.feed_file("book.json", &mut rec);
    let s = e.feed_file("unknown_event_type.json", &mut rec);
    assert_eq!((s.events, s.errors), (1, 0));
    assert_eq!(e.parser.counters().unknown_event_types, 1);
    assert!(e.books.book(e.up).unwrap().is_tradeable());
}

#[test]
fn unknown_asset_is_counted_and_skipped() {
    let mut e = env();
    let mut rec = Rec::default();
    let frame = fixture("price_change_one.json");
    let other = String::from_utf8(frame).unwrap().replace(UP, "1234567890");
    let s = e.feed(other.as_bytes(), &mut rec);
    assert_eq!(s.errors, 0);
    assert_eq!(e.parser.counters().unknown_assets, 1);
    assert!(rec.changes.is_empty());
}

#[test]
fn malformed_json_is_counted_and_parsing_continues() {
    let mut e = env();
    let mut rec = Rec::default();
    let s = e.feed_file("malformed.json", &mut rec);
    assert_eq!(
        s.first_error,
        Some(PolyParseError::Json(JsonFault::Malformed))
    );
    assert_eq!(e.parser.counters().errors_json, 1);
    assert!(rec.books.is_empty());
    let s = e.feed_file("book.json", &mut rec);
    assert_eq!(s.errors, 0);
    assert!(e.books.book(e.up).unwrap().is_tradeable());
}

#[test]
fn truncated_frame_is_counted_and_leaves_books_alone() {
    let mut e = env();
    let mut rec = Rec::default();
    e.feed_file("book.json", &mut rec);
    let s = e.feed_file("truncated.json", &mut rec);
    assert_eq!(
        s.first_error,
        Some(PolyParseError::Json(JsonFault::Truncated))
    );
    assert_eq!(e.parser.counters().errors_truncated, 1);
    assert_eq!(e.best(e.up), (Some(480_000), Some(500_000)));
    assert!(e.books.book(e.up).unwrap().is_tradeable());
}

#[test]
fn numbers_as_numbers_are_accepted() {
    let mut a = env();
    let mut b = env();
    let mut rec = Rec::default();
    a.feed_file("book.json", &mut rec);
    b.feed_file("book.json", &mut rec);
    let sa = a.feed_file("price_change_one.json", &mut rec);
    let sb = b.feed_file("numbers_as_numbers.json", &mut rec);
    assert_eq!((sa.errors, sb.errors), (0, 0));
    assert_eq!(a.best(a.up), b.best(b.up));
    assert_eq!(
        a.books.book(a.up).unwrap().best_bid(),
        b.books.book(b.up).unwrap().best_bid()
    );
    assert_eq!(
        b.books.book(b.up).unwrap().last_update_exchange_ms(),
        1_790_586_001_300
    );
    assert!(b.books.book(b.up).unwrap().is_tradeable());
    // a float with more than 6 decimals is refused, not rounded
    let frame = String::from_utf8(fixture("numbers_as_numbers.json"))
        .unwrap()
        .replace("\"price\":0.49,", "\"price\":0.4900001,");
    let s = b.feed(frame.as_bytes(), &mut rec);
    assert!(
        matches!(
            s.first_error,
            Some(PolyParseError::BadNumber { field: "price", .. })
        ),
        "{s:?}"
    );
}

#[test]
fn missing_field_marks_the_book_stale() {
    let mut e = env();
    let mut rec = Rec::default();
    e.feed_file("book.json", &mut rec);
    let s = e.feed_file("missing_field.json", &mut rec);
    assert_eq!(s.first_error, Some(PolyParseError::MissingField("price")));
    assert!(s.resync_requested);
    assert_eq!(e.parser.counters().errors_schema, 1);
    assert!(e.books.book(e.up).unwrap().is_stale());
    let mut reasons = Vec::new();
    e.books.drain_resync(|t, r| reasons.push((t, r)));
    assert_eq!(reasons, vec![(e.up, ResyncReason::BadUpdate)]);
}

#[test]
fn wrong_types_abort_the_snapshot() {
    let mut e = env();
    let mut rec = Rec::default();
    e.feed_file("book.json", &mut rec);
    let s = e.feed_file("wrong_types.json", &mut rec);
    assert_eq!(s.first_error, Some(PolyParseError::WrongType("bids")));
    let b = e.books.book(e.up).unwrap();
    assert!(!b.is_tradeable());
    assert!(b.is_awaiting_snapshot());
    assert!(e.books.resync_pending(e.up));
    // a non-object event inside an array is its own counted error; the others still apply
    let frame = format!("[1,{}]", String::from_utf8(fixture("book.json")).unwrap());
    let s = e.feed(frame.as_bytes(), &mut rec);
    assert_eq!((s.events, s.errors), (2, 1));
    assert_eq!(s.first_error, Some(PolyParseError::NotAnObject));
    assert!(e.books.book(e.up).unwrap().is_tradeable());
}

#[test]
fn off_grid_price_change_is_refused() {
    let mut e = env();
    let mut rec = Rec::default();
    e.feed_file("book.json", &mut rec);
    let frame = String::from_utf8(fixture("price_change_one.json"))
        .unwrap()
        .replace("\"price\":\"0.49\"", "\"price\":\"0.495\"");
    let s = e.feed(frame.as_bytes(), &mut rec);
    assert!(matches!(s.first_error, Some(PolyParseError::Grid(_))));
    assert!(e.books.book(e.up).unwrap().is_stale());
    assert!(s.resync_requested);
}

#[test]
fn huge_frames() {
    // A legitimate large snapshot: every slot of the 0.001 grid on the bid side.
    let mut books = MarketBooks::with_capacity(1);
    books.add_market(MARKET, UP, DOWN, TickSize::Mill).unwrap();
    let up = MarketBooks::tokens_of(MarketIdx(0)).0;
    let mut frame =
        format!(r#"{{"event_type":"book","asset_id":"{UP}","market":"{MARKET}","bids":["#);
    for i in 1..1000 {
        if i > 1 {
            frame.push(',');
        }
        frame.push_str(&format!(r#"{{"price":"0.{i:03}","size":"{i}.5"}}"#));
    }
    frame.push_str(r#"],"asks":[],"timestamp":"1","hash":"h"}"#);
    assert!(frame.len() > 30_000);
    let mut parser = MarketChannelParser::new(ParserConfig {
        max_frame_bytes: 64 * 1024,
    });
    let s = parser.on_frame(frame.as_bytes(), &mut books, 0, &mut ());
    assert_eq!(s.errors, 0);
    let b = books.book(up).unwrap();
    assert_eq!(b.level_count(BookSide::Bid), 999);
    assert_eq!(b.best_bid().unwrap().price_micro, 999_000);
    assert_eq!(b.top_n_depth(BookSide::Bid, 2), 999_500_000 + 998_500_000);
    // Over the limit: refused unparsed, counted, books untouched.
    let mut too_big = frame.clone();
    while too_big.len() <= 64 * 1024 {
        too_big.push(' ');
    }
    let s = parser.on_frame(too_big.as_bytes(), &mut books, 0, &mut ());
    assert!(matches!(
        s.first_error,
        Some(PolyParseError::FrameTooLarge { .. })
    ));
    assert_eq!(parser.counters().errors_too_large, 1);
    assert_eq!(books.book(up).unwrap().level_count(BookSide::Bid), 999);
}

#[test]
fn pong_and_empty_frames() {
    let mut e = env();
    let mut rec = Rec::default();
    let s = e.feed(b"PONG", &mut rec);
    assert!(s.pong);
    assert_eq!(s.errors, 0);
    let s = e.feed(b"  \n", &mut rec);
    assert_eq!(s.first_error, Some(PolyParseError::EmptyFrame));
    let s = e.feed(b"[]", &mut rec);
    assert_eq!((s.events, s.errors), (0, 0));
    let s = e.feed(b"\"PING\"", &mut rec);
    assert_eq!(s.first_error, Some(PolyParseError::NotAnObject));
    assert_eq!(e.parser.counters().pongs, 1);
}

#[test]
fn stale_top_of_book_requests_resync_and_snapshot_clears_it() {
    let mut e = env();
    let mut rec = Rec::default();
    e.feed_file("book.json", &mut rec);
    let frame = String::from_utf8(fixture("price_change_one.json"))
        .unwrap()
        .replace("\"best_bid\":\"0.49\"", "\"best_bid\":\"0.47\"");
    let s = e.feed(frame.as_bytes(), &mut rec);
    assert_eq!(s.errors, 0);
    assert!(s.resync_requested);
    assert!(e.books.book(e.up).unwrap().is_stale());
    assert!(!e.books.book(e.up).unwrap().is_tradeable());
    assert_eq!(e.books.counters().top_mismatches, 1);
    assert_eq!(e.books.counters().stale_marks, 1);
    // the engine writes unsubscribe + subscribe for the drained tokens
    let mut drained = Vec::new();
    e.books.drain_resync(|t, r| drained.push((t, r)));
    assert_eq!(drained, vec![(e.up, ResyncReason::TopMismatch)]);
    let mut buf = [0u8; 256];
    let id = e.books.token_id(e.up);
    let n = sattebaaz::feeds::polymarket::write_dynamic_subscription(
        &mut buf,
        sattebaaz::feeds::polymarket::SubscriptionOp::Subscribe,
        [id],
        true,
    )
    .unwrap();
    assert!(std::str::from_utf8(&buf[..n]).unwrap().contains(UP));
    e.feed_file("book.json", &mut rec);
    assert!(e.books.book(e.up).unwrap().is_tradeable());
    assert!(!e.books.book(e.up).unwrap().is_stale());
}

#[test]
fn truncated_and_corrupted_frames_never_panic() {
    let names = [
        "book.json",
        "price_change_one.json",
        "price_change_two_tokens.json",
        "array_of_events.json",
        "last_trade_price.json",
        "tick_size_change.json",
        "best_bid_ask.json",
        "new_market.json",
        "market_resolved.json",
        "numbers_as_numbers.json",
    ];
    let mut e = env();
    let mut frames = 0u64;
    for name in names {
        let full = fixture(name);
        for cut in 0..full.len() {
            e.parser.on_frame(&full[..cut], &mut e.books, 0, &mut ());
            frames += 1;
        }
        for pos in 0..full.len() {
            for byte in [b'"', b'{', b']', b'9', b'.', b'-', b'x', 0xff] {
                let mut m = full.clone();
                m[pos] = byte;
                e.parser.on_frame(&m, &mut e.books, 0, &mut ());
                frames += 1;
            }
        }
    }
    assert_eq!(e.parser.counters().frames, frames);
    assert!(e.parser.counters().errors > 0);
}

#[test]
fn no_allocation_after_warm_up() {
    let mut e = env();
    let book_up = fixture("book.json");
    let both = fixture("array_of_events.json");
    let pc2 = fixture("price_change_two_tokens.json");
    let pc1 = fixture("price_change_one.json");
    let malformed = fixture("malformed.json");
    let truncated = fixture("truncated.json");
    let run = |e: &mut Env| {
        let mut errors = 0;
        for _ in 0..200 {
            errors += e.parser.on_frame(&both, &mut e.books, 5, &mut ()).errors;
            errors += e.parser.on_frame(&pc2, &mut e.books, 6, &mut ()).errors;
            errors += e.parser.on_frame(&book_up, &mut e.books, 7, &mut ()).errors;
            errors += e.parser.on_frame(&pc1, &mut e.books, 8, &mut ()).errors;
        }
        errors
    };
    assert_eq!(run(&mut e), 0); // warm-up
    let (allocs, errors) = count_allocations(|| run(&mut e));
    assert_eq!(errors, 0);
    assert_eq!(
        allocs, 0,
        "book / price_change frames allocated after warm-up"
    );
    assert_eq!(e.books.counters().top_mismatches, 0);
    // error paths do not allocate either
    let (allocs, _) = count_allocations(|| {
        for _ in 0..50 {
            e.parser.on_frame(&malformed, &mut e.books, 9, &mut ());
            e.parser.on_frame(&truncated, &mut e.books, 9, &mut ());
        }
    });
    assert_eq!(allocs, 0, "error frames allocated");
    // the counting allocator does see allocations in this binary
    let (allocs, v) = count_allocations(|| vec![0u8; 16]);
    assert!(allocs >= 1 && v.len() == 16);
}

#[test]
fn fast_scanner_agrees_with_simd_json_on_every_variant() {
    use sattebaaz::feeds::polymarket::fast_scan::scan;
    let names = [
        "book.json",
        "price_change_one.json",
        "price_change_two_tokens.json",
        "array_of_events.json",
        "last_trade_price.json",
        "tick_size_change.json",
        "best_bid_ask.json",
        "new_market.json",
        "market_resolved.json",
        "unknown_event_type.json",
        "numbers_as_numbers.json",
        "missing_field.json",
        "wrong_types.json",
        "malformed.json",
        "truncated.json",
    ];
    let (mut accepted, mut declined) = (0u32, 0u32);
    let mut check = |bytes: &[u8]| {
        let mut copy = bytes.to_vec();
        let simd = simd_json::to_tape(&mut copy);
        let mut tape = Vec::new();
        if scan(bytes, &mut tape) {
            accepted += 1;
            let simd = simd.expect("fast scanner accepted input simd-json refuses");
            assert_eq!(tape, simd.0);
        } else {
            declined += 1;
        }
    };
    for name in names {
        let full = fixture(name);
        check(&full);
        for cut in 0..full.len() {
            check(&full[..cut]);
        }
        for pos in 0..full.len() {
            for byte in [
                b'"', b'{', b'}', b'[', b']', b',', b':', b'9', b'-', b'.', b' ', b'\\',
            ] {
                let mut m = full.clone();
                m[pos] = byte;
                check(&m);
            }
        }
    }
    assert!(
        accepted > 1_000 && declined > 1_000,
        "{accepted} / {declined}"
    );
    // Everyday frames take the fast path; float numbers and new_market's escaped text do not.
    let mut e = env();
    for name in ["book.json", "price_change_one.json", "array_of_events.json"] {
        e.feed_file(name, &mut Rec::default());
    }
    assert_eq!(e.parser.counters().fast_scans, 3);
    e.feed_file("numbers_as_numbers.json", &mut Rec::default());
    e.feed_file("new_market.json", &mut Rec::default());
    assert_eq!(e.parser.counters().fast_scans, 3);
    assert_eq!(e.parser.counters().errors, 0);
}
