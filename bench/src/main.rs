//! `webcall-loadgen`: the load generator of `cargo xtask bench`, a process of its own so that
//! its CPU and memory never count as the server's.
//!
//! It talks to the driving process (xtask) in lines: on stdout `ready {json}` once its users are
//! set up, `result {json}` after each relay run, `alive {json}` before it exits; on stdin
//! `run <rate> <secs>` starts a run (relay: messages/s, 0 for flat out; churn: calls/s), and the end of stdin ends it.
//!
//! - `idle`: logs in `--users` distinct users, one connection each, and keeps them idle; the
//!   server's WebSocket pings are answered as browsers answer them.
//! - `relay`: `--pairs` pairs of users, each pair in an accepted call, exchange `Signal`s of
//!   `--size` bytes that carry their send time.
//! - `churn`: `--pairs` caller/callee pairs place complete calls (invite, ring, accept, a few
//!   signals, hang up) at the rate `run <calls/s> <secs>` asks, timing invite→ringing and
//!   checking that every invitation has exactly one outcome ([`churn`]; WebCall only).
//!
//! `--server` picks the server the load goes to: WebCall's (`webcall`, the default) or PeerJS's
//! (`peerjs`, the comparison of `cargo xtask bench`). The load patterns, the flow control and
//! the figures are the same for both; only the protocol differs ([`UserConn`], over
//! [`webcall`] and [`peerjs`]). With PeerJS there are no logins and no calls: a connection is
//! open once the server says `OPEN`, and the two users of a pair address each other by ID.

mod churn;
mod peerjs;
mod stats;
mod webcall;

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use futures_util::StreamExt;
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::{watch, Semaphore};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message};
use webcall_protocol::ServerMsg;
use webcall_server::UserSigKey;

use crate::peerjs::{Incoming, PeerJsError};
use crate::webcall::{signal_frame, signal_stamp, LoadError, Stamp, Target};

#[derive(Debug, Parser)]
#[command(name = "webcall-loadgen", about = "WebCall's load generator")]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Debug, Args)]
struct Common {
    /// The server's address (loopback only).
    #[arg(long)]
    addr: SocketAddr,
    /// Which server the load goes to.
    #[arg(long, value_enum, default_value_t = ServerKind::Webcall)]
    server: ServerKind,
    /// The server's secret key, to sign the users' UserSigs (WebCall only).
    #[arg(long, default_value = "")]
    secret_key: String,
    /// The server's SDKAppID.
    #[arg(long, default_value_t = 1_400_000_000)]
    sdk_app_id: u32,
    /// How many source addresses to spread the connections over: 127.0.0.2, 127.0.0.3, ...
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u8).range(1..=200))]
    sources: u8,
    /// How many connections are being set up at once.
    #[arg(long, default_value_t = 128)]
    concurrency: usize,
    /// Prefix of the user IDs (`<prefix><n>`).
    #[arg(long, default_value = "u")]
    prefix: String,
}

/// The servers the load generator speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ServerKind {
    /// WebCall's signaling server (`webcall-server`).
    Webcall,
    /// A PeerJS server (npm package `peer`).
    Peerjs,
}

#[derive(Debug, Subcommand)]
enum Bench {
    /// Idle logged-in connections, one user each.
    Idle {
        /// How many users.
        #[arg(long)]
        users: usize,
        /// The number of the first user.
        #[arg(long, default_value_t = 0)]
        first: usize,
    },
    /// Pairs of users in calls relaying signals.
    Relay {
        /// How many pairs.
        #[arg(long, default_value_t = 1000)]
        pairs: usize,
        /// The size of each message, in bytes.
        #[arg(long, default_value_t = 500)]
        size: usize,
        /// Flat out: the messages each connection keeps in flight.
        #[arg(long, default_value_t = 4)]
        window: u32,
    },
    /// Pairs of users placing complete calls at the rates stdin asks for (WebCall only).
    Churn {
        /// How many caller/callee pairs.
        #[arg(long, default_value_t = 1000)]
        pairs: usize,
        /// How long an accepted call lasts once negotiated, in milliseconds.
        #[arg(long, default_value_t = 0)]
        talk_ms: u64,
    },
}

