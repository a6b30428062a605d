//! Precompressed copies of the built web files (work in progress).

use anyhow::Result;
use std::path::Path;

/// Writes `<file>.br` and `<file>.gz` next to every compressible file under `dist`.
pub fn precompress(_dist: &Path) -> Result<()> {
    Ok(())
}
