//! Precompressed copies of the built web files: `<file>.br` and `<file>.gz` next to every
//! compressible file of dist/, written once per build.
//!
//! The server sends them to browsers that accept them (server/src/static_files.rs), so no
//! request pays for compression and brotli can run at its slowest, smallest setting (quality
//! 11, window 22: what `cargo xtask size` measures). A copy that would not be smaller than its
//! original is not written; a copy whose original is gone, or was rebuilt into something that
//! no longer shrinks, is removed, so the server never sends stale bytes. Files are written
//! under a temporary name and renamed, so a server reading dist/ meanwhile sees either the old
//! copy or the new one, never half of one.

use anyhow::{anyhow, Context, Result};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// The extensions of the files worth compressing: text, and WebAssembly (`.d.ts` ends in
/// `ts`). The server's list of the files it answers with `Vary: Accept-Encoding` is the same
/// (server/src/static_files.rs).
const COMPRESSIBLE: [&str; 11] = [
    "wasm", "js", "mjs", "css", "html", "svg", "json", "ts", "txt", "md", "map",
];

/// The name ending of a copy being written; what a crashed run leaves behind is removed by
/// the next.
const TEMP_SUFFIX: &str = ".precompress-tmp";

/// The two encodings written, each with its file suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Brotli,
    Gzip,
}

impl Encoding {
    const ALL: [Encoding; 2] = [Encoding::Brotli, Encoding::Gzip];

    /// The suffix appended to the original's name: `app.js` → `app.js.br`.
    fn suffix(self) -> &'static str {
        match self {
            Encoding::Brotli => ".br",
            Encoding::Gzip => ".gz",
        }
    }

    /// `data` compressed: brotli quality 11, window 22 (as `size::brotli_len`); gzip best.
    fn compress(self, data: &[u8]) -> Result<Vec<u8>> {
        Ok(match self {
            Encoding::Brotli => {
                let mut writer = brotli::CompressorWriter::new(Vec::new(), 4096, 11, 22);
                writer.write_all(data)?;
                writer.into_inner()
            }
            Encoding::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
                encoder.write_all(data)?;
                encoder.finish()?
            }
        })
    }
}

/// Whether `path` names a file worth compressing (by its extension).
fn is_compressible(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| COMPRESSIBLE.contains(&e))
}

/// The original of a compressed copy this module writes (`app.js.br` → `app.js`), or `None`
/// when `path` is not such a copy (a `.tar.gz` that came with the app is not one).
fn original_of(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let original = Encoding::ALL
        .iter()
        .find_map(|e| name.strip_suffix(e.suffix()))?;
    let original = path.with_file_name(original);
    is_compressible(&original).then_some(original)
}

/// What to do in a dist folder holding `files` (every file under it).
#[derive(Debug, Default, PartialEq, Eq)]
struct Plan {
    /// The files to compress.
    originals: Vec<PathBuf>,
    /// Compressed copies whose original is gone, and leftovers of an interrupted run: removed.
    stale: Vec<PathBuf>,
}

/// The [`Plan`] for a folder whose files are `files`.
fn plan(files: &[PathBuf]) -> Plan {
    let mut plan = Plan::default();
    for file in files {
        let leftover = file
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(TEMP_SUFFIX));
        if leftover {
            plan.stale.push(file.clone());
        } else if let Some(original) = original_of(file) {
            if !files.contains(&original) {
                plan.stale.push(file.clone());
            }
        } else if is_compressible(file) {
            plan.originals.push(file.clone());
        }
    }
    plan
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, found: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        let metadata =
            std::fs::metadata(&path).with_context(|| format!("reading {}", path.display()))?;
        if metadata.is_dir() {
            files_under(&path, found)?;
        } else if metadata.is_file() {
            found.push(path);
        }
    }
    Ok(())
}