fn main() {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("webcall-loadgen: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let code = runtime.block_on(async {
        let target = Target {
            addr: cli.common.addr,
            key: UserSigKey::new(cli.common.sdk_app_id, cli.common.secret_key.clone()),
        };
        match cli.bench {
            Bench::Idle { users, first } => idle(&target, &cli.common, first, users).await,
            Bench::Relay {
                pairs,
                size,
                window,
            } => relay(&target, &cli.common, pairs, size, window).await,
            Bench::Churn { pairs, talk_ms } => {
                let options = churn::Options {
                    pairs,
                    talk_ms,
                    sources: cli.common.sources,
                    concurrency: cli.common.concurrency,
                    prefix: cli.common.prefix.clone(),
                };
                churn::run(&target, &options).await
            }
        }
    });
    // Exits without closing thousands of connections one by one.
    std::process::exit(code);
}

/// The `i`-th source address.
fn source(common: &Common, i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + (i % usize::from(common.sources)) as u8)
}

/// Prints a line for the driving process.
/// Waits for set-up tasks: what they set up, and the first error (of a task or its set-up).
pub(crate) async fn join_setups<T, E: std::fmt::Display>(
    tasks: Vec<tokio::task::JoinHandle<Result<T, E>>>,
) -> (Vec<T>, Option<String>) {
    let mut done = Vec::with_capacity(tasks.len());
    let mut first_error = None;
    for task in tasks {
        match task.await {
            Ok(Ok(item)) => done.push(item),
            Ok(Err(e)) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
    (done, first_error)
}

/// Parses a `run <rate> <secs>` line from the driving process (a positive duration); says on
/// stderr what is wrong with any other line.
pub(crate) fn run_command<R: std::str::FromStr>(line: &str) -> Option<(R, f64)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let ["run", rate, secs] = words.as_slice() else {
        eprintln!("webcall-loadgen: unknown command {line:?}");
        return None;
    };
    match (rate.parse::<R>(), secs.parse::<f64>()) {
        (Ok(rate), Ok(secs)) if secs > 0.0 => Some((rate, secs)),
        _ => {
            eprintln!("webcall-loadgen: bad command {line:?}");
            None
        }
    }
}

fn say(what: &str, value: serde_json::Value) {
    println!("{what} {value}");
}

/// A simulated user's connection to the server under test, whichever it is: the load patterns
/// are the same for both servers, only the protocol differs.
enum UserConn {
    /// Logged in to WebCall.
    WebCall(webcall::Conn),
    /// Open on PeerJS.
    PeerJs(peerjs::Conn),
}

/// What a frame means to the benches.
enum Received {
    /// A relayed message the bench sent, with its stamp.
    Stamped(Stamp),
    /// The server reported an error (what it said).
    Refused(String),
    /// Anything else (pings, presence, ...).
    Other,
}

/// Why a simulated user failed, on either server.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    WebCall(#[from] LoadError),
    #[error(transparent)]
    PeerJs(#[from] PeerJsError),
}

impl UserConn {
    /// Connects from `from` as `user`: logged in (WebCall) or open (PeerJS).
    async fn open(
        target: &Target,
        server: ServerKind,
        from: Ipv4Addr,
        user: &str,
    ) -> Result<UserConn, Failure> {
        Ok(match server {
            ServerKind::Webcall => UserConn::WebCall(target.login(from, user).await?),
            ServerKind::Peerjs => UserConn::PeerJs(peerjs::connect(target.addr, from, user).await?),
        })
    }

    /// The next frame, `None` once the connection ended. Cancel-safe (PeerJS connections send
    /// their heartbeats meanwhile).
    async fn frame(&mut self) -> Option<Result<Message, tungstenite::Error>> {
        match self {
            UserConn::WebCall(conn) => conn.ws.next().await,
            UserConn::PeerJs(conn) => conn.frame().await,
        }
    }

    /// What `frame` means; acknowledges WebCall's numbered messages when due.
    async fn receive(&mut self, frame: Message) -> Result<Received, Failure> {
        match self {
            UserConn::WebCall(conn) => {
                let received = match conn.read(frame)? {
                    Some(msg) => match (signal_stamp(&msg), msg) {
                        (Some(stamp), _) => Received::Stamped(stamp),
                        (None, ServerMsg::Error { code, message, .. }) => {
                            Received::Refused(format!("{code:?}: {message}"))
                        }
                        (None, _) => Received::Other,
                    },
                    None => Received::Other,
                };
                conn.ack_if_due().await?;
                Ok(received)
            }
            UserConn::PeerJs(conn) => Ok(match conn.read(frame)? {
                Some(Incoming::Stamped(stamp)) => Received::Stamped(stamp),
                Some(Incoming::Other(msg)) => match peerjs::candidate_stamp(&msg) {
                    Some(stamp) => Received::Stamped(stamp),
                    None => peerjs::refusal(&msg).map_or(Received::Other, Received::Refused),
                },
                None => Received::Other,
            }),
        }
    }

    /// Sends a `size`-byte message stamped with `stamp` to `to`: a call's ID (WebCall, a
    /// `Signal`) or the other user's ID (PeerJS, a `CANDIDATE`).
    async fn send_stamped(&mut self, to: &str, stamp: Stamp, size: usize) -> Result<(), Failure> {
        match self {
            UserConn::WebCall(conn) => conn.send_text(signal_frame(to, stamp, size)).await?,
            UserConn::PeerJs(conn) => {
                conn.send_text(peerjs::candidate_frame(to, stamp, size))
                    .await?
            }
        }
        Ok(())
    }
}

/// Logs in the users and holds them idle until stdin ends; then tells how many are still open.
async fn idle(target: &Target, common: &Common, first: usize, users: usize) -> i32 {
    let open = Arc::new(AtomicUsize::new(0));
    let permits = Arc::new(Semaphore::new(common.concurrency.max(1)));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel::<Result<(), Failure>>();
    let start = Instant::now();
    for n in first..first + users {
        let target = target.clone();
        let from = source(common, n);
        let user = format!("{}{n}", common.prefix);
        let (open, permits, done) = (open.clone(), permits.clone(), done_tx.clone());
        let server = common.server;
        tokio::spawn(async move {
            let Ok(permit) = permits.acquire_owned().await else {
                return;
            };
            let mut conn = match UserConn::open(&target, server, from, &user).await {
                Ok(conn) => conn,
                Err(e) => {
                    let _ = done.send(Err(e));
                    return;
                }
            };
            drop(permit);
            open.fetch_add(1, Ordering::Relaxed);
            let _ = done.send(Ok(()));
            // Idle: read (which answers the server's pings, and sends PeerJS's heartbeats)
            // until the connection ends.
            while let Some(Ok(frame)) = conn.frame().await {
                if conn.receive(frame).await.is_err() {
                    break;
                }
            }
            open.fetch_sub(1, Ordering::Relaxed);
        });
    }
    drop(done_tx);
    let (mut connected, mut failed, mut first_error) = (0usize, 0usize, None::<String>);
    while let Some(done) = done_rx.recv().await {
        match done {
            Ok(()) => connected += 1,
            Err(e) => {
                failed += 1;
                first_error.get_or_insert_with(|| e.to_string());
            }
        }
        if connected + failed == users {
            break;
        }
    }
    let secs = start.elapsed().as_secs_f64();
    say(
        "ready",
        json!({"connected": connected, "failed": failed, "secs": secs, "first_error": first_error}),
    );
    let mut rest = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut rest).await;
    say("alive", json!({"open": open.load(Ordering::Relaxed)}));
    i32::from(failed > 0)
}

