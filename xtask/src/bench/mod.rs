//! `cargo xtask bench [<bench>...] [--json-only]`: the benchmarks of issue 8, each printing one
//! table and writing `target/bench/<bench>.json` (see [`report`]).
//!
//! The benches (work in progress; each lands when it works):
//! - `idle`: idle authenticated signaling connections held by one server process;
//! - `relay`: signaling messages relayed between pairs of users;
//! - `browser`: call setup in headless Chromium, and the first load.

// Used by the benches as they land.
#[allow(dead_code)]
pub mod report;

use anyhow::{bail, Result};

/// Every bench, in the order `cargo xtask bench` runs them.
const BENCHES: [&str; 0] = [];

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
    if names.is_empty() {
        eprintln!("no bench is ready yet");
    }
    Ok(())
}
