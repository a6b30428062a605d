//! Abuse limits: token buckets for messages, invitations and logins, and the cap on concurrent
//! WebSocket connections.
//!
//! | limit | counted | over the limit |
//! |---|---|---|
//! | messages, per connection | every frame the client sends except pongs | the message is dropped and answered `Error{RateLimited}`; after [`REFUSALS_BEFORE_CLOSE`] × the burst refused in a row the connection is closed (1008 "rate limit") |
//! | invitations, per user | every `Invite` the hub accepts, on any of the user's devices (refused ones are given back) | `Error{RateLimited, req}`, no call is created |
//! | logins, per user | every `Login` whose UserSig verifies | `Error{RateLimited}`, then close (1008 "rate limit") |
//! | connections, server-wide | every open WebSocket | the upgrade is refused with HTTP 503 |
//!
//! Every rate is a [`TokenBucket`]: it holds up to `burst` tokens, each request takes one, and
//! tokens come back at the sustained rate. Time is always passed in, so that the arithmetic is
//! tested without clocks.
//!
//! The per-user buckets live in a map that forgets full buckets (a full bucket is the same as
//! none): it only holds users who made requests within the last burst's worth of refill time,
//! so it cannot grow without bound.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

/// A connection whose messages are refused this many times its burst in a row is closed.
pub const REFUSALS_BEFORE_CLOSE: u32 = 3;

/// Messages a connection may send a second, sustained, by default. A person's client sends a
/// few a second at most (watch lists while typing, pings, a call's negotiation), and a
/// message costs the server microseconds: the limit stops floods, not clients.
pub const DEFAULT_MSG_RATE: u32 = 50;

/// Messages a connection may send at once by default: room for a call's setup (an offer or
/// answer with dozens of ICE candidates at once) several times over.
pub const DEFAULT_MSG_BURST: u32 = 100;

/// Invitations a user may send a minute, sustained, by default.
pub const DEFAULT_INVITE_RATE: u32 = 10;

/// Invitations a user may send at once by default.
pub const DEFAULT_INVITE_BURST: u32 = 5;

/// Logins a user may make a minute, sustained, by default.
pub const DEFAULT_LOGIN_RATE: u32 = 10;

/// Logins a user may make at once by default: every device of a user (5 by default) may
/// come back at once after a restart of the server, and log in again once more.
pub const DEFAULT_LOGIN_BURST: u32 = 10;

/// WebSocket connections open at once, by default.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10_000;

/// How often the per-user maps drop their full buckets, at the latest.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The per-user maps also drop their full buckets whenever they reach this many entries (or
/// twice as many as after the last sweep, whichever is more).
const SWEEP_AT_LEN: usize = 1024;

/// A sustained rate with a burst: `burst` requests at once, then one every `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    /// The time one token takes to come back.
    interval: Duration,
    /// How many tokens the bucket holds (at least 1).
    burst: u32,
}

impl Rate {
    /// `count` requests per `period` sustained, `burst` at once. A `count` or `burst` of 0
    /// counts as 1.
    pub fn new(count: u32, period: Duration, burst: u32) -> Rate {
        Rate {
            interval: period / count.max(1),
            burst: burst.max(1),
        }
    }

    /// `count` requests a second, `burst` at once.
    pub fn per_second(count: u32, burst: u32) -> Rate {
        Rate::new(count, Duration::from_secs(1), burst)
    }

    /// `count` requests a minute, `burst` at once.
    pub fn per_minute(count: u32, burst: u32) -> Rate {
        Rate::new(count, Duration::from_secs(60), burst)
    }

    /// How many requests may come at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// How long an empty bucket takes to fill up.
    fn fill_time(&self) -> Duration {
        self.interval
            .checked_mul(self.burst)
            .unwrap_or(Duration::MAX)
    }
}