/// What every relaying connection follows: the current run.
#[derive(Debug, Clone, Copy)]
struct Phase {
    /// 0 before the first run.
    run: u32,
    /// Messages a second over all connections; 0 for flat out.
    rate: u32,
    start: Instant,
    until: Instant,
}

/// What the relaying connections count, shared.
struct Tally {
    /// The process's clock origin for the stamps.
    epoch: Instant,
    run: AtomicU32,
    sent: AtomicU64,
    received: AtomicU64,
    /// `Error`s the server answered during runs.
    errors: AtomicU64,
    /// Connections that failed or closed during runs.
    dropped: AtomicU64,
    /// Messages of earlier runs that arrived late.
    stale: AtomicU64,
    /// Latencies of the current run, in nanoseconds, sharded to keep the locks apart.
    latencies: Vec<Mutex<Vec<u64>>>,
}

const SHARDS: usize = 16;

impl Tally {
    fn record(&self, shard: usize, latency_ns: u64) {
        if let Ok(mut shard) = self.latencies[shard % SHARDS].lock() {
            shard.push(latency_ns);
        }
        self.received.fetch_add(1, Ordering::Relaxed);
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }
}

/// Sets up the pairs in calls, then runs what stdin asks for.
async fn relay(target: &Target, common: &Common, pairs: usize, size: usize, window: u32) -> i32 {
    let permits = Arc::new(Semaphore::new(common.concurrency.max(1)));
    let start = Instant::now();
    let mut setups = Vec::new();
    for i in 0..pairs {
        let target = target.clone();
        let permits = permits.clone();
        let (from_a, from_b) = (source(common, 2 * i), source(common, 2 * i + 1));
        let (a, b) = (
            format!("{}a{i}", common.prefix),
            format!("{}b{i}", common.prefix),
        );
        let server = common.server;
        setups.push(tokio::spawn(async move {
            let _permit = permits.acquire_owned().await;
            // Each connection with where its messages go.
            let pair = match server {
                ServerKind::Webcall => {
                    let mut caller = target.login(from_a, &a).await?;
                    let mut callee = target.login(from_b, &b).await?;
                    let call_id = webcall::setup_call(&mut caller, &mut callee, &b).await?;
                    [
                        (UserConn::WebCall(caller), call_id.clone()),
                        (UserConn::WebCall(callee), call_id),
                    ]
                }
                // No calls in PeerJS: the two users address each other.
                ServerKind::Peerjs => {
                    let caller = UserConn::open(&target, server, from_a, &a).await?;
                    let callee = UserConn::open(&target, server, from_b, &b).await?;
                    [(caller, b), (callee, a)]
                }
            };
            Ok::<_, Failure>(pair)
        }));
    }
    let (calls, first_error) = join_setups(setups).await;
    say(
        "ready",
        json!({
            "connected": calls.len() * 2,
            "failed": (pairs - calls.len()) * 2,
            "secs": start.elapsed().as_secs_f64(),
            "first_error": first_error,
        }),
    );
    if calls.len() < pairs {
        return 1;
    }
    let tally = Arc::new(Tally {
        epoch: Instant::now(),
        run: AtomicU32::new(0),
        sent: AtomicU64::new(0),
        received: AtomicU64::new(0),
        errors: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        stale: AtomicU64::new(0),
        latencies: (0..SHARDS).map(|_| Mutex::new(Vec::new())).collect(),
    });
    let now = Instant::now();
    let (phase_tx, phase_rx) = watch::channel(Phase {
        run: 0,
        rate: 0,
        start: now,
        until: now,
    });
    let conns = calls.len() * 2;
    let mut index = 0;
    for pair in calls {
        for (conn, to) in pair {
            let relayer = Relayer {
                conn,
                to,
                index,
                conns,
                size,
                window,
                tally: tally.clone(),
            };
            tokio::spawn(relayer.run(phase_rx.clone()));
            index += 1;
        }
    }

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut run = 0;
    while let Ok(Some(line)) = lines.next_line().await {
        let Some((rate, secs)) = run_command::<u32>(&line) else {
            continue;
        };
        run += 1;
        let result = relay_run(&tally, &phase_tx, run, rate, secs).await;
        say("result", result);
    }
    say(
        "alive",
        json!({"dropped": tally.dropped.load(Ordering::Relaxed)}),
    );
    0
}

