//! `cargo xtask bench idle`: how much server memory an idle, authenticated signaling connection
//! costs, and how fast connections log in.
//!
//! For each point (10,000 and 19,900 connections; the open-file limit of 20,000 per process
//! leaves no more room), a fresh server is started and its RSS read; two load generator
//! processes (each below the limit with its share of the sockets) log in one distinct user per
//! connection, spread over four 127.0.0.x source addresses, and keep them idle, answering the
//! server's pings. Once every connection is logged in and the server's RSS has settled (after
//! at least one idle timeout, so that the heartbeats have run), the RSS is read again and the
//! load generators report how many connections are still open. Each point is run
//! [`REPEATS`] times; the table shows the medians.
//!
//! The same runs go to the PeerJS server ([`peerjs`]), alternating with WebCall's (WebCall,
//! PeerJS, WebCall, ...); its figures and the ratios WebCall ÷ PeerJS stand next to WebCall's.
//! PeerJS has no authentication: its connections are open once the server says `OPEN`, and
//! stay alive with the client's heartbeats.

use super::peerjs;
use super::procs::{self, median, Kind, Loadgen, Server};
use super::report::{open_files_limit, Goal, Report};
use anyhow::{bail, Result};
use std::time::Duration;

/// The connection counts measured.
const POINTS: [usize; 2] = [10_000, 19_900];

/// How often each point is measured.
const REPEATS: usize = 3;

/// Load generator processes per point.
const LOADGENS: usize = 2;

/// The target: server RSS per idle authenticated connection, in bytes.
const TARGET_BYTES: f64 = 3.0 * 1024.0;

/// The target for WebCall's RSS per connection ÷ PeerJS's: at most half.
const TARGET_RATIO: f64 = 0.5;

/// The server's idle timeout in the bench (its default): it pings every third of it.
const IDLE_TIMEOUT_SECS: u64 = 12;

/// One measurement.
struct Point {
    rss_before: f64,
    rss_after: f64,
    connect_per_sec: f64,
    alive: usize,
}

/// Runs the bench and returns its report.
pub fn run() -> Result<Report> {
    procs::build()?;
    let mut report = Report::new("idle");
    let mut peerjs = peerjs::prepare();
    if peerjs.is_ok() {
        report.compared_with(Kind::PeerJs.name());
    }
    for &n in &POINTS {
        let (mut webcall, mut other) = (Vec::new(), Vec::new());
        for repeat in 1..=REPEATS {
            // The servers alternate, so that the machine's noise falls on both alike.
            webcall.push(measure_logged(Kind::WebCall, n, repeat)?);
            if peerjs.is_ok() {
                match measure_logged(Kind::PeerJs, n, repeat) {
                    Ok(point) => other.push(point),
                    Err(e) => {
                        eprintln!("idle {n} #{repeat}: PeerJS failed: {e:#}");
                        peerjs = Err(format!(
                            "PeerJS failed at {n} connections (run {repeat}), not measured from \
                             then on: {e:#}"
                        ));
                    }
                }
            }
        }
        let ours = Summary::of(&webcall, n);
        let theirs = (!other.is_empty()).then(|| Summary::of(&other, n));
        let theirs = |f: fn(&Summary) -> f64| theirs.as_ref().map(f);
        report
            .target(
                format!("server RSS per idle connection at {n}"),
                ours.per_conn,
                "B",
                Goal::AtMost,
                TARGET_BYTES,
            )
            .against_target(theirs(|s| s.per_conn), Goal::AtMost, TARGET_RATIO)
            .row(format!("server RSS before at {n}"), ours.before, "MiB")
            .against(theirs(|s| s.before))
            .row(format!("connect rate at {n}"), ours.rate, "conn/s")
            .against(theirs(|s| s.rate))
            .target(
                format!("connections open at the end at {n}"),
                ours.alive,
                "",
                Goal::AtLeast,
                n as f64,
            )
            .against(theirs(|s| s.alive));
    }
    report
        .note(format!(
            "open-file limit in force: {} per process (it can not be raised here); {LOADGENS} load \
             generator processes, 4 source addresses 127.0.0.2-5",
            open_files_limit().map_or("unknown".into(), |n| n.to_string())
        ))
        .note(format!(
            "median of {REPEATS} runs, each on a fresh server; RSS after = settled, at least \
             {IDLE_TIMEOUT_SECS} s (the idle timeout, pings every {} s) after the last login",
            IDLE_TIMEOUT_SECS / 3
        ));
    match &peerjs {
        Ok(()) => report.note(format!(
            "PeerJS {}: `PeerServer` in node {}, concurrent_limit raised to 1,000,000, else its \
             defaults; its clients open with id and token (no login) and send a HEARTBEAT every \
             5 s as PeerJS clients do; runs alternated with WebCall's; its RSS includes node's \
             heap; target for the ratio: at most half PeerJS's memory per connection",
            peerjs::VERSION,
            peerjs::node_version(),
        )),
        Err(why) => report.note(why.clone()),
    };
    Ok(report)
}

