//! `cargo xtask build`: the release SPA into dist/ (trunk) and the release server.
//!
//! The SPA is built twice from the same sources: the first load (dist/: login, call, in-call)
//! and, with the `extra-pages` feature, the whole app into dist/full/, which the server
//! serves for `/history` and `/check`. Those pages are big and rarely opened, so they cost
//! the first load nothing: opening one loads the whole app once (see `src/route.rs`).

use crate::cmd::{root, run, skip, step};
use crate::{setup, size};
use anyhow::Result;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn dist_dir() -> PathBuf {
    root().join("dist")
}

/// The whole app, with the pages that load only when opened.
pub fn full_dist_dir() -> PathBuf {
    dist_dir().join("full")
}

/// The server binary, built with the `server` profile (root Cargo.toml: the release profile
/// at opt-level 3, for speed where the app's wasm is built for size).
pub fn server_bin() -> PathBuf {
    root().join("target/server/webcall-server")
}

/// Where the fingerprint of the inputs of the last successful `trunk build` is kept.
fn stamp_path() -> PathBuf {
    root().join("target/xtask-trunk.stamp")
}

pub fn run_all() -> Result<()> {
    setup::run_all()?;
    // Trunk runs cargo with --offline (Trunk.toml), so every crate must be downloaded first.
    // Without anything to download this needs no network.
    step("cargo fetch", || {
        run(Command::new("cargo").arg("fetch").current_dir(root()))
    })?;
    let name = "trunk build --release (SPA into dist/)";
    let fingerprint = spa_inputs_fingerprint()?;
    let stamp = std::fs::read_to_string(stamp_path()).unwrap_or_default();
    let built = size::first_load_files(&dist_dir()).is_ok()
        && size::first_load_files(&full_dist_dir()).is_ok();
    if stamp == fingerprint && built {
        skip(name, "no input changed since the last build");
    } else {
        // First the first load: trunk empties dist/ (and so dist/full/) before it writes.
        step(name, || {
            run(Command::new("trunk")
                .args(["build", "--release"])
                .env("TRUNK_SKIP_VERSION_CHECK", "true")
                .current_dir(root()))
        })?;
        step(
            "trunk build --release --features extra-pages (whole app into dist/full/)",
            || {
                run(Command::new("trunk")
                    .args(["build", "--release", "--features", "extra-pages"])
                    .args(["--public-url", "/full/"])
                    .arg("--dist")
                    .arg(full_dist_dir())
                    .env("TRUNK_SKIP_VERSION_CHECK", "true")
                    .current_dir(root()))
            },
        )?;
        // The SDK's example apps and its JavaScript package, into dist/ after the app (whose
        // build empties dist/ first).
        crate::examples::build_all()?;
        crate::sdk::build_into_dist()?;
        // Last, over everything in dist/: the server sends these to browsers that accept them.
        crate::compress::precompress(&dist_dir())?;
        std::fs::write(stamp_path(), &fingerprint)?;
    }
    step("cargo build --profile server -p webcall-server", || {
        run(Command::new("cargo")
            .args(["build", "--profile", "server", "-p", "webcall-server"])
            .current_dir(root()))
    })?;
    size::print(&dist_dir())?;
    size::print_lazy(&full_dist_dir())
}

/// Folders and files that do not go into the SPA.
const NOT_SPA_INPUTS: [&str; 13] = [
    ".git",
    ".tools",
    "target",
    "dist",
    "server",
    "xtask",
    "tests",
    ".ci",
    "node_modules",
    "README.md",
    "docs",
    "fuzz",
    "bench",
];

/// A hash over the path, size and modification time of every file the SPA may be built from:
/// the whole repository except [`NOT_SPA_INPUTS`].
fn spa_inputs_fingerprint() -> Result<String> {
    let mut files = Vec::new();
    walk(&root(), &mut files)?;
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    files.hash(&mut h);
    Ok(format!("{:016x} {} files\n", h.finish(), files.len()))
}

fn walk(dir: &Path, out: &mut Vec<(PathBuf, u64, u128)>) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if dir == root() && NOT_SPA_INPUTS.iter().any(|n| entry.file_name() == *n) {
            continue;
        }
        let meta = entry.metadata()?;
        if meta.is_dir() {
            walk(&path, out)?;
        } else {
            let mtime = meta
                .modified()?
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or(0);
            out.push((path, meta.len(), mtime));
        }
    }
    Ok(())
}
