//! Scripted hub sessions with invariants checked after every step: shared by the hub property
//! test (`tests/hub_properties.rs`) and the `hub` fuzz target (`fuzz/fuzz_targets/hub.rs`, which
//! includes this file by path). Only the hub's public API is used.
//!
//! A script is a list of [`Step`]s over [`SLOTS`] connection slots: log a slot in as one of
//! [`USERS`] (on a new connection), disconnect it, lose its socket (the device goes away for
//! the resume grace period), resume its session on a new socket, send a [`ClientMsg`] from it,
//! or let time pass. The hub runs as the server runs it, on a tokio runtime, here a current-thread one with
//! paused time, so that waiting fires ring and connect timers at once and in order. Each slot's
//! outbox is an mpsc channel; slots that read drain it after every step, slots that do not read
//! have a small outbox that overflows.
//!
//! What [`run`] checks ("never a panic, other users never notice"):
//!
//! - nothing panics, neither a hub call nor a timer task the hub spawned;
//! - after every step: at most one call per user, exactly two busy users per call, every user's
//!   device count as the slots say (logins beyond the device limit refused, single-device mode
//!   keeping one; a device whose socket was lost counts until the hub lets it go), a request
//!   from a connection the hub does not hold answered `NotLoggedIn` and from one it holds
//!   never;
//! - every message a connection reads is for that connection's user: call messages only about
//!   calls of that user (as caller or callee, in the role the message is for), nothing about a
//!   call after its `CallEnded`, one `CallEnded` per call, presence only of watched IDs, no
//!   error but `KickedOut`; a reading connection is only dropped after `KickedOut` and a close;
//! - every numbered message a device reads follows the one before, across resumes: nothing is
//!   lost or repeated; a resume of a device the hub still holds resumes it, one of a device it
//!   let go starts a new session; an `Ack` of what was read is taken, one beyond is refused;
//! - when everybody has left, no call and no busy user is left, at once and after every timer.
//!
//! With `HUB_SCRIPT_TRACE` set in the environment, [`run`] prints every step, the hub's answer
//! and what each connection heard, to stderr.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Once};
use std::time::Duration;

use tokio::sync::mpsc::{self, error::TryRecvError};
use webcall_protocol::{CallId, CallType, ClientMsg, ErrorCode, Resume, ServerMsg, Signal};
use webcall_server::hub::{
    ConnHandle, ConnId, Hub, HubError, HubSettings, Login, Outgoing, CLOSE_NORMAL, OUTBOX_CAPACITY,
};

/// The users that log in.
pub const USERS: [&str; 4] = ["ann", "bob", "cat", "dan"];

/// A valid user ID that never logs in: invitations to it wait for the ring timeout.
pub const GHOST: &str = "ghost";

/// How many connections a script juggles.
pub const SLOTS: usize = 6;

/// The outbox of a connection that does not read: small, so that it overflows soon.
pub const DEAF_OUTBOX: usize = 4;

/// The hub's settings for a script.
#[derive(Debug, Clone, Copy)]
pub struct Setup {
    pub single_device: bool,
    pub max_devices: u32,
    pub ring_timeout_secs: u32,
    pub connect_timeout_secs: u32,
    /// How long a device whose socket was lost waits for a resume, in seconds.
    pub resume_grace_secs: u32,
}

/// One step of a script.
#[derive(Debug, Clone)]
pub enum Step {
    /// Slot `slot` (disconnected first, if it holds a connection) logs in as `USERS[user]` on a
    /// new connection that drains its outbox after every step if `reads`, and never otherwise.
    Connect {
        slot: usize,
        user: usize,
        reads: bool,
    },
    /// Slot `slot`'s connection goes away (closed).
    Disconnect { slot: usize },
    /// Slot `slot`'s socket is lost without a close: its device goes away.
    Lose { slot: usize },
    /// Slot `slot` logs in on a new socket, resuming its device's session from the last
    /// message it read (taking the device over when its old socket is still there).
    Resume { slot: usize },
    /// Slot `slot` sends `msg` (an empty slot sends it from a connection that never logged in).
    Send { slot: usize, msg: Msg },
    /// Time passes, and the timers that fall due fire.
    Wait { millis: u64 },
}

