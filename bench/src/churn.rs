//! The call-churn load: simulated users placing complete calls at a rising rate, so that the
//! cost of a call's signaling (not of one relayed message) is measured, and so that every
//! invitation is checked to end exactly once.
//!
//! `--pairs` fixed pairs of users (a caller and a callee, each logged in on one connection)
//! wait in a queue of idle pairs. A run asks for a number of new calls a second; a scheduler
//! hands each due call to the pair idle the longest, which places it:
//!
//! 1. the caller sends `Invite`; the server answers `CallCreated` with the number of the
//!    callee's devices that ring: that answer is the caller's ringing notice (a later
//!    `Ringing` only tells of a change), timed from the `Invite` as *invite→ringing*;
//! 2. the caller sends its SDP offer and two ICE candidates (held by the server while the call
//!    rings); the callee, `Invited` (timed too), sends `Accept`;
//! 3. both hear `Accepted`; the callee gets the offer, answers it with an SDP answer and two
//!    candidates;
//! 4. once each side has the other's three signals (every message either sent is then known
//!    to be handled), one of them (the caller and the callee in turn) sends `Hangup`, after
//!    `--talk-ms`; the call is over when both have heard `CallEnded`, and the pair is idle again.
//!
//! A pair handles both its connections in one task, reading whichever has a message first,
//! so that each message is timed when it arrives. Each invitation must get exactly one result
//! at the caller (`CallCreated` then one `CallEnded`, or one `Error` for its request), the
//! callee at most one `Invited` and then exactly one `CallEnded`, and no message may name a
//! call the pair is not in: anything else counts as a violation. A call that has no outcome
//! after [`CALL_DEADLINE`] counts as one too, and its pair is retired (its users may still be
//! busy on the server).
//!
//! With the driving process it speaks the lines of the other benches: `ready {json}` once the
//! users are logged in, `run <calls/s> <secs>` on stdin for each run, answered `result {json}`
//! once the run's calls are over, and `alive {json}` when stdin ends.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::sync::{mpsc, Semaphore};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use webcall_protocol::{CallId, CallType, ClientMsg, Outcome, ServerMsg, Signal};

use crate::stats;
use crate::webcall::{Conn, LoadError, Target};

/// How long a call may take, from its `Invite` to both parties' `CallEnded`, before it counts
/// as one without an outcome (far more than any run's latency; less than the server's ring
/// timeout, so that a lost message shows as a violation rather than as a late `NoAnswer`).
pub const CALL_DEADLINE: Duration = Duration::from_secs(10);

/// The ICE candidates each side sends.
const CANDIDATES: u32 = 2;

/// How the churn runs: the pool of users and the call's shape.
#[derive(Debug, Clone)]
pub struct Options {
    /// Caller/callee pairs in the pool.
    pub pairs: usize,
    /// How long an accepted call lasts once negotiated, in milliseconds.
    pub talk_ms: u64,
    /// How many source addresses the connections spread over (127.0.0.2, ...).
    pub sources: u8,
    /// How many connections are set up at once.
    pub concurrency: usize,
    /// Prefix of the user IDs (`<prefix>a<n>` calls `<prefix>b<n>`).
    pub prefix: String,
}

/// The figures of the run under way, shared by the pairs.
#[derive(Debug, Default)]
struct Tally {
    /// Calls handed to a pair.
    started: u64,
    /// Calls due while no pair was idle (the pool is too small for the rate, or the calls
    /// take too long).
    no_idle_pair: u64,
    /// Calls accepted, negotiated and hung up, both parties having heard the end.
    completed: u64,
    /// How the calls ended, by outcome (`refused`: the `Invite` was answered with an error).
    outcomes: BTreeMap<&'static str, u64>,
    /// Invitations without exactly one outcome, and messages naming a call the pair is not in.
    violations: u64,
    /// Of those: calls with no outcome by [`CALL_DEADLINE`].
    timed_out: u64,
    /// Of those: messages naming another call than the pair's (or none while idle).
    unknown_call: u64,
    /// `Error`s that answer no `Invite` of the pair.
    errors: u64,
    /// `CallCreated` with no device ringing (the callee is logged in: it must ring).
    not_ringing: u64,
    /// Nanoseconds from `Invite` to `CallCreated` at the caller.
    ringing_ns: Vec<u64>,
    /// Nanoseconds from `Invite` to `Invited` at the callee.
    invited_ns: Vec<u64>,
    /// Nanoseconds from `Invite` to both parties' `CallEnded`, for completed calls.
    call_ns: Vec<u64>,
    /// Nanoseconds from when a call was due to its `Invite` (the load generator's lag).
    lag_ns: Vec<u64>,
}

impl Tally {
    fn violation(&mut self, what: &str) {
        if self.violations == 0 {
            eprintln!("webcall-loadgen: first violation of the run: {what}");
        }
        self.violations += 1;
    }