/// A token bucket, kept as the instant at which it is full again: it holds
/// `burst - (full_at - now) / interval` tokens at `now`. Taking a token moves that instant one
/// interval later; the bucket is empty when it is a whole fill time away. This needs no
/// periodic refill and no floating point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenBucket {
    full_at: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn full(now: Instant) -> TokenBucket {
        TokenBucket { full_at: now }
    }

    /// Takes a token at `now` if there is one; false (and nothing changes) when the bucket is
    /// empty.
    pub fn try_take(&mut self, rate: Rate, now: Instant) -> bool {
        let next = self.full_at.max(now) + rate.interval;
        if next.duration_since(now) > rate.fill_time() {
            return false;
        }
        self.full_at = next;
        true
    }

    /// Puts back a token taken at or before `now` for a request that turned out not to count.
    pub fn give_back(&mut self, rate: Rate, now: Instant) {
        self.full_at = self
            .full_at
            .checked_sub(rate.interval)
            .map_or(now, |at| at.max(now));
    }

    /// Whether the bucket is full at `now`, that is, no different from a new one.
    pub fn is_full(&self, now: Instant) -> bool {
        self.full_at <= now
    }

    /// How many whole tokens the bucket holds at `now`.
    pub fn tokens(&self, rate: Rate, now: Instant) -> u32 {
        let missing = self.full_at.saturating_duration_since(now);
        let interval = rate.interval.as_nanos().max(1);
        let missing = missing.as_nanos().div_ceil(interval);
        rate.burst
            .saturating_sub(u32::try_from(missing).unwrap_or(u32::MAX))
    }
}

/// What to do with a connection's message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// Handle it.
    Yes,
    /// Drop it and answer `Error{RateLimited}`.
    Refuse,
    /// Drop it and close the connection: it keeps going far over the limit.
    Close,
}

/// The message limit of one connection: a bucket, and how many messages in a row it refused.
#[derive(Debug, Clone)]
pub struct MessageLimiter {
    rate: Rate,
    bucket: TokenBucket,
    refused_in_a_row: u32,
}

impl MessageLimiter {
    /// A limiter with a full bucket.
    pub fn new(rate: Rate, now: Instant) -> MessageLimiter {
        MessageLimiter {
            rate,
            bucket: TokenBucket::full(now),
            refused_in_a_row: 0,
        }
    }

    /// Counts a message that came at `now`. After [`REFUSALS_BEFORE_CLOSE`] × the burst
    /// refused in a row (with none admitted in between), the answer is [`Admit::Close`].
    pub fn admit(&mut self, now: Instant) -> Admit {
        if self.bucket.try_take(self.rate, now) {
            self.refused_in_a_row = 0;
            return Admit::Yes;
        }
        self.refused_in_a_row = self.refused_in_a_row.saturating_add(1);
        if self.refused_in_a_row >= self.rate.burst.saturating_mul(REFUSALS_BEFORE_CLOSE) {
            Admit::Close
        } else {
            Admit::Refuse
        }
    }
}

/// One token bucket per user, for one kind of request. Full buckets are dropped now and then
/// (at least every `SWEEP_EVERY`, and whenever the map doubles), so the map only holds users
/// whose bucket is refilling.
#[derive(Debug)]
pub struct UserBuckets {
    rate: Rate,
    buckets: HashMap<String, TokenBucket>,
    /// Sweep when the map reaches this many entries...
    sweep_at_len: usize,
    /// ... or at this instant.
    next_sweep: Instant,
}

impl UserBuckets {
    /// An empty map of buckets that follow `rate`.
    pub fn new(rate: Rate, now: Instant) -> UserBuckets {
        UserBuckets {
            rate,
            buckets: HashMap::new(),
            sweep_at_len: SWEEP_AT_LEN,
            next_sweep: now + SWEEP_EVERY,
        }
    }

    /// The rate of every bucket.
    pub fn rate(&self) -> Rate {
        self.rate
    }

    /// Takes a token from `user`'s bucket at `now`; false when it is empty.
    pub fn try_take(&mut self, user: &str, now: Instant) -> bool {
        if now >= self.next_sweep || self.buckets.len() >= self.sweep_at_len {
            self.sweep(now);
        }
        let rate = self.rate;
        match self.buckets.get_mut(user) {
            Some(bucket) => bucket.try_take(rate, now),
            None => {
                let mut bucket = TokenBucket::full(now);
                let taken = bucket.try_take(rate, now);
                self.buckets.insert(user.to_owned(), bucket);
                taken
            }
        }
    }