/// A user ID in a message.
#[derive(Debug, Clone)]
pub enum Who {
    /// `USERS[i % USERS.len()]`.
    User(usize),
    /// [`GHOST`].
    Ghost,
    /// Any text, mostly not a valid ID.
    Raw(String),
}

/// A call ID in a message.
#[derive(Debug, Clone)]
pub enum CallRef {
    /// The `i`-th most recent call ID anyone was told of (`i` modulo their number).
    Seen(usize),
    /// Any text.
    Raw(String),
}

/// A [`ClientMsg`] with user and call IDs to be resolved when it is sent.
#[derive(Debug, Clone)]
pub enum Msg {
    Login {
        user: Who,
    },
    Invite {
        req: u32,
        callee: Who,
        video: bool,
        timeout_secs: Option<u32>,
    },
    Accept(CallRef),
    Reject(CallRef),
    Cancel(CallRef),
    Hangup {
        call: CallRef,
        failure: Option<String>,
    },
    Signal {
        call: CallRef,
        signal: Signal,
    },
    MediaConnected(CallRef),
    MediaInterrupted(CallRef),
    Watch(Vec<Who>),
    Ping,
    Renew(String),
    /// Acknowledges the messages read, but the last `back` (255: one more than was read).
    Ack {
        back: u8,
    },
}

thread_local! {
    /// Panics on this thread since the current script started, timer tasks' included.
    static PANICS: Cell<u32> = const { Cell::new(0) };
}

/// Counts panics per thread, besides reporting them as before: tokio catches a panic in a
/// spawned task (a hub timer), so the script could not see it otherwise. The runtime runs its
/// tasks on the script's thread, and the count is per thread, so that tests running at the same
/// time do not see each other's panics.
fn count_panics() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            PANICS.with(|p| p.set(p.get() + 1));
            previous(info);
        }));
    });
}

/// Plays `steps` on a fresh hub with `setup`, then disconnects everybody; panics, saying which
/// step and why, when an invariant breaks.
pub fn run(setup: Setup, steps: &[Step]) {
    count_panics();
    PANICS.with(|p| p.set(0));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread runtime builds");
    runtime.block_on(Session::new(setup).play(steps));
}

/// A connection in a slot: a device and its current socket.
struct Conn {
    /// The hub's device.
    id: ConnId,
    /// The socket.
    link: ConnId,
    user: &'static str,
    rx: mpsc::Receiver<Outgoing>,
    reads: bool,
    /// The hub holds the device: its login succeeded and the hub has not dropped it (as far as
    /// is known: a lost device may have been let go since).
    in_hub: bool,
    /// The socket was lost: the device is away, or gone.
    lost: bool,
    /// The session token, for a resume.
    session: String,
    /// The number of the last numbered message read.
    seq: u64,
    /// The IDs it watches, as of its last successful `Watch`.
    watching: Vec<String>,
    /// The calls it heard `CallEnded` for.
    ended: HashSet<CallId>,
    /// It logged in during the current step.
    fresh: bool,
}

/// The two users of a call, and which one called, once a message has said so (`CallElsewhere`
/// does not, and is all a user hears of a call placed on a connection that does not read).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Parties {
    users: [String; 2],
    caller: Option<String>,
}

/// A script being played.
struct Session {
    hub: Arc<Hub>,
    setup: Setup,
    slots: Vec<Option<Conn>>,
    /// Every call ID anyone was told of, oldest first.
    seen: Vec<CallId>,
    /// Each such call's parties.
    parties: HashMap<CallId, Parties>,
    /// What is being played, for failure messages.
    at: String,
    /// Print the steps as they are played (`HUB_SCRIPT_TRACE`).
    trace: bool,
}

macro_rules! fail {
    ($session:expr, $($arg:tt)*) => {
        panic!("{}: {}", $session.at, format_args!($($arg)*))
    };
}

