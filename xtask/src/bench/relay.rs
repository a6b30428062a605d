//! `cargo xtask bench relay`: signaling messages relayed between the two parties of calls.
//!
//! One server, one load generator process holding [`PAIRS`] pairs of users, each pair in an
//! accepted call (invite, accept, audio connected), so that the cheapest message the server
//! relays between two users, a `Signal` (an ICE candidate here), can flow both ways. Every
//! message is [`SIZE`] bytes and carries its send time. The load generator sends at fixed total
//! rates and then flat out (each connection keeping a few messages in flight, each answered by
//! the next); the rates are run in turn, [`REPEATS`] times, alternating, and the table shows
//! the medians. The server's CPU time (user + system, `/proc/<pid>/stat`) over a run divided
//! by the messages delivered is its cost per relayed message; the load generator reports its
//! own CPU time so that its limit is not mistaken for the server's.
//!
//! The same load goes to the PeerJS server ([`peerjs`]), with a load generator of its own:
//! its pairs need no call (a PeerJS client addresses the other by ID), its messages are
//! `CANDIDATE`s of the same size. Both servers and load generators are set up first, then
//! every run alternates between them (WebCall, PeerJS, WebCall, ...); PeerJS's figures and
//! the ratios WebCall ÷ PeerJS stand next to WebCall's.

use super::peerjs;
use super::procs::{self, median, Kind, Loadgen, Server};
use super::report::{open_files_limit, Goal, Report};
use anyhow::{bail, Result};
use serde_json::Value;
use std::time::Duration;

/// Pairs of users in calls.
const PAIRS: usize = 1000;

/// Bytes per message (the whole WebSocket text frame's payload).
const SIZE: usize = 500;

/// The fixed rates, in messages a second over all connections; 0 is flat out.
const RATES: [u32; 4] = [10_000, 20_000, 40_000, 0];

/// How long each run sends, in seconds.
const RUN_SECS: f64 = 5.0;

/// How often each rate is run.
const REPEATS: usize = 3;

/// Targets: server CPU per relayed message (µs), p99 latency at 40k/s (ms).
const TARGET_CPU_US: f64 = 5.0;
const TARGET_P99_MS: f64 = 2.0;

/// The warm-up run before the measured ones: its rate (msg/s) and length (s).
const WARM_UP_RATE: u32 = 10_000;
const WARM_UP_SECS: f64 = 3.0;

/// After a run, the server counts as idle again once it uses less than this share of a core
/// over [`QUIET_EVERY`]; it is waited for at most [`QUIET_MAX`].
const QUIET_CORE: f64 = 0.1;
const QUIET_EVERY: Duration = Duration::from_millis(500);
const QUIET_MAX: Duration = Duration::from_secs(60);

/// Target for WebCall's server CPU per message ÷ PeerJS's: at most a fifth.
const TARGET_CPU_RATIO: f64 = 0.2;

/// One server under load: its process and its load generator with the pairs set up.
struct Side {
    kind: Kind,
    server: Server,
    loadgen: Loadgen,
}

/// The figures of one server's runs.
struct Runs {
    /// For each of [`RATES`], the figures of its runs.
    results: Vec<Vec<Value>>,
    /// Connections dropped during the runs, as the load generator counted them.
    dropped: Value,
}

impl Side {
    /// Starts a server of kind `kind` and a load generator with [`PAIRS`] pairs on it.
    fn start(kind: Kind) -> Result<Side> {
        let server = match kind {
            // The per-connection message limit would refuse the bench's rates: raised.
            // Everything else stays at its default.
            Kind::WebCall => Server::start(&["--msg-rate", "1000000", "--msg-burst", "1000000"])?,
            Kind::PeerJs => peerjs::start()?,
        };
        let mut loadgen = Loadgen::start(
            &server,
            &["--sources", "4", "--prefix", "r"],
            &[
                "relay",
                "--pairs",
                &PAIRS.to_string(),
                "--size",
                &SIZE.to_string(),
            ],
        )?;
        let ready = loadgen.expect("ready")?;
        if ready["failed"].as_u64() != Some(0) {
            bail!(
                "{}: {} connections failed to set up: {}",
                kind.name(),
                ready["failed"],
                ready["first_error"]
            );
        }
        eprintln!(
            "relay {}: {} pairs ready after {:.1} s",
            kind.name(),
            PAIRS,
            ready["secs"].as_f64().unwrap_or(0.0)
        );
        Ok(Side {
            kind,
            server,
            loadgen,
        })
    }