    /// Puts back a token that `user` took for a request that turned out not to count.
    pub fn give_back(&mut self, user: &str, now: Instant) {
        let rate = self.rate;
        if let Some(bucket) = self.buckets.get_mut(user) {
            bucket.give_back(rate, now);
        }
    }

    /// How many users have a bucket that is not known to be full.
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    /// Whether no user has a bucket.
    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Drops the buckets that are full at `now`.
    pub fn sweep(&mut self, now: Instant) {
        let before = self.buckets.len();
        self.buckets.retain(|_, bucket| !bucket.is_full(now));
        self.buckets.shrink_to(self.buckets.len() * 2);
        self.sweep_at_len = SWEEP_AT_LEN.max(self.buckets.len().saturating_mul(2));
        self.next_sweep = now + SWEEP_EVERY;
        tracing::trace!(
            before,
            after = self.buckets.len(),
            "dropped full rate-limit buckets"
        );
    }
}

/// Why a request was refused by a rate limit; the message goes into `Error{RateLimited}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Limited {
    /// The connection sent messages too fast.
    #[error("too many messages: slow down (at most {burst} at once, then {per_second} a second)")]
    Messages { burst: u32, per_second: u32 },
    /// The user sent invitations too fast, on all devices together.
    #[error(
        "too many invitations: wait a little (at most {burst} at once, then {per_minute} a minute)"
    )]
    Invitations { burst: u32, per_minute: u32 },
    /// The user logged in too often, on all devices together.
    #[error(
        "too many logins: wait a little (at most {burst} at once, then {per_minute} a minute)"
    )]
    Logins { burst: u32, per_minute: u32 },
}

/// The limits as configured, in the units of the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitSettings {
    /// Messages per second, per connection.
    pub msg_rate: u32,
    /// Messages at once, per connection.
    pub msg_burst: u32,
    /// Invitations per minute, per user.
    pub invite_rate: u32,
    /// Invitations at once, per user.
    pub invite_burst: u32,
    /// Logins per minute, per user.
    pub login_rate: u32,
    /// Logins at once, per user.
    pub login_burst: u32,
    /// Concurrent WebSocket connections, server-wide.
    pub max_connections: u32,
}

impl From<&crate::Config> for LimitSettings {
    fn from(config: &crate::Config) -> Self {
        LimitSettings {
            msg_rate: config.msg_rate,
            msg_burst: config.msg_burst,
            invite_rate: config.invite_rate,
            invite_burst: config.invite_burst,
            login_rate: config.login_rate,
            login_burst: config.login_burst,
            max_connections: config.max_connections,
        }
    }
}

/// The server's limits and their shared state. One per [`AppState`](crate::AppState).
#[derive(Debug)]
pub struct Limits {
    settings: LimitSettings,
    invites: Mutex<UserBuckets>,
    logins: Mutex<UserBuckets>,
    connections: Arc<Semaphore>,
}

impl Limits {
    /// Limits as configured, with empty buckets and every connection slot free.
    pub fn new(settings: LimitSettings) -> Limits {
        let now = Instant::now();
        let connections = (settings.max_connections as usize).clamp(1, Semaphore::MAX_PERMITS);
        Limits {
            settings,
            invites: Mutex::new(UserBuckets::new(
                Rate::per_minute(settings.invite_rate, settings.invite_burst),
                now,
            )),
            logins: Mutex::new(UserBuckets::new(
                Rate::per_minute(settings.login_rate, settings.login_burst),
                now,
            )),
            connections: Arc::new(Semaphore::new(connections)),
        }
    }

    /// A message limiter for a new connection.
    pub fn message_limiter(&self, now: Instant) -> MessageLimiter {
        MessageLimiter::new(self.message_rate(), now)
    }

    /// The error for a message over the limit.
    pub fn messages_limited(&self) -> Limited {
        let rate = self.message_rate();
        Limited::Messages {
            burst: rate.burst(),
            per_second: self.settings.msg_rate.max(1),
        }
    }

