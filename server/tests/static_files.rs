//! The dist folder's files as browsers get them: the precompressed copy their `Accept-Encoding`
//! allows, with the original's Content-Type and `Vary: Accept-Encoding`; hashed files cached
//! for a year, `index.html`, the app's routes and unhashed files `no-cache`; HEAD, Range and
//! `If-Modified-Since` working; the security headers on all of it.

mod common;

use std::io::{Read, Write};
use std::net::SocketAddr;

use common::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WASM: &str = "webcall-729996ecb19de89a_bg.wasm";
const JS: &str = "webcall-729996ecb19de89a.js";
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// One HTTP answer.
struct Answer {
    status: u16,
    /// Header names in lowercase, in order.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    /// The value of header `name`, if there is exactly one.
    fn header(&self, name: &str) -> Option<&str> {
        let mut found = self.headers.iter().filter(|(n, _)| n == name);
        let value = found.next().map(|(_, v)| v.as_str());
        assert!(found.next().is_none(), "several {name} headers");
        value
    }

    fn describe(&self) -> String {
        let head: Vec<String> = self
            .headers
            .iter()
            .map(|(n, v)| format!("{n}: {v}"))
            .collect();
        format!("{} {}", self.status, head.join("; "))
    }
}

/// `method path` with the extra `headers` (each `Name: value`), over a new connection.
async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[&str]) -> Answer {
    within(async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
        for header in headers {
            request.push_str(header);
            request.push_str("\r\n");
        }
        request.push_str("Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        let end = response
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a response head");
        let head = String::from_utf8(response[..end].to_vec()).expect("UTF-8 head");
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .and_then(|s| s.parse().ok())
            .expect("a status code");
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        Answer {
            status,
            headers,
            body: response[end + 4..].to_vec(),
        }
    })
    .await
}

async fn get(addr: SocketAddr, path: &str, headers: &[&str]) -> Answer {
    request(addr, "GET", path, headers).await
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// A test server whose dist folder holds, as `cargo xtask build` leaves it, the app's hashed
/// wasm and JS with their `.br` and `.gz`, `index.html` with its copies, and the SDK's unhashed
/// files. The `.br` files hold marker bytes (the server does not look inside).
struct Dist {
    server: TestServer,
    wasm: Vec<u8>,
    js: Vec<u8>,
}

impl Dist {
    async fn start() -> Dist {
        let server = TestServer::start().await;
        let dist = server.dist.path();
        let write = |name: &str, data: &[u8]| {
            let path = dist.join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, data).unwrap();
        };
        let wasm: Vec<u8> = b"\0asm\x01\0\0\0"
            .iter()
            .copied()
            .chain((0..4000u32).map(|i| (i % 7) as u8))
            .collect();
        let js = "export function hello() { return 'hello'; }\n"
            .repeat(40)
            .into_bytes();
        for (name, data) in [(WASM, &wasm), (JS, &js)] {
            write(name, data);
            write(
                &format!("{name}.br"),
                format!("brotli of {name}").as_bytes(),
            );
            write(&format!("{name}.gz"), &gzip(data));
        }
        write("index.html.br", b"brotli of index.html");
        write("index.html.gz", &gzip(INDEX_HTML.as_bytes()));
        write("sdk/webcall.js", b"export class WebCall {}\n");
        write("sdk/webcall.js.br", b"brotli of webcall.js");
        write("sdk/webcall.d.ts", b"export declare class WebCall {}\n");
        write("sdk-example/app.js", b"import '../sdk/webcall.js';\n");
        write("logo.png", b"\x89PNG not really");
        Dist { server, wasm, js }
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr
    }
}

/// The security headers of every response (server/src/headers.rs).
fn assert_security_headers(answer: &Answer) {
    let csp = answer
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("no CSP: {}", answer.describe()));
    assert!(
        csp.contains("script-src 'self' 'wasm-unsafe-eval'"),
        "{csp}"
    );
    assert_eq!(answer.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(answer.header("referrer-policy"), Some("no-referrer"));
    assert!(answer.header("permissions-policy").is_some());
}

