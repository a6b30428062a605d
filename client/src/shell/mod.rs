//! The browser shell around the [state machine](crate::machine): it owns the WebSocket, the
//! microphone, the `RTCPeerConnection` and the timers, feeds what they report into the machine
//! and carries out what the machine asks for. It decides nothing itself.
//!
//! Everything it creates has one owner: sockets, peers and timers remove their JS handlers when
//! dropped, the microphone stops its tracks. Objects whose handler may be running when the
//! machine lets go of them are dropped after the current task, never under their own feet.

mod devices;
mod history;
mod level;
mod mic;
mod peer;
mod socket;
mod stats;
mod tone;
mod verify;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use wasm_bindgen_futures::spawn_local;
use webcall_protocol::CallType;

use crate::machine::{
    Input, Machine, MediaCommand, MediaEvent, Millis, Output, Timer, CLOSE_ABNORMAL,
};
use crate::{CallEvent, CallState, ClientError, Devices, MediaError};
pub(crate) use devices::speaker_selection_supported;
use devices::DeviceWatch;
pub use history::HistoryError;
pub(crate) use mic::Mic;
pub(crate) use peer::configuration as rtc_configuration;
use peer::{Peer, PeerEvent};
pub(crate) use socket::{Socket, SocketEvent};
use tone::TonePlayer;

/// How to reach the signaling server (TRTCCalling's `options`).
///
/// ```no_run
/// use webcall_client::WebCallOptions;
///
/// // A server elsewhere (it must allow the page's origin: `--allowed-origin`).
/// let options = WebCallOptions {
///     server_url: "wss://call.example.com/ws".into(),
///     sdk_app_id: 1_400_000_000,
/// };
/// // The server that serves this page: `wss://<this host>/ws` (or `ws:` on http pages).
/// let options = WebCallOptions::same_origin(1_400_000_000);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebCallOptions {
    /// The signaling WebSocket, e.g. `wss://call.example.com/ws`.
    pub server_url: String,
    /// Your application's ID (TRTCCalling's `SDKAppID`); the server checks UserSigs against it.
    pub sdk_app_id: u32,
}

impl WebCallOptions {
    /// The options for a page served by the signaling server itself: the WebSocket `/ws` on
    /// the page's own host, `wss:` on https pages and `ws:` otherwise.
    pub fn same_origin(sdk_app_id: u32) -> WebCallOptions {
        let location = web_sys::window().map(|w| w.location());
        let protocol = location.as_ref().and_then(|l| l.protocol().ok());
        let host = location.and_then(|l| l.host().ok()).unwrap_or_default();
        let scheme = if protocol.as_deref() == Some("https:") {
            "wss"
        } else {
            "ws"
        };
        WebCallOptions {
            server_url: format!("{scheme}://{host}/ws"),
            sdk_app_id,
        }
    }
}

/// The calling service: one per logged-in user and page. A cheap handle: clones share it.
///
/// Needs a browser page (it opens a WebSocket, the microphone and an `RTCPeerConnection`);
/// the examples of its methods compile but do not run in the tests. The crate's
/// [introduction](crate) shows a whole integration; [`machine`](crate::machine) shows a call
/// that runs anywhere.
#[derive(Clone)]
pub struct WebCall {
    shared: Rc<Shared>,
}

impl PartialEq for WebCall {
    fn eq(&self, other: &Self) -> bool {
        Rc::ptr_eq(&self.shared, &other.shared)
    }
}

impl std::fmt::Debug for WebCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebCall")
            .field("options", &self.shared.options)
            .finish_non_exhaustive()
    }
}

type Handler = Rc<dyn Fn(&CallEvent)>;

struct Shared {
    options: WebCallOptions,
    machine: RefCell<Machine>,
    io: RefCell<Io>,
    handlers: RefCell<Vec<(u64, Handler)>>,
    next_handler: Cell<u64>,
    /// Reports plugged and unplugged devices while the service lives.
    device_watch: RefCell<Option<DeviceWatch>>,
}

