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

use super::procs::{self, median, Loadgen, Server};
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
    for &n in &POINTS {
        let mut points = Vec::new();
        for repeat in 1..=REPEATS {
            let point = measure(n)?;
            eprintln!(
                "idle {n} #{repeat}: RSS {:.1} -> {:.1} MiB, {:.0} B/connection, {:.0} connections/s, {} still open",
                point.rss_before / 1048576.0,
                point.rss_after / 1048576.0,
                (point.rss_after - point.rss_before) / n as f64,
                point.connect_per_sec,
                point.alive,
            );
            points.push(point);
        }
        let per_conn: Vec<f64> = points
            .iter()
            .map(|p| (p.rss_after - p.rss_before) / n as f64)
            .collect();
        let rate: Vec<f64> = points.iter().map(|p| p.connect_per_sec).collect();
        let before: Vec<f64> = points.iter().map(|p| p.rss_before).collect();
        let min_alive = points.iter().map(|p| p.alive).min().unwrap_or(0);
        report
            .target(
                format!("server RSS per idle connection at {n}"),
                median(&per_conn).round(),
                "B",
                Goal::AtMost,
                TARGET_BYTES,
            )
            .row(
                format!("server RSS before at {n}"),
                (median(&before) / 1048576.0 * 10.0).round() / 10.0,
                "MiB",
            )
            .row(
                format!("connect rate at {n}"),
                median(&rate).round(),
                "conn/s",
            )
            .target(
                format!("connections open at the end at {n}"),
                min_alive as f64,
                "",
                Goal::AtLeast,
                n as f64,
            );
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
    Ok(report)
}

/// Measures one point: `n` idle connections on a fresh server.
fn measure(n: usize) -> Result<Point> {
    // Room for every connection; logins are one per user, within the default login limits.
    let server = Server::start(&["--max-connections", "20000"])?;
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
