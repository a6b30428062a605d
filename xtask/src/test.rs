//! `cargo xtask test`: native tests of every crate, then the browser tests of the root package
//! inside a loopback-only network namespace.

use crate::build::{dist_dir, server_bin};
use crate::cmd::{describe, is_root, output, root, run, skip, step, which};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

pub struct Options {
    pub native: bool,
    pub browser: bool,
    /// Skip setup and build: use the dist/ and server binary already there.
    pub no_build: bool,
    /// Passed to the browser test binary (e.g. a test name filter).
    pub browser_args: Vec<String>,
}

/// Commands the browser tests need, and the apt packages that provide them (`ip`, from
/// iproute2, brings up `lo` in the test namespace; slim images lack it; `openssl` makes the
/// HTTPS test's certificate; Firefox ESR calls Chromium in `tests/browser/cross_browser.rs`).
const NEEDED_COMMANDS: [&str; 8] = [
    "chromium",
    "chromedriver",
    "firefox-esr",
    "turnserver",
    "espeak-ng",
    "sox",
    "ip",
    "openssl",
];
/// A font with Chinese characters, for the zh-CN screenshots the browser tests take into
/// docs/ (without one, Chromium draws boxes); it provides no command, so its file is checked.
const CJK_FONT: &str = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc";
const APT_PACKAGES: [&str; 10] = [
    "fonts-wqy-microhei",
    "chromium",
    "chromium-driver",
    "firefox-esr",
    "coturn",
    "espeak-ng",
    "sox",
    "brotli",
    "iproute2",
    "openssl",
];

const SPEECH: &str = "Hello, this is the WebCall browser test speaking. \
    The quick brown fox jumps over the lazy dog. One, two, three, four, five. \
    Can you hear me clearly? I can hear you very well, thank you.";

pub fn run_all(opts: &Options) -> Result<()> {
    let mut wav = None;
    if opts.browser {
        apt_packages()?;
        crate::setup::geckodriver()?;
        if opts.no_build {
            skip("build", "--no-build");
        } else {
            crate::build::run_all()?;
        }
        wav = Some(speech_wav()?);
    }
    let mut failed = Vec::new();
    if opts.native {
        if let Err(e) = step("native tests: cargo test --workspace", native) {
            eprintln!("error: {e:#}");
            failed.push("native tests");
        }
        if let Err(e) = step(
            "API docs: cargo doc of the SDK crates, warnings denied",
            docs,
        ) {
            eprintln!("error: {e:#}");
            failed.push("API docs");
        }
    }
    if let Some(wav) = wav {
        let result = step("browser tests (loopback-only network namespace)", || {
            browser(&wav, &opts.browser_args)
        });
        if let Err(e) = result {
            eprintln!("error: {e:#}");
            failed.push("browser tests");
        }
    }
    if !failed.is_empty() {
        bail!("failed: {}", failed.join(", "));
    }
    Ok(())
}

pub(crate) fn apt_packages() -> Result<()> {
    let mut missing: Vec<&str> = NEEDED_COMMANDS
        .into_iter()
        .filter(|c| which(c).is_none())
        .collect();
    if !std::path::Path::new(CJK_FONT).exists() {
        missing.push("a CJK font");
    }
    if missing.is_empty() {
        skip(
            "apt packages",
            "chromium, chromedriver, firefox-esr, turnserver, espeak-ng, sox, ip, openssl, \
             a CJK font present",
        );
        return Ok(());
    }
    step(
        &format!("apt packages (missing: {})", missing.join(", ")),
        || {
            let apt = |args: &[&str]| {
                let mut cmd = if is_root() {
                    Command::new("apt-get")
                } else if which("sudo").is_some() {
                    let mut c = Command::new("sudo");
                    c.arg("apt-get");
                    c
                } else {
                    bail!("installing {missing:?} needs root (or sudo)");
                };
                run(cmd.args(args).env("DEBIAN_FRONTEND", "noninteractive"))
            };
            apt(&["update"])?;
            let mut install = vec!["install", "-y"];
            install.extend(APT_PACKAGES);
            apt(&install)
        },
    )
}

