//! `cargo xtask sdk`: the JavaScript build of the calling service (crate `webcall-js`), as an npm
//! package in dist/sdk/ (`npm publish dist/sdk`), and its example page in dist/sdk-example/.
//!
//! The crate is built for wasm32 in release, wasm-bindgen makes the ES module around it
//! (`--target web`, TypeScript declarations on) and wasm-opt shrinks it with the options the
//! demo app gets from trunk (root index.html); the package's own files come from js/package/,
//! its version from js/Cargo.toml. The bytes a page fetches are printed next to what the
//! TRTCCalling stack weighs.

use crate::build::dist_dir;
use crate::cmd::{self, root, step};
use crate::size::brotli_len;
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

/// trtc-calling-js + trtc-js-sdk + tim-js-sdk + tsignaling, brotli bytes (issue 7).
const TRTC_CALLING_STACK_BROTLI: u64 = 211_000;

/// The files a page loads, in load order; the rest of the package is declarations.
const LOADED: [&str; 3] = ["webcall.js", "webcall_core.js", "webcall_core_bg.wasm"];

/// The package's files written by hand (js/package/), besides package.json.
const HANDWRITTEN: [&str; 3] = ["webcall.js", "webcall.d.ts", "README.md"];

/// The version placeholder of js/package/package.json.
const VERSION_PLACEHOLDER: &str = "\"version\": \"0.0.0\"";

pub fn sdk_dir() -> PathBuf {
    dist_dir().join("sdk")
}

fn example_dir() -> PathBuf {
    dist_dir().join("sdk-example")
}

/// Where wasm-bindgen writes before the package is assembled.
fn bindgen_dir() -> PathBuf {
    root().join("target/sdk")
}

/// Builds the SDK package and copies it, with its example page, into `dist`.
pub fn build_into_dist() -> Result<()> {
    step(
        "cargo build --release --target wasm32-unknown-unknown -p webcall-js",
        || {
            cmd::run(
                Command::new("cargo")
                    .args(["build", "--release", "--target", crate::setup::WASM_TARGET])
                    .args(["-p", "webcall-js"])
                    .current_dir(root()),
            )
        },
    )?;
    let out = bindgen_dir();
    step("wasm-bindgen --target web (webcall_core)", || {
        if out.exists() {
            std::fs::remove_dir_all(&out)?;
        }
        let wasm = root().join("target/wasm32-unknown-unknown/release/webcall_js.wasm");
        cmd::run(
            Command::new("wasm-bindgen")
                .args(["--target", "web", "--out-name", "webcall_core", "--out-dir"])
                .arg(&out)
                .arg(wasm),
        )
    })?;
    step("wasm-opt -Oz (webcall_core_bg.wasm)", || {
        let wasm = out.join("webcall_core_bg.wasm");
        // The wasm's target_features section tells wasm-opt which features it uses; it is
        // stripped from the output, like the producers section.
        cmd::run(
            Command::new("wasm-opt")
                .args([
                    "-Oz",
                    "--converge",
                    "--strip-producers",
                    "--strip-target-features",
                ])
                .arg(&wasm)
                .arg("-o")
                .arg(&wasm),
        )
    })?;
    step("assemble dist/sdk/ and dist/sdk-example/", || {
        assemble(&out, &sdk_dir())?;
        let example = example_dir();
        if example.exists() {
            std::fs::remove_dir_all(&example)?;
        }
        copy_dir(&root().join("js/example"), &example)
    })?;
    print_sizes(&sdk_dir())
}

/// `cargo xtask sdk`: the package, and its precompressed copies for the server (which
/// `cargo xtask build` makes over the whole of dist/ at its end).
pub fn run() -> Result<()> {
    build_into_dist()?;
    crate::compress::precompress(&sdk_dir())?;
    crate::compress::precompress(&example_dir())
}