/// The resources the machine's outputs act on.
#[derive(Default)]
struct Io {
    socket: Option<Socket>,
    mic: Option<Mic>,
    peer: Option<Peer>,
    timers: HashMap<Timer, Timeout>,
    /// Bumped whenever media is closed, so that late results of an old call are ignored.
    media_generation: u32,
    /// Bumped whenever the socket is replaced, likewise.
    socket_generation: u32,
    /// Whether the user muted the microphone in this call (it may open after the mute).
    muted: bool,
    /// The UserSig of the last login or renewal, for [`WebCall::history`].
    user_sig: String,
    /// The tone playing.
    tone: Option<TonePlayer>,
    /// The microphone's level, where the statistics lack it (Firefox).
    level: Option<level::LevelReader>,
    /// Whether tones play at all ([`WebCall::set_tones`]).
    tones_off: bool,
    /// The chosen microphone and speaker (`deviceId`), `None` for the browser's default.
    microphone: Option<String>,
    speaker: Option<String>,
    /// Whether the device labels were reported once the microphone was first allowed.
    labels_reported: bool,
    /// Whether this call's microphone is being opened (`StartMic` not answered yet), in a
    /// browser that gathers candidates only while capturing (see [`candidates_need_capture`]).
    mic_opening: bool,
    /// Signals for the peer that came while the microphone opened, applied once it has (or
    /// failed): the callee answers with its microphone capturing. Firefox gathers ICE
    /// candidates for a page that is not capturing on the default route only (on a machine
    /// without one: none, and the connection fails at once).
    held_signals: Vec<webcall_protocol::Signal>,
}

/// An event subscription ([`WebCall::on_event`]); dropping it unsubscribes.
#[must_use = "dropping a Subscription unsubscribes at once"]
pub struct Subscription {
    shared: Weak<Shared>,
    id: u64,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(shared) = self.shared.upgrade() {
            shared
                .handlers
                .borrow_mut()
                .retain(|(id, _)| *id != self.id);
        }
    }
}

impl WebCall {
    /// Creates the calling service. Nothing connects until [`login`](Self::login).
    ///
    /// ```no_run
    /// use webcall_client::{WebCall, WebCallOptions};
    ///
    /// let webcall = WebCall::new(WebCallOptions {
    ///     server_url: "wss://call.example.com/ws".into(),
    ///     sdk_app_id: 1_400_000_000,
    /// });
    /// ```
    pub fn new(options: WebCallOptions) -> WebCall {
        let mut machine = Machine::new(options.sdk_app_id);
        // Pages that lost the server together reconnect apart.
        machine.seed_rng((js_sys::Math::random() * (1u64 << 53) as f64) as u64);
        let shared = Rc::new(Shared {
            machine: RefCell::new(machine),
            options,
            io: RefCell::new(Io::default()),
            handlers: RefCell::new(Vec::new()),
            next_handler: Cell::new(0),
            device_watch: RefCell::new(None),
        });
        let weak = Rc::downgrade(&shared);
        *shared.device_watch.borrow_mut() = DeviceWatch::new(move || {
            if let Some(shared) = weak.upgrade() {
                report_devices(&shared);
            }
        });
        WebCall { shared }
    }

    /// Connects and logs in as `user_id` with a UserSig issued by your backend. Success is
    /// [`CallEvent::LoggedIn`]; failure is [`CallEvent::Error`] followed by
    /// [`CallEvent::LoggedOut`].
    ///
    /// Once logged in, a lost connection is restored on its own, with the same UserSig (or the
    /// latest [`renew`](Self::renew)ed one): [`CallEvent::Reconnecting`], then
    /// [`CallEvent::Reconnected`]; the call goes on meanwhile.
    ///
    /// Refused at once, changing nothing, when the user ID is invalid
    /// ([`ClientError::BadUserId`]) or a login is under way or done
    /// ([`ClientError::AlreadyLoggedIn`]).
    ///
    /// ```no_run
    /// use webcall_client::CallEvent;
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// # let user_sig = String::new();
    /// let _subscription = webcall.on_event(|event| match event {
    ///     CallEvent::LoggedIn { user_id } => { /* show the call page */ }
    ///     CallEvent::Error { code, message } => { /* 70001: the UserSig expired, ... */ }
    ///     _ => {}
    /// });
    /// webcall.login("alice", &user_sig)?;
    /// # Ok::<(), webcall_client::ClientError>(())
    /// ```
    pub fn login(&self, user_id: &str, user_sig: &str) -> Result<(), ClientError> {
        self.shared.io.borrow_mut().user_sig = user_sig.to_owned();
        self.feed(Input::Login {
            user_id: user_id.into(),
            user_sig: user_sig.into(),
        })
    }