impl Session {
    fn new(setup: Setup) -> Self {
        Session {
            hub: Hub::new(HubSettings {
                ring_timeout_secs: setup.ring_timeout_secs,
                connect_timeout_secs: setup.connect_timeout_secs,
                max_devices: setup.max_devices,
                single_device: setup.single_device,
                resume_grace_secs: setup.resume_grace_secs,
                ..HubSettings::default()
            }),
            setup,
            slots: (0..SLOTS).map(|_| None).collect(),
            seen: Vec::new(),
            parties: HashMap::new(),
            at: String::from("start"),
            trace: std::env::var_os("HUB_SCRIPT_TRACE").is_some(),
        }
    }

    async fn play(mut self, steps: &[Step]) {
        for (i, step) in steps.iter().enumerate() {
            self.at = format!("step {i} ({step:?})");
            if self.trace {
                eprintln!("{}", self.at);
            }
            self.apply(step).await;
            self.after_step().await;
        }
        self.at = String::from("everybody leaving");
        for slot in 0..SLOTS {
            self.disconnect(slot);
        }
        self.after_step().await;
        self.check_all_gone();
        self.at = String::from("every timer fired");
        tokio::time::sleep(Duration::from_secs(600)).await;
        self.after_step().await;
        self.check_all_gone();
    }

    async fn apply(&mut self, step: &Step) {
        match step {
            Step::Connect { slot, user, reads } => self.connect(*slot, *user, *reads),
            Step::Disconnect { slot } => self.disconnect(*slot),
            Step::Lose { slot } => self.lose(*slot),
            Step::Resume { slot } => self.resume(*slot),
            Step::Send { slot, msg } => self.send(*slot, msg),
            Step::Wait { millis } => tokio::time::sleep(Duration::from_millis(*millis)).await,
        }
    }

    fn connect(&mut self, slot: usize, user: usize, reads: bool) {
        let slot = slot % SLOTS;
        self.disconnect(slot);
        let user = USERS[user % USERS.len()];
        let before = self.hub.devices(user);
        let id = self.hub.next_conn_id();
        let (tx, mut rx) = mpsc::channel(if reads { OUTBOX_CAPACITY } else { DEAF_OUTBOX });
        let login = Login::new(user, ConnHandle::new(tx, None), Vec::new(), 3600);
        let result = self.hub.login(id, login);
        if self.trace {
            eprintln!("  {user} ({id}) logged in: {result:?}");
        }
        let allowed = self.setup.single_device || before < self.setup.max_devices as usize;
        let mut session = String::new();
        match result {
            Ok(joined) if allowed => match rx.try_recv() {
                Ok(Outgoing::Msg(ServerMsg::LoggedIn {
                    user_id,
                    session: token,
                    resumed: false,
                    ..
                })) if user_id == user && joined.device == id && !joined.resumed => {
                    session = token;
                }
                other => fail!(self, "a login was answered {other:?}, not LoggedIn"),
            },
            Err(HubError::TooManyDevices(max)) if !allowed && max == self.setup.max_devices => {}
            other => fail!(
                self,
                "login of {user} with {before} devices gave {other:?} (settings {:?})",
                self.setup
            ),
        }
        self.slots[slot] = Some(Conn {
            id,
            link: id,
            user,
            rx,
            reads,
            in_hub: result.is_ok(),
            lost: false,
            session,
            seq: 0,
            watching: Vec::new(),
            ended: HashSet::new(),
            fresh: true,
        });
    }

    /// The slot's connection closes; a lost one's device is let go at once (as when its grace
    /// period ends).
    fn disconnect(&mut self, slot: usize) {
        if let Some(conn) = self.slots[slot % SLOTS].take() {
            if conn.lost {
                self.hub.logout(conn.id);
            } else {
                self.hub.disconnected(conn.id, conn.link, true);
            }
        }
    }

    fn lose(&mut self, slot: usize) {
        let grace = self.setup.resume_grace_secs;
        let Some(conn) = self.slots[slot % SLOTS].as_mut().filter(|c| !c.lost) else {
            return;
        };
        self.hub.disconnected(conn.id, conn.link, false);
        conn.lost = true;
        if grace == 0 {
            conn.in_hub = false;
        }
    }

