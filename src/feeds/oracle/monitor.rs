//! Per-asset oracle state fed by RTDS frames, and the API the engine asks.
//!
//! For each configured asset and each topic ([`OracleTopic`]): the latest observation (exact
//! E18 price, observation ms, receive times), a [`TickRing`] of per-second ticks, observation
//! [`GapStats`], and running relay-delay / arrival-age statistics. Memory is fixed at
//! construction; [`OracleMonitor::on_frame`] allocates nothing.
//!
//! Decisions: [`OracleMonitor::is_fresh`] must gate anything that uses the oracle value (the RTDS
//! Chainlink price is ~1.3–1.6 s old on arrival and the topic can go silent for minutes);
//! [`OracleMonitor::price_to_beat`] and [`OracleMonitor::settle`] fail closed with [`Missing`].
//! Lag and deviation versus Binance take the engine's latest Binance price (fixed-point 1e8) and
//! event time (ms); deviation is an f64 statistic computed from the exact integer difference.

use super::ring::{Gap, GapStats, InsertOutcome, TickRing};
use super::rtds::{
    FrameHead, OracleError, OracleErrorKind, OracleTopic, RawTick, RtdsMessage, RtdsParser,
    DEFAULT_MAX_FRAME,
};
use super::windows::{self, BoundaryValue, Missing, Settlement, SettlementRule, Window};
use crate::feeds::binance::records::Asset;

/// Scale between E18 oracle prices and E8 Binance prices.
const E10: i128 = 10_000_000_000;

/// Monitor settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleConfig {
    /// Largest inbound frame accepted.
    pub max_frame: usize,
    /// A forward observation step larger than this many seconds counts as a gap.
    pub gap_threshold_s: u64,
}

impl Default for OracleConfig {
    fn default() -> Self {
        OracleConfig {
            max_frame: DEFAULT_MAX_FRAME,
            gap_threshold_s: 5,
        }
    }
}

/// Latest observation of one topic of one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LatestTick {
    /// Chainlink observation time, Unix ms.
    pub obs_ms: u64,
    /// Price × 1e18.
    pub price_e18: i128,
    /// From `full_accuracy_value` (true) or rounded from the float (false).
    pub exact: bool,
    /// Monotonic receive time of the frame (ns).
    pub recv_ns: u64,
    /// Wall-clock receive time of the frame (ms).
    pub recv_ms: u64,
    /// RTDS send time (outer `timestamp`), if present.
    pub send_ms: Option<u64>,
}

/// Running statistics of a delay in ms (integers; mean = sum / count).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DelayStats {
    pub count: u64,
    pub sum_ms: i64,
    pub max_ms: i64,
    pub last_ms: i64,
}

impl DelayStats {
    #[inline]
    fn record(&mut self, ms: i64) {
        if self.count == 0 || ms > self.max_ms {
            self.max_ms = ms;
        }
        self.count += 1;
        self.sum_ms = self.sum_ms.saturating_add(ms);
        self.last_ms = ms;
    }

    /// Mean delay, if any sample.
    pub fn mean_ms(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum_ms as f64 / self.count as f64)
    }
}

/// State of one topic of one asset.
pub struct TopicState {
    latest: Option<LatestTick>,
    ring: TickRing,
    gaps: GapStats,
    /// RTDS send time − observation time, single updates only.
    relay_delay: DelayStats,
    /// Local receive wall time − observation time, single updates only.
    arrival_age: DelayStats,
    /// Wall ms of the last frame carrying this asset/topic (any observation time).
    last_frame_ms: Option<u64>,
}

impl TopicState {
    fn new(gap_threshold_s: u64) -> Self {
        TopicState {
            latest: None,
            ring: TickRing::new(),
            gaps: GapStats::new(gap_threshold_s),
            relay_delay: DelayStats::default(),
            arrival_age: DelayStats::default(),
            last_frame_ms: None,
        }
    }

    pub fn latest(&self) -> Option<LatestTick> {
        self.latest
    }
    pub fn ring(&self) -> &TickRing {
        &self.ring
    }
    pub fn gaps(&self) -> &GapStats {
        &self.gaps
    }
    pub fn relay_delay(&self) -> &DelayStats {
        &self.relay_delay
    }
    pub fn arrival_age(&self) -> &DelayStats {
        &self.arrival_age
    }
    pub fn last_frame_ms(&self) -> Option<u64> {
        self.last_frame_ms
    }
}

