//! A load run across server restarts: pairs of simulated devices (the real client state
//! machine, natively, on real WebSockets; see `sim`) place, answer, reject, ignore, cancel and
//! hang up calls without pause while the server is restarted twice: once gracefully (close code
//! 1012), once killed (its runtime dropped: no close frames, every byte of its memory gone) and
//! started again a second later on the same port.
//!
//! Afterwards every invitation has ended in exactly one outcome on the caller's side, rang at
//! most once and ended exactly once on the callee's, every accepted call ended on both sides,
//! and nobody is left in a call, on the devices or on the server.
//!
//! It also measures how long the devices took to log in again after each restart, from the
//! moment the new server listened: p50 and p95 are printed (`--nocapture`). More pairs:
//! `WEBCALL_LOAD_PAIRS=200 cargo test -p webcall-server --release --test restart_load --
//! --nocapture`.

mod sim;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;
use tokio::time::Instant;
use webcall_client::machine::{Input, Millis};
use webcall_client::{CallEvent, CallState, ClientError};
use webcall_protocol::CallType;
use webcall_server::{run, AppState, Config, UserSigKey};

use sim::Device;

const SECRET: &str = "restart-load-secret";
const APP: u32 = 1_400_000_000;

/// How many caller/callee pairs, unless `WEBCALL_LOAD_PAIRS` says.
const PAIRS: usize = 50;

/// The ring timeout each invitation asks for.
const RING_SECS: u32 = 6;

/// When the server restarts gracefully, is killed, comes back, and when new calls stop, from the
/// start of the run.
const GRACEFUL_AT: Duration = Duration::from_secs(5);
const KILL_AT: Duration = Duration::from_secs(12);
const DOWN_FOR: Duration = Duration::from_secs(1);
const STOP_AT: Duration = Duration::from_secs(22);

/// How long any one wait of a pair may take: long enough for a restart in the middle of it.
const STEP: Duration = Duration::from_secs(30);

/// A server on its own runtime, so that killing it drops every task and socket it has.
struct Server {
    runtime: Option<tokio::runtime::Runtime>,
    shutdown: Option<oneshot::Sender<()>>,
    stopped: Option<oneshot::Receiver<()>>,
    state: AppState,
}