/// Fills `sdk` (emptied first) with wasm-bindgen's output from `bindgen`, the handwritten
/// files and package.json, and checks that package.json's `files` lists exactly what is there.
fn assemble(bindgen: &Path, sdk: &Path) -> Result<()> {
    if sdk.exists() {
        std::fs::remove_dir_all(sdk).with_context(|| format!("emptying {}", sdk.display()))?;
    }
    copy_dir(bindgen, sdk)?;
    let package = root().join("js/package");
    for name in HANDWRITTEN {
        std::fs::copy(package.join(name), sdk.join(name))
            .with_context(|| format!("copying js/package/{name}"))?;
    }
    let template = std::fs::read_to_string(package.join("package.json"))
        .context("reading js/package/package.json")?;
    if template.matches(VERSION_PLACEHOLDER).count() != 1 {
        bail!("js/package/package.json must hold {VERSION_PLACEHOLDER} once");
    }
    let version = crate_version(&root().join("js/Cargo.toml"))?;
    let json = template.replace(VERSION_PLACEHOLDER, &format!("\"version\": \"{version}\""));
    let manifest: serde_json::Value =
        serde_json::from_str(&json).context("js/package/package.json is not valid JSON")?;
    std::fs::write(sdk.join("package.json"), json)?;

    // npm always packs package.json and README.md; everything else must be listed.
    let listed: Vec<&str> = manifest["files"]
        .as_array()
        .context("package.json has no `files` list")?
        .iter()
        .filter_map(|f| f.as_str())
        .collect();
    let mut present = Vec::new();
    for entry in std::fs::read_dir(sdk)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name != "package.json" && name != "README.md" {
            present.push(name);
        }
    }
    present.sort();
    let mut wanted: Vec<String> = listed.iter().map(|s| s.to_string()).collect();
    wanted.sort();
    if present != wanted {
        bail!(
            "js/package/package.json `files` lists {wanted:?}, but the package holds \
             {present:?}: update the list"
        );
    }
    Ok(())
}

/// The `version` of the `[package]` of a Cargo.toml.
fn crate_version(manifest: &Path) -> Result<String> {
    let text = std::fs::read_to_string(manifest)
        .with_context(|| format!("reading {}", manifest.display()))?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(value) = line.strip_prefix("version") {
                let value = value.trim_start().trim_start_matches('=').trim();
                if let Some(version) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
                    return Ok(version.to_string());
                }
            }
        }
    }
    bail!("{} has no [package] version = \"..\"", manifest.display())
}

/// Copies the files of `from` into `to` (created; files there are replaced), recursively.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    for entry in std::fs::read_dir(from).with_context(|| format!("listing {}", from.display()))? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).with_context(|| {
                format!("copying {} to {}", entry.path().display(), target.display())
            })?;
        }
    }
    Ok(())
}

/// Prints what a page fetches of the SDK, raw and brotli, per file and in total.
pub fn print_sizes(sdk: &Path) -> Result<()> {
    let sizes = step("SDK size (brotli q11)", || {
        LOADED
            .iter()
            .map(|name| {
                let data = std::fs::read(sdk.join(name))
                    .with_context(|| format!("reading dist/sdk/{name}"))?;
                Ok((name, data.len() as u64, brotli_len(&data)?))
            })
            .collect::<Result<Vec<_>>>()
    })?;
    println!(
        "{:<28} {:>10} {:>10}",
        "JavaScript SDK (bytes)", "raw", "brotli"
    );
    for (name, raw, brotli) in &sizes {
        println!("{:<28} {raw:>10} {brotli:>10}", format!("sdk/{name}"));
    }
    let raw: u64 = sizes.iter().map(|s| s.1).sum();
    let brotli: u64 = sizes.iter().map(|s| s.2).sum();
    println!("{:<28} {raw:>10} {brotli:>10}", "total");
    println!(
        "the TRTCCalling stack: {TRTC_CALLING_STACK_BROTLI} bytes brotli; the SDK is {:.0} % of it",
        brotli as f64 * 100.0 / TRTC_CALLING_STACK_BROTLI as f64
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_js_crate_version() {
        let version = crate_version(&root().join("js/Cargo.toml")).unwrap();
        assert!(version.split('.').count() == 3, "{version}");
    }
}
