//! The call history page: after an answered call and a rejected one, both users see both
//! calls at `/history` (reached by the link on `/call`), each from their own side: direction,
//! other party, outcome and how long they talked. The rows are still there after the server is
//! killed and started again (they live in its SQLite file), the table fits a 360 px wide
//! window, and "Call back" rings the other user.

use std::time::Duration;

use fantoccini::Locator;
use serde_json::Value;

use crate::establish_call;
use crate::harness::Harness;
use crate::user::{User, UI};

/// One row of the history table, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Row {
    direction: String,
    outcome: String,
    peer: String,
    /// The duration cell (`mm:ss`, or `–` for a call never answered).
    duration: String,
    /// The start time cell's text and `datetime`.
    started: String,
    datetime: String,
    /// The row's whole text.
    text: String,
}

/// Reads the history table's rows.
const ROWS: &str = r#"
    return [...document.querySelectorAll('#history tbody tr')].map(r => ({
        direction: r.dataset.direction || '',
        outcome: r.dataset.outcome || '',
        peer: (r.querySelector('.peer') || {}).textContent || '',
        duration: (r.querySelector('.duration') || {}).textContent || '',
        started: (r.querySelector('time') || {}).textContent || '',
        datetime: (r.querySelector('time') || {}).getAttribute?.('datetime') || '',
        text: r.innerText.split(/\s+/).join(' '),
    }));
"#;

/// Whether the page is no wider than the window and the history table no wider than its box.
const FITS: &str = r#"
    const root = document.documentElement;
    const box = document.querySelector('.history-box');
    const table = document.getElementById('history');
    return window.innerWidth <= 360 && root.scrollWidth <= root.clientWidth
        && !!box && !!table && table.scrollWidth <= box.clientWidth;
"#;

impl User {
    /// The rows `/history` shows now.
    async fn history_rows(&self) -> Result<Vec<Row>, String> {
        let v = self
            .client
            .execute(ROWS, vec![])
            .await
            .map_err(|e| e.to_string())?;
        let rows = v.as_array().ok_or("no row list")?;
        Ok(rows
            .iter()
            .map(|r| {
                let field = |name: &str| r[name].as_str().unwrap_or_default().to_owned();
                Row {
                    direction: field("direction"),
                    outcome: field("outcome"),
                    peer: field("peer"),
                    duration: field("duration"),
                    started: field("started"),
                    datetime: field("datetime"),
                    text: field("text"),
                }
            })
            .collect())
    }

    /// Waits until `/history` has finished loading and shows `count` rows; returns them.
    async fn wait_history(&self, count: usize) -> Vec<Row> {
        self.wait_page("/history", "Call history", UI).await;
        self.wait(&format!("{count} history rows"), UI, || async move {
            let busy = self
                .client
                .execute(
                    "return !!document.querySelector('.history-box[aria-busy]')",
                    vec![],
                )
                .await
                .map_err(|e| e.to_string())?;
            if busy != Value::Bool(false) {
                return Ok(None);
            }
            let rows = self.history_rows().await?;
            Ok::<_, String>((rows.len() == count).then_some(rows))
        })
        .await
    }

    /// Follows the link from `/call` to `/history`.
    async fn open_history(&self) {
        let link = self
            .wait("the call history link", UI, || async move {
                let link = self.client.find(Locator::LinkText("Call history")).await?;
                Ok::<_, fantoccini::error::CmdError>(Some(link))
            })
            .await;
        if let Err(e) = link.click().await {
            self.fail(&format!("clicking the call history link: {e}"))
                .await;
        }
    }
}

/// `mm:ss` as seconds.
fn seconds(clock: &str) -> Option<u64> {
    let (m, s) = clock.split_once(':')?;
    Some(m.parse::<u64>().ok()? * 60 + s.parse::<u64>().ok()?)
}