/// One relay run: `rate` messages a second (0: flat out) for `secs`, then waits for the
/// messages in flight; returns its figures.
async fn relay_run(
    tally: &Tally,
    phase_tx: &watch::Sender<Phase>,
    run: u32,
    rate: u32,
    secs: f64,
) -> serde_json::Value {
    // An overloaded run leaves messages queued (in the sockets, in the server): let them
    // arrive first (up to a minute), so that they do not load this run.
    let stale_before = tally.stale.load(Ordering::Relaxed);
    for _ in 0..200 {
        let stale = tally.stale.load(Ordering::Relaxed);
        tokio::time::sleep(Duration::from_millis(300)).await;
        if tally.stale.load(Ordering::Relaxed) == stale {
            break;
        }
    }
    let late_from_before = tally.stale.load(Ordering::Relaxed) - stale_before;
    tally.sent.store(0, Ordering::Relaxed);
    tally.received.store(0, Ordering::Relaxed);
    tally.errors.store(0, Ordering::Relaxed);
    for shard in &tally.latencies {
        if let Ok(mut shard) = shard.lock() {
            shard.clear();
        }
    }
    tally.run.store(run, Ordering::Relaxed);
    let cpu_before = stats::own_cpu_secs();
    let start = Instant::now() + Duration::from_millis(50);
    let until = start + Duration::from_secs_f64(secs);
    let _ = phase_tx.send(Phase {
        run,
        rate,
        start,
        until,
    });
    // (A little after the end: the last sends under way are counted.)
    tokio::time::sleep_until(until + Duration::from_millis(20)).await;
    let sent_in_time = tally.sent.load(Ordering::Relaxed);
    let received_in_time = tally.received.load(Ordering::Relaxed);
    // Wait for what is in flight, up to a few seconds.
    let drain_until = until + Duration::from_secs(3);
    while Instant::now() < drain_until
        && tally.received.load(Ordering::Relaxed) < tally.sent.load(Ordering::Relaxed)
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let cpu = stats::own_cpu_secs() - cpu_before;
    let sent = tally.sent.load(Ordering::Relaxed);
    let received = tally.received.load(Ordering::Relaxed);
    let mut all = Vec::with_capacity(received as usize);
    for shard in &tally.latencies {
        if let Ok(mut shard) = shard.lock() {
            all.append(&mut shard);
        }
    }
    all.sort_unstable();
    let us = |p| stats::percentile(&all, p) as f64 / 1000.0;
    json!({
        "run": run,
        "rate": rate,
        "secs": secs,
        "sent": sent,
        "received": received,
        "lost": sent.saturating_sub(received),
        "late_from_previous_run": late_from_before,
        "errors": tally.errors.load(Ordering::Relaxed),
        "dropped": tally.dropped.load(Ordering::Relaxed),
        "sent_per_sec": sent_in_time as f64 / secs,
        "delivered_per_sec": received_in_time as f64 / secs,
        "p50_us": us(50.0),
        "p99_us": us(99.0),
        "p999_us": us(99.9),
        "max_us": all.last().copied().unwrap_or(0) as f64 / 1000.0,
        "loadgen_cpu_secs": cpu,
    })
}