    fn resume(&mut self, slot: usize) {
        let slot = slot % SLOTS;
        let Some(conn) = self.slots[slot].as_ref() else {
            return;
        };
        let (user, device, reads, known_gone) = (conn.user, conn.id, conn.reads, !conn.in_hub);
        let resume = Resume {
            session: conn.session.clone(),
            seq: conn.seq,
            call: None,
        };
        let before = self.hub.devices(user);
        let link = self.hub.next_conn_id();
        let (tx, mut rx) = mpsc::channel(if reads { OUTBOX_CAPACITY } else { DEAF_OUTBOX });
        let login = Login::new(user, ConnHandle::new(tx, None), Vec::new(), 3600).resuming(resume);
        let result = self.hub.login(link, login);
        if self.trace {
            eprintln!("  {user} ({device}) resumed on {link}: {result:?}");
        }
        let answer = rx.try_recv();
        match result {
            Ok(joined) if joined.resumed => {
                if known_gone || joined.device != device {
                    fail!(
                        self,
                        "resumed device {} of {device}, which is gone",
                        joined.device
                    );
                }
                let session = &self.slots[slot].as_ref().expect("a slot").session;
                match answer {
                    Ok(Outgoing::Msg(ServerMsg::LoggedIn {
                        session: token,
                        resumed: true,
                        ..
                    })) if token == *session => {}
                    other => fail!(self, "a resume was answered {other:?}"),
                }
                // (A device that does not read may be cut off at once by what is sent again.)
                if reads && self.hub.devices(user) != before {
                    fail!(self, "a resume changed the device count");
                }
                let conn = self.slots[slot].as_mut().expect("a slot");
                conn.link = link;
                conn.rx = rx;
                conn.lost = false;
            }
            Ok(joined) => {
                // The hub let the device go: a new session on a new device.
                let session = match answer {
                    Ok(Outgoing::Msg(ServerMsg::LoggedIn {
                        session,
                        resumed: false,
                        ..
                    })) if joined.device == link => session,
                    other => fail!(self, "a new session was answered {other:?}"),
                };
                if let Some(old) = self.slots[slot].as_mut() {
                    // The old device is gone: the slot forgets it.
                    old.in_hub = false;
                    old.lost = true;
                }
                self.slots[slot] = Some(Conn {
                    id: link,
                    link,
                    user,
                    rx,
                    reads,
                    in_hub: true,
                    lost: false,
                    session,
                    seq: 0,
                    watching: Vec::new(),
                    ended: HashSet::new(),
                    fresh: true,
                });
            }
            Err(HubError::TooManyDevices(_)) if !self.setup.single_device => {
                // The old device is gone, and the user's other devices fill the limit.
                if let Some(old) = self.slots[slot].as_mut() {
                    old.in_hub = false;
                    old.lost = true;
                }
            }
            Err(e) => fail!(self, "a resume of {user} failed: {e:?}"),
        }
    }

    fn send(&mut self, slot: usize, msg: &Msg) {
        let read = self.slots[slot % SLOTS].as_ref().map_or(0, |c| c.seq);
        let msg = self.resolve(msg, read);
        let Some(conn) = self.slots[slot % SLOTS].as_mut() else {
            let stranger = self.hub.next_conn_id();
            if self.hub.handle(stranger, msg) != Err(HubError::NotLoggedIn) {
                fail!(self, "a connection that never logged in was served");
            }
            return;
        };
        if conn.lost {
            // Its socket is gone: nothing comes from it.
            return;
        }
        let result = self.hub.handle_from(conn.id, conn.link, msg.clone());
        match (&msg, &result, conn.reads && conn.in_hub) {
            (ClientMsg::Ack { seq }, Ok(()), true) if *seq > conn.seq => {
                fail!(
                    self,
                    "an Ack of {seq}, beyond the last message read, was taken"
                )
            }
            (ClientMsg::Ack { seq }, Err(e), true) if *seq <= conn.seq => {
                fail!(
                    self,
                    "an Ack of {seq} (of {} read) was refused: {e:?}",
                    conn.seq
                )
            }
            _ => {}
        }
        if self.trace {
            eprintln!("  {} ({}) sent {msg:?}: {result:?}", conn.user, conn.id);
        }
        match (&result, conn.in_hub) {
            (Err(HubError::NotLoggedIn), true) => {
                fail!(self, "a logged-in connection was told NotLoggedIn")
            }
            (Err(HubError::NotLoggedIn), false) => {}
            (_, false) => fail!(self, "a connection the hub does not hold got {result:?}"),
            (Ok(()), true) => {
                if let ClientMsg::Watch { users } = msg {
                    conn.watching = users;
                }
            }
            (Err(_), true) => {}
        }
    }

