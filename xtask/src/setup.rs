//! `cargo xtask setup`: installs the tools the build needs, skipping what is already there.

use crate::cmd::{probe, root, run, skip, step};
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::Command;

pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
pub const TRUNK_VERSION: &str = "0.21.14";
pub const BINARYEN_VERSION: &str = "132";
/// The WebDriver server for Firefox in the browser tests (`cargo install`, like trunk).
pub const GECKODRIVER_VERSION: &str = "0.37.1";

/// Where `npm` puts binaryen's `wasm-opt`; first on PATH (see `main`).
pub fn binaryen_bin() -> PathBuf {
    root().join(".tools/binaryen/node_modules/.bin")
}

/// `$CARGO_HOME/bin`, where `cargo install` puts binaries.
pub fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"))
        .join("bin")
}

pub fn run_all() -> Result<()> {
    step("setup", || {
        wasm_target()?;
        trunk()?;
        wasm_bindgen()?;
        wasm_opt()
    })
}

fn has_word(output: Option<String>, word: &str) -> bool {
    output.is_some_and(|o| o.split_whitespace().any(|w| w == word))
}

fn wasm_target() -> Result<()> {
    let name = format!("rust target {WASM_TARGET}");
    let installed = probe("rustup", &["target", "list", "--installed"]);
    if installed.is_some_and(|o| o.lines().any(|l| l.trim() == WASM_TARGET)) {
        skip(&name, "installed");
        return Ok(());
    }
    step(&name, || {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
    })
}

fn trunk() -> Result<()> {
    let name = format!("trunk {TRUNK_VERSION}");
    if has_word(probe("trunk", &["--version"]), TRUNK_VERSION) {
        skip(&name, "installed");
        return Ok(());
    }
    step(&name, || {
        run(Command::new("cargo").args(["install", "--locked", &format!("trunk@{TRUNK_VERSION}")]))
    })
}

/// geckodriver, which drives Firefox ESR in the browser tests: only `cargo xtask test` needs it,
/// so `setup` (and `build`) leave it out.
pub fn geckodriver() -> Result<()> {
    let name = format!("geckodriver {GECKODRIVER_VERSION}");
    if has_word(probe("geckodriver", &["--version"]), GECKODRIVER_VERSION) {
        skip(&name, "installed");
        return Ok(());
    }
    // Not --locked, as measured here (see wasm-bindgen-cli).
    step(&name, || {
        run(Command::new("cargo").args([
            "install",
            "geckodriver",
            "--version",
            GECKODRIVER_VERSION,
        ]))
    })
}

/// The version of the `wasm-bindgen` crate in Cargo.lock: the CLI must match it exactly.
pub fn locked_wasm_bindgen_version() -> Result<String> {
    let path = root().join("Cargo.lock");
    let lock =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    locked_version(&lock, "wasm-bindgen").with_context(|| format!("in {}", path.display()))
}

/// The one version of package `name` in a Cargo.lock text.
fn locked_version(lock: &str, name: &str) -> Result<String> {
    let wanted = format!("name = \"{name}\"");
    let mut versions: Vec<&str> = Vec::new();
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
                .and_then(|l| l.strip_suffix('"'));
            match version {
                Some(v) => versions.push(v),
                None => bail!("no version line after {wanted}"),
            }
        }
    }
    match versions.as_slice() {
        [v] => Ok(v.to_string()),
        [] => bail!("no package {name}"),
        _ => bail!("several versions of {name}: {versions:?}"),
    }
}

fn wasm_bindgen() -> Result<()> {
    let version = locked_wasm_bindgen_version()?;
    let name = format!("wasm-bindgen-cli {version}");
    if has_word(probe("wasm-bindgen", &["--version"]), &version) {
        skip(&name, "installed");
        return Ok(());
    }
    // Not --locked: a locked dependency of the CLI can be newer than the registry index here.
    step(&name, || {
        run(Command::new("cargo").args(["install", "wasm-bindgen-cli", "--version", &version]))
    })
}

fn wasm_opt() -> Result<()> {
    let name = format!("wasm-opt {BINARYEN_VERSION} (npm binaryen)");
    let wasm_opt = binaryen_bin().join("wasm-opt");
    if has_word(probe(&wasm_opt, &["--version"]), BINARYEN_VERSION) {
        skip(&name, "installed in .tools/binaryen");
        return Ok(());
    }
    step(&name, || {
        let prefix = root().join(".tools/binaryen");
        std::fs::create_dir_all(&prefix)?;
        run(Command::new("npm")
            .arg("install")
            .arg("--no-audit")
            .arg("--no-fund")
            .arg("--prefix")
            .arg(&prefix)
            .arg(format!("binaryen@{BINARYEN_VERSION}.0.0")))?;
        if !has_word(probe(&wasm_opt, &["--version"]), BINARYEN_VERSION) {
            bail!(
                "{} does not report version {BINARYEN_VERSION}",
                wasm_opt.display()
            );
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::locked_version;

    const LOCK: &str = r#"
[[package]]
name = "wasm-bindgen"
version = "0.2.130"
source = "registry+https://github.com/rust-lang/crates.io-index"

[[package]]
name = "wasm-bindgen-futures"
version = "0.4.50"
"#;

    #[test]
    fn finds_the_locked_version() {
        assert_eq!(locked_version(LOCK, "wasm-bindgen").unwrap(), "0.2.130");
        assert!(locked_version(LOCK, "trunk").is_err());
        let twice = format!("{LOCK}\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.99\"\n");
        assert!(locked_version(&twice, "wasm-bindgen").is_err());
    }

    #[test]
    fn the_workspace_lock_has_one_wasm_bindgen() {
        super::locked_wasm_bindgen_version().unwrap();
    }
}