    /// Leaves any call and logs out; [`CallEvent::LoggedOut`] follows.
    /// [`ClientError::NotLoggedIn`] when the user is neither logged in nor logging in.
    ///
    /// ```no_run
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// webcall.logout()?;
    /// # Ok::<(), webcall_client::ClientError>(())
    /// ```
    pub fn logout(&self) -> Result<(), ClientError> {
        self.feed(Input::Logout)
    }

    /// Calls `user_id`. [`CallEvent::Ringing`] tells on how many of the callee's devices it
    /// rings (0: offline, the invitation waits for them to log in); the answer arrives as an
    /// event: [`CallEvent::UserAccept`], [`CallEvent::Reject`], [`CallEvent::LineBusy`] or
    /// [`CallEvent::NoResp`]. `timeout_secs` overrides the server's ring timeout.
    ///
    /// Calling the user whose call rings here accepts that call. Refused with
    /// [`ClientError::InCallElsewhere`] while this user is in a call on another device, and
    /// with [`ClientError::Reconnecting`] while the connection to the server is being restored.
    /// The server caps `timeout_secs` at
    /// [`MAX_RING_TIMEOUT_SECS`](webcall_protocol::MAX_RING_TIMEOUT_SECS); `None` or 0 take its
    /// default (`--ring-timeout-secs`).
    ///
    /// ```no_run
    /// use webcall_client::{CallType, ClientError};
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// match webcall.call("bob", CallType::Audio, Some(30)) {
    ///     Ok(()) => { /* show "calling bob…" until the answer comes */ }
    ///     Err(ClientError::Busy) => { /* there is a call already */ }
    ///     Err(e) => { /* e.code() and e.to_string() say why */ }
    /// }
    /// ```
    pub fn call(
        &self,
        user_id: &str,
        call_type: CallType,
        timeout_secs: Option<u32>,
    ) -> Result<(), ClientError> {
        self.feed(Input::Call {
            callee: user_id.into(),
            call_type,
            timeout_secs,
        })
    }

    /// Accepts the call that is ringing ([`CallEvent::Invited`]). The microphone opens and
    /// the audio connects: [`CallEvent::UserEnter`]. [`ClientError::NoCall`] when nothing
    /// rings.
    ///
    /// ```no_run
    /// use webcall_client::CallEvent;
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// let handle = webcall.clone();
    /// let _subscription = webcall.on_event(move |event| {
    ///     if let CallEvent::Invited { sponsor, .. } = event {
    ///         // Ask the user first; here, every call is taken.
    ///         let _ = handle.accept();
    ///     }
    /// });
    /// ```
    pub fn accept(&self) -> Result<(), ClientError> {
        self.feed(Input::Accept)
    }

    /// Rejects the call that is ringing; the caller hears [`CallEvent::Reject`].
    /// [`ClientError::NoCall`] when nothing rings.
    ///
    /// ```no_run
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// // The "Reject" button of the incoming call.
    /// webcall.reject()?;
    /// # Ok::<(), webcall_client::ClientError>(())
    /// ```
    pub fn reject(&self) -> Result<(), ClientError> {
        self.feed(Input::Reject)
    }

    /// Ends the call: cancels it while it rings the callee, rejects it while it rings here,
    /// hangs up when in it (then [`CallEvent::CallEnd`] follows). [`ClientError::NoCall`] when
    /// there is no call.
    ///
    /// ```no_run
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// // The "Hang up" button, whatever the call's state.
    /// let _ = webcall.hangup();
    /// ```
    pub fn hangup(&self) -> Result<(), ClientError> {
        self.feed(Input::Hangup)
    }

    /// Mutes (`true`) or unmutes the microphone in the current call; the other side hears
    /// [`CallEvent::UserAudioAvailable`]. [`ClientError::NoCall`] outside an accepted call.
    ///
    /// ```no_run
    /// use webcall_client::CallState;
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// if let CallState::InCall { muted, .. } = webcall.call_state() {
    ///     webcall.set_mic_mute(!muted)?;
    /// }
    /// # Ok::<(), webcall_client::ClientError>(())
    /// ```
    pub fn set_mic_mute(&self, muted: bool) -> Result<(), ClientError> {
        self.feed(Input::SetMicMute(muted))
    }

