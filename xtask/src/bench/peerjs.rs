//! The PeerJS server the `idle` and `relay` benches run side by side with WebCall's: the npm
//! package `peer`, exactly [`VERSION`], the reference people use today for WebRTC signaling.
//!
//! It is installed on first use into `.tools/peerjs/` (git-ignored) with npm, and started as a
//! separate `node` process on a free loopback port by a small launcher
//! (`peerjs-server.mjs`, copied next to the package so that `peer` resolves) that raises its
//! `concurrent_limit` and leaves everything else at PeerJS's defaults. The process is a
//! [`Server`] like WebCall's, so that the load generator (`--server peerjs`) and the `/proc`
//! readings apply to it unchanged.
//!
//! `WEBCALL_BENCH_PEERJS=0` skips PeerJS (quick runs); without npm, or when the install fails,
//! the benches say so in their notes and measure WebCall alone.

use super::procs::{self, Kind, Server};
use crate::cmd::{self, root};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The PeerJS server version compared with.
pub const VERSION: &str = "1.0.2";

/// The launcher, written next to the installed package.
const LAUNCHER: &str = include_str!("peerjs-server.mjs");

/// Where PeerJS is installed.
fn dir() -> PathBuf {
    root().join(".tools/peerjs")
}

/// Whether PeerJS should run, and if not, why (for the table's notes): skipped by
/// `WEBCALL_BENCH_PEERJS=0`, or not installable.
pub fn prepare() -> std::result::Result<(), String> {
    if std::env::var("WEBCALL_BENCH_PEERJS").as_deref() == Ok("0") {
        return Err("PeerJS skipped (WEBCALL_BENCH_PEERJS=0)".into());
    }
    install().map_err(|e| format!("PeerJS not measured: {e:#}"))
}

/// The version of the installed `peer` package, if any.
fn installed_version() -> Option<String> {
    let path = dir().join("node_modules/peer/package.json");
    let text = std::fs::read_to_string(path).ok()?;
    let json: serde_json::Value = serde_json::from_str(&text).ok()?;
    json["version"].as_str().map(str::to_owned)
}

/// Installs `peer@VERSION` into `.tools/peerjs/` unless it is there already, and writes the
/// launcher next to it.
fn install() -> Result<()> {
    let name = format!("install PeerJS {VERSION} (npm) into .tools/peerjs");
    if installed_version().as_deref() == Some(VERSION) {
        cmd::skip(&name, "installed");
    } else {
        cmd::step(&name, || {
            std::fs::create_dir_all(dir())?;
            let status = Command::new("npm")
                .current_dir(dir())
                .args(["install", "--no-audit", "--no-fund"])
                .arg(format!("peer@{VERSION}"))
                .stdin(Stdio::null())
                .status()
                .context("running npm (is it installed?)")?;
            if !status.success() {
                bail!("npm install peer@{VERSION} failed ({status})");
            }
            match installed_version() {
                Some(v) if v == VERSION => Ok(()),
                other => bail!("npm installed peer {other:?}, not {VERSION}"),
            }
        })?;
    }
    std::fs::write(dir().join("bench-server.mjs"), LAUNCHER)
        .context("writing the PeerJS launcher")?;
    Ok(())
}

/// Starts the PeerJS server (installed by [`prepare`]) on a free port of 127.0.0.1, logging
/// into `target/bench/peerjs.log`; returns once it accepts connections.
pub fn start() -> Result<Server> {
    let addr = procs::free_addr()?;
    let bench = root().join("target/bench");
    std::fs::create_dir_all(&bench)?;
    let log = std::fs::File::create(bench.join("peerjs.log"))?;
    let mut command = Command::new("node");
    command
        .current_dir(dir())
        .args(["bench-server.mjs", &addr.port().to_string()])
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    Server::spawn(command, addr, Kind::PeerJs, "target/bench/peerjs.log")
}

/// `node --version` (for the notes), or "?".
pub fn node_version() -> String {
    Command::new("node")
        .arg("--version")
        .output()
        .ok()
        .filter(|out| out.status.success())
        .map(|out| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .unwrap_or_else(|| "?".into())
}
