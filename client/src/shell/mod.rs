//! The browser shell around the [state machine](crate::machine): it owns the WebSocket, the
//! microphone, the `RTCPeerConnection` and the timers, feeds what they report into the machine
//! and carries out what the machine asks for. It decides nothing itself.
//!
//! Everything it creates has one owner: sockets, peers and timers remove their JS handlers when
//! dropped, the microphone stops its tracks. Objects whose handler may be running when the
//! machine lets go of them are dropped after the current task, never under their own feet.

mod mic;
mod peer;
mod socket;
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
use crate::{CallEvent, CallState, ClientError};
use mic::Mic;
use peer::{Peer, PeerEvent};
use socket::{Socket, SocketEvent};

/// How to reach the signaling server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebCallOptions {
    /// The signaling WebSocket, e.g. `wss://call.example.com/ws`.
    pub server_url: String,
    /// Your application's ID (TRTCCalling's `SDKAppID`); the server checks UserSigs against it.
    pub sdk_app_id: u32,
}

/// The calling service: one per logged-in user and page. A cheap handle: clones share it.
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
}

/// An event subscription; dropping it unsubscribes.
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
    pub fn new(options: WebCallOptions) -> WebCall {
        let mut machine = Machine::new(options.sdk_app_id);
        // Pages that lost the server together reconnect apart.
        machine.seed_rng((js_sys::Math::random() * (1u64 << 53) as f64) as u64);
        WebCall {
            shared: Rc::new(Shared {
                machine: RefCell::new(machine),
                options,
                io: RefCell::new(Io::default()),
                handlers: RefCell::new(Vec::new()),
                next_handler: Cell::new(0),
            }),
        }
    }

    /// Connects and logs in as `user_id` with a UserSig issued by your backend. Success is
    /// [`CallEvent::LoggedIn`]; failure is [`CallEvent::Error`] followed by
    /// [`CallEvent::LoggedOut`].
    ///
    /// Once logged in, a lost connection is restored on its own, with the same UserSig (or the
    /// latest [`renew`](Self::renew)ed one): [`CallEvent::Reconnecting`], then
    /// [`CallEvent::Reconnected`]; the call goes on meanwhile.
    pub fn login(&self, user_id: &str, user_sig: &str) -> Result<(), ClientError> {
        self.feed(Input::Login {
            user_id: user_id.into(),
            user_sig: user_sig.into(),
        })
    }

    /// Leaves any call and logs out; [`CallEvent::LoggedOut`] follows.
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

    /// Accepts the call that is ringing ([`CallEvent::Invited`]).
    pub fn accept(&self) -> Result<(), ClientError> {
        self.feed(Input::Accept)
    }

    /// Rejects the call that is ringing.
    pub fn reject(&self) -> Result<(), ClientError> {
        self.feed(Input::Reject)
    }

    /// Ends the call: cancels it while it rings the callee, rejects it while it rings here,
    /// hangs up when in it (then [`CallEvent::CallEnd`] follows).
    pub fn hangup(&self) -> Result<(), ClientError> {
        self.feed(Input::Hangup)
    }

    /// Mutes (`true`) or unmutes the microphone in the current call.
    pub fn set_mic_mute(&self, muted: bool) -> Result<(), ClientError> {
        self.feed(Input::SetMicMute(muted))
    }

    /// Watches whether `users` are online, replacing the IDs watched before (an empty list
    /// stops watching). Each watched ID's state comes as [`CallEvent::PresenceChanged`]: once
    /// soon after this call (or after the login, when logged out now), then whenever it
    /// changes. The list is kept across logins; duplicates count once.
    ///
    /// Refused, changing nothing, when an ID is invalid ([`ClientError::BadUserId`]) or there
    /// are more than [`MAX_WATCHED`](webcall_protocol::MAX_WATCHED) distinct IDs
    /// ([`ClientError::TooManyWatched`]).
    pub fn watch_presence(&self, users: &[String]) -> Result<(), ClientError> {
        self.feed(Input::WatchPresence(users.to_vec()))
    }

    /// Extends the session with a fresh UserSig for the logged-in user, typically on
    /// [`CallEvent::SessionExpiring`]; [`CallEvent::SessionRenewed`] confirms it, an
    /// [`CallEvent::Error`] says why not.
    pub fn renew(&self, user_sig: &str) -> Result<(), ClientError> {
        self.feed(Input::Renew {
            user_sig: user_sig.to_owned(),
        })
    }

    /// Whether watched user `user` is online, as last reported: `None` when it is not known
    /// (not watched, not reported yet, or logged out).
    pub fn presence(&self, user: &str) -> Option<bool> {
        self.shared.machine.borrow().presence(user)
    }

    /// Calls `handler` with every event until the returned [`Subscription`] is dropped.
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

    /// Where the call stands now.
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
        Output::Event(event) => {
            let handlers: Vec<Handler> = shared
                .handlers
                .borrow()
                .iter()
                .map(|(_, h)| h.clone())
                .collect();
            for handler in handlers {
                handler(&event);
            }
        }
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
            let weak = Rc::downgrade(shared);
            spawn_local(async move {
                let result = Mic::open().await;
                let Some(shared) = weak.upgrade() else {
                    return;
                };
                if shared.io.borrow().media_generation != generation {
                    return; // The call is gone; dropping `result` stops the tracks.
                }
                let event = match result {
                    Ok(mic) => {
                        shared.io.borrow_mut().mic = Some(mic);
                        MediaEvent::MicReady
                    }
                    Err(error) => MediaEvent::MicFailed(error),
                };
                let _ = feed(&shared, Input::Media(event));
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
            if let Some(peer) = &shared.io.borrow().peer {
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
        MediaCommand::Close => {
            let mut io = shared.io.borrow_mut();
            io.media_generation += 1;
            io.muted = false;
            defer_drop(io.peer.take());
            // Stop the microphone at once; it has no handler that could be running.
            io.mic = None;
        }
    }
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