    /// The microphones and speakers this browser offers (TRTCCalling's `getMicrophoneList`,
    /// `getSpeakerList`). Labels are empty until the page was allowed the microphone; the
    /// speaker list is empty where the browser can not choose the speaker
    /// ([`speaker_selection_supported`](Self::speaker_selection_supported)). Changes come as
    /// [`CallEvent::DevicesUpdated`].
    ///
    /// ```no_run
    /// # async fn menu() -> Result<(), webcall_client::MediaError> {
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// let devices = webcall.devices().await?;
    /// for mic in &devices.microphones {
    ///     // An <option> per microphone: its label (empty before the first permission).
    ///     let (_value, _text) = (&mic.id, &mic.label);
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn devices(&self) -> Result<Devices, MediaError> {
        devices::list().await
    }

    /// Whether this browser lets the page choose the speaker (`setSinkId`).
    pub fn speaker_selection_supported(&self) -> bool {
        devices::speaker_selection_supported()
    }

    /// Uses microphone `device_id` (from [`devices`](Self::devices); `None`: the browser's
    /// default) for this and later calls (TRTCCalling's `switchDevice`). During a call the new
    /// microphone replaces the old on the connection without renegotiating, keeping the mute;
    /// if it can not be opened the call keeps the old one and the error says why.
    ///
    /// ```no_run
    /// # async fn chosen(device_id: String) -> Result<(), webcall_client::MediaError> {
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// // The user picked a microphone from the menu.
    /// webcall.set_microphone(Some(&device_id)).await?;
    /// // Back to the browser's default.
    /// webcall.set_microphone(None).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_microphone(&self, device_id: Option<&str>) -> Result<(), MediaError> {
        let generation = {
            let mut io = self.shared.io.borrow_mut();
            io.microphone = device_id.map(str::to_owned);
            if io.mic.is_none() {
                return Ok(()); // Taken when a call opens the microphone.
            }
            io.media_generation
        };
        let mic = Mic::open_device(device_id, true).await?;
        let mut io = self.shared.io.borrow_mut();
        if io.media_generation != generation || io.mic.is_none() {
            return Ok(()); // The call ended meanwhile; dropping `mic` stops it.
        }
        mic.set_muted(io.muted);
        if let Some(peer) = &io.peer {
            peer.switch_mic(&mic);
        }
        // The old microphone stops here, and its level reader.
        io.mic = Some(mic);
        io.level = None;
        Ok(())
    }

    /// Plays calls through speaker `device_id` (`None`: the system default), now and in later
    /// calls. [`MediaError::NotSupported`] where the browser can not choose
    /// ([`speaker_selection_supported`](Self::speaker_selection_supported)).
    ///
    /// ```no_run
    /// # async fn chosen(device_id: String) -> Result<(), webcall_client::MediaError> {
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// if webcall.speaker_selection_supported() {
    ///     webcall.set_speaker(Some(&device_id)).await?;
    /// }
    /// # Ok(())
    /// # }
    /// ```
    pub async fn set_speaker(&self, device_id: Option<&str>) -> Result<(), MediaError> {
        if !devices::speaker_selection_supported() {
            return Err(MediaError::NotSupported);
        }
        let audio = {
            let mut io = self.shared.io.borrow_mut();
            io.speaker = device_id.map(str::to_owned);
            io.peer.as_ref().map(|peer| peer.audio().clone())
        };
        match audio {
            Some(audio) => devices::set_sink(&audio, device_id.unwrap_or_default()).await,
            None => Ok(()),
        }
    }

    /// The chosen microphone and speaker (`None`: the browser's default).
    pub fn chosen_devices(&self) -> (Option<String>, Option<String>) {
        let io = self.shared.io.borrow();
        (io.microphone.clone(), io.speaker.clone())
    }

    /// Turns the call-progress tones on (the default) or off: the ringback the caller hears
    /// while the call rings, and the ringtone of an incoming call, synthesized (TRTCCalling's
    /// `setCallingBell`, without a file). Browsers play them only after the user interacted
    /// with the page.
    pub fn set_tones(&self, on: bool) {
        let mut io = self.shared.io.borrow_mut();
        io.tones_off = !on;
        if !on {
            io.tone = None;
        }
    }

    /// Watches whether `users` are online, replacing the IDs watched before (an empty list
    /// stops watching). Each watched ID's state comes as [`CallEvent::PresenceChanged`]: once
    /// soon after this call (or after the login, when logged out now), then whenever it
    /// changes. The list is kept across logins; duplicates count once.
    ///
    /// Refused, changing nothing, when an ID is invalid ([`ClientError::BadUserId`]) or there
    /// are more than [`MAX_WATCHED`](webcall_protocol::MAX_WATCHED) distinct IDs
    /// ([`ClientError::TooManyWatched`]).
    ///
    /// ```no_run
    /// use webcall_client::CallEvent;
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// let _subscription = webcall.on_event(|event| {
    ///     if let CallEvent::PresenceChanged { user_id, online } = event {
    ///         // Show a green dot next to `user_id` when `online`.
    ///     }
    /// });
    /// webcall.watch_presence(&["bob".to_string(), "carol".to_string()])?;
    /// # Ok::<(), webcall_client::ClientError>(())
    /// ```
    pub fn watch_presence(&self, users: &[String]) -> Result<(), ClientError> {
        self.feed(Input::WatchPresence(users.to_vec()))
    }

    /// Extends the session with a fresh UserSig for the logged-in user, typically on
    /// [`CallEvent::SessionExpiring`]; [`CallEvent::SessionRenewed`] confirms it, an
    /// [`CallEvent::Error`] says why not. [`ClientError::NotLoggedIn`] when nobody is logged in.
    ///
    /// ```no_run
    /// use webcall_client::CallEvent;
    /// # async fn fetch_user_sig_from_your_backend() -> String { String::new() }
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// let handle = webcall.clone();
    /// let _subscription = webcall.on_event(move |event| {
    ///     if let CallEvent::SessionExpiring { .. } = event {
    ///         let handle = handle.clone();
    ///         wasm_bindgen_futures::spawn_local(async move {
    ///             let user_sig = fetch_user_sig_from_your_backend().await;
    ///             let _ = handle.renew(&user_sig);
    ///         });
    ///     }
    /// });
    /// ```
    pub fn renew(&self, user_sig: &str) -> Result<(), ClientError> {
        self.shared.io.borrow_mut().user_sig = user_sig.to_owned();
        self.feed(Input::Renew {
            user_sig: user_sig.to_owned(),
        })
    }

    /// Whether watched user `user` is online, as last reported: `None` when it is not known
    /// (not watched, not reported yet, or logged out).
    pub fn presence(&self, user: &str) -> Option<bool> {
        self.shared.machine.borrow().presence(user)
    }

    /// Calls `handler` with every event until the returned [`Subscription`] is dropped
    /// (TRTCCalling's `on`; dropping is its `off`). Handlers run in the order they subscribed,
    /// and may call the service's methods.
    ///
    /// ```no_run
    /// use webcall_client::{CallEvent, Subscription, WebCall};
    ///
    /// /// The page's calling state: the subscription lives as long as the page does.
    /// struct CallPage {
    ///     webcall: WebCall,
    ///     _events: Subscription,
    /// }
    ///
    /// impl CallPage {
    ///     fn new(webcall: WebCall) -> CallPage {
    ///         let _events = webcall.on_event(|event| match event {
    ///             CallEvent::Reject { user_id } => { /* "{user_id} rejected the call" */ }
    ///             CallEvent::LineBusy { user_id } => { /* "{user_id} is busy" */ }
    ///             CallEvent::NoResp { user_id, reason } => { /* "no answer" */ }
    ///             CallEvent::CallEnd { duration_secs, .. } => { /* "call over" */ }
    ///             _ => {}
    ///         });
    ///         CallPage { webcall, _events }
    ///     }
    /// }
    /// ```
    pub fn on_event(&self, handler: impl Fn(&CallEvent) + 'static) -> Subscription {
        let id = self.shared.next_handler.get();
        self.shared.next_handler.set(id + 1);
        self.shared
            .handlers
            .borrow_mut()
            .push((id, Rc::new(handler)));
        Subscription {
            shared: Rc::downgrade(&self.shared),
            id,
        }
    }

    /// Where the call stands now: for a UI that renders from state rather than from events.
    ///
    /// ```no_run
    /// use webcall_client::CallState;
    /// # use webcall_client::{WebCall, WebCallOptions};
    /// # let webcall = WebCall::new(WebCallOptions::same_origin(1_400_000_000));
    /// let status = match webcall.call_state() {
    ///     CallState::Idle => "ready".to_string(),
    ///     CallState::Dialing { callee, .. } => format!("calling {callee}…"),
    ///     CallState::Incoming { caller, .. } => format!("{caller} is calling"),
    ///     CallState::Connecting { .. } => "connecting…".to_string(),
    ///     CallState::InCall { peer, verification_code, .. } => {
    ///         format!("in a call with {peer}, code {}", verification_code.unwrap_or_default())
    ///     }
    ///     CallState::Elsewhere { peer, .. } => format!("in a call with {peer} on another device"),
    /// };
    /// ```
    pub fn call_state(&self) -> CallState {
        self.shared.machine.borrow().call_state()
    }

    /// The logged-in user, once the login succeeded (also while reconnecting).
    pub fn user_id(&self) -> Option<String> {
        self.shared.machine.borrow().user_id().map(str::to_owned)
    }

    /// Whether the connection to the server was lost and is being restored (between
    /// [`CallEvent::Reconnecting`] and [`CallEvent::Reconnected`]): the user is still logged in
    /// and the call goes on, but no call can be placed.
    pub fn is_reconnecting(&self) -> bool {
        self.shared.machine.borrow().is_reconnecting()
    }

    /// The ICE servers (STUN, and TURN with credentials) the server gave this login: for
    /// [`check::relay`](crate::check::relay). Empty when logged out or when the server has
    /// none.
    pub fn ice_servers(&self) -> Vec<webcall_protocol::IceServer> {
        self.shared.machine.borrow().session_ice_servers().to_vec()
    }

    /// Page `page` of the logged-in user's call history (0: the newest calls), newest first,
    /// from the server's `/api/history`, authenticated with the login's UserSig.
    pub async fn history(&self, page: u32) -> Result<crate::HistoryPage, HistoryError> {
        let user_id = self.user_id().ok_or(HistoryError::NotLoggedIn)?;
        let user_sig = self.shared.io.borrow().user_sig.clone();
        history::fetch(&self.shared.options.server_url, &user_id, &user_sig, page).await
    }

    /// The options this service was created with.
    pub fn options(&self) -> &WebCallOptions {
        &self.shared.options
    }

    fn feed(&self, input: Input) -> Result<(), ClientError> {
        feed(&self.shared, input)
    }
}