    fn message_rate(&self) -> Rate {
        Rate::per_second(self.settings.msg_rate, self.settings.msg_burst)
    }

    /// Counts an invitation from `user` at `now`.
    pub fn invite(&self, user: &str, now: Instant) -> Result<(), Limited> {
        let mut invites = lock(&self.invites);
        if invites.try_take(user, now) {
            return Ok(());
        }
        Err(Limited::Invitations {
            burst: invites.rate().burst(),
            per_minute: self.settings.invite_rate.max(1),
        })
    }

    /// Gives back the token of an invitation from `user` that the hub refused (it rang no
    /// one: a call to oneself, to an invalid ID, while in a call, ...).
    pub fn invite_refused(&self, user: &str, now: Instant) {
        lock(&self.invites).give_back(user, now);
    }

    /// Counts a login of `user` (whose UserSig verified) at `now`.
    pub fn login(&self, user: &str, now: Instant) -> Result<(), Limited> {
        let mut logins = lock(&self.logins);
        if logins.try_take(user, now) {
            return Ok(());
        }
        Err(Limited::Logins {
            burst: logins.rate().burst(),
            per_minute: self.settings.login_rate.max(1),
        })
    }

    /// How many users have invitation and login buckets, for tests and diagnostics.
    pub fn tracked_users(&self) -> (usize, usize) {
        (lock(&self.invites).len(), lock(&self.logins).len())
    }

    /// A connection slot, or `None` when all [`LimitSettings::max_connections`] are taken.
    /// The slot is free again when the returned guard is dropped.
    pub fn connection_slot(&self) -> Option<ConnectionSlot> {
        self.connections
            .clone()
            .try_acquire_owned()
            .ok()
            .map(|permit| ConnectionSlot { _permit: permit })
    }

    /// The configured connection cap.
    pub fn max_connections(&self) -> u32 {
        self.settings.max_connections
    }
}

/// One of the [`LimitSettings::max_connections`] connection slots, held for the life of a
/// WebSocket connection and freed when dropped.
#[derive(Debug)]
pub struct ConnectionSlot {
    _permit: OwnedSemaphorePermit,
}