impl Server {
    /// Starts a server listening on `addr` (port 0: any), retrying the bind for a while (the
    /// port of a server just stopped).
    fn start(addr: SocketAddr, dist: &std::path::Path) -> (Server, SocketAddr) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a runtime");
        let config = Config {
            secret_key: Some(SECRET.into()),
            sdk_app_id: APP,
            dist: dist.to_owned(),
            port: 0,
            // Callers here call far more often than people do.
            invite_rate: 6_000,
            invite_burst: 1_000,
            login_rate: 6_000,
            login_burst: 1_000,
            ..Config::default()
        };
        // Bound inside the new runtime, with SO_REUSEADDR, as tokio's `bind` does: the port of
        // a server just killed is free at once.
        let listener = {
            let _inside = runtime.enter();
            let until = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                let bound = tokio::net::TcpSocket::new_v4().and_then(|socket| {
                    socket.set_reuseaddr(true)?;
                    socket.bind(addr)?;
                    socket.listen(1024)
                });
                match bound {
                    Ok(listener) => break listener,
                    Err(e) if std::time::Instant::now() > until => {
                        panic!("cannot bind {addr}: {e}")
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        };
        let addr = listener.local_addr().expect("local addr");
        let state = AppState::new(&config);
        let (shutdown, rx) = oneshot::channel::<()>();
        let (done, stopped) = oneshot::channel::<()>();
        let served = state.clone();
        runtime.spawn(async move {
            let _ = run(listener, served, async move {
                let _ = rx.await;
            })
            .await;
            let _ = done.send(());
        });
        (
            Server {
                runtime: Some(runtime),
                shutdown: Some(shutdown),
                stopped: Some(stopped),
                state,
            },
            addr,
        )
    }

    /// Shuts down as on SIGTERM: every connection is closed with 1012.
    async fn stop_gracefully(mut self) {
        let _ = self.shutdown.take().expect("once").send(());
        let _ =
            tokio::time::timeout(Duration::from_secs(10), self.stopped.take().expect("once")).await;
        self.kill();
    }

    /// Stops as on SIGKILL: every task and socket is dropped where it stands.
    fn kill(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
}

/// A small deterministic PRNG for the pairs' choices.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

/// How a round of a pair goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Accept,
    Reject,
    Ignore,
    Cancel,
}

/// What one round of a pair saw, for the checks.
#[derive(Debug)]
struct Round {
    plan: Plan,
    /// The events of the caller and the callee during the round.
    caller: Vec<CallEvent>,
    callee: Vec<CallEvent>,
    /// The round's own moves that need no event: the caller cancelled, the callee rejected or
    /// hung up.
    caller_cancelled: bool,
    callee_rejected: bool,
    /// Something went wrong; says what.
    problem: Option<String>,
}

/// Waits until `cond` holds for `device`'s snapshot, for at most `limit`.
async fn wait_for(device: &Device, limit: Duration, cond: impl Fn(&CallState) -> bool) -> bool {
    let until = Instant::now() + limit;
    loop {
        let snapshot = device.snapshot();
        if snapshot.logged_in && cond(&snapshot.state) {
            return true;
        }
        if Instant::now() > until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn idle(state: &CallState) -> bool {
    matches!(state, CallState::Idle)
}

/// Runs rounds for one pair until `stop`.
async fn pair_rounds(
    caller: Arc<Device>,
    callee: Arc<Device>,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> Vec<Round> {
    let mut rng = Rng(seed | 1);
    let mut rounds = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let plan = match rng.below(4) {
            0 => Plan::Accept,
            1 => Plan::Reject,
            2 => Plan::Ignore,
            _ => Plan::Cancel,
        };
        let (caller_from, callee_from) = (caller.events().len(), callee.events().len());
        let mut round = Round {
            plan,
            caller: Vec::new(),
            callee: Vec::new(),
            caller_cancelled: false,
            callee_rejected: false,
            problem: None,
        };
        let placed = caller
            .act(Input::Call {
                callee: callee.name.clone(),
                call_type: CallType::Audio,
                timeout_secs: Some(RING_SECS),
            })
            .await;
        match placed {
            Ok(()) => {}
            // Not an invitation: nothing to check; try again in a moment.
            Err(ClientError::Reconnecting | ClientError::InCallElsewhere | ClientError::Busy) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(e) => {
                round.problem = Some(format!("call refused: {e}"));
                rounds.push(round);
                break;
            }
        }
        let think = Duration::from_millis(200 + rng.below(1_200));
        match plan {
            Plan::Accept | Plan::Reject => {
                if wait_for(&callee, STEP, |s| matches!(s, CallState::Incoming { .. })).await {
                    tokio::time::sleep(think).await;
                    let input = if plan == Plan::Accept {
                        Input::Accept
                    } else {
                        Input::Reject
                    };
                    let acted = callee.act(input).await;
                    round.callee_rejected = plan == Plan::Reject && acted.is_ok();
                    if plan == Plan::Accept && acted.is_ok() {
                        let in_call =
                            |s: &CallState| matches!(s, CallState::InCall { .. }) || idle(s);
                        if wait_for(&caller, STEP, in_call).await
                            && matches!(caller.snapshot().state, CallState::InCall { .. })
                        {
                            tokio::time::sleep(Duration::from_millis(300 + rng.below(2_000))).await;
                            let by = if rng.below(2) == 0 { &caller } else { &callee };
                            let _ = by.act(Input::Hangup).await;
                        }
                    }
                }
            }
            Plan::Ignore => {}
            Plan::Cancel => {
                tokio::time::sleep(think).await;
                round.caller_cancelled = caller.act(Input::Hangup).await.is_ok();
            }
        }
        for (who, device) in [("caller", &caller), ("callee", &callee)] {
            if !wait_for(device, STEP, idle).await {
                round.problem = Some(format!(
                    "the {who} {} is stuck in {:?}",
                    device.name,
                    device.snapshot()
                ));
            }
        }
        round.caller = caller.events()[caller_from..]
            .iter()
            .map(|(_, e)| e.clone())
            .collect();
        round.callee = callee.events()[callee_from..]
            .iter()
            .map(|(_, e)| e.clone())
            .collect();
        let stuck = round.problem.is_some();
        rounds.push(round);
        if stuck {
            break;
        }
    }
    rounds
}

/// The caller's events that end an invitation.
fn caller_outcome(event: &CallEvent) -> bool {
    matches!(
        event,
        CallEvent::Reject { .. }
            | CallEvent::NoResp { .. }
            | CallEvent::LineBusy { .. }
            | CallEvent::CallEnd { .. }
    )
}

/// The callee's events that end an invitation that rang.
fn callee_outcome(event: &CallEvent) -> bool {
    matches!(
        event,
        CallEvent::CallingCancel { .. }
            | CallEvent::CallingTimeout { .. }
            | CallEvent::CallEnd { .. }
            | CallEvent::RejectedElsewhere { .. }
            | CallEvent::AnsweredElsewhere { .. }
    )
}

/// What is wrong with `round`, if anything.
fn check(round: &Round) -> Option<String> {
    if let Some(problem) = &round.problem {
        return Some(problem.clone());
    }
    let caller_outcomes = round.caller.iter().filter(|e| caller_outcome(e)).count();
    let expected = usize::from(!round.caller_cancelled);
    if caller_outcomes != expected {
        return Some(format!(
            "the caller heard {caller_outcomes} outcomes, expected {expected}"
        ));
    }
    let invited = round
        .callee
        .iter()
        .filter(|e| matches!(e, CallEvent::Invited { .. }))
        .count();
    if invited > 1 {
        return Some(format!("the callee was invited {invited} times"));
    }
    let callee_outcomes = round.callee.iter().filter(|e| callee_outcome(e)).count();
    let expected = usize::from(invited == 1 && !round.callee_rejected);
    if callee_outcomes != expected {
        return Some(format!(
            "the callee heard {callee_outcomes} outcomes of {invited} invitations, expected {expected}"
        ));
    }
    let accepted = round
        .caller
        .iter()
        .any(|e| matches!(e, CallEvent::UserAccept { .. }));
    let callee_ended = round
        .callee
        .iter()
        .any(|e| matches!(e, CallEvent::CallEnd { .. }));
    if accepted != callee_ended {
        return Some(format!(
            "accepted on the caller's side: {accepted}, ended as a call on the callee's: {callee_ended}"
        ));
    }
    None
}

/// The `p`th percentile (0..=100) of `values`, sorted.
fn percentile(sorted: &[Millis], p: usize) -> Millis {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() - 1) * p).div_ceil(100)]
}

