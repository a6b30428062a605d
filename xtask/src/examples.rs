//! The SDK's example apps (examples/), built with trunk into dist/examples/ (work in progress).

use anyhow::Result;

/// Builds every example app into `dist/examples/<name>/`.
pub fn build_all() -> Result<()> {
    Ok(())
}
