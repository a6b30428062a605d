//! `cargo xtask bench browser`: call setup and first load in real headless Chromium (issue 8,
//! items 4 and 5).
//!
//! The measuring is done by the ignored benches in tests/browser/bench.rs, which need what the
//! browser tests need (the release SPA and server, Chromium, coturn, a speech WAV, a
//! loopback-only network namespace); so this builds like `cargo xtask test` and runs the browser
//! test binary the same way, with `--ignored --nocapture bench::`. Each bench prints its
//! samples as one `BENCH {json}` line on stdout; this turns them into p50/p95 figures and puts
//! `cargo xtask size`'s first-load bytes beside what the browser fetched, in the `browser`
//! report.

use super::report::{Goal, Report};
use crate::cmd::{describe, probe, step};
use crate::size::{self, Sizes};
use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

/// Targets of issue 8 for the call setup, p95, milliseconds.
const RING_P95_MS: f64 = 50.0;
const AUDIO_HOST_P95_MS: f64 = 300.0;
const AUDIO_RELAY_P95_MS: f64 = 600.0;

/// Builds, runs the benches and returns their figures (the caller publishes them).
pub fn run() -> Result<Report> {
    crate::test::apt_packages()?;
    crate::build::run_all()?;
    let wav = crate::test::speech_wav()?;
    let args: Vec<String> = ["--ignored", "--nocapture", "bench::"]
        .map(String::from)
        .to_vec();
    let mut cmd = crate::test::browser_command(&wav, &args)?;
    let stdout = step(
        "browser benches: bench::* (loopback-only network namespace)",
        || run_echoing(&mut cmd),
    )?;
    let samples = Samples::parse(&stdout)?;
    let sizes = size::measure(&crate::build::dist_dir())?;
    Ok(samples.report(&sizes))
}

/// Runs `cmd`, echoing its stdout as it comes, and returns that stdout; fails if it fails.
fn run_echoing(cmd: &mut Command) -> Result<String> {
    let desc = describe(cmd);
    eprintln!("    $ {desc}");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("could not start `{desc}`"))?;
    let mut all = String::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            let _ = std::io::stdout().flush();
            all += &line;
            all.push('\n');
        }
    }
    let status = child.wait()?;
    if !status.success() {
        bail!("`{desc}` failed ({status})");
    }
    Ok(all)
}

/// The samples of one call-setup bench, milliseconds.
#[derive(Debug, Default, PartialEq)]
struct Calls {
    to_ring: Vec<f64>,
    to_audio: Vec<f64>,
    /// The part of `to_ring` until the caller's page sent the invitation.
    to_invite: Vec<f64>,
    /// The rest of `to_ring`: the server and the callee's page until its dialog.
    invite_to_ring: Vec<f64>,
    /// The caller's `getUserMedia` in each call (it runs while the invitation goes out) and
    /// the callee's (inside `to_audio`).
    caller_gum: Vec<f64>,
    callee_gum: Vec<f64>,
    /// How far the callee's page clock was ahead of the caller's, and the uncertainty, ms.
    clock_skew: Option<(f64, f64)>,
}

/// One first load: when the login form became usable, and the bytes fetched before.
#[derive(Debug, PartialEq)]
struct Load {
    usable_ms: f64,
    /// Resource Timing's `transferSize` sum: headers and bodies as they came over the wire.
    transfer: u64,
    /// `encodedBodySize` sum: bodies in the Content-Encoding served.
    encoded: u64,
    /// `decodedBodySize` sum: bodies decoded.
    decoded: u64,
}

#[derive(Debug, Default)]
struct Samples {
    host: Calls,
    relay: Calls,
    loads: Vec<Load>,
    /// What the last load fetched: path, transfer, encoded, decoded bytes.
    resources: Vec<(String, u64, u64, u64)>,
    url: String,
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_f64)
        .collect()
}

fn resources(load: &Value) -> Vec<(String, u64, u64, u64)> {
    load["resources"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let n = |k: &str| r[k].as_u64().unwrap_or(0);
            let name = r["name"].as_str().unwrap_or("?").to_string();
            (name, n("transfer"), n("encoded"), n("decoded"))
        })
        .collect()
}