/// Result of a frame that carried at least one tick for a monitored asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OracleUpdate {
    pub topic: OracleTopic,
    pub asset: Asset,
    /// Newest observation delivered by this frame.
    pub obs_ms: u64,
    pub price_e18: i128,
    pub exact: bool,
    /// Ticks in the frame (1 for single updates).
    pub ticks: u32,
    pub batch: bool,
    /// Set when this frame advanced the latest observation across a gap.
    pub gap: Option<Gap>,
}

/// Frame and tick counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OracleCounters {
    pub frames: u64,
    pub keepalives: u64,
    pub unknown_topic: u64,
    pub unconfigured_asset: u64,
    /// Frames with ticks, per topic.
    pub updates: [u64; OracleTopic::COUNT],
    /// Ticks delivered, per topic.
    pub ticks: [u64; OracleTopic::COUNT],
    pub batch_frames: u64,
    pub empty_batches: u64,
    pub inexact_ticks: u64,
    pub unaligned_ticks: u64,
    pub duplicates: u64,
    pub upgrades: u64,
    pub kept_exact: u64,
    pub conflicts: u64,
    pub too_old: u64,
    /// Ticks observed before the latest observation (backfill overlap or reordering).
    pub older_than_latest: u64,
    pub gaps: u64,
    errors: [u64; OracleErrorKind::COUNT],
}

impl OracleCounters {
    pub fn errors(&self, kind: OracleErrorKind) -> u64 {
        self.errors.get(kind as usize).copied().unwrap_or(0)
    }
    pub fn total_errors(&self) -> u64 {
        self.errors.iter().sum()
    }
}

/// The oracle monitor for a fixed set of assets.
pub struct OracleMonitor {
    parser: RtdsParser,
    states: [Option<[TopicState; OracleTopic::COUNT]>; Asset::COUNT],
    counters: OracleCounters,
    config: OracleConfig,
}

impl OracleMonitor {
    /// A monitor for `assets` with the default configuration (allocates; call at start-up).
    #[cold]
    pub fn new(assets: &[Asset]) -> Self {
        Self::with_config(assets, OracleConfig::default())
    }

    /// A monitor for `assets` with `config` (allocates; call at start-up).
    #[cold]
    pub fn with_config(assets: &[Asset], config: OracleConfig) -> Self {
        let states = Asset::ALL.map(|a| {
            assets.contains(&a).then(|| {
                [
                    TopicState::new(config.gap_threshold_s),
                    TopicState::new(config.gap_threshold_s),
                ]
            })
        });
        OracleMonitor {
            parser: RtdsParser::new(config.max_frame),
            states,
            counters: OracleCounters::default(),
            config,
        }
    }

    pub fn config(&self) -> &OracleConfig {
        &self.config
    }

    pub fn counters(&self) -> &OracleCounters {
        &self.counters
    }

    /// Whether `asset` is monitored.
    pub fn monitors(&self, asset: Asset) -> bool {
        self.states.get(asset.index()).is_some_and(|s| s.is_some())
    }

    /// Feed one inbound text frame received at monotonic `recv_ns` / wall `now_ms`.
    /// `Ok(None)` for keep-alives, other topics, empty batches and unmonitored assets.
    pub fn on_frame(
        &mut self,
        frame: &[u8],
        recv_ns: u64,
        now_ms: u64,
    ) -> Result<Option<OracleUpdate>, OracleError> {
        self.counters.frames += 1;
        let states = &mut self.states;
        let counters = &mut self.counters;
        let mut update: Option<OracleUpdate> = None;
        let res = self
            .parser
            .parse(frame, &mut |head: &FrameHead, tick: RawTick| {
                apply_tick(states, counters, &mut update, head, tick, recv_ns, now_ms);
            });
        match res {
            Ok(RtdsMessage::Keepalive) => {
                self.counters.keepalives += 1;
                Ok(None)
            }
            Ok(RtdsMessage::UnknownTopic) => {
                self.counters.unknown_topic += 1;
                Ok(None)
            }
            Ok(RtdsMessage::Ticks { head, count }) => {
                if head.batch {
                    self.counters.batch_frames += 1;
                    if count == 0 {
                        self.counters.empty_batches += 1;
                    }
                }
                if let Some(u) = update.as_mut() {
                    u.ticks = count;
                    if let Some(c) = self.counters.updates.get_mut(head.topic.index()) {
                        *c += 1;
                    }
                }
                Ok(update)
            }
            Err(e) => {
                if let Some(c) = self.counters.errors.get_mut(e.kind() as usize) {
                    *c += 1;
                }
                Err(e)
            }
        }
    }