    /// The [`ClientMsg`] that `msg` stands for now, from a slot that read up to `read`.
    fn resolve(&self, msg: &Msg, read: u64) -> ClientMsg {
        let who = |who: &Who| match who {
            Who::User(i) => USERS[i % USERS.len()].to_owned(),
            Who::Ghost => GHOST.to_owned(),
            Who::Raw(text) => text.clone(),
        };
        let call = |call: &CallRef| match call {
            CallRef::Seen(_) if self.seen.is_empty() => String::from("no-call-yet"),
            CallRef::Seen(i) => self.seen[self.seen.len() - 1 - i % self.seen.len()].clone(),
            CallRef::Raw(text) => text.clone(),
        };
        match msg {
            Msg::Login { user } => ClientMsg::Login {
                user_id: who(user),
                user_sig: String::from("sig"),
                sdk_app_id: 1,
                resume: None,
            },
            Msg::Invite {
                req,
                callee,
                video,
                timeout_secs,
            } => ClientMsg::Invite {
                req: *req,
                callee: who(callee),
                call_type: if *video {
                    CallType::Video
                } else {
                    CallType::Audio
                },
                timeout_secs: *timeout_secs,
            },
            Msg::Accept(c) => ClientMsg::Accept { call_id: call(c) },
            Msg::Reject(c) => ClientMsg::Reject { call_id: call(c) },
            Msg::Cancel(c) => ClientMsg::Cancel { call_id: call(c) },
            Msg::Hangup { call: c, failure } => ClientMsg::Hangup {
                call_id: call(c),
                failure: failure.clone(),
            },
            Msg::Signal { call: c, signal } => ClientMsg::Signal {
                call_id: call(c),
                signal: signal.clone(),
            },
            Msg::MediaConnected(c) => ClientMsg::MediaConnected { call_id: call(c) },
            Msg::MediaInterrupted(c) => ClientMsg::MediaInterrupted { call_id: call(c) },
            Msg::Watch(users) => ClientMsg::Watch {
                users: users.iter().map(who).collect(),
            },
            Msg::Ping => ClientMsg::Ping,
            Msg::Renew(user_sig) => ClientMsg::Renew {
                user_sig: user_sig.clone(),
            },
            Msg::Ack { back: 255 } => ClientMsg::Ack { seq: read + 1 },
            Msg::Ack { back } => ClientMsg::Ack {
                seq: read.saturating_sub(u64::from(*back)),
            },
        }
    }

    /// Lets woken tasks run, reads what the reading connections were sent, and checks it all.
    async fn after_step(&mut self) {
        for _ in 0..4 {
            tokio::task::yield_now().await;
        }
        if PANICS.with(Cell::get) != 0 {
            fail!(self, "a hub task panicked (its message is above)");
        }
        let heard = self.drain();
        if self.trace {
            for (slot, msg) in &heard {
                eprintln!("  slot {slot} heard {msg:?}");
            }
        }
        self.learn_parties(&heard);
        for (slot, msg) in heard {
            self.check_heard(slot, msg);
        }
        for conn in self.slots.iter_mut().flatten() {
            conn.fresh = false;
        }
        self.check_counts();
    }

    /// The devices of `user` the hub surely holds (logged in, socket not lost), and those it
    /// may still hold (socket lost, not let go as far as is known).
    fn expected_devices(&self, user: &str) -> (usize, usize) {
        let mine = || {
            self.slots
                .iter()
                .flatten()
                .filter(move |c| c.user == user && c.in_hub)
        };
        let lost = mine().filter(|c| c.lost).count();
        (mine().count() - lost, lost)
    }