/// Feeds one input into the machine, then carries out everything it asks for.
fn feed(shared: &Rc<Shared>, input: Input) -> Result<(), ClientError> {
    let result = shared.machine.borrow_mut().handle(now(), input);
    loop {
        // Never hold the machine while acting: an event handler may call back in.
        let Some(output) = shared.machine.borrow_mut().poll_output() else {
            break;
        };
        execute(shared, output);
    }
    result
}

fn execute(shared: &Rc<Shared>, output: Output) {
    match output {
        Output::OpenSocket => open_socket(shared),
        Output::CloseSocket => {
            let mut io = shared.io.borrow_mut();
            io.socket_generation += 1;
            defer_drop(io.socket.take());
        }
        Output::AbandonSocket => {
            let mut io = shared.io.borrow_mut();
            io.socket_generation += 1;
            if let Some(socket) = &io.socket {
                socket.close_on_drop(webcall_protocol::CLOSE_RECONNECTING, "reconnecting");
            }
            defer_drop(io.socket.take());
        }
        Output::Send(msg) => {
            if let Some(socket) = &shared.io.borrow().socket {
                socket.send(&msg);
            }
        }
        Output::Media(command) => media(shared, command),
        Output::SetTimer { timer, at } => {
            let weak = Rc::downgrade(shared);
            let delay = at.saturating_sub(now()).min(u32::MAX as u64) as u32;
            let timeout = Timeout::new(delay, move || {
                if let Some(shared) = weak.upgrade() {
                    // The timer is done; drop its handle after this callback.
                    defer_drop(shared.io.borrow_mut().timers.remove(&timer));
                    let _ = feed(&shared, Input::Timer(timer));
                }
            });
            shared.io.borrow_mut().timers.insert(timer, timeout);
        }
        Output::CancelTimer(timer) => {
            shared.io.borrow_mut().timers.remove(&timer);
        }
        Output::Event(event) => emit(shared, &event),
    }
}