    fn topic_state_inner(&self, asset: Asset, topic: OracleTopic) -> Option<&TopicState> {
        self.states.get(asset.index())?.as_ref()?.get(topic.index())
    }

    /// Full state of one topic of one asset (ring, gaps, delays).
    pub fn topic_state(&self, asset: Asset, topic: OracleTopic) -> Option<&TopicState> {
        self.topic_state_inner(asset, topic)
    }

    /// Latest Chainlink spot observation of `asset`.
    pub fn latest(&self, asset: Asset) -> Option<LatestTick> {
        self.latest_of(asset, OracleTopic::Chainlink)
    }

    /// Latest observation of `asset` on `topic`.
    pub fn latest_of(&self, asset: Asset, topic: OracleTopic) -> Option<LatestTick> {
        self.topic_state_inner(asset, topic)?.latest
    }

    fn rings(&self, asset: Asset) -> Result<(&TickRing, &TickRing), Missing> {
        let s = self
            .states
            .get(asset.index())
            .and_then(|s| s.as_ref())
            .ok_or(Missing::AssetNotMonitored)?;
        let [spot, twap] = s;
        Ok((&spot.ring, &twap.ring))
    }

    /// Price to beat (× 1e18) of a spot-rule window starting at `start_s`: the exact Chainlink
    /// tick observed at that second. Never interpolated.
    pub fn price_to_beat(&self, asset: Asset, start_s: u64) -> Result<i128, Missing> {
        let (spot, _) = self.rings(asset)?;
        windows::exact_at(spot, start_s).map(|b| b.sum_e18)
    }

    /// Opening value of a window starting at `start_s` under `rule`.
    pub fn open_value(
        &self,
        asset: Asset,
        start_s: u64,
        rule: SettlementRule,
    ) -> Result<BoundaryValue, Missing> {
        let (spot, twap) = self.rings(asset)?;
        windows::open_value(spot, twap, start_s, rule)
    }

    /// Settle `[start_s, end_s)` under `rule`.
    pub fn settle(
        &self,
        asset: Asset,
        start_s: u64,
        end_s: u64,
        rule: SettlementRule,
    ) -> Result<Settlement, Missing> {
        let (spot, twap) = self.rings(asset)?;
        windows::settle(spot, twap, Window { start_s, end_s }, rule)
    }

    /// Settle against a known price to beat (e.g. Gamma's official value), closing at `end_s`.
    pub fn settle_against(
        &self,
        asset: Asset,
        price_to_beat_e18: i128,
        end_s: u64,
        rule: SettlementRule,
    ) -> Result<Settlement, Missing> {
        let (spot, twap) = self.rings(asset)?;
        windows::settle_against(spot, twap, price_to_beat_e18, end_s, rule)
    }

    /// Age of the latest spot observation at `now_ms` (0 if stamped in the future).
    pub fn staleness_ms(&self, asset: Asset, now_ms: u64) -> Option<u64> {
        self.latest(asset).map(|t| now_ms.saturating_sub(t.obs_ms))
    }

    /// Whether the latest spot observation is at most `max_age_ms` old at `now_ms`.
    pub fn is_fresh(&self, asset: Asset, now_ms: u64, max_age_ms: u64) -> bool {
        self.staleness_ms(asset, now_ms)
            .is_some_and(|age| age <= max_age_ms)
    }

    /// Time since the last frame carrying spot ticks of `asset` (socket-silence watchdog).
    pub fn silence_ms(&self, asset: Asset, now_ms: u64) -> Option<u64> {
        let t = self
            .topic_state_inner(asset, OracleTopic::Chainlink)?
            .last_frame_ms?;
        Some(now_ms.saturating_sub(t))
    }

    /// How far the latest spot observation trails the engine's latest Binance event time:
    /// `binance_event_ms − oracle obs_ms` (positive = oracle behind).
    pub fn lag_ms(&self, asset: Asset, binance_event_ms: u64) -> Option<i64> {
        let t = self.latest(asset)?;
        Some(binance_event_ms as i64 - t.obs_ms as i64)
    }

