//! What the server benches share: building the server and load generator (profile `server`), starting the
//! server on a free loopback port with the limits a bench needs raised, talking to load
//! generator processes, and reading a process's memory and CPU time from `/proc`. The PeerJS
//! server the benches compare WebCall with is a [`Server`] too (started by [`super::peerjs`]),
//! so that the same load generator and the same `/proc` readings apply to both.

use crate::cmd::{self, root};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// The secret key the bench's server signs UserSigs with (the load generator signs with it too).
pub const SECRET_KEY: &str = "webcall-bench-secret";

/// Builds the server and the load generator with the `server` profile (release at opt-level
/// 3, as the server is deployed), into target/server/.
pub fn build() -> Result<()> {
    cmd::step("build the server and load generator", || {
        cmd::run(Command::new(env!("CARGO")).current_dir(root()).args([
            "build",
            "--profile",
            "server",
            "-p",
            "webcall-server",
            "-p",
            "webcall-bench",
        ]))
    })
}

fn release_bin(name: &str) -> PathBuf {
    root().join("target/server").join(name)
}

/// Which server a [`Server`] process is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    WebCall,
    PeerJs,
}

impl Kind {
    /// The name in tables and messages.
    pub fn name(self) -> &'static str {
        match self {
            Kind::WebCall => "WebCall",
            Kind::PeerJs => "PeerJS",
        }
    }

    /// The load generator's `--server` value.
    fn loadgen_arg(self) -> &'static str {
        match self {
            Kind::WebCall => "webcall",
            Kind::PeerJs => "peerjs",
        }
    }
}

/// A server process started for a bench; killed when dropped.
pub struct Server {
    child: Child,
    pub addr: SocketAddr,
    pub kind: Kind,
}

/// A free port of 127.0.0.1 (free when asked; the server binds it right after).
pub fn free_addr() -> Result<SocketAddr> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    Ok(SocketAddr::from(([127, 0, 0, 1], port)))
}

impl Server {
    /// Starts the server on a free port of 127.0.0.1 with the bench's secret key, an
    /// in-memory history, warnings-only logs (into `target/bench/server.log`) and `flags`;
    /// returns once it accepts connections.
    pub fn start(flags: &[&str]) -> Result<Server> {
        let addr = free_addr()?;
        let port = addr.port();
        let dir = root().join("target/bench");
        std::fs::create_dir_all(&dir)?;
        let log = std::fs::File::create(dir.join("server.log"))?;
        let mut command = Command::new(release_bin("webcall-server"));
        command
            .current_dir(root())
            .env("RUST_LOG", "warn")
            .args(["--bind", "127.0.0.1", "--port", &port.to_string()])
            .args(["--secret-key", SECRET_KEY, "--db", ":memory:"])
            .args(flags)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        Server::spawn(command, addr, Kind::WebCall, "target/bench/server.log")
    }