/// Locks a bucket map. Every operation leaves a map consistent, so a poisoned lock is usable.
fn lock(map: &Mutex<UserBuckets>) -> std::sync::MutexGuard<'_, UserBuckets> {
    map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn a_full_bucket_gives_its_burst_at_once_then_nothing() {
        let rate = Rate::per_second(20, 40);
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(t0);
        assert!(bucket.is_full(t0));
        assert_eq!(bucket.tokens(rate, t0), 40);
        for i in 0..40 {
            assert!(bucket.try_take(rate, t0), "token {i}");
        }
        assert_eq!(bucket.tokens(rate, t0), 0);
        assert!(!bucket.try_take(rate, t0));
        // A refused take changes nothing.
        assert_eq!(bucket.tokens(rate, t0), 0);
        assert!(!bucket.is_full(t0));
    }

    #[test]
    fn tokens_come_back_at_the_sustained_rate() {
        let rate = Rate::per_second(20, 40);
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(t0);
        while bucket.try_take(rate, t0) {}
        // One token every 50 ms, not before.
        assert!(!bucket.try_take(rate, t0 + 49 * MS));
        assert!(bucket.try_take(rate, t0 + 50 * MS));
        assert!(!bucket.try_take(rate, t0 + 99 * MS));
        assert!(bucket.try_take(rate, t0 + 100 * MS));
        // After a second of quiet, 20 tokens more.
        let t1 = t0 + 1100 * MS;
        assert_eq!(bucket.tokens(rate, t1), 20);
        for _ in 0..20 {
            assert!(bucket.try_take(rate, t1));
        }
        assert!(!bucket.try_take(rate, t1));
    }

    #[test]
    fn a_token_given_back_can_be_taken_again_but_never_overfills() {
        let rate = Rate::per_minute(10, 2);
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(t0);
        assert!(bucket.try_take(rate, t0));
        assert!(bucket.try_take(rate, t0));
        assert!(!bucket.try_take(rate, t0));
        bucket.give_back(rate, t0);
        assert_eq!(bucket.tokens(rate, t0), 1);
        assert!(bucket.try_take(rate, t0));
        // Given back to a full bucket: still full, still two tokens.
        let later = t0 + Duration::from_secs(60);
        bucket.give_back(rate, later);
        bucket.give_back(rate, later);
        assert!(bucket.is_full(later));
        assert_eq!(bucket.tokens(rate, later), 2);
        assert!(bucket.try_take(rate, later));
        assert!(bucket.try_take(rate, later));
        assert!(!bucket.try_take(rate, later));
    }

    #[test]
    fn a_bucket_never_holds_more_than_its_burst() {
        let rate = Rate::per_minute(10, 5);
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(t0);
        assert!(bucket.try_take(rate, t0));
        // An hour later it is full: five tokens, not more.
        let later = t0 + Duration::from_secs(3600);
        assert!(bucket.is_full(later));
        assert_eq!(bucket.tokens(rate, later), 5);
        for _ in 0..5 {
            assert!(bucket.try_take(rate, later));
        }
        assert!(!bucket.try_take(rate, later));
        // Ten a minute: one every six seconds.
        assert!(!bucket.try_take(rate, later + Duration::from_millis(5999)));
        assert!(bucket.try_take(rate, later + Duration::from_secs(6)));
    }

    #[test]
    fn a_steady_stream_at_the_rate_is_never_refused() {
        let rate = Rate::per_second(20, 1);
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(t0);
        for i in 0..1000u32 {
            assert!(bucket.try_take(rate, t0 + 50 * MS * i), "message {i}");
        }
    }

    #[test]
    fn zero_rates_and_bursts_count_as_one() {
        let rate = Rate::new(0, Duration::from_secs(1), 0);
        assert_eq!(rate.burst(), 1);
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(t0);
        assert!(bucket.try_take(rate, t0));
        assert!(!bucket.try_take(rate, t0));
        assert!(bucket.try_take(rate, t0 + Duration::from_secs(1)));
    }

    #[test]
    fn huge_bursts_do_not_overflow() {
        let rate = Rate::per_minute(1, u32::MAX);
        let t0 = Instant::now();
        let mut bucket = TokenBucket::full(t0);
        assert!(bucket.try_take(rate, t0));
        assert_eq!(bucket.tokens(rate, t0), u32::MAX - 1);
    }

    #[test]
    fn a_flood_is_refused_then_closed_and_a_pause_resets_the_count() {
        let t0 = Instant::now();
        let mut limiter = MessageLimiter::new(Rate::per_second(10, 4), t0);
        for _ in 0..4 {
            assert_eq!(limiter.admit(t0), Admit::Yes);
        }
        // 3 × 4 refusals in a row close it; the twelfth is the one.
        for i in 1..12 {
            assert_eq!(limiter.admit(t0), Admit::Refuse, "refusal {i}");
        }
        // One admitted message in between starts the count again.
        assert_eq!(limiter.admit(t0 + 100 * MS), Admit::Yes);
        for i in 1..12 {
            assert_eq!(limiter.admit(t0 + 100 * MS), Admit::Refuse, "refusal {i}");
        }
        assert_eq!(limiter.admit(t0 + 100 * MS), Admit::Close);
    }

    #[test]
    fn a_client_slightly_over_the_rate_is_refused_now_and_then_but_not_closed() {
        let t0 = Instant::now();
        let mut limiter = MessageLimiter::new(Rate::per_second(20, 2), t0);
        let (mut yes, mut refused) = (0, 0);
        // 40 a second for a minute: half get through, none closes it.
        for i in 0..2400u32 {
            match limiter.admit(t0 + 25 * MS * i) {
                Admit::Yes => yes += 1,
                Admit::Refuse => refused += 1,
                Admit::Close => panic!("closed at message {i}"),
            }
        }
        assert!((1200..=1202).contains(&yes), "{yes}");
        assert_eq!(yes + refused, 2400);
    }

    #[test]
    fn users_have_buckets_of_their_own() {
        let t0 = Instant::now();
        let mut buckets = UserBuckets::new(Rate::per_minute(10, 2), t0);
        assert!(buckets.try_take("alice", t0));
        assert!(buckets.try_take("alice", t0));
        assert!(!buckets.try_take("alice", t0));
        assert!(buckets.try_take("bob", t0));
        assert!(!buckets.try_take("alice", t0 + Duration::from_secs(5)));
        assert!(buckets.try_take("alice", t0 + Duration::from_secs(6)));
        assert_eq!(buckets.len(), 2);
    }

    #[test]
    fn full_buckets_are_forgotten() {
        let t0 = Instant::now();
        let rate = Rate::per_minute(10, 5);
        let mut buckets = UserBuckets::new(rate, t0);
        for i in 0..100 {
            assert!(buckets.try_take(&format!("user{i}"), t0));
        }
        assert_eq!(buckets.len(), 100);
        // Six seconds later every bucket is full again: the next sweep drops them all.
        let t1 = t0 + Duration::from_secs(6);
        buckets.sweep(t1);
        assert!(buckets.is_empty());
        // A bucket that still refills is kept.
        assert!(buckets.try_take("busy", t1));
        assert!(buckets.try_take("busy", t1));
        buckets.sweep(t1 + Duration::from_secs(6));
        assert_eq!(buckets.len(), 1);
        buckets.sweep(t1 + Duration::from_secs(12));
        assert!(buckets.is_empty());
    }

    #[test]
    fn the_map_sweeps_itself_by_time_and_by_size() {
        let t0 = Instant::now();
        let mut buckets = UserBuckets::new(Rate::per_minute(60, 1), t0);
        // By size: every user's bucket refills in a second, so at most the users of the last
        // second (plus the sweep threshold) are ever held.
        for i in 0..10 * SWEEP_AT_LEN as u32 {
            let now = t0 + MS * i;
            assert!(buckets.try_take(&format!("user{i}"), now));
            assert!(
                buckets.len() <= SWEEP_AT_LEN + 1000,
                "{} at {i}",
                buckets.len()
            );
        }
        // By time: a request after the sweep period drops all the full ones.
        let later = t0 + Duration::from_secs(3600);
        assert!(buckets.try_take("last", later));
        assert_eq!(buckets.len(), 1);
    }

    #[test]
    fn limits_count_invitations_and_logins_per_user() {
        let limits = Limits::new(LimitSettings {
            msg_rate: 20,
            msg_burst: 40,
            invite_rate: 10,
            invite_burst: 2,
            login_rate: 10,
            login_burst: 1,
            max_connections: 2,
        });
        let t0 = Instant::now();
        assert_eq!(limits.invite("alice", t0), Ok(()));
        assert_eq!(limits.invite("alice", t0), Ok(()));
        let refused = limits.invite("alice", t0).unwrap_err();
        assert_eq!(
            refused,
            Limited::Invitations {
                burst: 2,
                per_minute: 10
            }
        );
        assert!(refused.to_string().contains("too many invitations"));
        assert_eq!(limits.invite("bob", t0), Ok(()));
        assert!(limits.invite("bob", t0).is_ok());
        limits.invite_refused("bob", t0);
        assert!(limits.invite("bob", t0).is_ok());
        assert!(limits.invite("bob", t0).is_err());
        assert_eq!(limits.login("alice", t0), Ok(()));
        assert!(limits.login("alice", t0).is_err());
        assert_eq!(limits.tracked_users(), (2, 1));
    }

    #[test]
    fn connection_slots_are_freed_when_dropped() {
        let limits = Limits::new(LimitSettings {
            msg_rate: 20,
            msg_burst: 40,
            invite_rate: 10,
            invite_burst: 5,
            login_rate: 10,
            login_burst: 5,
            max_connections: 2,
        });
        let a = limits.connection_slot().expect("first slot");
        let _b = limits.connection_slot().expect("second slot");
        assert!(limits.connection_slot().is_none());
        drop(a);
        assert!(limits.connection_slot().is_some());
    }
}