/// Checks `rows` (newest first: the rejected call, then the answered one) of a user whose
/// other party was `peer`, who placed the answered call (and received the rejected one) when
/// `placed_answered`, and the other way round otherwise.
fn check_rows(rows: &[Row], peer: &str, placed_answered: bool, talked_at_least: u64) {
    let (rejected, answered) = (&rows[0], &rows[1]);
    let (out, inc) = ("outgoing", "incoming");
    let (answered_dir, rejected_dir) = if placed_answered {
        (out, inc)
    } else {
        (inc, out)
    };
    assert_eq!(rejected.direction, rejected_dir, "{rows:#?}");
    assert_eq!(rejected.outcome, "rejected", "{rows:#?}");
    assert_eq!(rejected.peer, peer, "{rows:#?}");
    assert_eq!(rejected.duration, "–", "{rows:#?}");
    assert!(rejected.text.contains("Rejected"), "{rows:#?}");
    assert_eq!(answered.direction, answered_dir, "{rows:#?}");
    assert_eq!(answered.outcome, "answered", "{rows:#?}");
    assert_eq!(answered.peer, peer, "{rows:#?}");
    assert!(answered.text.contains("Answered"), "{rows:#?}");
    let talked = seconds(&answered.duration);
    assert!(
        talked.is_some_and(|s| (talked_at_least..60).contains(&s)),
        "{rows:#?}"
    );
    for (row, word) in [(rejected, rejected_dir), (answered, answered_dir)] {
        let word = if word == out { "Outgoing" } else { "Incoming" };
        assert!(row.text.contains(word), "{rows:#?}");
        assert!(!row.started.is_empty(), "{rows:#?}");
        // An ISO 8601 time in UTC.
        assert!(row.datetime.ends_with('Z'), "{rows:#?}");
    }
    assert!(
        answered.datetime <= rejected.datetime,
        "newest first: {rows:#?}"
    );
}

#[tokio::test]
async fn history_rows_appear_after_calls_and_survive_a_server_restart() {
    let mut h = Harness::start().await;
    let alice = User::new(&h, "alice").await;
    alice.login().await;
    let bob = User::new(&h, "bob").await;
    bob.login().await;

    // An answered call, alice to bob, of at least two seconds.
    establish_call(&alice, &bob).await;
    alice.wait_text("00:02", Duration::from_secs(10)).await;
    alice.click("Hang up").await;
    alice.wait_page("/call", "Call ended", UI).await;
    bob.wait_page("/call", "Call ended", UI).await;
    // A rejected call, bob to alice.
    bob.call(&alice).await;
    alice.wait_ringing(&bob).await;
    alice.click_in_dialog("Reject").await;
    bob.wait_text(&format!("{} rejected the call", alice.id), UI)
        .await;

    for u in [&alice, &bob] {
        u.open_history().await;
    }
    let alice_rows = alice.wait_history(2).await;
    check_rows(&alice_rows, &bob.id, true, 2);
    let bob_rows = bob.wait_history(2).await;
    check_rows(&bob_rows, &alice.id, false, 2);
    // One page only.
    for u in [&alice, &bob] {
        u.wait_text("Page 1", UI).await;
    }

    // The server dies (SIGKILL) and starts again on the same database: the pages, loaded
    // afresh, show the same calls.
    h.restart_server().await;
    for (u, before) in [(&alice, &alice_rows), (&bob, &bob_rows)] {
        u.goto("/history").await;
        let after = u.wait_history(2).await;
        assert_eq!(&after, before, "[{}] after the restart", u.id);
    }

    // At 360 px wide nothing sticks out: not the page, not the table.
    if let Err(e) = alice.client.set_window_size(360, 740).await {
        alice.fail(&format!("resizing the window: {e}")).await;
    }
    alice
        .wait("the history to fit 360 px", UI, || async {
            let fits = alice
                .client
                .execute(FITS, vec![])
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((fits == Value::Bool(true)).then_some(()))
        })
        .await;

    // Call back from the history: bob rings, alice sees the dialling on /call.
    alice.click(&format!("Call {} back", bob.id)).await;
    alice
        .wait_page("/call", &format!("Calling {}", bob.id), UI)
        .await;
    bob.wait_ringing(&alice).await;
    alice.click("Cancel").await;
    bob.wait_no_dialog(UI).await;
    alice.close().await;
    bob.close().await;
}