/// `path` with `suffix` appended to its name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Removes `path`; one that is not there is fine.
fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// Writes `data` to `path` through a temporary file renamed over it.
fn write_replacing(path: &Path, data: &[u8]) -> Result<()> {
    let temp = with_suffix(path, TEMP_SUFFIX);
    let written = std::fs::write(&temp, data)
        .and_then(|()| std::fs::rename(&temp, path))
        .with_context(|| format!("writing {}", path.display()));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// The sizes of one file: raw, and what a browser fetches with each encoding (the copy's
/// length, or the raw length where no smaller copy was written).
#[derive(Debug, Clone, Copy, Default)]
struct Sizes {
    raw: u64,
    brotli: u64,
    gzip: u64,
}

/// Writes (or, where not smaller, removes) the compressed copies of `original`.
fn compress_file(original: &Path) -> Result<Sizes> {
    let data =
        std::fs::read(original).with_context(|| format!("reading {}", original.display()))?;
    let raw = data.len() as u64;
    let mut sizes = Sizes {
        raw,
        brotli: raw,
        gzip: raw,
    };
    for encoding in Encoding::ALL {
        let copy = with_suffix(original, encoding.suffix());
        let compressed = encoding
            .compress(&data)
            .with_context(|| format!("compressing {}", original.display()))?;
        if compressed.len() < data.len() {
            write_replacing(&copy, &compressed)?;
            let len = compressed.len() as u64;
            match encoding {
                Encoding::Brotli => sizes.brotli = len,
                Encoding::Gzip => sizes.gzip = len,
            }
        } else {
            // An older copy of a former version would be served instead of this one.
            remove_if_present(&copy)?;
        }
    }
    Ok(sizes)
}

/// Compresses `files` on all cores (largest first, so that the big ones do not end up last on
/// one core), returning each file's sizes.
fn compress_all(mut files: Vec<PathBuf>) -> Result<Vec<Sizes>> {
    files.sort_by_cached_key(|f| std::cmp::Reverse(std::fs::metadata(f).map_or(0, |m| m.len())));
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(files.len())
        .max(1);
    let next = AtomicUsize::new(0);
    let results = Mutex::new(Vec::with_capacity(files.len()));
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| loop {
                    let Some(file) = files.get(next.fetch_add(1, Ordering::Relaxed)) else {
                        return;
                    };
                    let sizes = compress_file(file);
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push(sizes);
                })
            })
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .map_err(|_| anyhow!("a compression thread panicked"))
        })
    })?;
    results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .into_iter()
        .collect()
}