    fn unknown(&mut self, what: &str) {
        self.unknown_call += 1;
        self.violation(what);
    }
}

/// What the pairs share.
struct Shared {
    tally: Mutex<Tally>,
    /// Calls started and not over yet.
    in_flight: AtomicUsize,
    /// Pairs retired after a call without an outcome, or a dropped connection.
    retired: AtomicUsize,
}

impl Shared {
    fn tally(&self) -> std::sync::MutexGuard<'_, Tally> {
        // A pair that panicked with the lock leaves figures that are still counts.
        self.tally.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A call handed to a pair: when it was due.
#[derive(Debug, Clone, Copy)]
struct Start {
    due: Instant,
}

/// Logs in the pairs, then runs what stdin asks for. Returns the exit code.
pub async fn run(target: &Target, options: &Options) -> i32 {
    let setup_start = Instant::now();
    let permits = Arc::new(Semaphore::new(options.concurrency.max(1)));
    let mut logins = Vec::with_capacity(options.pairs);
    for i in 0..options.pairs {
        let (target, permits) = (target.clone(), permits.clone());
        let from = (source(options, 2 * i), source(options, 2 * i + 1));
        let users = (
            format!("{}a{i}", options.prefix),
            format!("{}b{i}", options.prefix),
        );
        logins.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            let caller = target.login(from.0, &users.0).await?;
            let callee = target.login(from.1, &users.1).await?;
            Ok::<_, LoadError>((caller, callee, users))
        }));
    }
    let (ready, first_error) = crate::join_setups(logins).await;
    say(
        "ready",
        json!({
            "connected": ready.len() * 2,
            "failed": (options.pairs - ready.len()) * 2,
            "secs": setup_start.elapsed().as_secs_f64(),
            "first_error": first_error,
        }),
    );
    if ready.len() < options.pairs {
        return 1;
    }

    let shared = Arc::new(Shared {
        tally: Mutex::new(Tally::default()),
        in_flight: AtomicUsize::new(0),
        retired: AtomicUsize::new(0),
    });
    let (idle_tx, mut idle_rx) = mpsc::unbounded_channel::<usize>();
    let mut starts = Vec::with_capacity(ready.len());
    let sdp = Sdp::new();
    for (index, (caller, callee, (caller_id, callee_id))) in ready.into_iter().enumerate() {
        let (start_tx, start_rx) = mpsc::unbounded_channel();
        starts.push(start_tx);
        let script = Script {
            caller_id,
            callee_id,
            talk: Duration::from_millis(options.talk_ms),
            sdp: sdp.clone(),
            shared: shared.clone(),
            calls: 0,
            call: None,
        };
        let pair = Pair {
            index,
            caller,
            callee,
            script,
            idle: idle_tx.clone(),
        };
        let _ = idle_tx.send(index);
        tokio::spawn(pair.run(start_rx));
    }
    drop(idle_tx);

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut run = 0u32;
    while let Ok(Some(line)) = lines.next_line().await {
        let Some((rate, secs)) = crate::run_command::<f64>(&line) else {
            continue;
        };
        if !(rate > 0.0 && rate * secs < 1e9) {
            eprintln!("webcall-loadgen: bad call rate in {line:?}");
            continue;
        }
        run += 1;
        let result = churn_run(&shared, &starts, &mut idle_rx, run, rate, secs).await;
        say("result", result);
    }
    say(
        "alive",
        json!({
            "retired_pairs": shared.retired.load(Ordering::Relaxed),
            "in_flight": shared.in_flight.load(Ordering::Relaxed),
        }),
    );
    0
}