    /// Runs `command`, a server of kind `kind` that listens on `addr` and logs into `log`;
    /// returns once it accepts connections.
    pub fn spawn(mut command: Command, addr: SocketAddr, kind: Kind, log: &str) -> Result<Server> {
        eprintln!("    $ {}", cmd::describe(&command));
        let name = kind.name();
        let child = command
            .spawn()
            .with_context(|| format!("starting the {name} server"))?;
        let mut server = Server { child, addr, kind };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(addr).is_err() {
            if let Some(status) = server.child.try_wait()? {
                bail!("the {name} server exited at start ({status}); see {log}");
            }
            if Instant::now() > deadline {
                bail!("the {name} server does not listen on {addr} after 10 s; see {log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A load generator process: commands go to its stdin, figures come as lines on its stdout.
pub struct Loadgen {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

impl Loadgen {
    /// Starts `webcall-loadgen` against `server` with `args` (its bench and their flags).
    pub fn start(server: &Server, common: &[&str], args: &[&str]) -> Result<Loadgen> {
        let mut command = Command::new(release_bin("webcall-loadgen"));
        command
            .args([
                "--addr",
                &server.addr.to_string(),
                "--server",
                server.kind.loadgen_arg(),
                "--secret-key",
                SECRET_KEY,
            ])
            .args(common)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        eprintln!("    $ {}", cmd::describe(&command));
        let mut child = command.spawn().context("starting webcall-loadgen")?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().context("no stdout")?);
        Ok(Loadgen {
            child,
            stdin,
            stdout,
        })
    }

    /// Waits for the line `<word> {json}` and returns the JSON.
    pub fn expect(&mut self, word: &str) -> Result<Value> {
        let mut line = String::new();
        loop {
            line.clear();
            if self.stdout.read_line(&mut line)? == 0 {
                bail!("webcall-loadgen ended before saying `{word}`");
            }
            if let Some(json) = parse_line(&line, word) {
                return json;
            }
        }
    }

    /// Sends a command line.
    pub fn command(&mut self, line: &str) -> Result<()> {
        let stdin = self.stdin.as_mut().context("stdin already closed")?;
        writeln!(stdin, "{line}")?;
        stdin.flush()?;
        Ok(())
    }

    /// Closes its stdin (which ends it), waits for its last word, `alive`, and for its exit.
    pub fn finish(mut self) -> Result<Value> {
        drop(self.stdin.take());
        let alive = self.expect("alive");
        let _ = self.child.wait();
        alive
    }
}

impl Drop for Loadgen {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The JSON of a line `<word> {json}`, or `None` for another line.
fn parse_line(line: &str, word: &str) -> Option<Result<Value>> {
    let json = line.trim().strip_prefix(word)?.strip_prefix(' ')?;
    Some(serde_json::from_str(json).with_context(|| format!("bad `{word}` line: {line}")))
}

/// The resident memory of process `pid`, in bytes (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_bytes(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    rss_from_status(&status).context("no VmRSS in /proc/<pid>/status")
}

fn rss_from_status(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// The CPU time process `pid` has used, user plus system, in seconds (`/proc/<pid>/stat`).
pub fn cpu_secs(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    cpu_from_stat(&stat).context("unreadable /proc/<pid>/stat")
}

/// The system (kernel) part of [`cpu_secs`], in seconds: on loopback it includes the TCP/IP
/// processing of what the process sends, up to waking the receiver.
pub fn sys_secs(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    sys_from_stat(&stat).context("unreadable /proc/<pid>/stat")
}

fn sys_from_stat(stat: &str) -> Option<f64> {
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let stime: u64 = fields.nth(12)?.parse().ok()?;
    Some(stime as f64 / TICKS_PER_SEC)
}

/// `/proc` counts CPU time in ticks of `USER_HZ`, 100 a second on Linux.
const TICKS_PER_SEC: f64 = 100.0;

fn cpu_from_stat(stat: &str) -> Option<f64> {
    // The command (field 2) is in parentheses and may hold spaces; utime and stime are fields
    // 14 and 15, the 12th and 13th after it.
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some((utime + stime) as f64 / TICKS_PER_SEC)
}

/// The median of `values` (the mean of the middle two for an even count); 0 for none.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_files_parse() {
        let status =
            "Name:\twebcall-server\nVmPeak:\t  99999 kB\nVmRSS:\t   12345 kB\nThreads:\t3\n";
        assert_eq!(rss_from_status(status), Some(12345 * 1024));
        assert_eq!(rss_from_status("Name: x\n"), None);
        let stat = "77 (webcall server) S 1 77 77 0 -1 4194560 900 0 0 0 1234 66 0 0 20 0 3 0";
        assert_eq!(cpu_from_stat(stat), Some(13.0));
        assert_eq!(sys_from_stat(stat), Some(0.66));
        assert_eq!(cpu_from_stat("77 (x) S 1"), None);
        let own = std::fs::read_to_string("/proc/self/stat").unwrap();
        assert!(cpu_from_stat(&own).is_some());
    }

    #[test]
    fn medians_and_lines() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
        let v = parse_line("ready {\"connected\":3}\n", "ready")
            .unwrap()
            .unwrap();
        assert_eq!(v["connected"], 3);
        assert!(parse_line("readyx {}", "ready").is_none());
        assert!(parse_line("alive {}", "ready").is_none());
        assert!(parse_line("ready nope", "ready").unwrap().is_err());
    }
}