    /// What each reading connection was sent since the last step, in order; notes the
    /// connections the hub dropped.
    fn drain(&mut self) -> Vec<(usize, ServerMsg)> {
        let mut heard = Vec::new();
        for slot in 0..SLOTS {
            let Some(conn) = self.slots[slot].as_mut() else {
                continue;
            };
            if conn.lost {
                continue;
            }
            if !conn.reads {
                if conn.rx.is_closed() {
                    conn.in_hub = false;
                }
                continue;
            }
            let mut closed = None;
            loop {
                match conn.rx.try_recv() {
                    Ok(Outgoing::Msg(msg)) if closed.is_none() => match msg.unsequenced() {
                        (Some(seq), msg) if seq == conn.seq + 1 => {
                            conn.seq = seq;
                            heard.push((slot, msg));
                        }
                        (Some(seq), msg) => {
                            let last = conn.seq;
                            fail!(self, "{msg:?} is numbered {seq} after {last}")
                        }
                        (None, msg @ ServerMsg::Pong) => heard.push((slot, msg)),
                        (None, msg) => fail!(self, "{msg:?} came without a number"),
                    },
                    Ok(Outgoing::Close { code, reason }) if closed.is_none() => {
                        closed = Some((code, reason));
                    }
                    Ok(out) => fail!(self, "{out:?} sent after a close"),
                    Err(TryRecvError::Empty) => {
                        if closed.is_some() {
                            fail!(self, "a closed connection is still held by the hub");
                        }
                        break;
                    }
                    Err(TryRecvError::Disconnected) => {
                        let told = heard.iter().any(|(s, msg)| {
                            *s == slot
                                && matches!(
                                    msg,
                                    ServerMsg::Error {
                                        code: ErrorCode::KickedOut,
                                        ..
                                    }
                                )
                        });
                        if conn.in_hub
                            && !(told && closed == Some((CLOSE_NORMAL, "logged in elsewhere")))
                        {
                            fail!(
                                self,
                                "a reading connection was dropped without KickedOut and a close \
                                 (close {closed:?})"
                            );
                        }
                        conn.in_hub = false;
                        break;
                    }
                }
            }
        }
        heard
    }

    /// Notes the parties of the calls that `heard` introduces or tells more of.
    fn learn_parties(&mut self, heard: &[(usize, ServerMsg)]) {
        for (slot, msg) in heard {
            let user = self.slots[*slot].as_ref().map_or("", |c| c.user).to_owned();
            let (call_id, learned) = match msg {
                ServerMsg::CallCreated {
                    call_id, callee, ..
                } => (
                    call_id,
                    Parties {
                        users: [user.clone(), callee.clone()],
                        caller: Some(user),
                    },
                ),
                ServerMsg::Invited {
                    call_id, caller, ..
                }
                | ServerMsg::CallMerged {
                    call_id, caller, ..
                } => (
                    call_id,
                    Parties {
                        users: [caller.clone(), user],
                        caller: Some(caller.clone()),
                    },
                ),
                ServerMsg::CallElsewhere { call_id, peer } => (
                    call_id,
                    Parties {
                        users: [user, peer.clone()],
                        caller: None,
                    },
                ),
                _ => continue,
            };
            let [a, b] = &learned.users;
            if a == b {
                fail!(self, "{a} is in call {call_id} with themselves");
            }
            let Some(known) = self.parties.get_mut(call_id) else {
                self.seen.push(call_id.clone());
                self.parties.insert(call_id.clone(), learned);
                continue;
            };
            let same_users = known.users == learned.users
                || (known.users[0] == learned.users[1] && known.users[1] == learned.users[0]);
            let same_caller = match (&known.caller, &learned.caller) {
                (Some(x), Some(y)) => x == y,
                _ => true,
            };
            if !same_users || !same_caller {
                let known = known.clone();
                fail!(self, "call {call_id} is {known:?} and also {learned:?}");
            }
            if known.caller.is_none() {
                known.caller = learned.caller;
            }
        }
    }