/// How long each device took to be back after `back_at`: its first `Reconnected` then, in
/// milliseconds; `None` for a device that was not back.
fn reconnect_times(devices: &[Arc<Device>], back_at: Millis) -> Vec<Option<Millis>> {
    devices
        .iter()
        .map(|d| {
            d.events().iter().find_map(|(at, e)| {
                (*at >= back_at && matches!(e, CallEvent::Reconnected { .. })).then(|| at - back_at)
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_invitation_ends_once_across_two_server_restarts() {
    let pairs: usize = std::env::var("WEBCALL_LOAD_PAIRS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(PAIRS);
    let dist = tempfile::tempdir().expect("temp dir");
    std::fs::write(dist.path().join("index.html"), "<!doctype html>").expect("index.html");
    let (server, addr) = Server::start(SocketAddr::from(([127, 0, 0, 1], 0)), dist.path());
    let url = format!("ws://{addr}/ws");
    let key = UserSigKey::new(APP, SECRET);
    let epoch = Instant::now();

    let mut devices = Vec::new();
    for i in 0..2 * pairs {
        let user = format!("load-{i:03}");
        let sig = key.issue(&user, 3600, unix_now());
        devices.push(Arc::new(Device::start(
            url.clone(),
            &user,
            sig,
            APP,
            epoch,
            i as u64 + 1,
        )));
    }
    for device in &devices {
        assert!(
            wait_for(device, Duration::from_secs(10), idle).await,
            "{} did not log in",
            device.name
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    let mut runs = Vec::new();
    for (i, pair) in devices.chunks(2).enumerate() {
        runs.push(tokio::spawn(pair_rounds(
            pair[0].clone(),
            pair[1].clone(),
            0x9E37_79B9 + i as u64,
            stop.clone(),
        )));
    }

    // Restart 1: graceful.
    tokio::time::sleep_until(epoch + GRACEFUL_AT).await;
    server.stop_gracefully().await;
    let (server, _) = Server::start(addr, dist.path());
    let back_1 = epoch.elapsed().as_millis() as Millis;
    // Restart 2: killed, down for a second.
    tokio::time::sleep_until(epoch + KILL_AT).await;
    let mut server = server;
    server.kill();
    drop(server);
    tokio::time::sleep(DOWN_FOR).await;
    let (server, _) = Server::start(addr, dist.path());
    let back_2 = epoch.elapsed().as_millis() as Millis;

    tokio::time::sleep_until(epoch + STOP_AT).await;
    stop.store(true, Ordering::SeqCst);
    let mut problems = Vec::new();
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for (i, run) in runs.into_iter().enumerate() {
        for round in run.await.expect("a pair panicked") {
            *counts.entry(format!("{:?}", round.plan)).or_default() += 1;
            if let Some(problem) = check(&round) {
                problems.push(format!(
                    "pair {i}, {:?}: {problem}\n  caller: {:?}\n  callee: {:?}",
                    round.plan, round.caller, round.callee
                ));
            }
        }
    }
    println!("rounds by plan: {counts:?}");

    for (name, back) in [
        ("graceful restart", back_1),
        ("kill -9 and restart", back_2),
    ] {
        let times = reconnect_times(&devices, back);
        let missing = times.iter().filter(|t| t.is_none()).count();
        let mut times: Vec<Millis> = times.into_iter().flatten().collect();
        times.sort_unstable();
        println!(
            "{name}: {} devices back, p50 {} ms, p95 {} ms, max {} ms after the server listened again",
            times.len(),
            percentile(&times, 50),
            percentile(&times, 95),
            times.last().copied().unwrap_or(0),
        );
        assert_eq!(missing, 0, "{name}: {missing} devices never came back");
    }
    // Nothing left over on the server either.
    let hub = server.state.hub().clone();
    let until = Instant::now() + Duration::from_secs(10);
    while hub.calls() > 0 && Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(hub.calls(), 0, "calls left on the server");
    assert_eq!(hub.busy_users(), 0, "busy users left on the server");
    assert!(
        counts.values().sum::<usize>() >= pairs * 2,
        "too few rounds to mean anything: {counts:?}"
    );
    assert!(
        problems.is_empty(),
        "{} rounds went wrong:\n{}",
        problems.len(),
        problems.join("\n")
    );
}
