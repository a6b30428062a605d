//! `cargo xtask bench [<bench>...]`: the benchmarks of issue 8, each printing one table and
//! writing `target/bench/<bench>.json` (see [`report`]).
//!
//! The benches (more land as they work):
//! - `idle`: idle authenticated signaling connections held by one server process ([`idle`]);
//! - `relay`: signaling messages relayed between pairs of users in calls ([`relay`]);
//! - `churn`: complete calls placed at a rising rate ([`churn`]);
//! - `browser`: call setup in headless Chromium, and the first load ([`browser`]).
//!
//! The server benches run the release server and the load generator (`webcall-loadgen`, crate
//! `bench/`) as separate processes on loopback ([`procs`]). Benches are never part of
//! `cargo xtask test`.

mod browser;
mod churn;
mod idle;
mod peerjs;
mod procs;
mod relay;
pub mod report;

use anyhow::{bail, Result};

/// Every bench, in the order `cargo xtask bench` runs them.
const BENCHES: [&str; 4] = ["idle", "relay", "churn", "browser"];

/// `cargo xtask bench [<bench>...]`: runs the named benches, or all of them.
pub fn run(args: &[String]) -> Result<()> {
    let names: Vec<&str> = if args.is_empty() {
        BENCHES.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    for name in &names {
        if !BENCHES.contains(name) {
            bail!("unknown bench `{name}` (known: {})", BENCHES.join(", "));
        }
    }
    let mut missed = Vec::new();
    for name in names {
        let report = match name {
            "idle" => idle::run()?,
            "relay" => relay::run()?,
            "churn" => churn::run()?,
            "browser" => browser::run()?,
            other => bail!("unknown bench `{other}`"),
        };
        report.publish()?;
        if !report.targets_met() {
            missed.push(name);
        }
    }
    if !missed.is_empty() {
        eprintln!("targets missed in: {}", missed.join(", "));
    }
    Ok(())
}
