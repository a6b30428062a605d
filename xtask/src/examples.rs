//! The SDK's example apps (examples/): each built with trunk into `dist/examples/<name>/`, which
//! the server then serves at `/examples/<name>/`. `cargo xtask build` builds them after the app,
//! whose trunk build empties dist/ first.

use crate::cmd::{root, run, step};
use crate::size;
use anyhow::Result;
use std::path::PathBuf;
use std::process::Command;

/// Each example: its name under dist/examples/ and in the URL, and its folder.
const EXAMPLES: [(&str, &str); 2] = [
    ("yew", "examples/yew-call"),
    ("plain", "examples/plain-call"),
];

/// Where example `name` is built.
fn dist_dir(name: &str) -> PathBuf {
    crate::build::dist_dir().join("examples").join(name)
}

/// Builds every example app into `dist/examples/<name>/` and prints what each one loads.
pub fn build_all() -> Result<()> {
    for (name, folder) in EXAMPLES {
        let dist = dist_dir(name);
        step(
            &format!("trunk build --release ({folder} into dist/examples/{name}/)"),
            || {
                run(Command::new("trunk")
                    .args(["build", "--release", "--dist"])
                    .arg(&dist)
                    .args(["--public-url", &format!("/examples/{name}/")])
                    .env("TRUNK_SKIP_VERSION_CHECK", "true")
                    .current_dir(root().join(folder)))
            },
        )?;
    }
    for (name, _) in EXAMPLES {
        print_size(name)?;
    }
    Ok(())
}

/// Prints the bytes example `name` loads (its index.html and the files it names), raw and
/// brotli.
fn print_size(name: &str) -> Result<()> {
    let dist = dist_dir(name);
    let (mut raw, mut brotli) = (0, 0);
    for file in size::first_load_files(&dist)? {
        let data = std::fs::read(&file)?;
        raw += data.len();
        brotli += brotli_len(&data)?;
    }
    println!("example {name} (dist/examples/{name}): {raw} bytes raw, {brotli} brotli");
    Ok(())
}

/// The brotli size at quality 11, as `cargo xtask size` counts. That takes seconds in the debug
/// build xtask runs as, so sizes are kept by content in target/: an example that did not change
/// costs nothing.
fn brotli_len(data: &[u8]) -> Result<usize> {
    use std::hash::{Hash, Hasher};
    use std::io::Write;
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut hasher);
    let cache = root().join(format!(
        "target/xtask-examples-size/{:016x}-{}",
        hasher.finish(),
        data.len()
    ));
    if let Some(len) = std::fs::read_to_string(&cache)
        .ok()
        .and_then(|len| len.trim().parse().ok())
    {
        return Ok(len);
    }
    let mut encoder = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
    encoder.write_all(data)?;
    let len = encoder.into_inner().len();
    if let Some(dir) = cache.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(&cache, len.to_string())?;
    Ok(len)
}