/// Tells every subscribed handler.
fn emit(shared: &Rc<Shared>, event: &CallEvent) {
    let handlers: Vec<Handler> = shared
        .handlers
        .borrow()
        .iter()
        .map(|(_, h)| h.clone())
        .collect();
    for handler in handlers {
        handler(event);
    }
}

fn open_socket(shared: &Rc<Shared>) {
    let generation = {
        let mut io = shared.io.borrow_mut();
        io.socket_generation += 1;
        defer_drop(io.socket.take());
        io.socket_generation
    };
    let weak = Rc::downgrade(shared);
    let socket = Socket::open(&shared.options.server_url, move |event| {
        let Some(shared) = weak.upgrade() else {
            return;
        };
        if shared.io.borrow().socket_generation != generation {
            return;
        }
        let input = match event {
            SocketEvent::Opened => Input::SocketOpened,
            SocketEvent::Message(msg) => Input::Server(msg),
            SocketEvent::Closed { reason, code } => Input::SocketClosed { reason, code },
        };
        let _ = feed(&shared, input);
    });
    match socket {
        Ok(socket) => shared.io.borrow_mut().socket = Some(socket),
        Err(reason) => {
            // Report after this output is done, like a socket that failed to connect.
            let weak = Rc::downgrade(shared);
            spawn_local(async move {
                if let Some(shared) = weak.upgrade() {
                    let _ = feed(
                        &shared,
                        Input::SocketClosed {
                            reason,
                            code: CLOSE_ABNORMAL,
                        },
                    );
                }
            });
        }
    }
}