/// One run: `rate` new calls a second for `secs`, then waits for the calls under way to end
/// (up to [`CALL_DEADLINE`], after which their pairs count them as without an outcome).
async fn churn_run(
    shared: &Shared,
    starts: &[mpsc::UnboundedSender<Start>],
    idle: &mut mpsc::UnboundedReceiver<usize>,
    run: u32,
    rate: f64,
    secs: f64,
) -> serde_json::Value {
    *shared.tally() = Tally::default();
    let cpu_before = stats::own_cpu_secs();
    let begin = Instant::now() + Duration::from_millis(20);
    let calls = (rate * secs).round() as u64;
    let period = Duration::from_secs_f64(1.0 / rate);
    for k in 0..calls {
        let due = begin + period.mul_f64(k as f64);
        if due > Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        // The pairs that went idle meanwhile are queued: take the one idle the longest.
        let mut handed = false;
        while let Ok(index) = idle.try_recv() {
            if let Some(start) = starts.get(index) {
                shared.in_flight.fetch_add(1, Ordering::Relaxed);
                if start.send(Start { due }).is_ok() {
                    handed = true;
                    break;
                }
                shared.in_flight.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let mut tally = shared.tally();
        if handed {
            tally.started += 1;
        } else {
            tally.no_idle_pair += 1;
        }
    }
    let sending_secs = begin.elapsed().as_secs_f64();
    let drain_until = Instant::now() + CALL_DEADLINE + Duration::from_secs(1);
    while shared.in_flight.load(Ordering::Relaxed) > 0 && Instant::now() < drain_until {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let drain_secs = begin.elapsed().as_secs_f64() - sending_secs;
    let cpu = stats::own_cpu_secs() - cpu_before;
    let mut tally = std::mem::take(&mut *shared.tally());
    let percentiles = |samples: &mut Vec<u64>| {
        samples.sort_unstable();
        let ms = |p| stats::percentile(samples, p) as f64 / 1e6;
        json!({
            "n": samples.len(),
            "p50_ms": ms(50.0),
            "p99_ms": ms(99.0),
            "p999_ms": ms(99.9),
            "max_ms": samples.last().copied().unwrap_or(0) as f64 / 1e6,
        })
    };
    json!({
        "run": run,
        "rate": rate,
        "secs": secs,
        "asked": calls,
        "started": tally.started,
        "no_idle_pair": tally.no_idle_pair,
        "completed": tally.completed,
        "outcomes": tally.outcomes,
        "violations": tally.violations,
        "timed_out": tally.timed_out,
        "unknown_call": tally.unknown_call,
        "errors": tally.errors,
        "not_ringing": tally.not_ringing,
        "still_in_flight": shared.in_flight.load(Ordering::Relaxed),
        "retired_pairs": shared.retired.load(Ordering::Relaxed),
        "sending_secs": sending_secs,
        "drain_secs": drain_secs,
        "started_per_sec": tally.started as f64 / sending_secs.max(secs),
        "ringing": percentiles(&mut tally.ringing_ns),
        "invited": percentiles(&mut tally.invited_ns),
        "call": percentiles(&mut tally.call_ns),
        "lag": percentiles(&mut tally.lag_ns),
        "loadgen_cpu_secs": cpu,
    })
}

/// The SDP payloads the calls carry: an audio-only offer and answer of a browser's size
/// (about 1 KB) and its ICE candidates.
#[derive(Clone)]
struct Sdp {
    offer: Arc<str>,
    answer: Arc<str>,
}

impl Sdp {
    fn new() -> Sdp {
        let body = |setup: &str, ufrag: &str| {
            format!(
                "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
                 a=group:BUNDLE 0\r\na=extmap-allow-mixed\r\na=msid-semantic: WMS stream\r\n\
                 m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126\r\nc=IN IP4 0.0.0.0\r\n\
                 a=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:{ufrag}\r\n\
                 a=ice-pwd:asd88fgpdd777uzjYhagZg7Y\r\na=ice-options:trickle\r\n\
                 a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:\
                 5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08\r\na=setup:{setup}\r\na=mid:0\r\n\
                 a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
                 a=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n\
                 a=extmap:3 http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-\
                 extensions-01\r\na=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
                 a=sendrecv\r\na=msid:stream track\r\na=rtcp-mux\r\n\
                 a=rtpmap:111 opus/48000/2\r\na=rtcp-fb:111 transport-cc\r\n\
                 a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:63 red/48000/2\r\n\
                 a=fmtp:63 111/111\r\na=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n\
                 a=rtpmap:8 PCMA/8000\r\na=rtpmap:13 CN/8000\r\n\
                 a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n\
                 a=ssrc:3735928559 cname:k2Vh0Yt1S1rXb0Qm\r\n\
                 a=ssrc:3735928559 msid:stream track\r\n"
            )
        };
        Sdp {
            offer: body("actpass", "Xk3d").into(),
            answer: body("active", "P9qa").into(),
        }
    }

    /// The `n`-th (from 0) ICE candidate of a side.
    fn candidate(n: u32, port: u16) -> Signal {
        Signal::Ice {
            candidate: format!(
                "candidate:{} 1 udp 2122260223 127.0.0.1 {} typ host generation 0 \
                 ufrag Xk3d network-id 1",
                1_000_000 + n,
                u32::from(port) + n
            ),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        }
    }
}

/// Which connection of a pair a message came on, or goes to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Caller,
    Callee,
}

/// A pair's call under way.
#[derive(Debug)]
struct Call {
    /// The `req` of its `Invite`.
    req: u32,
    invite_at: Instant,
    deadline: Instant,
    /// Its ID, from `CallCreated` or `Invited`, whichever came first.
    id: Option<CallId>,
    /// `CallCreated`s for its request (must be 1, or 0 when refused).
    created: u32,
    /// The `Invite` was answered with an `Error`.
    refused: bool,
    /// `Invited`s at the callee (1, or 0 when the call never rang).
    invited: u32,
    /// `Accepted`s: at the caller, at the callee.
    accepted: (u32, u32),
    /// Signals received: by the caller (from the callee), by the callee.
    signals: (u32, u32),
    /// `CallEnded`s: at the caller, at the callee.
    ended: (u32, u32),
    /// How it ended (from the first `CallEnded`).
    outcome: Option<&'static str>,
    /// When to hang up, once negotiated.
    hangup_at: Option<Instant>,
    hung_up: bool,
}

/// What a pair's timer means.
#[derive(Debug, PartialEq)]
enum Timer {
    /// Nothing to do (yet).
    Nothing,
    /// Send this (the hang-up).
    Send(Side, ClientMsg),
    /// The call has no outcome by its deadline: counted, and the pair can not go on.
    Deadline,
}

/// The calls of one pair without its connections: what each message means, what to send in
/// answer, and what to count. Apart from the sockets so that it is tested on its own.
struct Script {
    caller_id: String,
    callee_id: String,
    talk: Duration,
    sdp: Sdp,
    shared: Arc<Shared>,
    /// Calls placed so far (numbers the requests; even ones are hung up by the caller).
    calls: u32,
    /// The call under way.
    call: Option<Call>,
}

impl Script {
    /// Whether the pair has no call under way.
    fn is_idle(&self) -> bool {
        self.call.is_none()
    }

    /// Places a call that was due at `start.due`: the caller's `Invite`.
    fn invite(&mut self, start: Start, now: Instant) -> ClientMsg {
        self.calls = self.calls.wrapping_add(1);
        let req = self.calls;
        self.shared
            .tally()
            .lag_ns
            .push(nanos(now.saturating_duration_since(start.due)));
        self.call = Some(Call {
            req,
            invite_at: now,
            deadline: now + CALL_DEADLINE,
            id: None,
            created: 0,
            refused: false,
            invited: 0,
            accepted: (0, 0),
            signals: (0, 0),
            ended: (0, 0),
            outcome: None,
            hangup_at: None,
            hung_up: false,
        });
        ClientMsg::Invite {
            req,
            callee: self.callee_id.clone(),
            call_type: CallType::Audio,
            timeout_secs: None,
        }
    }

    /// When the pair's timer must wake: to hang up, or at the call's deadline.
    fn wake(&self) -> Option<Instant> {
        self.call.as_ref().map(|c| match c.hangup_at {
            Some(at) if !c.hung_up => at.min(c.deadline),
            _ => c.deadline,
        })
    }

    /// What a message that came on `side` at `now` means for the call, and what the pair
    /// sends in answer.
    fn on_msg(&mut self, side: Side, msg: ServerMsg, now: Instant) -> Vec<(Side, ClientMsg)> {
        match side {
            Side::Caller => self.on_caller_msg(msg, now),
            Side::Callee => self.on_callee_msg(msg, now),
        }
    }

    fn on_caller_msg(&mut self, msg: ServerMsg, now: Instant) -> Vec<(Side, ClientMsg)> {
        let mut out = Vec::new();
        match msg {
            ServerMsg::CallCreated {
                req,
                call_id,
                ringing,
                ..
            } => {
                let Some(c) = self.call.as_mut().filter(|c| c.req == req) else {
                    self.shared.tally().unknown("CallCreated for no Invite");
                    return out;
                };
                c.created += 1;
                if c.created > 1 || c.refused || c.id.as_ref().is_some_and(|id| *id != call_id) {
                    self.shared
                        .tally()
                        .violation("a second answer to an Invite");
                    return out;
                }
                {
                    let mut tally = self.shared.tally();
                    tally
                        .ringing_ns
                        .push(nanos(now.saturating_duration_since(c.invite_at)));
                    if ringing == 0 {
                        tally.not_ringing += 1;
                    }
                }
                c.id = Some(call_id.clone());
                let offer = Signal::Offer {
                    sdp: self.sdp.offer.to_string(),
                };
                let candidates = (0..CANDIDATES).map(|n| Sdp::candidate(n, 50_000));
                for signal in std::iter::once(offer).chain(candidates) {
                    let call_id = call_id.clone();
                    out.push((Side::Caller, ClientMsg::Signal { call_id, signal }));
                }
            }
            ServerMsg::Error { req: Some(req), .. }
                if self.call.as_ref().is_some_and(|c| c.req == req) =>
            {
                if let Some(c) = self.call.as_mut() {
                    if c.created > 0 || c.refused {
                        self.shared
                            .tally()
                            .violation("a second answer to an Invite");
                    } else {
                        c.refused = true;
                        c.outcome = Some("refused");
                    }
                }
            }
            ServerMsg::Accepted { call_id } => {
                let talk = self.talk;
                if let Some(c) = self.ours(&call_id, "Accepted") {
                    c.accepted.0 += 1;
                    c.maybe_hang_up(now + talk);
                }
            }
            ServerMsg::Signal { call_id, .. } => {
                let talk = self.talk;
                if let Some(c) = self.ours(&call_id, "Signal") {
                    c.signals.0 += 1;
                    c.maybe_hang_up(now + talk);
                }
            }
            ServerMsg::CallEnded { call_id, outcome } => {
                if let Some(c) = self.ours(&call_id, "CallEnded") {
                    c.ended.0 += 1;
                    c.outcome.get_or_insert(outcome_name(&outcome));
                }
            }
            ServerMsg::Ringing { call_id, .. } => {
                self.ours(&call_id, "Ringing");
            }
            other => self.other(Side::Caller, other),
        }
        out
    }

    fn on_callee_msg(&mut self, msg: ServerMsg, now: Instant) -> Vec<(Side, ClientMsg)> {
        let mut out = Vec::new();
        match msg {
            ServerMsg::Invited {
                call_id, caller, ..
            } => {
                let caller_id = &self.caller_id;
                let Some(c) = self.call.as_mut().filter(|c| {
                    caller == *caller_id && c.invited == 0 && c.ended.1 == 0 && !c.refused
                }) else {
                    self.shared
                        .tally()
                        .unknown("an invitation for no Invite (or a second one)");
                    return out;
                };
                if c.id.as_ref().is_some_and(|id| *id != call_id) {
                    self.shared
                        .tally()
                        .unknown("an invitation to another call than the caller's");
                    return out;
                }
                c.invited += 1;
                c.id = Some(call_id.clone());
                let latency = nanos(now.saturating_duration_since(c.invite_at));
                self.shared.tally().invited_ns.push(latency);
                out.push((Side::Callee, ClientMsg::Accept { call_id }));
            }
            ServerMsg::Accepted { call_id } => {
                let talk = self.talk;
                if let Some(c) = self.ours(&call_id, "Accepted") {
                    c.accepted.1 += 1;
                    c.maybe_hang_up(now + talk);
                }
            }
            ServerMsg::Signal { call_id, signal } => {
                let talk = self.talk;
                let Some(c) = self.ours(&call_id, "Signal") else {
                    return out;
                };
                c.signals.1 += 1;
                c.maybe_hang_up(now + talk);
                if matches!(signal, Signal::Offer { .. }) {
                    let answer = Signal::Answer {
                        sdp: self.sdp.answer.to_string(),
                    };
                    let candidates = (0..CANDIDATES).map(|n| Sdp::candidate(n, 60_000));
                    for signal in std::iter::once(answer).chain(candidates) {
                        let call_id = call_id.clone();
                        out.push((Side::Callee, ClientMsg::Signal { call_id, signal }));
                    }
                }
            }
            ServerMsg::CallEnded { call_id, outcome } => {
                if let Some(c) = self.ours(&call_id, "CallEnded") {
                    c.ended.1 += 1;
                    c.outcome.get_or_insert(outcome_name(&outcome));
                }
            }
            other => self.other(Side::Callee, other),
        }
        out
    }

    /// A message outside the call's steps: heartbeats and session notices are fine, an error
    /// is counted, anything else names a call the user is not in.
    fn other(&mut self, side: Side, msg: ServerMsg) {
        match msg {
            ServerMsg::Pong | ServerMsg::SessionExpiring { .. } | ServerMsg::Renewed { .. } => {}
            ServerMsg::Error { code, message, .. } => {
                let mut tally = self.shared.tally();
                if tally.errors == 0 {
                    eprintln!("webcall-loadgen: the {side:?} was told {code:?}: {message}");
                }
                tally.errors += 1;
            }
            other => self
                .shared
                .tally()
                .unknown(&format!("the {side:?} was sent {other:?}")),
        }
    }

    /// The pair's call, when `call_id` names it; otherwise counts a message for an unknown
    /// call.
    fn ours(&mut self, call_id: &str, what: &str) -> Option<&mut Call> {
        match self.call.as_mut() {
            Some(c) if c.id.as_deref() == Some(call_id) => Some(c),
            _ => {
                self.shared
                    .tally()
                    .unknown(&format!("{what} for a call the pair is not in"));
                None
            }
        }
    }

    /// What the timer means at `now`.
    fn on_timer(&mut self, now: Instant) -> Timer {
        let Some(c) = self.call.as_mut() else {
            return Timer::Nothing;
        };
        if now >= c.deadline {
            let mut tally = self.shared.tally();
            tally.timed_out += 1;
            tally.violation(&format!(
                "a call without an outcome after {CALL_DEADLINE:?}"
            ));
            return Timer::Deadline;
        }
        match (c.hangup_at, &c.id) {
            (Some(at), Some(id)) if at <= now && !c.hung_up && c.ended == (0, 0) => {
                c.hung_up = true;
                let side = if c.req % 2 == 0 {
                    Side::Caller
                } else {
                    Side::Callee
                };
                let call_id = id.clone();
                Timer::Send(
                    side,
                    ClientMsg::Hangup {
                        call_id,
                        failure: None,
                    },
                )
            }
            _ => Timer::Nothing,
        }
    }

    /// When the call is over for both parties (the caller has its one result, and the callee,
    /// when invited, heard the end): counts it and returns true, the pair being idle again.
    fn finish_if_over(&mut self, now: Instant) -> bool {
        let over = self.call.as_ref().is_some_and(|c| {
            c.refused || (c.created >= 1 && c.ended.0 >= 1 && (c.invited == 0 || c.ended.1 >= 1))
        });
        let Some(c) = self.call.take_if(|_| over) else {
            return false;
        };
        let mut tally = self.shared.tally();
        let exactly_one = if c.refused {
            c.created == 0 && c.ended == (0, 0) && c.invited == 0
        } else {
            c.created == 1 && c.ended.0 == 1 && c.invited <= 1 && c.ended.1 == c.invited
        };
        if !exactly_one {
            tally.violation(&format!("an invitation with more than one outcome: {c:?}"));
        }
        let outcome = c.outcome.unwrap_or("none");
        *tally.outcomes.entry(outcome).or_default() += 1;
        if outcome == "hung_up" && c.hung_up {
            tally.completed += 1;
            tally
                .call_ns
                .push(nanos(now.saturating_duration_since(c.invite_at)));
        }
        drop(tally);
        self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        true
    }

    /// Gives up the call under way (the pair is retired).
    fn abandon(&mut self) {
        if self.call.take().is_some() {
            self.shared.in_flight.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Call {
    /// Sets the hang-up time (`at`) once both parties heard `Accepted` and each has the
    /// other's signals: every message either party sent has been handled by then.
    fn maybe_hang_up(&mut self, at: Instant) {
        let signals = 1 + CANDIDATES;
        if self.hangup_at.is_none()
            && self.accepted == (1, 1)
            && self.signals.0 >= signals
            && self.signals.1 >= signals
        {
            self.hangup_at = Some(at);
        }
    }
}

/// A caller and a callee, placing calls when the scheduler says so.
struct Pair {
    index: usize,
    caller: Conn,
    callee: Conn,
    script: Script,
    /// Where the pair says it is idle again.
    idle: mpsc::UnboundedSender<usize>,
}

/// What a pair does after a message or a timer.
enum Next {
    Go,
    /// The pair can not go on (a dropped connection, a call without an outcome).
    Retire,
}

impl Pair {
    async fn run(mut self, mut starts: mpsc::UnboundedReceiver<Start>) {
        let timer = tokio::time::sleep(Duration::from_secs(3600));
        tokio::pin!(timer);
        let mut armed: Option<Instant> = None;
        loop {
            let wake = self.script.wake();
            if wake != armed {
                if let Some(at) = wake {
                    timer.as_mut().reset(at);
                }
                armed = wake;
            }
            let idle = self.script.is_idle();
            let next = tokio::select! {
                start = starts.recv(), if idle => match start {
                    Some(start) => {
                        let invite = self.script.invite(start, Instant::now());
                        self.send(vec![(Side::Caller, invite)]).await
                    }
                    None => return,
                },
                frame = self.caller.ws.next() => self.on_frame(Side::Caller, frame).await,
                frame = self.callee.ws.next() => self.on_frame(Side::Callee, frame).await,
                () = &mut timer, if armed.is_some() => match self.script.on_timer(Instant::now()) {
                    Timer::Nothing => Next::Go,
                    Timer::Send(side, msg) => self.send(vec![(side, msg)]).await,
                    Timer::Deadline => Next::Retire,
                },
            };
            if let Next::Retire = next {
                self.script.abandon();
                self.script.shared.retired.fetch_add(1, Ordering::Relaxed);
                eprintln!("webcall-loadgen: pair {} retired", self.index);
                // Keep reading, so that the server does not count the connections as stuck,
                // but place no more calls.
                self.drain().await;
                return;
            }
            if self.script.finish_if_over(Instant::now()) {
                let _ = self.idle.send(self.index);
            }
        }
    }

    async fn on_frame(&mut self, side: Side, frame: Option<Result<Message, WsError>>) -> Next {
        let conn = self.conn(side);
        let Some(Ok(frame)) = frame else {
            return Next::Retire;
        };
        let msg = match conn.read(frame) {
            Ok(Some(msg)) => msg,
            Ok(None) => return Next::Go,
            Err(_) => return Next::Retire,
        };
        if conn.ack_if_due().await.is_err() {
            return Next::Retire;
        }
        let out = self.script.on_msg(side, msg, Instant::now());
        self.send(out).await
    }

    /// Sends each message on its side's connection, one frame each (as a browser sends them).
    async fn send(&mut self, msgs: Vec<(Side, ClientMsg)>) -> Next {
        for (side, msg) in msgs {
            if self.conn(side).send(&msg).await.is_err() {
                return Next::Retire;
            }
        }
        Next::Go
    }

    fn conn(&mut self, side: Side) -> &mut Conn {
        match side {
            Side::Caller => &mut self.caller,
            Side::Callee => &mut self.callee,
        }
    }

    /// Reads both connections until they end (a retired pair).
    async fn drain(&mut self) {
        loop {
            tokio::select! {
                frame = self.caller.ws.next() => if !matches!(frame, Some(Ok(_))) { return },
                frame = self.callee.ws.next() => if !matches!(frame, Some(Ok(_))) { return },
            }
        }
    }
}

/// A duration in nanoseconds, as the figures keep them.
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The name of an outcome in the figures.
fn outcome_name(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Rejected => "rejected",
        Outcome::Busy => "busy",
        Outcome::NoAnswer { .. } => "no_answer",
        Outcome::Cancelled { .. } => "cancelled",
        Outcome::HungUp { .. } => "hung_up",
        Outcome::Failed { .. } => "failed",
        Outcome::ConnectionLost { .. } => "connection_lost",
    }
}

/// The `i`-th source address.
fn source(options: &Options, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(
        127,
        0,
        0,
        2 + (i % usize::from(options.sources.max(1))) as u8,
    )
}

/// Prints a line for the driving process.
fn say(what: &str, value: serde_json::Value) {
    println!("{what} {value}");
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0e6f2d1c-6b8a-4c39-9d2e-7f1f2a3b4c5d";

    /// A pair's script with one call placed (request 1, hung up by the callee).
    fn placed() -> (Script, Instant) {
        let shared = Arc::new(Shared {
            tally: Mutex::new(Tally::default()),
            in_flight: AtomicUsize::new(1),
            retired: AtomicUsize::new(0),
        });
        let mut script = Script {
            caller_id: "ca0".into(),
            callee_id: "cb0".into(),
            talk: Duration::ZERO,
            sdp: Sdp::new(),
            shared,
            calls: 0,
            call: None,
        };
        let now = Instant::now();
        let invite = script.invite(Start { due: now }, now);
        assert!(matches!(invite, ClientMsg::Invite { req: 1, ref callee, .. } if callee == "cb0"));
        assert!(!script.is_idle());
        (script, now)
    }

    fn created() -> ServerMsg {
        ServerMsg::CallCreated {
            req: 1,
            call_id: ID.into(),
            callee: "cb0".into(),
            ringing: 1,
        }
    }

    fn invited() -> ServerMsg {
        ServerMsg::Invited {
            call_id: ID.into(),
            caller: "ca0".into(),
            call_type: CallType::Audio,
            timeout_secs: 30,
        }
    }

    fn signal(signal: Signal) -> ServerMsg {
        ServerMsg::Signal {
            call_id: ID.into(),
            signal,
        }
    }

    fn ended() -> ServerMsg {
        ServerMsg::CallEnded {
            call_id: ID.into(),
            outcome: Outcome::HungUp {
                by: "cb0".into(),
                duration_secs: 0,
            },
        }
    }

    /// Plays a whole call up to the hang-up; returns what was sent, in order.
    fn negotiate(script: &mut Script, now: Instant) -> Vec<(Side, ClientMsg)> {
        let mut sent = Vec::new();
        // The callee may hear of the call before the caller hears it created.
        sent.extend(script.on_msg(Side::Callee, invited(), now));
        sent.extend(script.on_msg(Side::Caller, created(), now));
        let accepted = || ServerMsg::Accepted { call_id: ID.into() };
        sent.extend(script.on_msg(Side::Caller, accepted(), now));
        sent.extend(script.on_msg(Side::Callee, accepted(), now));
        let offer = Signal::Offer { sdp: "v=0".into() };
        sent.extend(script.on_msg(Side::Callee, signal(offer), now));
        let answer = Signal::Answer { sdp: "v=0".into() };
        sent.extend(script.on_msg(Side::Caller, signal(answer), now));
        for n in 0..CANDIDATES {
            sent.extend(script.on_msg(Side::Callee, signal(Sdp::candidate(n, 1)), now));
            sent.extend(script.on_msg(Side::Caller, signal(Sdp::candidate(n, 2)), now));
        }
        sent
    }

    #[test]
    fn a_whole_call_is_one_outcome() {
        let (mut script, now) = placed();
        let sent = negotiate(&mut script, now);
        let kinds: Vec<(Side, &str)> = sent
            .iter()
            .map(|(side, msg)| {
                let kind = match msg {
                    ClientMsg::Accept { .. } => "accept",
                    ClientMsg::Signal {
                        signal: Signal::Offer { .. },
                        ..
                    } => "offer",
                    ClientMsg::Signal {
                        signal: Signal::Answer { .. },
                        ..
                    } => "answer",
                    ClientMsg::Signal { .. } => "ice",
                    _ => "other",
                };
                (*side, kind)
            })
            .collect();
        use Side::{Callee, Caller};
        assert_eq!(
            kinds,
            [
                (Callee, "accept"),
                (Caller, "offer"),
                (Caller, "ice"),
                (Caller, "ice"),
                (Callee, "answer"),
                (Callee, "ice"),
                (Callee, "ice"),
            ]
        );
        // Negotiated: the callee (odd request) hangs up now.
        assert_eq!(script.wake(), Some(now));
        let hangup = ClientMsg::Hangup {
            call_id: ID.into(),
            failure: None,
        };
        assert_eq!(script.on_timer(now), Timer::Send(Callee, hangup));
        assert_eq!(script.on_timer(now), Timer::Nothing);
        assert!(script.on_msg(Caller, ended(), now).is_empty());
        assert!(
            !script.finish_if_over(now),
            "the callee has not heard the end"
        );
        script.on_msg(Callee, ended(), now);
        assert!(script.finish_if_over(now));
        assert!(script.is_idle());
        let tally = std::mem::take(&mut *script.shared.tally());
        assert_eq!(tally.completed, 1);
        assert_eq!(tally.violations, 0);
        assert_eq!(tally.outcomes.get("hung_up"), Some(&1));
        assert_eq!(
            (
                tally.ringing_ns.len(),
                tally.invited_ns.len(),
                tally.call_ns.len()
            ),
            (1, 1, 1)
        );
        assert_eq!(script.shared.in_flight.load(Ordering::Relaxed), 0);

        // A second end of the same call names a call the pair is no longer in.
        script.on_msg(Callee, ended(), now);
        let tally = script.shared.tally();
        assert_eq!((tally.violations, tally.unknown_call), (1, 1));
    }

    #[test]
    fn a_refused_invite_is_one_outcome() {
        let (mut script, now) = placed();
        let refused = ServerMsg::Error {
            code: webcall_protocol::ErrorCode::RateLimited,
            message: "slow down".into(),
            req: Some(1),
        };
        script.on_msg(Side::Caller, refused, now);
        assert!(script.finish_if_over(now));
        let tally = script.shared.tally();
        assert_eq!(tally.outcomes.get("refused"), Some(&1));
        assert_eq!((tally.violations, tally.completed, tally.errors), (0, 0, 0));
    }

    #[test]
    fn second_answers_and_strangers_calls_are_violations() {
        let (mut script, now) = placed();
        script.on_msg(Side::Caller, created(), now);
        script.on_msg(Side::Caller, created(), now);
        let stranger = ServerMsg::Accepted {
            call_id: "another".into(),
        };
        script.on_msg(Side::Callee, stranger, now);
        script.on_msg(Side::Callee, invited(), now);
        script.on_msg(Side::Callee, invited(), now);
        let tally = script.shared.tally();
        assert_eq!((tally.violations, tally.unknown_call), (3, 2));
    }

    #[test]
    fn a_busy_callee_ends_the_call_without_an_invitation() {
        let (mut script, now) = placed();
        script.on_msg(Side::Caller, created(), now);
        let busy = ServerMsg::CallEnded {
            call_id: ID.into(),
            outcome: Outcome::Busy,
        };
        script.on_msg(Side::Caller, busy, now);
        assert!(script.finish_if_over(now));
        let tally = script.shared.tally();
        assert_eq!(tally.outcomes.get("busy"), Some(&1));
        assert_eq!((tally.violations, tally.completed), (0, 0));
    }

    #[test]
    fn a_call_without_an_outcome_by_its_deadline_is_a_violation() {
        let (mut script, now) = placed();
        script.on_msg(Side::Caller, created(), now);
        assert_eq!(script.wake(), Some(now + CALL_DEADLINE));
        assert_eq!(script.on_timer(now), Timer::Nothing);
        assert_eq!(script.on_timer(now + CALL_DEADLINE), Timer::Deadline);
        script.abandon();
        assert!(script.is_idle());
        assert_eq!(script.shared.in_flight.load(Ordering::Relaxed), 0);
        let tally = script.shared.tally();
        assert_eq!((tally.violations, tally.timed_out), (1, 1));
    }

    #[test]
    fn signals_have_a_browsers_size() {
        let sdp = Sdp::new();
        assert!(
            (900..2000).contains(&sdp.offer.len()),
            "{}",
            sdp.offer.len()
        );
        let Signal::Ice { candidate, .. } = Sdp::candidate(1, 50_000) else {
            panic!("not a candidate");
        };
        assert!(candidate.starts_with("candidate:1000001 1 udp"));
        assert!(candidate.contains(" 50001 typ host"));
    }

    #[test]
    fn outcomes_have_names() {
        assert_eq!(
            outcome_name(&Outcome::HungUp {
                by: "a".into(),
                duration_secs: 0
            }),
            "hung_up"
        );
        assert_eq!(outcome_name(&Outcome::Busy), "busy");
    }
}