    /// Runs `rate` once; returns its figures.
    fn run(&mut self, rate: u32, repeat: usize) -> Result<Value> {
        let cpu_before = procs::cpu_secs(self.server.pid())?;
        let sys_before = procs::sys_secs(self.server.pid())?;
        self.loadgen.command(&format!("run {rate} {RUN_SECS}"))?;
        let mut result = self.loadgen.expect("result")?;
        let server_cpu = procs::cpu_secs(self.server.pid())? - cpu_before;
        let server_sys = procs::sys_secs(self.server.pid())? - sys_before;
        self.quiesce()?;
        if !self.server.running() {
            bail!("the {} server ended during the run", self.kind.name());
        }
        let received = result["received"].as_f64().unwrap_or(0.0);
        result["server_cpu_us_per_msg"] = (server_cpu * 1e6 / received.max(1.0)).into();
        result["server_sys_us_per_msg"] = (server_sys * 1e6 / received.max(1.0)).into();
        eprintln!(
            "relay {} #{repeat} {}: {result}",
            label(rate),
            self.kind.name()
        );
        Ok(result)
    }

    /// A run that is not counted, so that node's JIT has compiled PeerJS's hot paths before
    /// the first measured run (WebCall gets the same, for fairness).
    fn warm_up(&mut self) -> Result<()> {
        self.loadgen
            .command(&format!("run {WARM_UP_RATE} {WARM_UP_SECS}"))?;
        self.loadgen.expect("result")?;
        Ok(())
    }

    /// Waits until the server is idle again (below [`QUIET_CORE`] of a core over
    /// [`QUIET_EVERY`], for at most [`QUIET_MAX`]): a server that queued messages it could
    /// not relay in time keeps relaying them after its run, and must not do so during the
    /// other server's run.
    fn quiesce(&self) -> Result<()> {
        let pid = self.server.pid();
        let deadline = std::time::Instant::now() + QUIET_MAX;
        let mut before = procs::cpu_secs(pid)?;
        while std::time::Instant::now() < deadline {
            std::thread::sleep(QUIET_EVERY);
            let now = procs::cpu_secs(pid)?;
            if now - before < QUIET_CORE * QUIET_EVERY.as_secs_f64() {
                return Ok(());
            }
            before = now;
        }
        eprintln!(
            "relay: the {} server still busy {} s after its run",
            self.kind.name(),
            QUIET_MAX.as_secs()
        );
        Ok(())
    }

    /// Ends the load generator; returns the connections it saw dropped.
    fn finish(self) -> Result<Value> {
        let end = self.loadgen.finish()?;
        Ok(end["dropped"].clone())
    }
}

impl Runs {
    fn new() -> Runs {
        Runs {
            results: vec![Vec::new(); RATES.len()],
            dropped: Value::Null,
        }
    }

    /// The median over the runs at rate number `i` of figure `key`; `None` without runs.
    fn median(&self, i: usize, key: &str) -> Option<f64> {
        let values: Vec<f64> = self.results[i]
            .iter()
            .filter_map(|r| r[key].as_f64())
            .collect();
        (!values.is_empty()).then(|| median(&values))
    }

    /// The sum over the runs at rate number `i` of figure `key`; `None` without runs.
    fn sum(&self, i: usize, key: &str) -> Option<f64> {
        let runs = &self.results[i];
        (!runs.is_empty()).then(|| runs.iter().filter_map(|r| r[key].as_f64()).sum())
    }
}