    /// Deviation of the latest spot oracle price from a Binance price (fixed-point 1e8), in
    /// basis points: `(oracle − binance) / binance × 1e4`.
    pub fn deviation_bps(&self, asset: Asset, binance_px_e8: i64) -> Option<f64> {
        deviation(self.latest(asset)?.price_e18, binance_px_e8)
    }

    /// Same-moment deviation: the Binance price at `binance_event_ms` against the spot tick
    /// observed in that second (missing if that second has no tick).
    pub fn deviation_bps_at(
        &self,
        asset: Asset,
        binance_px_e8: i64,
        binance_event_ms: u64,
    ) -> Result<f64, Missing> {
        let (spot, _) = self.rings(asset)?;
        let s = binance_event_ms / 1000;
        let t = spot.get(s).map_err(|_| Missing::NoTick { second: s })?;
        deviation(t.price_e18, binance_px_e8).ok_or(Missing::Overflow)
    }
}

/// `(oracle_e18 − binance_e8·1e10) / (binance_e8·1e10) × 1e4`, from the exact difference.
fn deviation(oracle_e18: i128, binance_px_e8: i64) -> Option<f64> {
    if binance_px_e8 <= 0 {
        return None;
    }
    let b = i128::from(binance_px_e8).checked_mul(E10)?;
    let diff = oracle_e18.checked_sub(b)?;
    Some(diff as f64 * 1e4 / b as f64)
}

#[inline]
fn apply_tick(
    states: &mut [Option<[TopicState; OracleTopic::COUNT]>; Asset::COUNT],
    counters: &mut OracleCounters,
    update: &mut Option<OracleUpdate>,
    head: &FrameHead,
    tick: RawTick,
    recv_ns: u64,
    now_ms: u64,
) {
    let Some(st) = states
        .get_mut(head.asset.index())
        .and_then(|s| s.as_mut())
        .and_then(|s| s.get_mut(head.topic.index()))
    else {
        counters.unconfigured_asset += 1;
        return;
    };
    if let Some(c) = counters.ticks.get_mut(head.topic.index()) {
        *c += 1;
    }
    if !tick.exact {
        counters.inexact_ticks += 1;
    }
    st.last_frame_ms = Some(now_ms);

    if tick.obs_ms % 1000 == 0 {
        match st
            .ring
            .insert(tick.obs_ms / 1000, tick.price_e18, tick.exact)
        {
            InsertOutcome::Stored => {}
            InsertOutcome::Duplicate => counters.duplicates += 1,
            InsertOutcome::Upgraded => counters.upgrades += 1,
            InsertOutcome::KeptExact => counters.kept_exact += 1,
            InsertOutcome::Conflict => counters.conflicts += 1,
            InsertOutcome::TooOld => counters.too_old += 1,
        }
    } else {
        counters.unaligned_ticks += 1;
    }

    let latest = LatestTick {
        obs_ms: tick.obs_ms,
        price_e18: tick.price_e18,
        exact: tick.exact,
        recv_ns,
        recv_ms: now_ms,
        send_ms: head.send_ms,
    };
    let mut gap = None;
    match st.latest {
        None => st.latest = Some(latest),
        Some(prev) if tick.obs_ms > prev.obs_ms => {
            gap = st.gaps.observe(prev.obs_ms / 1000, tick.obs_ms / 1000);
            if gap.is_some() {
                counters.gaps += 1;
            }
            st.latest = Some(latest);
        }
        Some(prev) if tick.obs_ms == prev.obs_ms => {
            // Same observation again: keep the exact value if one of them is exact.
            if tick.exact || !prev.exact {
                st.latest = Some(latest);
            }
        }
        Some(_) => counters.older_than_latest += 1,
    }
    if !head.batch {
        let obs = tick.obs_ms as i64;
        if let Some(send) = head.send_ms {
            st.relay_delay.record(send as i64 - obs);
        }
        st.arrival_age.record(now_ms as i64 - obs);
    }

    let newest = !matches!(update, Some(u) if u.obs_ms > tick.obs_ms);
    if newest {
        let prev_gap = update.as_ref().and_then(|u| u.gap);
        *update = Some(OracleUpdate {
            topic: head.topic,
            asset: head.asset,
            obs_ms: tick.obs_ms,
            price_e18: tick.price_e18,
            exact: tick.exact,
            ticks: 0,
            batch: head.batch,
            gap: gap.or(prev_gap),
        });
    } else if let (Some(u), Some(g)) = (update.as_mut(), gap) {
        u.gap = Some(g);
    }
}
