//! The call history end to end: calls placed over real WebSockets on a real server land in a
//! real SQLite file, `GET /api/history` serves them to their user only (UserSig in the
//! `Authorization` header), newest first and a page at a time, and they are still there for a
//! new server on the same file.

mod common;

use std::net::SocketAddr;
use std::path::Path;

use common::{connect_call, within, Client, TestServer, APP, SECRET};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webcall_protocol::{
    CallDirection, ClientMsg, HistoryOutcome, HistoryPage, Outcome, HISTORY_PAGE_SIZE,
};
use webcall_server::history::History;
use webcall_server::UserSigKey;

/// A test server that records its calls in the database at `db`.
async fn server_with_history(db: &Path) -> (TestServer, History) {
    let server = TestServer::start_with(|c| c.invite_burst = 100).await;
    let history = History::open(db).expect("open the history database");
    assert!(server.state.hub().set_history(history.clone()));
    (server, history)
}

/// `GET <path>` with an optional `Authorization` header; the status and the body.
async fn get(addr: SocketAddr, path: &str, authorization: Option<&str>) -> (u16, String) {
    within(async {
        let mut stream = TcpStream::connect(addr).await.expect("connect");
        let auth = authorization.map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Connection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.expect("write");
        let mut response = Vec::new();
        stream.read_to_end(&mut response).await.expect("read");
        let response = String::from_utf8(response).expect("UTF-8 response");
        let (head, body) = response.split_once("\r\n\r\n").expect("a response head");
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
        (status.expect("a status code"), body.to_owned())
    })
    .await
}

/// Page `page` of `user`'s history, asked for with the user's own UserSig.
async fn history(server: &TestServer, user: &str, page: u32) -> HistoryPage {
    let path = format!("/api/history?user_id={user}&page={page}");
    let auth = format!("Bearer {}", server.sig(user));
    let (status, body) = get(server.addr, &path, Some(&auth)).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("a history page")
}

/// The error code of an `/api` error body.
fn code(body: &str) -> String {
    let json: serde_json::Value = serde_json::from_str(body).expect("a JSON error");
    json["code"].as_str().expect("a code").to_owned()
}

/// Sends `msg` for a call, then both parties hear the call end with `outcome`.
async fn end(from: &mut Client, other: &mut Client, call_id: &str, msg: ClientMsg) -> Outcome {
    from.send(&msg).await;
    let outcome = from.expect_ended(call_id).await;
    assert_eq!(other.expect_ended(call_id).await, outcome);
    outcome
}

/// (peer, direction, outcome, answered) of each entry, newest first.
fn rows(page: &HistoryPage) -> Vec<(String, CallDirection, HistoryOutcome, bool)> {
    page.entries
        .iter()
        .map(|e| (e.peer.clone(), e.direction, e.outcome, e.answered))
        .collect()
}

#[tokio::test]
async fn calls_are_recorded_for_both_parties_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("webcall.db");
    let (server, history_db) = server_with_history(&db).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;

    // 1. alice calls bob, who answers; alice hangs up.
    let answered = connect_call(&mut alice, &mut bob).await;
    let hangup = ClientMsg::Hangup {
        call_id: answered.clone(),
        failure: None,
    };
    let outcome = end(&mut alice, &mut bob, &answered, hangup).await;
    assert!(matches!(outcome, Outcome::HungUp { .. }), "{outcome:?}");
    // 2. alice calls bob, who rejects.
    let rejected = alice.invite("bob").await;
    bob.expect_invited("alice").await;
    let reject = ClientMsg::Reject {
        call_id: rejected.clone(),
    };
    end(&mut bob, &mut alice, &rejected, reject).await;
    // 3. bob calls alice and cancels while it rings.
    let cancelled = bob.invite("alice").await;
    alice.expect_invited("bob").await;
    let cancel = ClientMsg::Cancel {
        call_id: cancelled.clone(),
    };
    end(&mut bob, &mut alice, &cancelled, cancel).await;

    let expected_alice = vec![
        (
            "bob".into(),
            CallDirection::Incoming,
            HistoryOutcome::Missed,
            false,
        ),
        (
            "bob".into(),
            CallDirection::Outgoing,
            HistoryOutcome::Rejected,
            false,
        ),
        (
            "bob".into(),
            CallDirection::Outgoing,
            HistoryOutcome::Answered,
            true,
        ),
    ];
    let expected_bob = vec![
        (
            "alice".into(),
            CallDirection::Outgoing,
            HistoryOutcome::Cancelled,
            false,
        ),
        (
            "alice".into(),
            CallDirection::Incoming,
            HistoryOutcome::Rejected,
            false,
        ),
        (
            "alice".into(),
            CallDirection::Incoming,
            HistoryOutcome::Answered,
            true,
        ),
    ];
    let page = history(&server, "alice", 0).await;
    assert_eq!(rows(&page), expected_alice, "{page:?}");
    assert!(!page.more);
    let ids: Vec<&str> = page.entries.iter().map(|e| e.call_id.as_str()).collect();
    assert_eq!(ids, [&cancelled, &rejected, &answered]);
    let started: Vec<u64> = page.entries.iter().map(|e| e.started_ms).collect();
    assert!(started.windows(2).all(|w| w[0] >= w[1]), "{started:?}");
    let now_ms = common::unix_now() * 1000;
    assert!(started
        .iter()
        .all(|&s| s + 60_000 > now_ms && s <= now_ms + 1000));
    assert!(page.entries.iter().all(|e| e.duration_secs < 5));
    assert_eq!(rows(&history(&server, "bob", 0).await), expected_bob);
    assert!(history(&server, "carol", 0).await.entries.is_empty());

    // A new server on the same file: the same history.
    drop((alice, bob));
    server.shutdown().await.unwrap();
    history_db.close();
    let (server, _history_db) = server_with_history(&db).await;
    let page = history(&server, "alice", 0).await;
    assert_eq!(rows(&page), expected_alice);
    let again: Vec<&str> = page.entries.iter().map(|e| e.call_id.as_str()).collect();
    assert_eq!(again, ids);
    assert_eq!(rows(&history(&server, "bob", 0).await), expected_bob);
}