/// Runs the bench and returns its report.
pub fn run() -> Result<Report> {
    procs::build()?;
    let mut ours = Side::start(Kind::WebCall)?;
    let mut our_runs = Runs::new();
    // PeerJS: its side while it runs, or why it does not (any more).
    let mut theirs = peerjs::prepare().and_then(|()| {
        Side::start(Kind::PeerJs).map_err(|e| format!("PeerJS not measured: {e:#}"))
    });
    let mut their_runs = Runs::new();
    ours.warm_up()?;
    ours.quiesce()?;
    if let Ok(side) = &mut theirs {
        if let Err(e) = side.warm_up().and_then(|()| side.quiesce()) {
            theirs = Err(format!("PeerJS failed its warm-up run: {e:#}"));
        }
    }
    for repeat in 1..=REPEATS {
        for (i, &rate) in RATES.iter().enumerate() {
            // The servers alternate, so that the machine's noise falls on both alike.
            our_runs.results[i].push(ours.run(rate, repeat)?);
            if let Ok(side) = &mut theirs {
                match side.run(rate, repeat) {
                    Ok(result) => their_runs.results[i].push(result),
                    Err(e) => {
                        eprintln!("relay: PeerJS failed: {e:#}");
                        theirs = Err(format!(
                            "PeerJS failed at {} (run {repeat}), not measured from then on: {e:#}",
                            label(rate)
                        ));
                    }
                }
            }
        }
    }
    our_runs.dropped = ours.finish()?;
    let peerjs_note = match theirs {
        Ok(side) => {
            their_runs.dropped = side.finish()?;
            format!(
                "PeerJS {}: `PeerServer` in node {}, concurrent_limit raised to 1,000,000 (it has \
                 no message limit), else its defaults; {PAIRS} pairs addressing each other by \
                 ID (no calls in PeerJS), {SIZE}-byte CANDIDATE messages, HEARTBEATs every 5 s; \
                 both servers hold their connections throughout, runs alternated, after a \
                 {WARM_UP_SECS} s warm-up run at {WARM_UP_RATE} msg/s on each (node's JIT); \
                 after each run its server relays what it queued until idle before the other's \
                 run starts; \
                 connections dropped: {}; target for the CPU ratio: at most a fifth of PeerJS's",
                peerjs::VERSION,
                peerjs::node_version(),
                their_runs.dropped
            )
        }
        Err(why) => why,
    };
    let compared = their_runs.results.iter().any(|runs| !runs.is_empty());

    let mut report = Report::new("relay");
    if compared {
        report.compared_with(Kind::PeerJs.name());
    }
    for (i, &rate) in RATES.iter().enumerate() {
        let ours = |key: &str| our_runs.median(i, key).unwrap_or(0.0);
        let theirs = |key: &str| their_runs.median(i, key);
        let name = label(rate);
        let ms = |v: Option<f64>| v.map(|v| v / 1000.0);
        report
            .row(
                format!("delivered at {name}"),
                ours("delivered_per_sec").round(),
                "msg/s",
            )
            .against(theirs("delivered_per_sec").map(f64::round));
        report
            .target(
                format!("lost at {name}"),
                our_runs.sum(i, "lost").unwrap_or(0.0),
                "msg",
                Goal::AtMost,
                0.0,
            )
            .against(their_runs.sum(i, "lost"));
        report
            .row(format!("p50 at {name}"), ours("p50_us") / 1000.0, "ms")
            .against(ms(theirs("p50_us")));
        let p99 = ours("p99_us") / 1000.0;
        if rate == 40_000 {
            report.target(
                format!("p99 at {name}"),
                p99,
                "ms",
                Goal::AtMost,
                TARGET_P99_MS,
            );
        } else {
            report.row(format!("p99 at {name}"), p99, "ms");
        }
        report.against(ms(theirs("p99_us")));
        report
            .row(format!("p99.9 at {name}"), ours("p999_us") / 1000.0, "ms")
            .against(ms(theirs("p999_us")));
        report
            .target(
                format!("server CPU per message at {name}"),
                ours("server_cpu_us_per_msg"),
                "µs",
                Goal::AtMost,
                TARGET_CPU_US,
            )
            .against_target(
                theirs("server_cpu_us_per_msg"),
                Goal::AtMost,
                TARGET_CPU_RATIO,
            );
        report
            .row(
                format!("  of which in the kernel at {name}"),
                ours("server_sys_us_per_msg"),
                "µs",
            )
            .against(theirs("server_sys_us_per_msg"));
        let core = |secs: f64| (secs / RUN_SECS * 100.0).round();
        report
            .row(
                format!("load generator CPU at {name}"),
                core(ours("loadgen_cpu_secs")),
                "% core",
            )
            .against(theirs("loadgen_cpu_secs").map(core));
    }
    report
        .note(format!(
            "{PAIRS} pairs in accepted calls, {SIZE}-byte Signal messages both ways, {RUN_SECS} s \
             per run, median of {REPEATS} runs (rates alternated); lost = sum over the runs of the \
             messages not delivered 3 s after their run; a run starts once the previous run's \
             late messages have arrived"
        ))
        .note(
            "server CPU = utime + stime of the server process over the run ÷ messages \
             delivered; load generator CPU in % of one core over the run (it shares the \
             machine's cores with the server)",
        )
        .note(format!(
            "open-file limit in force: {} per process; connections dropped during the runs: {}",
            open_files_limit().map_or("unknown".into(), |n| n.to_string()),
            our_runs.dropped
        ))
        .note(peerjs_note);
    Ok(report)
}

/// How a rate is named in the table.
fn label(rate: u32) -> String {
    if rate == 0 {
        "flat out".into()
    } else {
        format!("{}k/s", rate / 1000)
    }
}