fn media(shared: &Rc<Shared>, command: MediaCommand) {
    match command {
        MediaCommand::StartMic => {
            let generation = shared.io.borrow().media_generation;
            // Elsewhere the callee negotiates while its microphone opens, which saves the
            // time `getUserMedia` takes from accept to audio.
            shared.io.borrow_mut().mic_opening = candidates_need_capture();
            let weak = Rc::downgrade(shared);
            let device = shared.io.borrow().microphone.clone();
            spawn_local(async move {
                let result = Mic::open_device(device.as_deref(), false).await;
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                if shared.io.borrow().media_generation != generation {
                    return; // The call is gone; dropping `result` stops the tracks.
                }
                let event = match result {
                    Ok(mic) => {
                        let first = {
                            let mut io = shared.io.borrow_mut();
                            io.mic = Some(mic);
                            !std::mem::replace(&mut io.labels_reported, true)
                        };
                        if first {
                            // The device labels are known now.
                            report_devices(&shared);
                        }
                        MediaEvent::MicReady
                    }
                    Err(error) => MediaEvent::MicFailed(error),
                };
                let _ = feed(&shared, Input::Media(event));
                release_held_signals(&shared, generation);
            });
        }
        MediaCommand::CreatePeer {
            ice_servers,
            relay_only,
            offer,
        } => {
            let generation = shared.io.borrow().media_generation;
            let weak = Rc::downgrade(shared);
            let report = move |event: PeerEvent| {
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                if shared.io.borrow().media_generation != generation {
                    return;
                }
                let event = match event {
                    PeerEvent::Signal(signal) => MediaEvent::LocalSignal(signal),
                    PeerEvent::Connected => MediaEvent::Connected,
                    PeerEvent::Disconnected => MediaEvent::Disconnected,
                    PeerEvent::Failed => MediaEvent::Failed,
                    PeerEvent::Error(message) => MediaEvent::Error(message),
                    PeerEvent::VerificationCode(code) => MediaEvent::VerificationCode(code),
                    PeerEvent::IceServerFailed(error) => MediaEvent::IceServerFailed(error),
                    PeerEvent::GatheringComplete => MediaEvent::GatheringComplete,
                };
                let _ = feed(&shared, Input::Media(event));
            };
            let created = Peer::new(
                &ice_servers,
                relay_only,
                shared.io.borrow().mic.as_ref(),
                report,
            );
            match created {
                Ok(peer) => {
                    if offer {
                        peer.offer();
                    }
                    if let Some(speaker) = shared.io.borrow().speaker.clone() {
                        let audio = peer.audio().clone();
                        spawn_local(async move {
                            if let Err(e) = devices::set_sink(&audio, &speaker).await {
                                log_warn(&format!("cannot play on the chosen speaker: {e}"));
                            }
                        });
                    }
                    shared.io.borrow_mut().peer = Some(peer);
                }
                Err(message) => {
                    let weak = Rc::downgrade(shared);
                    spawn_local(async move {
                        if let Some(shared) = weak.upgrade() {
                            let _ = feed(&shared, Input::Media(MediaEvent::Error(message)));
                        }
                    });
                }
            }
        }
        MediaCommand::RestartIce {
            ice_servers,
            relay_only,
        } => {
            if let Some(peer) = &shared.io.borrow().peer {
                peer.restart_ice(&ice_servers, relay_only);
            }
        }
        MediaCommand::ApplySignal(signal) => {
            let mut io = shared.io.borrow_mut();
            if io.mic_opening {
                io.held_signals.push(signal);
            } else if let Some(peer) = &io.peer {
                peer.apply(signal);
            }
        }
        MediaCommand::AttachMic => {
            let io = shared.io.borrow();
            if let (Some(peer), Some(mic)) = (&io.peer, &io.mic) {
                mic.set_muted(io.muted);
                peer.attach_mic(mic);
            }
        }
        MediaCommand::SetMicMuted(muted) => {
            let mut io = shared.io.borrow_mut();
            io.muted = muted;
            if let Some(mic) = &io.mic {
                mic.set_muted(muted);
            }
        }
        MediaCommand::SampleStats => {
            let Some(pc) = shared
                .io
                .borrow()
                .peer
                .as_ref()
                .map(|p| p.connection().clone())
            else {
                return;
            };
            let generation = shared.io.borrow().media_generation;
            let weak = Rc::downgrade(shared);
            spawn_local(async move {
                let mut sample = stats::sample(&pc).await;
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                if shared.io.borrow().media_generation != generation {
                    return;
                }
                if sample.local_level.is_none() {
                    sample.local_level = read_mic_level(&shared);
                }
                let _ = feed(&shared, Input::Media(MediaEvent::Stats(sample)));
            });
        }
        MediaCommand::Tone(tone) => {
            let mut io = shared.io.borrow_mut();
            io.tone = None; // Stops the one playing.
            if !io.tones_off {
                io.tone = tone.and_then(TonePlayer::start);
            }
        }
        MediaCommand::Close => {
            let mut io = shared.io.borrow_mut();
            io.level = None;
            io.media_generation += 1;
            io.muted = false;
            io.mic_opening = false;
            io.held_signals.clear();
            defer_drop(io.peer.take());
            // Stop the microphone at once; it has no handler that could be running.
            io.mic = None;
        }
    }
}