#[tokio::test]
async fn hashed_wasm_comes_in_the_accepted_encoding_cached_for_a_year() {
    let dist = Dist::start().await;
    for (accept, encoding, body) in [
        ("Accept-Encoding: gzip, deflate, br, zstd", Some("br"), None),
        ("Accept-Encoding: br", Some("br"), None),
        (
            "Accept-Encoding: gzip, deflate",
            Some("gzip"),
            Some(gzip(&dist.wasm)),
        ),
        (
            "Accept-Encoding: br;q=0, gzip",
            Some("gzip"),
            Some(gzip(&dist.wasm)),
        ),
        ("Accept-Encoding: identity", None, Some(dist.wasm.clone())),
        ("X-No-Accept-Encoding: 1", None, Some(dist.wasm.clone())),
    ] {
        let answer = get(dist.addr(), &format!("/{WASM}"), &[accept]).await;
        let what = format!("{accept}: {}", answer.describe());
        assert_eq!(answer.status, 200, "{what}");
        assert_eq!(answer.header("content-encoding"), encoding, "{what}");
        assert_eq!(
            answer.header("content-type"),
            Some("application/wasm"),
            "{what}"
        );
        assert_eq!(answer.header("vary"), Some("accept-encoding"), "{what}");
        assert_eq!(answer.header("cache-control"), Some(IMMUTABLE), "{what}");
        let expected = body.unwrap_or_else(|| format!("brotli of {WASM}").into_bytes());
        assert_eq!(answer.body, expected, "{what}");
        assert_eq!(
            answer.header("content-length"),
            Some(expected.len().to_string().as_str()),
            "{what}"
        );
        assert_security_headers(&answer);
    }
    // The gzip copy is the wasm itself once decoded.
    let answer = get(dist.addr(), &format!("/{WASM}"), &["Accept-Encoding: gzip"]).await;
    assert_eq!(gunzip(&answer.body), dist.wasm);
}

#[tokio::test]
async fn hashed_js_keeps_its_type_in_every_encoding() {
    let dist = Dist::start().await;
    for (accept, encoding) in [
        ("Accept-Encoding: br", Some("br")),
        ("Accept-Encoding: gzip", Some("gzip")),
        ("Accept-Encoding: identity", None),
    ] {
        let answer = get(dist.addr(), &format!("/{JS}"), &[accept]).await;
        let what = format!("{accept}: {}", answer.describe());
        assert_eq!(answer.status, 200, "{what}");
        assert_eq!(answer.header("content-encoding"), encoding, "{what}");
        assert_eq!(
            answer.header("content-type"),
            Some("text/javascript"),
            "{what}"
        );
        assert_eq!(answer.header("vary"), Some("accept-encoding"), "{what}");
        assert_eq!(answer.header("cache-control"), Some(IMMUTABLE), "{what}");
    }
    let answer = get(dist.addr(), &format!("/{JS}"), &[]).await;
    assert_eq!(answer.body, dist.js);
}

#[tokio::test]
async fn index_html_and_the_app_routes_are_never_used_unchecked() {
    let dist = Dist::start().await;
    for path in ["/", "/index.html", "/call", "/login", "/call/bob?x=1"] {
        for (accept, encoding, body) in [
            (
                "Accept-Encoding: br, gzip",
                Some("br"),
                b"brotli of index.html".to_vec(),
            ),
            (
                "Accept-Encoding: gzip",
                Some("gzip"),
                gzip(INDEX_HTML.as_bytes()),
            ),
            (
                "Accept-Encoding: identity",
                None,
                INDEX_HTML.as_bytes().to_vec(),
            ),
        ] {
            let answer = get(dist.addr(), path, &[accept]).await;
            let what = format!("{path} {accept}: {}", answer.describe());
            assert_eq!(answer.status, 200, "{what}");
            assert_eq!(answer.body, body, "{what}");
            assert_eq!(answer.header("content-encoding"), encoding, "{what}");
            assert_eq!(
                answer.header("content-type"),
                Some("text/html; charset=utf-8"),
                "{what}"
            );
            assert_eq!(answer.header("cache-control"), Some("no-cache"), "{what}");
            assert_eq!(answer.header("vary"), Some("accept-encoding"), "{what}");
            assert_security_headers(&answer);
        }
    }
}

#[tokio::test]
async fn unhashed_files_are_never_used_unchecked() {
    let dist = Dist::start().await;
    for (path, content_type, accept, encoding) in [
        ("/sdk/webcall.js", "text/javascript", "br", Some("br")),
        // No copy of that encoding: the file itself.
        ("/sdk/webcall.js", "text/javascript", "gzip", None),
        ("/sdk/webcall.d.ts", "text/plain; charset=utf-8", "br", None),
        ("/sdk-example/app.js", "text/javascript", "br", None),
    ] {
        let answer = get(dist.addr(), path, &[&format!("Accept-Encoding: {accept}")]).await;
        let what = format!("{path} {accept}: {}", answer.describe());
        assert_eq!(answer.status, 200, "{what}");
        assert_eq!(answer.header("content-type"), Some(content_type), "{what}");
        assert_eq!(answer.header("content-encoding"), encoding, "{what}");
        assert_eq!(answer.header("cache-control"), Some("no-cache"), "{what}");
        assert_eq!(answer.header("vary"), Some("accept-encoding"), "{what}");
    }
    // Not compressible: one answer for every client, no Vary.
    let answer = get(dist.addr(), "/logo.png", &["Accept-Encoding: br"]).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("content-type"), Some("image/png"));
    assert_eq!(answer.header("cache-control"), Some("no-cache"));
    assert_eq!(answer.header("vary"), None, "{}", answer.describe());
}

