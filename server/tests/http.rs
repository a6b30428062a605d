//! The HTTP side: the single-page app from dist, and the development UserSig endpoint.

mod common;

use common::*;
use webcall_protocol::{ClientMsg, ServerMsg};

#[tokio::test]
async fn deep_routes_get_index_html() {
    let server = TestServer::start().await;
    for path in ["/", "/call", "/login", "/in-call", "/call/bob?x=1"] {
        let (status, head, body) = http_get(server.addr, path).await;
        assert_eq!(status, 200, "{path}: {head}");
        assert_eq!(body, INDEX_HTML, "{path}");
        assert!(
            head.to_ascii_lowercase()
                .contains("content-type: text/html"),
            "{path}: {head}"
        );
    }
}

#[tokio::test]
async fn history_and_check_get_the_whole_app_when_it_is_built() {
    let server = TestServer::start().await;
    // Not built: the first-load app serves them too (its router takes over).
    let (status, _, body) = http_get(server.addr, "/history").await;
    assert_eq!(status, 200);
    assert_eq!(body, INDEX_HTML);
    let full = server.dist.path().join("full");
    std::fs::create_dir(&full).unwrap();
    std::fs::write(full.join("index.html"), "<title>whole app</title>").unwrap();
    for path in ["/history", "/check", "/check/"] {
        let (status, head, body) = http_get(server.addr, path).await;
        assert_eq!(status, 200, "{path}: {head}");
        assert_eq!(body, "<title>whole app</title>", "{path}");
    }
    // The other pages keep the first load.
    for path in ["/call", "/history/x", "/checks"] {
        let (_, _, body) = http_get(server.addr, path).await;
        assert_eq!(body, INDEX_HTML, "{path}");
    }
}

#[tokio::test]
async fn files_in_dist_are_served_and_missing_ones_are_404() {
    let server = TestServer::start().await;
    std::fs::write(server.dist.path().join("app-1234.js"), "console.log(1)").unwrap();
    let (status, head, body) = http_get(server.addr, "/app-1234.js").await;
    assert_eq!(status, 200, "{head}");
    assert_eq!(body, "console.log(1)");
    assert!(head.to_ascii_lowercase().contains("javascript"), "{head}");

    let (status, _, body) = http_get(server.addr, "/app-9999.wasm").await;
    assert_eq!(status, 404);
    assert!(!body.contains("<title>"), "{body}");
}

#[tokio::test]
async fn without_index_html_the_app_routes_say_so() {
    let server = TestServer::start().await;
    std::fs::remove_file(server.dist.path().join("index.html")).unwrap();
    for path in ["/", "/call"] {
        let (status, _, body) = http_get(server.addr, path).await;
        assert_eq!(status, 503, "{path}");
        assert!(body.contains("not built"), "{path}: {body}");
    }
    // A dist folder that does not exist at all.
    let server = TestServer::start_with(|c| c.dist = "/nonexistent/webcall-dist".into()).await;
    let (status, _, body) = http_get(server.addr, "/login").await;
    assert_eq!(status, 503);
    assert!(body.contains("not built"), "{body}");
}

#[tokio::test]
async fn usersig_endpoint_issues_a_sig_that_logs_in() {
    let server = TestServer::start_with(|c| c.usersig_expire_secs = 600).await;
    let (status, head, body) = http_get(server.addr, "/api/usersig?user_id=alice").await;
    assert_eq!(status, 200, "{head}");
    assert!(
        head.to_ascii_lowercase().contains("application/json"),
        "{head}"
    );
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    let object = json.as_object().unwrap();
    let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["expire_secs", "sdk_app_id", "user_id", "user_sig"]);
    assert_eq!(json["user_id"], "alice");
    assert_eq!(json["sdk_app_id"], APP);
    assert_eq!(json["expire_secs"], 600);
    assert!(!body.contains(SECRET));

    let mut client = server.connect().await;
    client
        .send(&ClientMsg::Login {
            user_id: "alice".into(),
            user_sig: json["user_sig"].as_str().unwrap().into(),
            sdk_app_id: APP,
            resume: None,
        })
        .await;
    assert!(matches!(
        client.recv().await,
        ServerMsg::LoggedIn { user_id, .. } if user_id == "alice"
    ));
}

#[tokio::test]
async fn usersig_endpoint_refuses_bad_user_ids() {
    let server = TestServer::start().await;
    for path in [
        "/api/usersig?user_id=al%20ice",
        "/api/usersig?user_id=",
        "/api/usersig?user_id=%C3%A5lice",
        "/api/usersig",
    ] {
        let (status, head, body) = http_get(server.addr, path).await;
        assert_eq!(status, 400, "{path}: {head}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["code"], "bad_user_id", "{path}: {body}");
        assert!(json["message"].is_string(), "{path}: {body}");
    }
    let (status, _, body) = http_get(server.addr, "/api/nothing").await;
    assert_eq!(status, 404);
    assert!(body.starts_with('{'), "{body}");
}

#[tokio::test]
async fn plain_get_on_ws_is_refused() {
    let server = TestServer::start().await;
    let (status, _, _) = http_get(server.addr, "/ws").await;
    assert!((400..500).contains(&status), "{status}");
}
