//! Running commands and timing steps.

use anyhow::{bail, Context, Result};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;

/// The workspace root (the parent of this crate).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// Runs `f` as a named step: prints its name, then how long it took.
pub fn step<T>(name: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    eprintln!("==> {name}");
    let start = Instant::now();
    let result = f();
    let secs = start.elapsed().as_secs_f64();
    match &result {
        Ok(_) => eprintln!("<== {name}: done in {secs:.1}s"),
        Err(_) => eprintln!("<== {name}: FAILED after {secs:.1}s"),
    }
    result.with_context(|| format!("step `{name}` failed"))
}

/// Prints that a step was skipped because its work is already done.
pub fn skip(name: &str, why: &str) {
    eprintln!("--- {name}: skipped ({why})");
}

/// A command line as the user would type it, for messages.
pub fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        if arg.is_empty() || arg.contains(|c: char| c.is_whitespace() || c == '\'') {
            s.push_str(&format!(" '{}'", arg.replace('\'', r"'\''")));
        } else {
            s.push(' ');
            s.push_str(&arg);
        }
    }
    s
}

fn status_text(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("signal {sig}"),
        _ => status.to_string(),
    }
}

/// Runs `cmd` with inherited stdio; fails naming the command and its exit code.
pub fn run(cmd: &mut Command) -> Result<()> {
    let desc = describe(cmd);
    eprintln!("    $ {desc}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{desc}`"))?;
    if !status.success() {
        bail!("`{desc}` failed with {}", status_text(status));
    }
    Ok(())
}

/// Runs `cmd` and returns its stdout; stderr is inherited.
pub fn output(cmd: &mut Command) -> Result<String> {
    let desc = describe(cmd);
    eprintln!("    $ {desc}");
    let out = cmd
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("could not start `{desc}`"))?;
    if !out.status.success() {
        bail!("`{desc}` failed with {}", status_text(out.status));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Quietly runs `program args` and returns stdout + stderr, or `None` if it cannot run or fails.
pub fn probe<S: AsRef<OsStr>>(program: impl AsRef<OsStr>, args: &[S]) -> Option<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut s = String::from_utf8_lossy(&out.stdout).into_owned();
    s.push_str(&String::from_utf8_lossy(&out.stderr));
    Some(s)
}

/// Finds `name` on PATH.
pub fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}