/// The medians of a point's runs on one server.
struct Summary {
    /// Server RSS per connection, B.
    per_conn: f64,
    /// Server RSS before, MiB.
    before: f64,
    /// Connections a second.
    rate: f64,
    /// The fewest connections still open at the end of a run.
    alive: f64,
}

impl Summary {
    fn of(points: &[Point], n: usize) -> Summary {
        let med = |f: fn(&Point) -> f64| median(&points.iter().map(f).collect::<Vec<_>>());
        Summary {
            per_conn: (med(|p| p.rss_after - p.rss_before) / n as f64).round(),
            before: (med(|p| p.rss_before) / 1048576.0 * 10.0).round() / 10.0,
            rate: med(|p| p.connect_per_sec).round(),
            alive: points.iter().map(|p| p.alive).min().unwrap_or(0) as f64,
        }
    }
}

/// Measures one point on one server and says what it measured.
fn measure_logged(kind: Kind, n: usize, repeat: usize) -> Result<Point> {
    let point = measure(kind, n)?;
    eprintln!(
        "idle {n} #{repeat} {}: RSS {:.1} -> {:.1} MiB, {:.0} B/connection, {:.0} connections/s, {} still open",
        kind.name(),
        point.rss_before / 1048576.0,
        point.rss_after / 1048576.0,
        (point.rss_after - point.rss_before) / n as f64,
        point.connect_per_sec,
        point.alive,
    );
    Ok(point)
}

/// Measures one point: `n` idle connections on a fresh server of kind `kind`.
fn measure(kind: Kind, n: usize) -> Result<Point> {
    let server = match kind {
        // Room for every connection; logins are one per user, within the default login limits.
        Kind::WebCall => Server::start(&["--max-connections", "20000"])?,
        Kind::PeerJs => peerjs::start()?,
    };
    // Let the server finish starting before the baseline.
    std::thread::sleep(Duration::from_millis(500));
    let rss_before = procs::rss_bytes(server.pid())? as f64;
    let mut loadgens = Vec::new();
    for i in 0..LOADGENS {
        let share = n / LOADGENS + usize::from(i < n % LOADGENS);
        let first = (0..i)
            .map(|j| n / LOADGENS + usize::from(j < n % LOADGENS))
            .sum::<usize>();
        loadgens.push(Loadgen::start(
            &server,
            &["--sources", "4", "--prefix", "idle"],
            &[
                "idle",
                "--users",
                &share.to_string(),
                "--first",
                &first.to_string(),
            ],
        )?);
    }
    let (mut connected, mut connect_secs) = (0, 0f64);
    for loadgen in &mut loadgens {
        let ready = loadgen.expect("ready")?;
        if ready["failed"].as_u64() != Some(0) {
            bail!(
                "{} connections failed: {}",
                ready["failed"],
                ready["first_error"]
            );
        }
        connected += ready["connected"].as_u64().unwrap_or(0) as usize;
        // The load generators connect at the same time: the slower one's time is the total.
        connect_secs = connect_secs.max(ready["secs"].as_f64().unwrap_or(0.0));
    }
    let rss_after = settle(server.pid())?;
    let mut alive = 0;
    for loadgen in loadgens {
        alive += loadgen.finish()?["open"].as_u64().unwrap_or(0) as usize;
    }
    if connected != n {
        bail!("only {connected} of {n} connections logged in");
    }
    Ok(Point {
        rss_before,
        rss_after,
        connect_per_sec: n as f64 / connect_secs,
        alive,
    })
}

/// The server's RSS once it has settled: read every second from one idle timeout on, until
/// two readings in a row differ by less than 0.2 % (or 20 more seconds passed).
fn settle(pid: u32) -> Result<f64> {
    std::thread::sleep(Duration::from_secs(IDLE_TIMEOUT_SECS));
    let mut last = procs::rss_bytes(pid)? as f64;
    for _ in 0..20 {
        std::thread::sleep(Duration::from_secs(1));
        let now = procs::rss_bytes(pid)? as f64;
        if (now - last).abs() < last * 0.002 {
            return Ok(now);
        }
        last = now;
    }
    Ok(last)
}
