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

use super::procs::{self, median, Loadgen, Server};
use super::report::{open_files_limit, Goal, Report};
use anyhow::{bail, Result};
use serde_json::Value;

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

/// Runs the bench and returns its report.
pub fn run() -> Result<Report> {
    procs::build()?;
    // The per-connection message limit would refuse the bench's rates: raised. Everything
    // else stays at its default.
    let server = Server::start(&["--msg-rate", "1000000", "--msg-burst", "1000000"])?;
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
            "{} connections failed to set up: {}",
            ready["failed"],
            ready["first_error"]
        );
    }
    eprintln!(
        "relay: {} pairs in calls after {:.1} s",
        PAIRS,
        ready["secs"].as_f64().unwrap_or(0.0)
    );
    let mut results: Vec<Vec<Value>> = vec![Vec::new(); RATES.len()];
    for repeat in 1..=REPEATS {
        for (i, &rate) in RATES.iter().enumerate() {
            let cpu_before = procs::cpu_secs(server.pid())?;
            loadgen.command(&format!("run {rate} {RUN_SECS}"))?;
            let mut result = loadgen.expect("result")?;
            let server_cpu = procs::cpu_secs(server.pid())? - cpu_before;
            let received = result["received"].as_f64().unwrap_or(0.0);
            result["server_cpu_us_per_msg"] = (server_cpu * 1e6 / received.max(1.0)).into();
            eprintln!("relay {} #{repeat}: {result}", label(rate));
            results[i].push(result);
        }
    }
    let end = loadgen.finish()?;

    let mut report = Report::new("relay");
    for (&rate, runs) in RATES.iter().zip(&results) {
        let med = |key: &str| {
            median(
                &runs
                    .iter()
                    .filter_map(|r| r[key].as_f64())
                    .collect::<Vec<_>>(),
            )
        };
        let lost: f64 = runs.iter().filter_map(|r| r["lost"].as_f64()).sum();
        let name = label(rate);
        report.row(
            format!("delivered at {name}"),
            med("delivered_per_sec").round(),
            "msg/s",
        );
        report.target(format!("lost at {name}"), lost, "msg", Goal::AtMost, 0.0);
        report.row(format!("p50 at {name}"), med("p50_us") / 1000.0, "ms");
        let p99 = med("p99_us") / 1000.0;
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
        report.row(format!("p99.9 at {name}"), med("p999_us") / 1000.0, "ms");
        report.target(
            format!("server CPU per message at {name}"),
            med("server_cpu_us_per_msg"),
            "µs",
            Goal::AtMost,
            TARGET_CPU_US,
        );
        report.row(
            format!("load generator CPU at {name}"),
            (med("loadgen_cpu_secs") / RUN_SECS * 100.0).round(),
            "% core",
        );
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
            end["dropped"]
        ));
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
