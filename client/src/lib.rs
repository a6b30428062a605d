//! # WebCall client: build your own voice call
//!
//! The calling half of WebCall as a library: log in, call a user, ring, accept, talk, hang up,
//! from any Rust/wasm web app. Its API mirrors Tencent's TRTCCalling (`login`, `call`,
//! `accept`, `reject`, `hangup`, `setMicMute` and events such as `INVITED`, `REJECT`,
//! `LINE_BUSY`, `NO_RESP`, `CALL_END`), so an app written against TRTCCalling maps one to one.
//!
//! # Four steps, as with TRTCCalling
//!
//! 1. **Add the component**: a path or git dependency on this crate, in an app built for
//!    `wasm32-unknown-unknown` (with trunk, say). The crate pins `wasm-bindgen = "=0.2.130"`,
//!    so the app's wasm-bindgen CLI must be 0.2.130 too.
//!
//!    ```toml
//!    [dependencies]
//!    webcall-client = { path = "../webcall/client" }  # or { git = "<your WebCall repository>" }
//!    ```
//!
//! 2. **Create the object with the app ID**: [`WebCall::new`] with [`WebCallOptions`]: the
//!    server's signaling WebSocket and its SDKAppID (TRTCCalling's `SDKAppID`;
//!    `webcall-server --sdk-app-id`). A page the WebCall server serves itself can use
//!    [`WebCallOptions::same_origin`].
//! 3. **Log in** with the user ID and a UserSig issued by your backend: [`WebCall::login`].
//!    [`CallEvent::LoggedIn`] says it worked; a failure comes as [`CallEvent::Error`], then
//!    [`CallEvent::LoggedOut`].
//! 4. **Call, accept, reject, hang up**: [`WebCall::call`], [`WebCall::accept`],
//!    [`WebCall::reject`], [`WebCall::hangup`], and react to the [`CallEvent`]s
//!    ([`WebCall::on_event`]; the table on [`CallEvent`] maps TRTCCalling's event names).
//!
//! ```no_run
//! use webcall_client::{CallEvent, CallType, ClientError, Subscription, WebCall, WebCallOptions};
//!
//! /// Sets up calling for `user_id`. Keep what it returns for as long as the page calls:
//! /// dropping the subscription unsubscribes.
//! fn start(user_id: &str, user_sig: &str) -> Result<(WebCall, Subscription), ClientError> {
//!     // Step 2: the server's signaling WebSocket and your app's ID.
//!     let webcall = WebCall::new(WebCallOptions {
//!         server_url: "wss://call.example.com/ws".into(),
//!         sdk_app_id: 1_400_000_000,
//!     });
//!
//!     // Step 4, subscribed first so that no event is missed.
//!     let handle = webcall.clone();
//!     let subscription = webcall.on_event(move |event| match event {
//!         // Step 3 worked: call bob, letting it ring for 30 s at most.
//!         CallEvent::LoggedIn { .. } => {
//!             if let Err(e) = handle.call("bob", CallType::Audio, Some(30)) {
//!                 show(&format!("cannot call: {e} ({})", e.code()));
//!             }
//!         }
//!         // Someone calls this user: accept (or `handle.reject()`).
//!         CallEvent::Invited { sponsor, .. } => {
//!             show(&format!("{sponsor} is calling"));
//!             let _ = handle.accept();
//!         }
//!         CallEvent::UserAccept { user_id } => show(&format!("{user_id} accepted")),
//!         CallEvent::Reject { user_id } => show(&format!("{user_id} rejected the call")),
//!         CallEvent::LineBusy { user_id } => show(&format!("{user_id} is busy")),
//!         CallEvent::NoResp { user_id, .. } => show(&format!("{user_id} did not answer")),
//!         CallEvent::CallEnd { duration_secs, .. } => {
//!             show(&format!("call over after {duration_secs} s"))
//!         }
//!         CallEvent::Error { code, message } => show(&format!("error {code}: {message}")),
//!         _ => {}
//!     });
//!
//!     // Step 3: log in with a UserSig issued by your backend.
//!     webcall.login(user_id, user_sig)?;
//!     Ok((webcall, subscription))
//! }
//! // Later, a button hangs up: `webcall.hangup()`.
//! # fn show(_: &str) {}
//! ```
//!
//! # The integration guide
//!
//! `docs/integrate.md` in the WebCall repository, in English and in Chinese (简体中文), walks
//! through the same four steps for Rust and for JavaScript, and covers:
//!
//! - the events (TRTCCalling name, [`CallEvent`], JavaScript `WebCall.EVENT` and payload) and
//!   every error code (section "Step 4");
//! - the examples: `examples/yew-call` (Yew) and `examples/plain-call` (plain wasm-bindgen),
//!   served at `/examples/yew/` and `/examples/plain/` by `cargo xtask serve`, and the
//!   JavaScript page at `/sdk-example/` (section "Examples");
//! - running your own server: `webcall-server`, its flags and environment variables, HTTPS,
//!   strict mode, the UserSig URL, a coturn configuration for TURN (section "Run your own
//!   server");
//! - the UserSig: what it is, how your backend issues one (the exact algorithm, with a test
//!   vector), and the development endpoint `/api/usersig` with [`dev`] (section "UserSig");
//! - porting an app from TRTCCalling: what is renamed and what differs (section "Porting from
//!   TRTCCalling").
//!
//! # JavaScript
//!
//! The same client, for plain JavaScript pages: `cargo xtask sdk` builds it (crate
//! `webcall-js`, wasm-bindgen `--target web`, with TypeScript declarations) into the package
//! folder `dist/sdk/` (`npm publish dist/sdk`), which the WebCall server also serves at
//! `/sdk/webcall.js`:
//!
//! ```js
//! import { WebCall } from '/sdk/webcall.js';
//!
//! const webcall = new WebCall({ appId: 1400000000, server: 'wss://call.example.com/ws' });
//! webcall.on(WebCall.EVENT.INVITED, ({ sponsor }) => webcall.accept());
//! await webcall.login({ userID: 'alice', userSig });
//! await webcall.call({ userID: 'bob', type: WebCall.CALL_TYPE.AUDIO, timeout: 30 });
//! ```
//!
//! # Beyond TRTCCalling
//!
//! - **Several devices per user.** A call rings on every device the callee is logged in on
//!   ([`CallEvent::Ringing`] tells the caller how many); the first to accept gets it, the others
//!   hear [`CallEvent::AnsweredElsewhere`] (or [`CallEvent::RejectedElsewhere`]) and show the
//!   call as [`CallState::Elsewhere`] until [`CallEvent::InCallElsewhereEnded`].
//! - **Offline invitations.** Calling a user with no device online rings nobody yet
//!   (`Ringing { devices: 0 }`): the invitation waits for the ring timeout and rings the first
//!   device that logs in; if none does, the caller hears [`NoRespReason::Offline`].
//! - **Glare.** When two users call each other at the same moment, the two calls become one and
//!   both sides hear [`CallEvent::UserAccept`]; calling back a user whose call rings here simply
//!   accepts it.
//! - **Presence.** [`WebCall::watch_presence`] watches whether up to
//!   [`MAX_WATCHED`](webcall_protocol::MAX_WATCHED) users are online and reports changes as
//!   [`CallEvent::PresenceChanged`].
//! - **Call verification code.** Both sides of a call get the same short code
//!   ([`CallEvent::VerificationCode`], [`CallState::InCall`]), derived from the DTLS
//!   fingerprints of the audio connection: users who compare it aloud notice a signaling
//!   server that intercepts the audio. See [`verification`].
//! - **Reconnection.** A lost connection to the server (a network change, a server restart)
//!   ends no call: the audio goes browser to browser and keeps flowing while the client logs in
//!   again on its own ([`CallEvent::Reconnecting`], [`CallEvent::Reconnected`]), resuming its
//!   session, or re-asserting its call to a server that restarted.
//!
//! # Inside
//!
//! A pure state machine ([`machine`]) decides everything from events and time, and a thin
//! browser shell ([`WebCall`]) owns the WebSocket, the `RTCPeerConnection`, the microphone
//! track and the timers. Remote audio plays through an `<audio>` element the client owns; the
//! app does not have to touch media.
//!
//! [`WebCall`] needs a browser page. The rest runs anywhere, and its examples run as tests:
//! the [`machine`] (a whole call fed by hand), the error codes ([`ClientError::code`],
//! [`MediaError::code`], [`IceServerError`]), user ID validation ([`validate_user_id`]), the
//! [`verification`] code, and the pure parts of the device [`check`].

#![warn(missing_docs)]

pub mod check;
pub mod dev;
mod error;
mod event;
pub mod machine;
mod shell;
pub mod verification;

pub use error::{ClientError, IceServerError, MediaError};
pub use event::{CallEvent, CallState, Device, Devices, NetworkQuality, NoRespReason, Quality};
pub use shell::{HistoryError, Subscription, WebCall, WebCallOptions};
pub use webcall_protocol::{validate_user_id, CallType, UserId, UserIdError};
pub use webcall_protocol::{CallDirection, HistoryEntry, HistoryOutcome, HistoryPage};