/// One connection of a pair during the relay runs.
struct Relayer {
    conn: UserConn,
    /// Where its messages go: the call's ID (WebCall) or the other user's ID (PeerJS).
    to: String,
    /// Its place among all connections, to spread the sends over each period.
    index: usize,
    conns: usize,
    size: usize,
    window: u32,
    tally: Arc<Tally>,
}

impl Relayer {
    async fn run(mut self, mut phases: watch::Receiver<Phase>) {
        let mut phase = *phases.borrow();
        let mut period = Duration::ZERO;
        let mut next = Instant::now();
        let mut sending = false;
        let timer = tokio::time::sleep_until(next);
        tokio::pin!(timer);
        let shard = self.index;
        loop {
            tokio::select! {
                changed = phases.changed() => {
                    if changed.is_err() {
                        return;
                    }
                    phase = *phases.borrow_and_update();
                    if phase.rate == 0 {
                        // Flat out: a window of messages, each answered by the next.
                        sending = false;
                        tokio::time::sleep_until(phase.start).await;
                        for _ in 0..self.window {
                            if self.send(phase.run).await.is_err() {
                                return self.dropped();
                            }
                        }
                    } else {
                        period = Duration::from_secs_f64(self.conns as f64 / f64::from(phase.rate));
                        next = phase.start + period.mul_f64(self.index as f64 / self.conns as f64);
                        timer.as_mut().reset(next);
                        sending = true;
                    }
                }
                () = &mut timer, if sending => {
                    // Nothing is sent after the run's end, even when behind the schedule:
                    // what is counted as sent is then all that can arrive.
                    if next >= phase.until || Instant::now() >= phase.until {
                        sending = false;
                        continue;
                    }
                    if self.send(phase.run).await.is_err() {
                        return self.dropped();
                    }
                    next += period;
                    timer.as_mut().reset(next);
                }
                frame = self.conn.frame() => {
                    let Some(Ok(frame)) = frame else {
                        return self.dropped();
                    };
                    let Ok(received) = self.conn.receive(frame).await else {
                        return self.dropped();
                    };
                    let run = self.tally.run.load(Ordering::Relaxed);
                    match received {
                        Received::Stamped(stamp) if stamp.run == run => {
                            let latency = self.tally.now_ns().saturating_sub(stamp.sent_ns);
                            self.tally.record(shard, latency);
                            if phase.rate == 0 && phase.run == run && Instant::now() < phase.until
                                && self.send(run).await.is_err()
                            {
                                return self.dropped();
                            }
                        }
                        Received::Stamped(_) => {
                            self.tally.stale.fetch_add(1, Ordering::Relaxed);
                        }
                        Received::Refused(what) => {
                            if self.tally.errors.fetch_add(1, Ordering::Relaxed) == 0 {
                                eprintln!("webcall-loadgen: the server answered {what}");
                            }
                        }
                        Received::Other => {}
                    }
                }
            }
        }
    }

    async fn send(&mut self, run: u32) -> Result<(), Failure> {
        let stamp = Stamp {
            run,
            sent_ns: self.tally.now_ns(),
        };
        self.conn.send_stamped(&self.to, stamp, self.size).await?;
        self.tally.sent.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    fn dropped(&self) {
        self.tally.dropped.fetch_add(1, Ordering::Relaxed);
        eprintln!("webcall-loadgen: connection {} dropped", self.index);
    }
}