/// Whether this browser gathers ICE candidates beyond the default route only while the page
/// captures the microphone (Firefox's `default_address_only` for pages without capture).
/// There is no feature to detect for it; the user agent tells.
fn candidates_need_capture() -> bool {
    web_sys::window()
        .and_then(|w| w.navigator().user_agent().ok())
        .is_some_and(|agent| agent.contains("Firefox/"))
}

/// Applies the signals held while the microphone of call `generation` opened (see
/// `Io::held_signals`), after its track went onto the connection.
fn release_held_signals(shared: &Rc<Shared>, generation: u32) {
    let mut io = shared.io.borrow_mut();
    if io.media_generation != generation {
        return;
    }
    io.mic_opening = false;
    let held = std::mem::take(&mut io.held_signals);
    if let Some(peer) = &io.peer {
        for signal in held {
            peer.apply(signal);
        }
    }
}

/// The open microphone's level, read from its samples (for browsers whose statistics lack it).
fn read_mic_level(shared: &Rc<Shared>) -> Option<f64> {
    let mut io = shared.io.borrow_mut();
    let stream = io.mic.as_ref()?.stream().clone();
    // One reader per microphone: replaced with it (`set_microphone`), gone with the call.
    if io.level.is_none() {
        io.level = level::LevelReader::new(&stream);
    }
    io.level.as_mut().map(level::LevelReader::level)
}

/// Lists the devices and tells the app ([`CallEvent::DevicesUpdated`]).
fn report_devices(shared: &Rc<Shared>) {
    let weak = Rc::downgrade(shared);
    spawn_local(async move {
        let Ok(devices) = devices::list().await else {
            return;
        };
        if let Some(shared) = weak.upgrade() {
            emit(&shared, &CallEvent::DevicesUpdated(devices));
        }
    });
}

/// Drops `value` after the current task, so a handler it owns is never dropped while running.
fn defer_drop<T: 'static>(value: Option<T>) {
    if let Some(value) = value {
        spawn_local(async move { drop(value) });
    }
}

/// The machine's clock: milliseconds since the page loaded.
fn now() -> Millis {
    web_sys::window()
        .and_then(|w| w.performance())
        .map(|p| p.now() as Millis)
        .unwrap_or(0)
}

fn log_warn(message: &str) {
    web_sys::console::warn_1(&format!("webcall: {message}").into());
}