/// target/webcall-test/speech.wav: over a minute of speech (6 × ~12 s), 48 kHz mono 16 bit.
pub(crate) fn speech_wav() -> Result<PathBuf> {
    let dir = root().join("target/webcall-test");
    let wav = dir.join("speech.wav");
    if wav.is_file() {
        skip("speech WAV", "target/webcall-test/speech.wav exists");
        return Ok(wav);
    }
    step("speech WAV (espeak-ng + sox)", || {
        std::fs::create_dir_all(&dir)?;
        let raw = dir.join("speech-raw.wav");
        let tmp = dir.join("speech-tmp.wav");
        run(Command::new("espeak-ng").arg("-w").arg(&raw).arg(SPEECH))?;
        run(Command::new("sox")
            .arg(&raw)
            .args(["-r", "48000", "-c", "1", "-b", "16"])
            .arg(&tmp)
            .args(["repeat", "5"]))?;
        std::fs::rename(&tmp, &wav)?;
        std::fs::remove_file(&raw)?;
        Ok(wav)
    })
}

fn native() -> Result<()> {
    // With the app's pages that load only when opened, so that their tests run too.
    run(Command::new("cargo")
        .args(["test", "--workspace", "--features", "webcall/extra-pages"])
        .current_dir(root()))
}

/// The SDK's API documentation builds without a warning (broken links, missing docs): the
/// crates other apps integrate, as docs.rs would build them.
fn docs() -> Result<()> {
    run(Command::new("cargo")
        .args([
            "doc",
            "--no-deps",
            "-p",
            "webcall-client",
            "-p",
            "webcall-protocol",
        ])
        .env("RUSTDOCFLAGS", "-D warnings")
        .current_dir(root()))
}

/// Builds the browser test binary and returns its path.
fn browser_test_binary() -> Result<PathBuf> {
    let mut cmd = Command::new("cargo");
    cmd.args([
        "test",
        "-p",
        "webcall",
        "--features",
        "browser-tests",
        "--test",
        "browser",
        "--no-run",
        "--message-format=json",
    ])
    .current_dir(root());
    let desc = describe(&cmd);
    let out = output(&mut cmd)?;
    for line in out.lines() {
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "browser" {
            if let Some(exe) = msg["executable"].as_str() {
                return Ok(PathBuf::from(exe));
            }
        }
    }
    bail!("`{desc}` named no executable for the test target `browser`")
}

fn env_or(name: &str, default: PathBuf) -> PathBuf {
    match std::env::var_os(name) {
        Some(v) => {
            eprintln!("    using {name}={}", v.to_string_lossy());
            PathBuf::from(v)
        }
        None => default,
    }
}

fn browser(wav: &std::path::Path, args: &[String]) -> Result<()> {
    run(&mut browser_command(wav, args)?).context("browser tests failed")
}

/// Builds the browser test binary and returns the command that runs it with `args` in a
/// loopback-only network namespace (`cargo xtask bench browser` runs its benches so too).
pub(crate) fn browser_command(wav: &std::path::Path, args: &[String]) -> Result<Command> {
    let bin = step("build browser test binary", browser_test_binary)?;
    // The environment may point at another server binary or SPA (e.g. stand-ins).
    let server = env_or("WEBCALL_SERVER_BIN", server_bin());
    if !server.is_file() {
        bail!("{} is missing (run `cargo xtask build`)", server.display());
    }
    let dist = env_or("WEBCALL_DIST", dist_dir());
    if !dist.join("index.html").is_file() {
        bail!(
            "{}/index.html is missing (run `cargo xtask build`)",
            dist.display()
        );
    }
    // A network namespace with only `lo`: nothing the browsers do can leave this machine.
    // A PID namespace too: whatever the tests started dies with them, even on Ctrl-C (sh
    // stays PID 1 so that the test binary gets signals as usual). Without root, a user
    // namespace (-r) grants the rights.
    let mut cmd = Command::new("unshare");
    if !is_root() {
        cmd.arg("-r");
    }
    cmd.args(["-n", "-p", "-f", "--kill-child", "--mount-proc"])
        .args(["sh", "-c", r#"ip link set lo up && "$0" "$@""#])
        .arg(&bin)
        .arg("--test-threads=1")
        .args(args)
        .env("WEBCALL_SERVER_BIN", &server)
        .env("WEBCALL_DIST", &dist)
        .env("WEBCALL_SPEECH_WAV", wav)
        .current_dir(root());
    Ok(cmd)
}