impl Samples {
    /// Reads the `BENCH {json}` lines out of the bench binary's stdout (libtest may have
    /// written `test … ` before one on the same line).
    fn parse(stdout: &str) -> Result<Samples> {
        let mut samples = Samples::default();
        let mut seen = Vec::new();
        for line in stdout.lines() {
            let Some(at) = line.find("BENCH {") else {
                continue;
            };
            let v: Value = serde_json::from_str(&line[at + "BENCH ".len()..])
                .with_context(|| format!("a BENCH line that is not JSON: {line}"))?;
            let bench = v["bench"].as_str().unwrap_or_default().to_string();
            match bench.as_str() {
                "call-setup-host" | "call-setup-relay" => {
                    let calls = Calls {
                        to_ring: numbers(&v["call_to_ring_ms"]),
                        to_audio: numbers(&v["accept_to_audio_ms"]),
                        to_invite: numbers(&v["call_to_invite_ms"]),
                        invite_to_ring: numbers(&v["invite_to_ring_ms"]),
                        caller_gum: numbers(&v["caller_gum_ms"]),
                        callee_gum: numbers(&v["callee_gum_ms"]),
                        clock_skew: v["clock_skew_ms"]
                            .as_f64()
                            .zip(v["clock_skew_error_ms"].as_f64()),
                    };
                    if bench == "call-setup-host" {
                        samples.host = calls;
                    } else {
                        samples.relay = calls;
                    }
                }
                "first-load" => {
                    let loads = v["loads"].as_array().cloned().unwrap_or_default();
                    for load in &loads {
                        let r = resources(load);
                        samples.loads.push(Load {
                            usable_ms: load["usable_ms"].as_f64().unwrap_or(f64::NAN),
                            transfer: r.iter().map(|r| r.1).sum(),
                            encoded: r.iter().map(|r| r.2).sum(),
                            decoded: r.iter().map(|r| r.3).sum(),
                        });
                    }
                    samples.resources = loads.last().map(resources).unwrap_or_default();
                    samples.url = v["url"].as_str().unwrap_or_default().to_string();
                }
                other => bail!("unknown bench `{other}` in: {line}"),
            }
            seen.push(bench);
        }
        for bench in ["call-setup-host", "call-setup-relay", "first-load"] {
            if !seen.iter().any(|s| s == bench) {
                bail!("the bench `{bench}` printed no BENCH line (did it run?)");
            }
        }
        if samples.host.to_ring.is_empty() || samples.relay.to_ring.is_empty() {
            bail!("a call-setup bench printed no calls");
        }
        if samples.loads.is_empty() {
            bail!("the first-load bench printed no loads");
        }
        Ok(samples)
    }

    fn report(&self, sizes: &[Sizes]) -> Report {
        let mut r = Report::new("browser");
        for (label, calls, audio_target) in [
            ("host", &self.host, AUDIO_HOST_P95_MS),
            ("relay", &self.relay, AUDIO_RELAY_P95_MS),
        ] {
            r.row(
                format!("{label}: call → callee's dialog p50"),
                percentile(&calls.to_ring, 50.0),
                "ms",
            );
            let p95 = percentile(&calls.to_ring, 95.0);
            let name = format!("{label}: call → callee's dialog p95");
            if label == "host" {
                r.target(name, p95, "ms", Goal::AtMost, RING_P95_MS);
            } else {
                r.row(name, p95, "ms");
            }
            r.row(
                format!("{label}: accept → first audio p50"),
                percentile(&calls.to_audio, 50.0),
                "ms",
            );
            r.target(
                format!("{label}: accept → first audio p95"),
                percentile(&calls.to_audio, 95.0),
                "ms",
                Goal::AtMost,
                audio_target,
            );
            r.row(
                format!("{label}: call → invitation sent p50 (in call → dialog)"),
                percentile(&calls.to_invite, 50.0),
                "ms",
            );
            r.row(
                format!("{label}: invitation sent → callee's dialog p50"),
                percentile(&calls.invite_to_ring, 50.0),
                "ms",
            );
            r.row(
                format!("{label}: caller's getUserMedia p50 (alongside call → dialog)"),
                percentile(&calls.caller_gum, 50.0),
                "ms",
            );
            r.row(
                format!("{label}: callee's getUserMedia p50 (in accept → audio)"),
                percentile(&calls.callee_gum, 50.0),
                "ms",
            );
            r.row(format!("{label}: calls"), calls.to_ring.len() as f64, "");
        }

        let usable: Vec<f64> = self.loads.iter().map(|l| l.usable_ms).collect();
        let median = |f: fn(&Load) -> u64| {
            let v: Vec<f64> = self.loads.iter().map(|l| f(l) as f64).collect();
            percentile(&v, 50.0)
        };
        r.row(
            "first load: navigation → usable login p50",
            percentile(&usable, 50.0),
            "ms",
        );
        r.row(
            "first load: navigation → usable login p95",
            percentile(&usable, 95.0),
            "ms",
        );
        r.row("first load: loads", self.loads.len() as f64, "");
        r.row(
            "first load: fetched, transferred (browser)",
            median(|l| l.transfer),
            "B",
        );
        r.row(
            "first load: fetched, bodies as served",
            median(|l| l.encoded),
            "B",
        );
        r.row(
            "first load: fetched, bodies decoded",
            median(|l| l.decoded),
            "B",
        );
        let sum = |f: fn(&Sizes) -> u64| sizes.iter().map(f).sum::<u64>() as f64;
        r.row("first load: raw (xtask size)", sum(|s| s.raw), "B");
        r.row("first load: gzip (xtask size)", sum(|s| s.gzip), "B");
        r.target(
            "first load: brotli (xtask size)",
            sum(|s| s.brotli),
            "B",
            Goal::AtMost,
            size::BUDGET_BROTLI as f64,
        );

        // Debian's wrapper script may complain on stderr before the version line.
        let chromium = probe("chromium", &["--version"])
            .and_then(|v| {
                v.lines()
                    .find(|l| l.starts_with("Chromium"))
                    .map(|l| l.trim().to_string())
            })
            .unwrap_or_else(|| "Chromium (version unknown)".into());
        r.note(format!(
            "{chromium}, headless, loopback-only network namespace; p50/p95 by nearest rank"
        ));
        r.note(
            "call → dialog: caller's click on Call to the dialog entering the callee's DOM, \
             both read as performance.timeOrigin + performance.now() (two browsers, one clock); \
             \"invitation sent\": the caller's page hands it to its WebSocket (the microphone \
             opens meanwhile)",
        );
        for (label, calls) in [("host", &self.host), ("relay", &self.relay)] {
            if let Some((skew, error)) = calls.clock_skew {
                r.note(format!(
                    "  {label}: the callee's page clock read {skew:.2} ± {error:.2} ms ahead of \
                     the caller's (measured through WebDriver, not corrected for)"
                ));
            }
        }
        r.note(
            "accept → first audio: callee's click on Accept to its remote track's unmute \
             (first RTP packet), page time; the callee's getUserMedia is inside it",
        );
        r.note(format!(
            "first load of {}: fresh profile (empty cache) per load; navigation start to \
             #log-in present and enabled; bytes from Resource Timing, responses ended by then",
            self.url
        ));
        r.note("  fetched by the last load (transferred / as served / decoded):");
        for (name, transfer, encoded, decoded) in &self.resources {
            r.note(format!("  {name}: {transfer} / {encoded} / {decoded} B"));
        }
        r
    }
}

