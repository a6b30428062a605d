//! `cargo xtask size`: the bytes a browser fetches before the login page is usable.
//!
//! That is dist/index.html plus every .wasm, .js and .css file of dist/ that index.html names
//! (Trunk writes hashed names into index.html). Each counted raw, gzip (best) and brotli (q 11).

use crate::cmd::step;
use anyhow::{bail, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first-load budget, brotli bytes (120 kB).
pub const BUDGET_BROTLI: u64 = 120_000;

pub struct Sizes {
    pub path: String,
    pub raw: u64,
    pub gzip: u64,
    pub brotli: u64,
}

/// The files of `dist` that make up the first load, index.html first.
pub fn first_load_files(dist: &Path) -> Result<Vec<PathBuf>> {
    let index = dist.join("index.html");
    let html = std::fs::read_to_string(&index).with_context(|| {
        format!(
            "reading {} (run `cargo xtask build` first)",
            index.display()
        )
    })?;
    let mut found = Vec::new();
    collect(dist, dist, &html, &mut found)?;
    found.sort();
    found.insert(0, index);
    Ok(found)
}

fn collect(dist: &Path, dir: &Path, html: &str, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect(dist, &path, html, found)?;
            continue;
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !matches!(ext, "wasm" | "js" | "css") {
            continue;
        }
        let rel = path.strip_prefix(dist)?.to_string_lossy().into_owned();
        if html.contains(&rel) {
            found.push(path);
        }
    }
    Ok(())
}

fn gzip_len(data: &[u8]) -> Result<u64> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    Ok(enc.finish()?.len() as u64)
}

pub fn brotli_len(data: &[u8]) -> Result<u64> {
    let mut out = Vec::new();
    {
        let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 11, 22);
        enc.write_all(data)?;
        enc.flush()?;
    }
    Ok(out.len() as u64)
}

/// Compressed sizes are cached by content hash: brotli at quality 11 takes seconds.
fn cache_path() -> PathBuf {
    crate::cmd::root().join("target/xtask-size-cache.json")
}

fn content_key(data: &[u8]) -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    data.hash(&mut h);
    format!("{:016x}-{}", h.finish(), data.len())
}

pub fn measure(dist: &Path) -> Result<Vec<Sizes>> {
    let files = first_load_files(dist)?;
    if !files
        .iter()
        .any(|f| f.extension().is_some_and(|e| e == "wasm"))
    {
        bail!("{}/index.html names no .wasm file of dist/", dist.display());
    }
    let mut cache: serde_json::Map<String, serde_json::Value> = std::fs::read(cache_path())
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let mut sizes = Vec::new();
    for f in &files {
        let data = std::fs::read(f).with_context(|| format!("reading {}", f.display()))?;
        let key = content_key(&data);
        let cached = cache
            .get(&key)
            .and_then(|v| Some((v["gzip"].as_u64()?, v["brotli"].as_u64()?)));
        let (gzip, brotli) = match cached {
            Some(c) => c,
            None => {
                // gzip and brotli side by side: brotli dominates.
                let (gzip, brotli) = std::thread::scope(|s| {
                    let gzip = s.spawn(|| gzip_len(&data));
                    let brotli = brotli_len(&data);
                    (gzip.join().expect("gzip thread panicked"), brotli)
                });
                let (gzip, brotli) = (gzip?, brotli?);
                cache.insert(key, serde_json::json!({"gzip": gzip, "brotli": brotli}));
                (gzip, brotli)
            }
        };
        sizes.push(Sizes {
            path: f.strip_prefix(dist)?.to_string_lossy().into_owned(),
            raw: data.len() as u64,
            gzip,
            brotli,
        });
    }
    // Only this run's files: the cache stays small.
    let keep: Vec<String> = files
        .iter()
        .filter_map(|f| std::fs::read(f).ok())
        .map(|d| content_key(&d))
        .collect();
    cache.retain(|k, _| keep.contains(k));
    let _ = std::fs::write(cache_path(), serde_json::to_vec(&cache)?);
    Ok(sizes)
}

fn total(sizes: &[Sizes]) -> Sizes {
    Sizes {
        path: "total".into(),
        raw: sizes.iter().map(|s| s.raw).sum(),
        gzip: sizes.iter().map(|s| s.gzip).sum(),
        brotli: sizes.iter().map(|s| s.brotli).sum(),
    }
}

/// Prints the table (stdout) and the verdict against the budget.
pub fn print(dist: &Path) -> Result<()> {
    let sizes = step("first-load size", || measure(dist))?;
    let total = total(&sizes);
    let w = sizes
        .iter()
        .map(|s| s.path.len())
        .max()
        .unwrap_or(0)
        .max(18);
    println!(
        "{:<w$} {:>10} {:>10} {:>10}",
        "first load (bytes)", "raw", "gzip", "brotli"
    );
    for s in sizes.iter().chain([&total]) {
        println!(
            "{:<w$} {:>10} {:>10} {:>10}",
            s.path, s.raw, s.gzip, s.brotli
        );
    }
    let verdict = if total.brotli > BUDGET_BROTLI {
        format!("OVER by {} bytes", total.brotli - BUDGET_BROTLI)
    } else {
        format!("under by {} bytes", BUDGET_BROTLI - total.brotli)
    };
    println!(
        "budget {BUDGET_BROTLI} bytes brotli: {} brotli, {verdict}",
        total.brotli
    );
    Ok(())
}

/// Prints what opening `/history` or `/check` loads: the whole app in `full` (not counted in
/// the first load).
pub fn print_lazy(full: &Path) -> Result<()> {
    let total = total(&measure(full)?);
    println!(
        "loaded when /history or /check opens (dist/full): {} raw, {} gzip, {} brotli",
        total.raw, total.gzip, total.brotli
    );
    Ok(())
}

/// Prints the sizes as JSON (stdout).
pub fn print_json(dist: &Path) -> Result<()> {
    let sizes = measure(dist)?;
    let total = total(&sizes);
    let entry = |s: &Sizes| serde_json::json!({"path": s.path, "raw": s.raw, "gzip": s.gzip, "brotli": s.brotli});
    let json = serde_json::json!({
        "files": sizes.iter().map(entry).collect::<Vec<_>>(),
        "total": entry(&total),
        "budget_brotli": BUDGET_BROTLI,
        "over_budget": total.brotli > BUDGET_BROTLI,
    });
    println!("{}", serde_json::to_string_pretty(&json)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::first_load_files;

    #[test]
    fn counts_what_index_html_names() {
        let dist = std::env::temp_dir().join(format!("xtask-size-test-{}", std::process::id()));
        std::fs::create_dir_all(dist.join("assets")).unwrap();
        let html = r#"<link rel="modulepreload" href="/app-1_bg.js"><script type="module">
            import init from '/app-1.js'; init('/app-1_bg.wasm');</script>
            <link rel="stylesheet" href="/assets/site.css">"#;
        for (name, body) in [
            ("index.html", html),
            ("app-1.js", "js"),
            ("app-1_bg.wasm", "wasm"),
            ("old-0_bg.wasm", "stale"),
            ("assets/site.css", "css"),
            ("assets/logo.png", "png"),
        ] {
            std::fs::write(dist.join(name), body).unwrap();
        }
        let names: Vec<String> = first_load_files(&dist)
            .unwrap()
            .iter()
            .map(|p| {
                p.strip_prefix(&dist)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        std::fs::remove_dir_all(&dist).unwrap();
        assert_eq!(
            names,
            ["index.html", "app-1.js", "app-1_bg.wasm", "assets/site.css"]
        );
    }
}
