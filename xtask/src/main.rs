//! WebCall's task runner: `cargo xtask <command>` (see `USAGE`).

mod bench;
mod build;
mod cmd;
mod compress;
mod examples;
mod sdk;
mod setup;
mod size;
mod test;

use anyhow::{bail, Context, Result};
use std::process::Command;

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  setup                       install what is missing: wasm32 target, trunk, wasm-bindgen-cli,
                              wasm-opt (into .tools/)
  bench [<bench>...]          the benchmarks (all without names): each prints a table and writes
                              target/bench/<bench>.json, compared with the previous run
  build                       setup, then the release SPA (trunk, into dist/) and the release
                              server; prints the first-load size
  serve [--port N] [--bind A] build, then run the server on A:N (default 127.0.0.1, PORT or 8080)
  test [--native-only | --browser-only] [--no-build] [-- <browser test args>]
                              native tests of all crates, then the browser tests in a
                              loopback-only network namespace (needs root or user namespaces)
  sdk                         setup, then the JavaScript SDK package into dist/sdk/ (with its
                              example page, dist/sdk-example/)
  size [--json]               first-load bytes of dist/: raw, gzip, brotli, against the budget;
                              then the whole app's and the JavaScript SDK's, when built
";

fn main() {
    if let Err(e) = run() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    put_tools_on_path();
    let mut args = std::env::args().skip(1);
    let command = args.next().unwrap_or_default();
    let rest: Vec<String> = args.collect();
    let start = std::time::Instant::now();
    match command.as_str() {
        "setup" => {
            no_args(&rest)?;
            setup::run_all()?;
        }
        "bench" => bench::run(&rest)?,
        "build" => {
            no_args(&rest)?;
            build::run_all()?;
        }
        "serve" => serve(&rest)?,
        "sdk" => {
            no_args(&rest)?;
            setup::run_all()?;
            sdk::run()?;
        }
        "test" => test::run_all(&test_options(&rest)?)?,
        "size" => match rest.as_slice() {
            [] => {
                size::print(&build::dist_dir())?;
                if build::full_dist_dir().join("index.html").exists() {
                    size::print_lazy(&build::full_dist_dir())?;
                }
                if sdk::sdk_dir().join("package.json").exists() {
                    sdk::print_sizes(&sdk::sdk_dir())?;
                }
            }
            [json] if json == "--json" => size::print_json(&build::dist_dir())?,
            _ => bail!("unexpected arguments {rest:?}\n\n{USAGE}"),
        },
        "" | "help" | "-h" | "--help" => {
            eprint!("{USAGE}");
            return Ok(());
        }
        other => bail!("unknown command `{other}`\n\n{USAGE}"),
    }
    eprintln!(
        "xtask {command}: ok in {:.1}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// binaryen's wasm-opt from .tools/ first (trunk looks it up on PATH), and cargo's bin dir;
/// the sbin dirs last (`ip`, for the test namespace).
fn put_tools_on_path() {
    let mut paths = vec![setup::binaryen_bin(), setup::cargo_bin()];
    if let Some(path) = std::env::var_os("PATH") {
        paths.extend(std::env::split_paths(&path));
    }
    for sbin in ["/usr/sbin", "/sbin"] {
        if !paths.iter().any(|p| p.as_os_str() == sbin) {
            paths.push(sbin.into());
        }
    }
    if let Ok(joined) = std::env::join_paths(paths) {
        std::env::set_var("PATH", joined);
    }
}

fn no_args(rest: &[String]) -> Result<()> {
    if !rest.is_empty() {
        bail!("unexpected arguments {rest:?}\n\n{USAGE}");
    }
    Ok(())
}

fn test_options(rest: &[String]) -> Result<test::Options> {
    let mut opts = test::Options {
        native: true,
        browser: true,
        no_build: false,
        browser_args: Vec::new(),
    };
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--native-only" => opts.browser = false,
            "--browser-only" => opts.native = false,
            "--no-build" => opts.no_build = true,
            "--" => opts.browser_args.extend(it.by_ref().cloned()),
            other => bail!("unknown flag `{other}` for test\n\n{USAGE}"),
        }
    }
    if !opts.native && !opts.browser {
        bail!("--native-only and --browser-only exclude each other");
    }
    Ok(opts)
}

fn serve(rest: &[String]) -> Result<()> {
    let mut port = std::env::var("PORT").unwrap_or_else(|_| "8080".into());
    let mut bind = std::env::var("WEBCALL_BIND").unwrap_or_else(|_| "127.0.0.1".into());
    let mut it = rest.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_string())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .with_context(|| format!("{flag} needs a value"))
        };
        match flag {
            "--port" => port = value()?,
            "--bind" => bind = value()?,
            _ => bail!("unknown flag `{arg}` for serve\n\n{USAGE}"),
        }
    }
    port.parse::<u16>()
        .with_context(|| format!("port `{port}` is not a number 0-65535"))?;
    build::run_all()?;
    let host = if bind == "127.0.0.1" || bind == "0.0.0.0" {
        "localhost"
    } else {
        &bind
    };
    eprintln!("==> serving on http://{host}:{port} (Ctrl-C stops)");
    let mut server = Command::new(build::server_bin());
    server
        .arg("--dist")
        .arg(build::dist_dir())
        .args(["--port", &port, "--bind", &bind])
        .current_dir(cmd::root());
    eprintln!("    $ {}", cmd::describe(&server));
    use std::os::unix::process::CommandExt;
    let err = server.exec();
    Err(err).with_context(|| format!("could not start {}", build::server_bin().display()))
}