/// Writes `<file>.br` and `<file>.gz` next to every compressible file under `dist` (skipping
/// either where it would not be smaller), removes the copies whose original is gone, and prints
/// one line: the files, and their bytes before and after.
pub fn precompress(dist: &Path) -> Result<()> {
    let mut files = Vec::new();
    files_under(dist, &mut files)?;
    let Plan { originals, stale } = plan(&files);
    for file in &stale {
        remove_if_present(file)?;
    }
    let count = originals.len();
    let sizes = compress_all(originals)?;
    let total = sizes.iter().fold(Sizes::default(), |t, s| Sizes {
        raw: t.raw + s.raw,
        brotli: t.brotli + s.brotli,
        gzip: t.gzip + s.gzip,
    });
    println!(
        "precompressed {count} files of {}: {} bytes, {} brotli, {} gzip{}",
        dist.display(),
        total.raw,
        total.brotli,
        total.gzip,
        match stale.len() {
            0 => String::new(),
            n => format!("; stale copies removed: {n}"),
        }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    fn paths(names: &[&str]) -> Vec<PathBuf> {
        names.iter().map(|n| Path::new("dist").join(n)).collect()
    }

    #[test]
    fn compresses_text_and_wasm_only() {
        let files = paths(&[
            "index.html",
            "webcall-729996ecb19de89a.js",
            "webcall-729996ecb19de89a_bg.wasm",
            "full/style-0123456789abcdef.css",
            "sdk/webcall.d.ts",
            "sdk/webcall_core_bg.wasm.d.ts",
            "sdk/package.json",
            "sdk/README.md",
            "sdk-example/app.mjs",
            "icon.svg",
            "robots.txt",
            "app.js.map",
            "photo.png",
            "font.woff2",
            "archive.tar.gz",
            "LICENSE",
        ]);
        let Plan { originals, stale } = plan(&files);
        assert_eq!(originals, files[..12].to_vec());
        assert!(stale.is_empty(), "{stale:?}");
    }

    #[test]
    fn compressed_copies_are_never_compressed_again() {
        let files = paths(&["app.js", "app.js.br", "app.js.gz"]);
        assert_eq!(plan(&files).originals, paths(&["app.js"]));
    }

    #[test]
    fn copies_without_their_original_are_stale() {
        let files = paths(&[
            "new.js",
            "new.js.br",
            "old-0123456789abcdef.js.br",
            "old-0123456789abcdef.js.gz",
            "full/index.html.gz",
            "sdk/webcall.js.br.precompress-tmp",
            // Not copies of ours: they came with the app.
            "archive.tar.gz",
            "image.png.br",
        ]);
        let Plan { originals, stale } = plan(&files);
        assert_eq!(originals, paths(&["new.js"]));
        assert_eq!(
            stale,
            paths(&[
                "old-0123456789abcdef.js.br",
                "old-0123456789abcdef.js.gz",
                "full/index.html.gz",
                "sdk/webcall.js.br.precompress-tmp",
            ])
        );
    }

    #[test]
    fn originals_of_copies() {
        let original = |p: &str| original_of(Path::new(p));
        assert_eq!(original("a/app.js.br"), Some(PathBuf::from("a/app.js")));
        assert_eq!(original("x.d.ts.gz"), Some(PathBuf::from("x.d.ts")));
        assert_eq!(original("app.js"), None);
        assert_eq!(original("data.tar.gz"), None);
        assert_eq!(original(".br"), None);
    }

    /// A fresh folder under the system's temporary folder, removed when dropped.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir =
                std::env::temp_dir().join(format!("xtask-compress-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(dir.join("sub")).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn unbrotli(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        brotli::Decompressor::new(data, 4096)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn ungzip(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    #[test]
    fn writes_smaller_copies_and_removes_stale_ones() {
        let dir = TempDir::new("writes");
        let root = &dir.0;
        let js = "export function hello() { return 'hello, hello, hello'; }\n".repeat(50);
        std::fs::write(root.join("sub/app-0123456789abcdef.js"), &js).unwrap();
        // Too short to shrink: no copies.
        std::fs::write(root.join("tiny.json"), "{}").unwrap();
        // Left from a former version that did shrink: would be served instead of the new one.
        std::fs::write(root.join("tiny.json.br"), "old").unwrap();
        // The original is gone.
        std::fs::write(root.join("gone.css.gz"), "old").unwrap();
        // Not compressible, and not a copy of ours.
        std::fs::write(root.join("photo.png"), [0u8; 100]).unwrap();
        std::fs::write(root.join("bundle.tar.gz"), "keep").unwrap();

        precompress(root).unwrap();

        let br = std::fs::read(root.join("sub/app-0123456789abcdef.js.br")).unwrap();
        let gz = std::fs::read(root.join("sub/app-0123456789abcdef.js.gz")).unwrap();
        assert!(br.len() < js.len() && gz.len() < js.len());
        assert_eq!(unbrotli(&br), js.as_bytes());
        assert_eq!(ungzip(&gz), js.as_bytes());
        // What `cargo xtask size` counts, less the empty block its flush adds.
        let measured = crate::size::brotli_len(js.as_bytes()).unwrap();
        assert!(
            (measured.saturating_sub(8)..=measured).contains(&(br.len() as u64)),
            "{} bytes, size counts {measured}",
            br.len()
        );
        for gone in [
            "tiny.json.br",
            "tiny.json.gz",
            "gone.css.gz",
            "photo.png.br",
        ] {
            assert!(!root.join(gone).exists(), "{gone}");
        }
        assert!(root.join("bundle.tar.gz").exists());

        // A second run over its own output changes nothing and leaves no temporary file.
        precompress(root).unwrap();
        assert_eq!(
            std::fs::read(root.join("sub/app-0123456789abcdef.js.br")).unwrap(),
            br
        );
        let mut files = Vec::new();
        files_under(root, &mut files).unwrap();
        files.sort();
        let names: Vec<_> = files
            .iter()
            .map(|f| f.strip_prefix(root).unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "bundle.tar.gz",
                "photo.png",
                "sub/app-0123456789abcdef.js",
                "sub/app-0123456789abcdef.js.br",
                "sub/app-0123456789abcdef.js.gz",
                "tiny.json",
            ]
        );
    }
}