#[tokio::test]
async fn the_history_comes_a_page_at_a_time_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _db) = server_with_history(&dir.path().join("webcall.db")).await;
    let mut alice = server.login("alice").await;
    let mut bob = server.login("bob").await;
    let mut calls = Vec::new();
    for _ in 0..HISTORY_PAGE_SIZE + 1 {
        let call_id = alice.invite("bob").await;
        bob.expect_invited("alice").await;
        let reject = ClientMsg::Reject {
            call_id: call_id.clone(),
        };
        end(&mut bob, &mut alice, &call_id, reject).await;
        calls.push(call_id);
    }
    let first = history(&server, "alice", 0).await;
    assert_eq!(first.page, 0);
    assert!(first.more);
    assert_eq!(first.entries.len(), HISTORY_PAGE_SIZE as usize);
    let second = history(&server, "alice", 1).await;
    assert!(!second.more);
    assert_eq!(second.entries.len(), 1);
    let seen: Vec<String> = first
        .entries
        .iter()
        .chain(&second.entries)
        .map(|e| e.call_id.clone())
        .collect();
    calls.reverse();
    assert_eq!(seen, calls, "newest first");
    assert!(history(&server, "alice", 2).await.entries.is_empty());
    // Without a page: the first one.
    let auth = format!("Bearer {}", server.sig("alice"));
    let (status, body) = get(server.addr, "/api/history?user_id=alice", Some(&auth)).await;
    assert_eq!(status, 200);
    let page: HistoryPage = serde_json::from_str(&body).unwrap();
    assert_eq!(page, first);
}

#[tokio::test]
async fn only_the_users_own_usersig_reads_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _db) = server_with_history(&dir.path().join("webcall.db")).await;
    let addr = server.addr;
    let path = "/api/history?user_id=alice&page=0";
    let now = common::unix_now();
    let key = UserSigKey::new(APP, SECRET);
    let cases = [
        (None, "bad_user_sig"),
        (Some("Basic YWxpY2U6eA==".to_owned()), "bad_user_sig"),
        (Some("Bearer ".to_owned()), "bad_user_sig"),
        (Some("Bearer not-a-usersig".to_owned()), "bad_user_sig"),
        (
            Some(format!("Bearer {}", server.sig("bob"))),
            "user_sig_wrong_user",
        ),
        (
            Some(format!(
                "Bearer {}",
                UserSigKey::new(APP, "another-secret").issue("alice", 3600, now)
            )),
            "bad_user_sig",
        ),
        (
            Some(format!(
                "Bearer {}",
                UserSigKey::new(APP + 1, SECRET).issue("alice", 3600, now)
            )),
            "wrong_sdk_app_id",
        ),
        (
            Some(format!("Bearer {}", key.issue("alice", 60, now - 120))),
            "user_sig_expired",
        ),
    ];
    for (auth, expected) in cases {
        let (status, body) = get(addr, path, auth.as_deref()).await;
        assert_eq!(status, 401, "{auth:?}: {body}");
        assert_eq!(code(&body), expected, "{auth:?}: {body}");
    }
    let auth = format!("Bearer {}", server.sig("alice"));
    for (path, expected) in [
        ("/api/history?user_id=alice&page=-1", "bad_message"),
        ("/api/history?user_id=alice&page=x", "bad_message"),
        ("/api/history?user_id=alice&page=99999999999", "bad_message"),
        ("/api/history?page=0", "bad_user_id"),
        ("/api/history?user_id=al%20ice", "bad_user_id"),
    ] {
        let (status, body) = get(addr, path, Some(&auth)).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(code(&body), expected, "{path}: {body}");
    }
    let (status, body) = get(addr, path, Some(&auth)).await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn a_server_without_history_says_so() {
    let server = TestServer::start().await;
    let auth = format!("Bearer {}", server.sig("alice"));
    let (status, body) = get(server.addr, "/api/history?user_id=alice", Some(&auth)).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(code(&body), "unsupported");
}