/// The `p`th percentile of `values` by nearest rank (NaN for none).
fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 10.0);
        assert_eq!(percentile(&v, 95.0), 19.0);
        assert_eq!(percentile(&v, 100.0), 20.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
        assert!(percentile(&[], 50.0).is_nan());
    }

    #[test]
    fn parses_bench_lines_among_libtest_output() {
        let stdout = r#"
running 3 tests
test bench::call_setup_host ... 
BENCH {"bench":"call-setup-host","call_to_ring_ms":[3.5,4.5],"accept_to_audio_ms":[80,90],"clock_skew_ms":0.5,"clock_skew_error_ms":2}
ok
test bench::call_setup_relay ... BENCH {"bench":"call-setup-relay","call_to_ring_ms":[5],"accept_to_audio_ms":[200]}
ok
BENCH {"bench":"first-load","url":"http://127.0.0.1:1/","loads":[{"usable_ms":120.5,"resources":[{"name":"/","transfer":900,"encoded":600,"decoded":600},{"name":"/a.wasm","transfer":100300,"encoded":100000,"decoded":400000}]}]}
"#;
        let s = Samples::parse(stdout).unwrap();
        assert_eq!(s.host.to_ring, vec![3.5, 4.5]);
        assert_eq!(s.relay.to_audio, vec![200.0]);
        assert_eq!(s.host.clock_skew, Some((0.5, 2.0)));
        assert_eq!(s.relay.clock_skew, None);
        assert_eq!(
            s.loads,
            vec![Load {
                usable_ms: 120.5,
                transfer: 101_200,
                encoded: 100_600,
                decoded: 400_600,
            }]
        );
        assert_eq!(s.resources.len(), 2);
        let sizes = [Sizes {
            path: "index.html".into(),
            raw: 400_600,
            gzip: 130_000,
            brotli: 121_000,
        }];
        let table = s.report(&sizes).table(None);
        assert!(table.contains("≤ 120000 MISSED"), "{table}");
        assert!(
            table.contains("/a.wasm: 100300 / 100000 / 400000 B"),
            "{table}"
        );
    }

    #[test]
    fn a_missing_bench_is_an_error() {
        let stdout =
            r#"BENCH {"bench":"call-setup-host","call_to_ring_ms":[1],"accept_to_audio_ms":[1]}"#;
        let e = Samples::parse(stdout).unwrap_err().to_string();
        assert!(e.contains("call-setup-relay"), "{e}");
    }
}