    /// Checks that connection `slot` may hear `msg`.
    fn check_heard(&mut self, slot: usize, msg: ServerMsg) {
        let single_device = self.setup.single_device;
        let Some(conn) = self.slots[slot].as_mut() else {
            return;
        };
        let user = conn.user;
        let (call_id, want_role) = match &msg {
            ServerMsg::CallCreated { call_id, .. } | ServerMsg::Ringing { call_id, .. } => {
                (call_id, Some(true))
            }
            ServerMsg::Invited { call_id, .. }
            | ServerMsg::AnsweredElsewhere { call_id }
            | ServerMsg::CallMerged { call_id, .. } => (call_id, Some(false)),
            ServerMsg::Accepted { call_id }
            | ServerMsg::CallElsewhere { call_id, .. }
            | ServerMsg::Signal { call_id, .. }
            | ServerMsg::CallEnded { call_id, .. } => (call_id, None),
            ServerMsg::Presence { user_id, .. } => {
                if !conn.watching.contains(user_id) {
                    fail!(self, "{user} heard {msg:?} without watching {user_id}");
                }
                return;
            }
            ServerMsg::Error {
                code: ErrorCode::KickedOut,
                ..
            } if single_device => return,
            ServerMsg::Pong => return,
            _ => fail!(self, "{user} heard {msg:?}, which the hub never sends"),
        };
        let Some(parties) = self.parties.get(call_id) else {
            // In single-device mode a login ends the call of the connection it replaces, and
            // hears that end itself when nothing else of the call was heard: the call was placed
            // on a connection that does not read.
            if single_device && conn.fresh && matches!(msg, ServerMsg::CallEnded { .. }) {
                conn.ended.insert(call_id.clone());
                return;
            }
            fail!(self, "{user} heard {msg:?} about a call nobody was told of");
        };
        let other = match &parties.users {
            [a, b] if a == user => b,
            [a, b] if b == user => a,
            _ => fail!(self, "{user} heard {msg:?} about a call of {parties:?}"),
        };
        if let (Some(caller_side), Some(caller)) = (want_role, &parties.caller) {
            if caller_side != (caller == user) {
                fail!(
                    self,
                    "{user} heard {msg:?} on the wrong side of {parties:?}"
                );
            }
        }
        if let ServerMsg::CallElsewhere { peer, .. } = &msg {
            if peer != other {
                fail!(self, "{user} heard {msg:?}, but the peer is {other}");
            }
        }
        if conn.ended.contains(call_id) {
            fail!(self, "{user} heard {msg:?} after that call ended");
        }
        if matches!(msg, ServerMsg::CallEnded { .. }) {
            conn.ended.insert(call_id.clone());
        }
    }

    /// The hub's counts agree with the slots and each other. When the hub holds no more of a
    /// user's devices than are surely there, the lost ones are known to be gone.
    fn check_counts(&mut self) {
        let (calls, busy) = (self.hub.calls(), self.hub.busy_users());
        if calls > USERS.len() || busy > 2 * calls || busy != 2 * calls {
            fail!(self, "{calls} calls with {busy} busy users");
        }
        let mut online = 0;
        for user in USERS {
            let (sure, lost) = self.expected_devices(user);
            let devices = self.hub.devices(user);
            if devices < sure || devices > sure + lost {
                fail!(
                    self,
                    "the hub has {devices} devices of {user}, not {sure} (and up to {lost} lost)"
                );
            }
            let max = if self.setup.single_device {
                1
            } else {
                self.setup.max_devices as usize
            };
            if devices > max {
                fail!(self, "{user} has {devices} devices, more than {max}");
            }
            if self.hub.is_online(user) != (devices > 0) {
                fail!(self, "{user} is online with {devices} devices");
            }
            online += usize::from(devices > 0);
            if devices == sure {
                for conn in self.slots.iter_mut().flatten() {
                    if conn.user == user && conn.lost {
                        conn.in_hub = false;
                    }
                }
            }
        }
        if self.hub.online_users() != online {
            fail!(
                self,
                "{} users online, not {online}",
                self.hub.online_users()
            );
        }
    }

    /// Nobody is online, nobody is in a call.
    fn check_all_gone(&self) {
        let (calls, busy, online) = (
            self.hub.calls(),
            self.hub.busy_users(),
            self.hub.online_users(),
        );
        if calls != 0 || busy != 0 || online != 0 {
            fail!(
                self,
                "{calls} calls, {busy} busy users and {online} users online are left"
            );
        }
    }
}
