//! `cargo xtask sdk`: the JavaScript build of the calling service (work in progress).

use anyhow::Result;

/// Builds the SDK package and copies it, with its example page, into `dist`.
pub fn build_into_dist() -> Result<()> {
    Ok(())
}

/// `cargo xtask sdk`.
pub fn run() -> Result<()> {
    build_into_dist()
}