#[tokio::test]
async fn a_missing_hashed_file_is_not_cached() {
    let dist = Dist::start().await;
    let answer = get(
        dist.addr(),
        "/webcall-0123456789abcdef_bg.wasm",
        &["Accept-Encoding: br"],
    )
    .await;
    assert_eq!(answer.status, 404);
    assert_eq!(answer.header("cache-control"), Some("no-cache"));
    assert_security_headers(&answer);
}

#[tokio::test]
async fn head_requests_describe_the_encoded_file() {
    let dist = Dist::start().await;
    let path = format!("/{WASM}");
    let answer = request(dist.addr(), "HEAD", &path, &["Accept-Encoding: br"]).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.is_empty());
    assert_eq!(answer.header("content-encoding"), Some("br"));
    assert_eq!(answer.header("content-type"), Some("application/wasm"));
    let br_len = format!("brotli of {WASM}").len().to_string();
    assert_eq!(answer.header("content-length"), Some(br_len.as_str()));
    assert_eq!(answer.header("cache-control"), Some(IMMUTABLE));

    let answer = request(dist.addr(), "HEAD", "/call", &[]).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.is_empty());
    assert_eq!(answer.header("cache-control"), Some("no-cache"));
    let len = INDEX_HTML.len().to_string();
    assert_eq!(answer.header("content-length"), Some(len.as_str()));
}

#[tokio::test]
async fn ranges_are_served() {
    let dist = Dist::start().await;
    let path = format!("/{WASM}");
    let answer = get(dist.addr(), &path, &["Range: bytes=4-11"]).await;
    assert_eq!(answer.status, 206, "{}", answer.describe());
    assert_eq!(answer.body, dist.wasm[4..12]);
    let range = format!("bytes 4-11/{}", dist.wasm.len());
    assert_eq!(answer.header("content-range"), Some(range.as_str()));
    assert_eq!(answer.header("content-encoding"), None);
    assert_eq!(answer.header("content-type"), Some("application/wasm"));
    assert_eq!(answer.header("cache-control"), Some(IMMUTABLE));

    // A range of the brotli answer counts in the compressed bytes, as its header says.
    let answer = get(
        dist.addr(),
        &path,
        &["Range: bytes=0-5", "Accept-Encoding: br"],
    )
    .await;
    assert_eq!(answer.status, 206, "{}", answer.describe());
    assert_eq!(answer.body, b"brotli");
    assert_eq!(answer.header("content-encoding"), Some("br"));
    let range = format!("bytes 0-5/{}", format!("brotli of {WASM}").len());
    assert_eq!(answer.header("content-range"), Some(range.as_str()));

    let answer = get(dist.addr(), &path, &["Range: bytes=999999-"]).await;
    assert_eq!(answer.status, 416);
    assert_eq!(answer.header("cache-control"), Some("no-cache"));
}

#[tokio::test]
async fn unchanged_files_are_not_sent_again() {
    let dist = Dist::start().await;
    for path in [format!("/{WASM}"), "/".into(), "/call".into()] {
        let first = get(dist.addr(), &path, &["Accept-Encoding: br"]).await;
        let modified = first.header("last-modified").expect("Last-Modified");
        let again = get(
            dist.addr(),
            &path,
            &[
                "Accept-Encoding: br",
                &format!("If-Modified-Since: {modified}"),
            ],
        )
        .await;
        assert_eq!(again.status, 304, "{path}: {}", again.describe());
        assert!(again.body.is_empty());
        assert_eq!(again.header("cache-control"), first.header("cache-control"));
        assert_eq!(again.header("vary"), Some("accept-encoding"));
        assert_security_headers(&again);
    }
}

#[tokio::test]
async fn without_index_html_the_app_routes_say_so_and_are_not_kept() {
    let dist = Dist::start().await;
    for name in ["index.html", "index.html.br", "index.html.gz"] {
        std::fs::remove_file(dist.server.dist.path().join(name)).unwrap();
    }
    for path in ["/", "/call"] {
        let answer = get(dist.addr(), path, &["Accept-Encoding: br"]).await;
        assert_eq!(answer.status, 503, "{path}");
        assert_eq!(answer.header("cache-control"), Some("no-store"), "{path}");
    }
}
