//! The call verification code: both sides of a call show the same code, derived from the DTLS
//! fingerprints of their connection.

use crate::harness::report;
use crate::logged_in;
use crate::user::{User, UI};

/// Re-derives, in the page, the code of the last peer connection from its local and remote
/// descriptions, as `webcall_client::verification` specifies it (an independent
/// implementation in JavaScript, with WebCrypto): also says whether the page shows that code.
const EXPECTED_CODE: &str = r#"
const done = arguments[arguments.length - 1];
const pc = (window.__pcs || [])[(window.__pcs || []).length - 1];
if (!pc || !pc.localDescription || !pc.remoteDescription) { done({ error: 'no connection' }); return; }
const fingerprint = (sdp) => {
  const m = /^a=fingerprint:(\S+) (\S+)\s*$/m.exec(sdp);
  return m && m[1].toLowerCase() + ' ' + m[2].toUpperCase();
};
const pair = [fingerprint(pc.localDescription.sdp), fingerprint(pc.remoteDescription.sdp)];
if (!pair[0] || !pair[1]) { done({ error: 'no fingerprint' }); return; }
pair.sort();
const input = 'WebCall call verification v1\n' + pair[0] + '\n' + pair[1] + '\n';
crypto.subtle.digest('SHA-256', new TextEncoder().encode(input)).then((digest) => {
  const n = Number(new DataView(digest).getBigUint64(0) % 1000000n);
  const code = String(Math.floor(n / 1000)).padStart(3, '0') + ' ' + String(n % 1000).padStart(3, '0');
  done({ code, fingerprints: pair });
}, (e) => done({ error: String(e) }));
"#;

/// Alice calls bob, bob accepts: both in-call pages show a verification code, the same one,
/// with the hint to compare it, and it is the code of their connection's fingerprints.
#[tokio::test]
async fn verification_codes_match_on_both_sides() {
    let (_h, [alice, bob]) = logged_in(["alice", "bob"]).await;
    alice.call(&bob).await;
    bob.wait_ringing(&alice).await;
    bob.click_in_dialog("Accept").await;
    alice.wait_page("/in-call", &bob.id, UI).await;
    bob.wait_page("/in-call", &alice.id, UI).await;

    let at_alice = verification_code(&alice).await;
    let at_bob = verification_code(&bob).await;
    report(&format!(
        "verification codes: alice {at_alice:?}, bob {at_bob:?}"
    ));
    assert!(
        is_code(&at_alice),
        "alice's code {at_alice:?} is not ddd ddd"
    );
    assert_eq!(at_alice, at_bob, "the two sides show different codes");
    for (u, code) in [(&alice, &at_alice), (&bob, &at_bob)] {
        u.wait_text(&format!("Verification code: {code}"), UI).await;
        u.wait_text(
            "Compare it with the other person: if the codes differ, someone may be listening in.",
            UI,
        )
        .await;
        let expected = u
            .client
            .execute_async(EXPECTED_CODE, vec![])
            .await
            .unwrap_or_else(|e| panic!("[{}] deriving the code in the page: {e}", u.id));
        assert_eq!(
            expected["code"].as_str(),
            Some(code.as_str()),
            "[{}] the code shown is not that of the connection: {expected}",
            u.id
        );
    }

    alice.click("Hang up").await;
    alice.wait_page("/call", "Call ended", UI).await;
    bob.wait_page("/call", "Call ended", UI).await;
    alice.close().await;
    bob.close().await;
}

/// Waits for the in-call page's `#verification-code` and returns its text.
pub(crate) async fn verification_code(user: &User) -> String {
    const SCRIPT: &str = "const e = document.getElementById('verification-code'); \
                          return e ? e.textContent : null";
    user.wait("a verification code in #verification-code", UI, || async {
        let text = user.client.execute(SCRIPT, vec![]).await?;
        Ok::<_, fantoccini::error::CmdError>(text.as_str().map(str::to_owned))
    })
    .await
}

/// Whether `code` reads `ddd ddd`.
pub(crate) fn is_code(code: &str) -> bool {
    let b = code.as_bytes();
    b.len() == 7
        && b.iter().enumerate().all(|(i, c)| {
            if i == 3 {
                *c == b' '
            } else {
                c.is_ascii_digit()
            }
        })
}
