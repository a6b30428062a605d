//! # WebCall client: build your own voice call
//!
//! The calling half of WebCall as a library: log in, call a user, ring, accept, talk, hang up,
//! from any Rust/wasm web app. Its API mirrors Tencent's TRTCCalling (`login`, `call`,
//! `accept`, `reject`, `hangup`, `setMicMute` and events such as `INVITED`, `REJECT`,
//! `LINE_BUSY`, `NO_RESP`, `CALL_END`), so an app written against TRTCCalling maps one to one.
//!
//! ```no_run
//! use webcall_client::{CallEvent, CallType, WebCall, WebCallOptions};
//!
//! // 1. Create the calling object with the server and your app's ID.
//! let webcall = WebCall::new(WebCallOptions {
//!     server_url: "wss://call.example.com/ws".into(),
//!     sdk_app_id: 1_400_000_000,
//! });
//! // 2. React to events; dropping the subscription unsubscribes.
//! let for_events = webcall.clone();
//! let _subscription = webcall.on_event(move |event| match event {
//!     CallEvent::Invited { sponsor, .. } => {
//!         println!("{sponsor} is calling");
//!         let _ = for_events.accept();
//!     }
//!     CallEvent::CallEnd { duration_secs, .. } => println!("call over after {duration_secs} s"),
//!     _ => {}
//! });
//! // 3. Log in with a UserSig issued by your backend.
//! webcall.login("alice", "<UserSig>").unwrap();
//! // 4. Once `CallEvent::LoggedIn` arrives: call someone.
//! webcall.call("bob", CallType::Audio, None).unwrap();
//! ```
//!
//! Beyond TRTCCalling:
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
//! Inside, a pure state machine ([`machine`]) decides everything from events and time, and a
//! thin browser shell ([`WebCall`]) owns the WebSocket, the `RTCPeerConnection`, the
//! microphone track and the timers. Remote audio plays through an `<audio>` element the client
//! owns; the app does not have to touch media.

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
