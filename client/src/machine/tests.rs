//! Machines driven against each other through a fake server and fake media, faster than real
//! time: every flow of a call, from both sides.
//!
//! The [`World`] has one device per user. What needs more (a user's other devices, messages
//! that cross on the wire) feeds server messages straight into a [`lone`] machine.

/// An expiring session is told, a renewal goes out and is confirmed, and an expired one ends
/// with a reason the app can show.
#[test]
fn sessions_expire_and_renew() {
    let mut m = Machine::new(1_400_000_000);
    m.handle(
        0,
        Input::Renew {
            user_sig: "s".into(),
        },
    )
    .expect_err("no session to renew");
    m.handle(0, Input::login("alice")).unwrap();
    m.handle(0, Input::SocketOpened).unwrap();
    m.handle(
        0,
        Input::Server(ServerMsg::LoggedIn {
            user_id: "alice".into(),
            ice_servers: vec![],
            expires_in_secs: 600,
            relay_only: false,
            session: "s-1".into(),
            resumed: false,
        }),
    )
    .unwrap();
    drain(&mut m);
    m.handle(
        1,
        Input::Server(ServerMsg::SessionExpiring {
            expires_in_secs: 300,
        }),
    )
    .unwrap();
    assert!(
        drain(&mut m).contains(&Output::Event(CallEvent::SessionExpiring {
            expires_in_secs: 300
        }))
    );
    m.handle(
        2,
        Input::Renew {
            user_sig: "fresh".into(),
        },
    )
    .unwrap();
    assert!(drain(&mut m).contains(&Output::Send(ClientMsg::Renew {
        user_sig: "fresh".into()
    })));
    m.handle(
        3,
        Input::Server(ServerMsg::Renewed {
            expires_in_secs: 3600,
        }),
    )
    .unwrap();
    assert!(
        drain(&mut m).contains(&Output::Event(CallEvent::SessionRenewed {
            expires_in_secs: 3600
        }))
    );
    m.handle(
        4,
        Input::Server(ServerMsg::Error {
            code: ErrorCode::SessionExpired,
            message: "expired".into(),
            req: None,
        }),
    )
    .unwrap();
    let out = drain(&mut m);
    assert!(out.contains(&Output::Event(CallEvent::LoggedOut {
        reason: Some("the session expired; log in again".into())
    })));
    assert!(out.contains(&Output::CloseSocket));
    assert_eq!(m.user_id(), None);
}

mod devices;
mod glare;
mod in_call;
mod presence;
mod reconnect;
mod recovery;
mod relay;

use std::collections::{HashMap, VecDeque};

use webcall_protocol::{CallType, ClientMsg, ErrorCode, Outcome, ServerMsg, Signal};

use super::*;
use crate::{CallEvent, CallState, ClientError, MediaError, NoRespReason};

const RING_MS: Millis = 30_000;

/// One user's machine with its fake media layer and what it told the app.
struct Device {
    machine: Machine,
    socket_open: bool,
    /// The network is cut: nothing goes either way, new sockets fail, and the open one does not
    /// know (as when a cable is pulled).
    cut: bool,
    /// What the next `StartMic` answers.
    mic_result: Result<(), MediaError>,
    mic_open: bool,
    peer: Option<FakePeer>,
    events: Vec<CallEvent>,
    timers: HashMap<Timer, Millis>,
    /// The tone playing.
    tone: Option<Tone>,
    /// What the next `SampleStats` answers.
    stats: StatsSample,
}

#[derive(Default)]
struct FakePeer {
    /// Whether the microphone's track is on the connection.
    sending: bool,
    local: bool,
    remote: bool,
    remote_ice: usize,
    connected: bool,
    /// How many ICE restarts were asked of it.
    restarts: usize,
}

/// The server's side of one call, as the real server decides it.
struct FakeCall {
    caller: String,
    callee: String,
    accepted_at: Option<Millis>,
    rings_until: Millis,
    held: Vec<Signal>,
}

/// Everything: devices by user, the fake server, the clock.
struct World {
    now: Millis,
    devices: HashMap<String, Device>,
    calls: HashMap<String, FakeCall>,
    next_call: u32,
    /// Messages in flight: (from user, message) to the server.
    to_server: VecDeque<(String, ClientMsg)>,
    /// Messages in flight from the server: (to user, message).
    to_client: VecDeque<(String, ServerMsg)>,
    /// Everything every client sent, for assertions.
    sent: Vec<(String, ClientMsg)>,
    /// The last number the server gave a message to each user's session.
    seq: HashMap<String, u64>,
    /// Numbered messages a user's session missed while its connection was down, kept to be
    /// sent again when it resumes.
    missed: HashMap<String, Vec<ServerMsg>>,
}

impl World {
    fn new(users: &[&str]) -> World {
        let mut world = World {
            now: 1_000,
            devices: HashMap::new(),
            calls: HashMap::new(),
            next_call: 1,
            to_server: VecDeque::new(),
            to_client: VecDeque::new(),
            sent: Vec::new(),
            seq: HashMap::new(),
            missed: HashMap::new(),
        };
        for user in users {
            world.devices.insert(
                user.to_string(),
                Device {
                    machine: Machine::new(1_400_000_000),
                    socket_open: false,
                    cut: false,
                    mic_result: Ok(()),
                    mic_open: false,
                    peer: None,
                    events: Vec::new(),
                    timers: HashMap::new(),
                    tone: None,
                    stats: StatsSample::default(),
                },
            );
        }
        world
    }

    fn logged_in(users: &[&str]) -> World {
        let mut world = World::new(users);
        for user in users {
            world.input(user, Input::login(user)).unwrap();
            world.run();
            assert_eq!(
                world.take_events(user),
                vec![CallEvent::LoggedIn {
                    user_id: user.to_string()
                }]
            );
        }
        world
    }

    fn dev(&mut self, user: &str) -> &mut Device {
        self.devices.get_mut(user).expect("known user")
    }

    fn input(&mut self, user: &str, input: Input) -> Result<(), ClientError> {
        let now = self.now;
        let result = self.dev(user).machine.handle(now, input);
        self.drain(user);
        result
    }

    /// The events since the last take, without the periodic volume and quality reports
    /// (`quality` tests those; see [`World::take_all_events`]).
    fn take_events(&mut self, user: &str) -> Vec<CallEvent> {
        let mut events = self.take_all_events(user);
        events.retain(|e| {
            !matches!(
                e,
                CallEvent::UserVoiceVolume { .. } | CallEvent::NetworkQuality(_)
            )
        });
        events
    }

    fn take_all_events(&mut self, user: &str) -> Vec<CallEvent> {
        std::mem::take(&mut self.dev(user).events)
    }

    fn state(&self, user: &str) -> CallState {
        self.devices[user].machine.call_state()
    }

    /// Carries out one device's outputs.
    fn drain(&mut self, user: &str) {
        let mut media_inputs = Vec::new();
        while let Some(output) = self.dev(user).machine.poll_output() {
            match output {
                Output::OpenSocket if self.devices[user].cut => {
                    media_inputs.push(Input::SocketClosed {
                        reason: "unreachable".into(),
                        code: CLOSE_ABNORMAL,
                    });
                }
                Output::OpenSocket => {
                    self.dev(user).socket_open = true;
                    media_inputs.push(Input::SocketOpened);
                }
                Output::CloseSocket | Output::AbandonSocket => self.dev(user).socket_open = false,
                // Lost on the way.
                Output::Send(_) if self.devices[user].cut => {}
                Output::Send(msg) => {
                    assert!(
                        self.devices[user].socket_open,
                        "{user} sent {msg:?} on no socket"
                    );
                    self.sent.push((user.to_string(), msg.clone()));
                    self.to_server.push_back((user.to_string(), msg));
                }
                Output::SetTimer { timer, at } => {
                    self.dev(user).timers.insert(timer, at);
                }
                Output::CancelTimer(timer) => {
                    self.dev(user).timers.remove(&timer);
                }
                Output::Event(event) => self.dev(user).events.push(event),
                Output::Media(command) => {
                    let dev = self.dev(user);
                    match command {
                        MediaCommand::StartMic => {
                            let event = match dev.mic_result.clone() {
                                Ok(()) => {
                                    dev.mic_open = true;
                                    MediaEvent::MicReady
                                }
                                Err(e) => MediaEvent::MicFailed(e),
                            };
                            media_inputs.push(Input::Media(event));
                        }
                        MediaCommand::CreatePeer { offer, .. } => {
                            let mut peer = FakePeer {
                                sending: dev.mic_open,
                                ..FakePeer::default()
                            };
                            if offer {
                                peer.local = true;
                                media_inputs.push(Input::Media(MediaEvent::LocalSignal(
                                    Signal::Offer {
                                        sdp: "offer".into(),
                                    },
                                )));
                                media_inputs
                                    .push(Input::Media(MediaEvent::LocalSignal(ice("caller"))));
                            }
                            dev.peer = Some(peer);
                        }
                        MediaCommand::ApplySignal(signal) => {
                            let peer = dev.peer.as_mut().expect("a signal with no peer");
                            match signal {
                                Signal::Offer { .. } => {
                                    peer.remote = true;
                                    peer.local = true;
                                    media_inputs.push(Input::Media(MediaEvent::LocalSignal(
                                        Signal::Answer {
                                            sdp: "answer".into(),
                                        },
                                    )));
                                    media_inputs
                                        .push(Input::Media(MediaEvent::LocalSignal(ice("callee"))));
                                }
                                Signal::Answer { .. } => peer.remote = true,
                                Signal::Ice { .. } => peer.remote_ice += 1,
                                Signal::Mute { .. } => panic!("a mute reached the peer"),
                            }
                            if peer.local && peer.remote && peer.remote_ice > 0 && !peer.connected {
                                peer.connected = true;
                                media_inputs.push(Input::Media(MediaEvent::Connected));
                            }
                        }
                        MediaCommand::RestartIce { .. } => {
                            let peer = dev.peer.as_mut().expect("an ICE restart with no peer");
                            peer.restarts += 1;
                            media_inputs.push(Input::Media(MediaEvent::LocalSignal(
                                Signal::Offer {
                                    sdp: "restart".into(),
                                },
                            )));
                        }
                        MediaCommand::AttachMic => {
                            assert!(dev.mic_open, "attached a closed microphone");
                            dev.peer.as_mut().expect("attached to no peer").sending = true;
                        }
                        MediaCommand::SetMicMuted(_) => {}
                        MediaCommand::Tone(tone) => dev.tone = tone,
                        MediaCommand::SampleStats => {
                            assert!(dev.peer.is_some(), "sampled no peer");
                            media_inputs.push(Input::Media(MediaEvent::Stats(dev.stats.clone())));
                        }
                        MediaCommand::Close => {
                            dev.mic_open = false;
                            dev.peer = None;
                        }
                    }
                }
            }
        }
        for input in media_inputs {
            let _ = self.input(user, input);
        }
    }

    /// Delivers messages until nothing moves.
    fn run(&mut self) {
        loop {
            if let Some((from, msg)) = self.to_server.pop_front() {
                self.serve(&from, msg);
            } else if let Some((to, msg)) = self.to_client.pop_front() {
                let dev = &self.devices[&to];
                if dev.socket_open && !dev.cut {
                    let _ = self.input(&to, Input::Server(msg));
                } else if matches!(msg, ServerMsg::Seq(..)) {
                    self.missed.entry(to).or_default().push(msg);
                }
            } else {
                break;
            }
        }
    }

    /// Moves the clock on by `ms`, firing timers (the devices' and the server's ring timeouts)
    /// in order, each at its time, and delivering what they send as they go.
    fn advance(&mut self, ms: Millis) {
        let until = self.now + ms;
        loop {
            let rings = self
                .calls
                .values()
                .filter(|c| c.accepted_at.is_none())
                .map(|c| c.rings_until);
            let timers = self
                .devices
                .values()
                .flat_map(|d| d.timers.values().copied());
            let Some(next) = rings.chain(timers).filter(|at| *at <= until).min() else {
                break;
            };
            self.now = self.now.max(next);
            let now = self.now;
            let expired: Vec<String> = self
                .calls
                .iter()
                .filter(|(_, c)| c.accepted_at.is_none() && c.rings_until <= now)
                .map(|(id, _)| id.clone())
                .collect();
            for id in expired {
                self.end(&id, Outcome::NoAnswer { offline: false });
            }
            let mut users: Vec<String> = self.devices.keys().cloned().collect();
            users.sort();
            for user in users {
                let due: Vec<Timer> = self.devices[&user]
                    .timers
                    .iter()
                    .filter(|(_, at)| **at <= now)
                    .map(|(t, _)| *t)
                    .collect();
                for timer in due {
                    self.dev(&user).timers.remove(&timer);
                    let _ = self.input(&user, Input::Timer(timer));
                }
            }
            self.run();
        }
        self.now = until;
        self.run();
    }

    /// Sends `msg` to `to`, numbered as the real server numbers what it says on a user's behalf.
    fn reply(&mut self, to: &str, msg: ServerMsg) {
        let msg = match msg {
            ServerMsg::LoggedIn { .. }
            | ServerMsg::Pong
            | ServerMsg::Renewed { .. }
            | ServerMsg::SessionExpiring { .. }
            | ServerMsg::Error { .. } => msg,
            msg => {
                let seq = self.seq.entry(to.to_string()).or_default();
                *seq += 1;
                ServerMsg::Seq(*seq, Box::new(msg))
            }
        };
        self.to_client.push_back((to.to_string(), msg));
    }

    /// Cuts `user`'s network (`true`) or restores it.
    fn cut(&mut self, user: &str, cut: bool) {
        self.dev(user).cut = cut;
    }

    fn end(&mut self, call_id: &str, outcome: Outcome) {
        let call = self.calls.remove(call_id).expect("live call");
        for user in [&call.caller, &call.callee] {
            if user.is_empty() {
                continue;
            }
            self.reply(
                user,
                ServerMsg::CallEnded {
                    call_id: call_id.into(),
                    outcome: outcome.clone(),
                },
            );
        }
    }

    fn in_a_call(&self, user: &str) -> bool {
        self.calls
            .values()
            .any(|c| c.caller == user || c.callee == user)
    }

    /// Accepts ringing call `call_id`: the caller hears `Accepted`, the callee `answer` and
    /// then the caller's held signals.
    fn accept_call(&mut self, call_id: &str, answer: ServerMsg) {
        let now = self.now;
        let call = self.calls.get_mut(call_id).expect("a live call");
        call.accepted_at = Some(now);
        let held = std::mem::take(&mut call.held);
        let (caller, callee) = (call.caller.clone(), call.callee.clone());
        self.reply(
            &caller,
            ServerMsg::Accepted {
                call_id: call_id.into(),
            },
        );
        self.reply(&callee, answer);
        for signal in held {
            self.reply(
                &callee,
                ServerMsg::Signal {
                    call_id: call_id.into(),
                    signal,
                },
            );
        }
    }

    /// The fake server: the real server's rules, minus everything the machine does not see.
    fn serve(&mut self, from: &str, msg: ClientMsg) {
        match msg {
            ClientMsg::Login {
                user_id, resume, ..
            } => {
                let session = format!("session-of-{user_id}");
                // This server never forgets a session: it resumes every one it is asked to.
                let resumed = resume.as_ref().is_some_and(|r| r.session == session);
                let missed = self.missed.remove(from).unwrap_or_default();
                if !resumed {
                    self.seq.remove(from);
                }
                self.reply(
                    from,
                    ServerMsg::LoggedIn {
                        user_id,
                        ice_servers: vec![],
                        expires_in_secs: 3600,
                        relay_only: false,
                        session,
                        resumed,
                    },
                );
                if let (true, Some(resume)) = (resumed, resume) {
                    for msg in missed {
                        if matches!(msg, ServerMsg::Seq(seq, _) if seq > resume.seq) {
                            self.to_client.push_back((from.to_string(), msg));
                        }
                    }
                }
            }
            ClientMsg::Invite { req, callee, .. } => {
                // Glare: the callee's invitation to this user rings; this Invite answers it.
                let crossing = self.calls.iter().find(|(_, c)| {
                    c.caller == callee && c.callee == from && c.accepted_at.is_none()
                });
                if let Some((call_id, _)) = crossing {
                    let call_id = call_id.clone();
                    let answer = ServerMsg::CallMerged {
                        req,
                        call_id: call_id.clone(),
                        caller: callee,
                    };
                    self.accept_call(&call_id, answer);
                    return;
                }
                if self.in_a_call(from) {
                    self.reply(
                        from,
                        ServerMsg::Error {
                            code: ErrorCode::AlreadyInCall,
                            message: "you have a call going".into(),
                            req: Some(req),
                        },
                    );
                    return;
                }
                let call_id = format!("call-{}", self.next_call);
                self.next_call += 1;
                let busy = self.in_a_call(&callee);
                self.reply(
                    from,
                    ServerMsg::CallCreated {
                        req,
                        call_id: call_id.clone(),
                        callee: callee.clone(),
                        ringing: if busy { 0 } else { 1 },
                    },
                );
                self.calls.insert(
                    call_id.clone(),
                    FakeCall {
                        caller: from.into(),
                        callee: callee.clone(),
                        accepted_at: None,
                        rings_until: self.now + RING_MS,
                        held: vec![],
                    },
                );
                if busy {
                    self.calls.get_mut(&call_id).unwrap().callee = String::new();
                    self.end(&call_id, Outcome::Busy);
                } else {
                    self.reply(
                        &callee,
                        ServerMsg::Invited {
                            call_id,
                            caller: from.into(),
                            call_type: CallType::Audio,
                            timeout_secs: 30,
                        },
                    );
                }
            }
            ClientMsg::Accept { call_id } => {
                assert_eq!(self.calls[&call_id].callee, from, "accept of a live call");
                let answer = ServerMsg::Accepted {
                    call_id: call_id.clone(),
                };
                self.accept_call(&call_id, answer);
            }
            ClientMsg::Reject { call_id } => {
                if self.calls.contains_key(&call_id) {
                    self.end(&call_id, Outcome::Rejected);
                }
            }
            ClientMsg::Cancel { call_id } => {
                if self.calls.contains_key(&call_id) {
                    self.end(
                        &call_id,
                        Outcome::Cancelled {
                            disconnected: false,
                        },
                    );
                }
            }
            ClientMsg::Hangup { call_id, failure } => {
                if let Some(call) = self.calls.get(&call_id) {
                    let duration_secs = (self.now - call.accepted_at.unwrap_or(self.now)) / 1000;
                    let outcome = match failure {
                        Some(message) => Outcome::Failed { message },
                        None => Outcome::HungUp {
                            by: from.into(),
                            duration_secs,
                        },
                    };
                    self.end(&call_id, outcome);
                }
            }
            ClientMsg::Signal { call_id, signal } => {
                let Some(call) = self.calls.get_mut(&call_id) else {
                    return;
                };
                if call.accepted_at.is_none() {
                    assert_eq!(call.caller, from, "callee signalled before accepting");
                    call.held.push(signal);
                } else {
                    let to = if call.caller == from {
                        call.callee.clone()
                    } else {
                        call.caller.clone()
                    };
                    self.reply(&to, ServerMsg::Signal { call_id, signal });
                }
            }
            ClientMsg::MediaConnected { .. } | ClientMsg::MediaInterrupted { .. } => {}
            ClientMsg::Watch { users } => {
                for user_id in users {
                    let online = self.devices.get(&user_id).is_some_and(|d| d.socket_open);
                    self.reply(from, ServerMsg::Presence { user_id, online });
                }
            }
            ClientMsg::Ping => self.reply(from, ServerMsg::Pong),
            ClientMsg::Ack { .. } => {}
            ClientMsg::Renew { .. } => self.reply(
                from,
                ServerMsg::Renewed {
                    expires_in_secs: 7200,
                },
            ),
        }
    }

    /// alice calls bob and bob accepts; both end up connected.
    fn connect(&mut self, caller: &str, callee: &str) {
        self.input(caller, Input::call(callee)).unwrap();
        self.run();
        assert!(matches!(
            self.take_events(callee)[..],
            [CallEvent::Invited { .. }]
        ));
        self.input(callee, Input::Accept).unwrap();
        self.run();
        assert_eq!(
            self.take_events(caller),
            vec![
                CallEvent::Ringing {
                    callee: callee.into(),
                    devices: 1
                },
                CallEvent::UserAccept {
                    user_id: callee.into()
                },
                CallEvent::UserEnter {
                    user_id: callee.into()
                }
            ]
        );
        assert_eq!(
            self.take_events(callee),
            vec![CallEvent::UserEnter {
                user_id: caller.into()
            }]
        );
    }
}

impl Input {
    fn login(user: &str) -> Input {
        Input::Login {
            user_id: user.into(),
            user_sig: format!("sig-of-{user}"),
        }
    }

    fn call(callee: &str) -> Input {
        Input::Call {
            callee: callee.into(),
            call_type: CallType::Audio,
            timeout_secs: None,
        }
    }
}

/// A lone machine logged in as `user`, with its outputs drained: for what the World does not
/// reach (other devices of the same user, messages that cross on the wire).
fn lone(user: &str) -> Machine {
    let mut m = Machine::new(1_400_000_000);
    m.handle(0, Input::login(user)).unwrap();
    m.handle(0, Input::SocketOpened).unwrap();
    m.handle(
        0,
        Input::Server(ServerMsg::LoggedIn {
            user_id: user.into(),
            ice_servers: vec![],
            expires_in_secs: 3600,
            relay_only: false,
            session: "s-1".into(),
            resumed: false,
        }),
    )
    .unwrap();
    drain(&mut m);
    m
}

/// What the machine asked for since last drained, without the tones and the statistics
/// sampling (`tone_tests` and `quality` test those; see [`drain_all`]).
fn drain(m: &mut Machine) -> Vec<Output> {
    let mut outputs = drain_all(m);
    outputs.retain(|o| {
        !matches!(
            o,
            Output::Media(MediaCommand::Tone(_) | MediaCommand::SampleStats)
                | Output::SetTimer {
                    timer: Timer::Stats,
                    ..
                }
                | Output::CancelTimer(Timer::Stats)
        )
    });
    outputs
}

/// Everything the machine asked for since last drained.
fn drain_all(m: &mut Machine) -> Vec<Output> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

/// Feeds `input` (which must be accepted) at `now`; returns the outputs.
fn step(m: &mut Machine, now: Millis, input: Input) -> Vec<Output> {
    m.handle(now, input).unwrap();
    drain(m)
}

/// Feeds a server message at time 5 000; returns the outputs.
fn server(m: &mut Machine, msg: ServerMsg) -> Vec<Output> {
    step(m, 5_000, Input::Server(msg))
}

fn events_of(outputs: &[Output]) -> Vec<CallEvent> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn sent_of(outputs: &[Output]) -> Vec<ClientMsg> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Send(m) => Some(m.clone()),
            _ => None,
        })
        .collect()
}

fn invited(call_id: &str, caller: &str) -> ServerMsg {
    ServerMsg::Invited {
        call_id: call_id.into(),
        caller: caller.into(),
        call_type: CallType::Audio,
        timeout_secs: 30,
    }
}

/// The server's answer to `Invite` `req` (to bob): call `call_id` rings on one device.
fn created(req: u32, call_id: &str) -> ServerMsg {
    ServerMsg::CallCreated {
        req,
        call_id: call_id.into(),
        callee: "bob".into(),
        ringing: 1,
    }
}

/// The microphone failed: the user denied it.
fn mic_denied() -> Input {
    Input::Media(MediaEvent::MicFailed(MediaError::PermissionDenied))
}

fn ended(call_id: &str, outcome: Outcome) -> ServerMsg {
    ServerMsg::CallEnded {
        call_id: call_id.into(),
        outcome,
    }
}

fn ice(who: &str) -> Signal {
    Signal::Ice {
        candidate: format!("candidate:{who}"),
        sdp_mid: Some("0".into()),
        sdp_m_line_index: Some(0),
    }
}

#[test]
fn login_sends_the_users_sig_and_app_id() {
    let mut w = World::logged_in(&["alice"]);
    assert_eq!(
        w.sent[0],
        (
            "alice".into(),
            ClientMsg::Login {
                user_id: "alice".into(),
                user_sig: "sig-of-alice".into(),
                sdk_app_id: 1_400_000_000,
                resume: None
            }
        )
    );
    assert_eq!(w.dev("alice").machine.user_id(), Some("alice"));
    assert_eq!(
        w.input("alice", Input::login("alice")),
        Err(ClientError::AlreadyLoggedIn)
    );
}

#[test]
fn call_accept_talk_and_hang_up() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    assert_eq!(
        w.state("alice"),
        CallState::Dialing {
            callee: "bob".into(),
            ringing: None
        }
    );
    w.run();
    assert_eq!(
        w.state("alice"),
        CallState::Dialing {
            callee: "bob".into(),
            ringing: Some(1)
        }
    );
    assert_eq!(
        w.take_events("alice"),
        vec![CallEvent::Ringing {
            callee: "bob".into(),
            devices: 1
        }]
    );
    let events = w.take_events("bob");
    let [CallEvent::Invited {
        sponsor, call_id, ..
    }] = &events[..]
    else {
        panic!("bob was not invited: {events:?}");
    };
    assert_eq!(sponsor, "alice");
    assert_eq!(
        w.state("bob"),
        CallState::Incoming {
            caller: "alice".into(),
            call_id: call_id.clone()
        }
    );
    // The caller's offer waits at the server while bob's device only rings.
    assert!(w.devices["bob"].peer.is_none());

    w.input("bob", Input::Accept).unwrap();
    w.run();
    assert_eq!(
        w.take_events("alice"),
        vec![
            CallEvent::UserAccept {
                user_id: "bob".into()
            },
            CallEvent::UserEnter {
                user_id: "bob".into()
            }
        ]
    );
    assert_eq!(
        w.take_events("bob"),
        vec![CallEvent::UserEnter {
            user_id: "alice".into()
        }]
    );
    for (user, peer) in [("alice", "bob"), ("bob", "alice")] {
        assert!(matches!(
            w.state(user),
            CallState::InCall { peer: p, connected: true, muted: false, .. } if p == peer
        ));
        let peer = w.devices[user].peer.as_ref().unwrap();
        assert!(
            peer.connected && peer.sending,
            "{user}'s audio is not on the call"
        );
    }

    w.advance(65_000);
    w.input("alice", Input::Hangup).unwrap();
    w.run();
    let end = CallEvent::CallEnd {
        call_id: call_id.clone(),
        duration_secs: 65,
        ended_by: Some("alice".into()),
        failure: None,
    };
    assert_eq!(w.take_events("alice"), vec![end.clone()]);
    assert_eq!(
        w.take_events("bob"),
        vec![
            CallEvent::UserLeave {
                user_id: "alice".into()
            },
            end
        ]
    );
    for user in ["alice", "bob"] {
        assert_eq!(w.state(user), CallState::Idle);
        assert!(w.devices[user].peer.is_none() && !w.devices[user].mic_open);
    }
}

#[test]
fn callee_hangs_up() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.advance(3_000);
    w.input("bob", Input::Hangup).unwrap();
    w.run();
    assert!(matches!(
        &w.take_events("alice")[..],
        [CallEvent::UserLeave { user_id }, CallEvent::CallEnd { ended_by: Some(by), duration_secs: 3, .. }]
            if user_id == "bob" && by == "bob"
    ));
    assert_eq!(w.state("alice"), CallState::Idle);
}

#[test]
fn reject_tells_the_caller() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    w.take_events("bob");
    w.input("bob", Input::Reject).unwrap();
    assert_eq!(w.state("bob"), CallState::Idle);
    w.run();
    assert_eq!(
        w.take_events("alice"),
        vec![
            CallEvent::Ringing {
                callee: "bob".into(),
                devices: 1
            },
            CallEvent::Reject {
                user_id: "bob".into()
            }
        ]
    );
    assert!(w.take_events("bob").is_empty());
    assert_eq!(w.state("alice"), CallState::Idle);
    assert!(!w.devices["alice"].mic_open && w.devices["alice"].peer.is_none());
}

#[test]
fn a_third_caller_hears_busy_and_the_call_goes_on() {
    let mut w = World::logged_in(&["alice", "bob", "carol"]);
    w.connect("alice", "bob");
    w.input("carol", Input::call("bob")).unwrap();
    w.run();
    assert_eq!(
        w.take_events("carol"),
        vec![
            CallEvent::Ringing {
                callee: "bob".into(),
                devices: 0
            },
            CallEvent::LineBusy {
                user_id: "bob".into()
            }
        ]
    );
    assert!(w.take_events("bob").is_empty());
    assert!(matches!(w.state("bob"), CallState::InCall { .. }));
    assert!(matches!(w.state("alice"), CallState::InCall { .. }));
    assert_eq!(w.state("carol"), CallState::Idle);
}

#[test]
fn caller_cancels_while_ringing() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    let events = w.take_events("bob");
    let [CallEvent::Invited { call_id, .. }] = &events[..] else {
        panic!("{events:?}")
    };
    assert!(matches!(
        w.take_events("alice")[..],
        [CallEvent::Ringing { .. }]
    ));
    w.input("alice", Input::Hangup).unwrap();
    assert_eq!(w.state("alice"), CallState::Idle);
    assert!(!w.devices["alice"].mic_open);
    w.run();
    assert!(w.take_events("alice").is_empty());
    assert_eq!(
        w.take_events("bob"),
        vec![CallEvent::CallingCancel {
            sponsor: "alice".into(),
            call_id: call_id.clone(),
            caller_disconnected: false
        }]
    );
    assert_eq!(w.state("bob"), CallState::Idle);
}

#[test]
fn cancel_before_the_server_answered_the_invite_still_cancels() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    // The Invite is in flight; the user cancels before CallCreated arrives.
    w.input("alice", Input::Hangup).unwrap();
    w.run();
    assert!(w
        .sent
        .iter()
        .any(|(from, msg)| from == "alice" && matches!(msg, ClientMsg::Cancel { .. })));
    assert!(matches!(
        w.take_events("bob")[..],
        [CallEvent::Invited { .. }, CallEvent::CallingCancel { .. }]
    ));
    assert!(w.calls.is_empty());
    assert!(w.take_events("alice").is_empty());
    // And alice can call again at once.
    w.input("alice", Input::call("bob")).unwrap();
}

#[test]
fn ring_timeout_reaches_both_sides() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    w.take_events("bob");
    assert!(matches!(
        w.take_events("alice")[..],
        [CallEvent::Ringing { devices: 1, .. }]
    ));
    w.advance(RING_MS);
    assert_eq!(
        w.take_events("alice"),
        vec![CallEvent::NoResp {
            user_id: "bob".into(),
            reason: NoRespReason::Timeout
        }]
    );
    assert!(matches!(
        w.take_events("bob")[..],
        [CallEvent::CallingTimeout { .. }]
    ));
    assert_eq!(w.state("alice"), CallState::Idle);
    assert_eq!(w.state("bob"), CallState::Idle);
    // A late accept is refused locally and changes nothing.
    assert_eq!(
        w.input("bob", Input::Accept),
        Err(ClientError::NoCall("accept"))
    );
}

#[test]
fn a_failed_microphone_withdraws_the_invitation() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.dev("alice").mic_result = Err(MediaError::PermissionDenied);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    assert_eq!(
        w.take_events("alice"),
        vec![CallEvent::Error {
            code: 60005,
            message: MediaError::PermissionDenied.to_string()
        }]
    );
    // The invitation went out before the microphone failed; it is cancelled.
    assert!(matches!(
        w.take_events("bob")[..],
        [CallEvent::Invited { .. }, CallEvent::CallingCancel { .. }]
    ));
    assert!(w.calls.is_empty());
    assert_eq!(w.state("alice"), CallState::Idle);
    assert_eq!(w.state("bob"), CallState::Idle);
}

/// A lone alice whose call to bob (req 1) exists as "c1", her microphone still opening.
fn dialing_mic_opening() -> Machine {
    let mut m = lone("alice");
    let out = step(&mut m, 1_000, Input::call("bob"));
    assert!(matches!(
        &out[..],
        [
            Output::Send(ClientMsg::Invite { req: 1, .. }),
            Output::Media(MediaCommand::StartMic)
        ]
    ));
    let out = server(&mut m, created(1, "c1"));
    assert!(matches!(events_of(&out)[..], [CallEvent::Ringing { .. }]));
    // No offer without the microphone's track.
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Media(MediaCommand::CreatePeer { .. }))),
        "{out:?}"
    );
    m
}

#[test]
fn the_invitation_rings_before_the_microphone_opens_and_the_offer_follows_it() {
    let mut m = dialing_mic_opening();
    let out = step(&mut m, 1_200, Input::Media(MediaEvent::MicReady));
    assert!(matches!(
        &out[..],
        [Output::Media(MediaCommand::CreatePeer { offer: true, .. })]
    ));
}

#[test]
fn a_call_accepted_before_the_callers_microphone_opens_offers_once_it_does() {
    let mut m = dialing_mic_opening();
    let out = server(
        &mut m,
        ServerMsg::Seq(
            1,
            Box::new(ServerMsg::Accepted {
                call_id: "c1".into(),
            }),
        ),
    );
    assert!(matches!(
        events_of(&out)[..],
        [CallEvent::UserAccept { .. }]
    ));
    let out = step(&mut m, 1_500, Input::Media(MediaEvent::MicReady));
    assert!(matches!(
        &out[..],
        [Output::Media(MediaCommand::CreatePeer { offer: true, .. })]
    ));
}

#[test]
fn a_microphone_that_fails_while_ringing_cancels_the_call() {
    let mut m = dialing_mic_opening();
    let out = step(&mut m, 1_500, mic_denied());
    assert!(matches!(
        events_of(&out)[..],
        [CallEvent::Error { code: 60005, .. }]
    ));
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Cancel {
            call_id: "c1".into()
        }]
    );
    assert!(out.contains(&Output::Media(MediaCommand::Close)));
    assert_eq!(m.call_state(), CallState::Idle);
}

#[test]
fn accepting_sends_accept_before_the_microphone_is_open() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    let now = w.now;
    let bob = &mut w.dev("bob").machine;
    bob.handle(now, Input::Accept).unwrap();
    let outputs = drain(bob);
    assert!(
        matches!(
            &outputs[..],
            [
                Output::Send(ClientMsg::Accept { .. }),
                Output::Media(MediaCommand::StartMic),
                Output::Media(MediaCommand::CreatePeer { offer: false, .. })
            ]
        ),
        "{outputs:?}"
    );
}

#[test]
fn a_callee_whose_microphone_fails_ends_the_call_with_an_error() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.dev("bob").mic_result = Err(MediaError::NoDevice);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    w.take_events("bob");
    w.input("bob", Input::Accept).unwrap();
    w.run();
    let events = w.take_events("bob");
    assert!(
        matches!(
            &events[..],
            [
                CallEvent::Error { code: 60003, .. },
                CallEvent::CallEnd {
                    failure: Some(_),
                    ended_by: None,
                    ..
                }
            ]
        ),
        "{events:?}"
    );
    // Bob's side failed: the server ends the call as failed, with bob's reason.
    assert!(w.sent.iter().any(|(from, m)| from == "bob"
        && matches!(m, ClientMsg::Hangup { failure: Some(why), .. }
            if why == "the microphone could not be opened")));
    let events = w.take_events("alice");
    assert!(
        matches!(
            &events[..],
            [
                CallEvent::Ringing { .. },
                CallEvent::UserAccept { .. },
                CallEvent::UserLeave { .. },
                CallEvent::CallEnd { ended_by: None, failure: Some(why), .. }
            ] if why == "the microphone could not be opened"
        ),
        "{events:?}"
    );
    for user in ["alice", "bob"] {
        assert_eq!(w.state(user), CallState::Idle);
        assert!(w.devices[user].peer.is_none() && !w.devices[user].mic_open);
    }
}

#[test]
fn bad_intents_are_refused_and_change_nothing() {
    let mut w = World::new(&["alice"]);
    assert_eq!(
        w.input("alice", Input::call("bob")),
        Err(ClientError::NotLoggedIn)
    );
    assert_eq!(
        w.input(
            "alice",
            Input::Login {
                user_id: "not valid!".into(),
                user_sig: "x".into()
            }
        ),
        Err(ClientError::BadUserId(
            webcall_protocol::UserIdError::BadCharacter
        ))
    );
    assert!(!w.devices["alice"].socket_open);
    let mut w = World::logged_in(&["alice", "bob"]);
    let mut sent = w.sent.len();
    assert_eq!(
        w.input("alice", Input::call("alice")),
        Err(ClientError::CallSelf)
    );
    assert_eq!(
        w.input("alice", Input::call("")),
        Err(ClientError::BadUserId(webcall_protocol::UserIdError::Empty))
    );
    assert_eq!(
        w.input(
            "alice",
            Input::Call {
                callee: "bob".into(),
                call_type: CallType::Video,
                timeout_secs: None
            }
        ),
        Err(ClientError::Unsupported)
    );
    assert_eq!(
        w.input("alice", Input::Accept),
        Err(ClientError::NoCall("accept"))
    );
    assert_eq!(
        w.input("alice", Input::Reject),
        Err(ClientError::NoCall("reject"))
    );
    assert_eq!(
        w.input("alice", Input::Hangup),
        Err(ClientError::NoCall("hang up"))
    );
    assert_eq!(
        w.input("alice", Input::SetMicMute(true)),
        Err(ClientError::NoCall("mute"))
    );
    assert_eq!(w.sent.len(), sent, "a refused intent sent something");
    w.input("alice", Input::call("bob")).unwrap();
    sent = w.sent.len();
    assert_eq!(w.input("alice", Input::call("bob")), Err(ClientError::Busy));
    assert_eq!(w.sent.len(), sent, "a refused intent sent something");
}

#[test]
fn mute_is_reflected_in_the_state() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.input("alice", Input::SetMicMute(true)).unwrap();
    assert!(matches!(
        w.state("alice"),
        CallState::InCall { muted: true, .. }
    ));
    w.input("alice", Input::SetMicMute(false)).unwrap();
    assert!(matches!(
        w.state("alice"),
        CallState::InCall { muted: false, .. }
    ));
}

/// A close the server means (normal, policy, message too big) ends the session and, since
/// nothing can reach the server any more, the call; any other loss reconnects (see `reconnect`).
#[test]
fn the_server_ending_the_session_mid_call_ends_the_call_and_the_session() {
    for code in [1000, 1008, 1009] {
        let mut w = World::logged_in(&["alice", "bob"]);
        w.connect("alice", "bob");
        w.dev("alice").socket_open = false;
        w.input(
            "alice",
            Input::SocketClosed {
                reason: "gone".into(),
                code,
            },
        )
        .unwrap();
        let events = w.take_events("alice");
        assert!(
            matches!(
                &events[..],
                [
                    CallEvent::CallEnd {
                        failure: Some(_),
                        ended_by: None,
                        ..
                    },
                    CallEvent::LoggedOut { reason: Some(_) }
                ]
            ),
            "code {code}: {events:?}"
        );
        assert!(!w.devices["alice"].mic_open && w.devices["alice"].peer.is_none());
        assert!(w.devices["alice"].timers.is_empty());
        assert!(!w.devices["alice"].machine.is_reconnecting());
    }
}

#[test]
fn a_refused_login_reports_and_logs_out() {
    let mut w = World::new(&["alice"]);
    w.input("alice", Input::login("alice")).unwrap();
    // The server refuses before anything else arrives.
    w.to_server.clear();
    w.input(
        "alice",
        Input::Server(ServerMsg::Error {
            code: ErrorCode::UserSigExpired,
            message: "UserSig expired".into(),
            req: None,
        }),
    )
    .unwrap();
    assert_eq!(
        w.take_events("alice"),
        vec![
            CallEvent::Error {
                code: 70001,
                message: "UserSig expired".into()
            },
            CallEvent::LoggedOut {
                reason: Some("login failed".into())
            }
        ]
    );
    assert!(!w.devices["alice"].socket_open);
    // A new login may start at once.
    w.input("alice", Input::login("alice")).unwrap();
}

#[test]
fn an_unanswered_login_times_out() {
    let mut w = World::new(&["alice"]);
    w.input("alice", Input::login("alice")).unwrap();
    w.to_server.clear();
    w.advance(LOGIN_TIMEOUT_MS);
    assert!(matches!(
        w.take_events("alice")[..],
        [
            CallEvent::Error { code: 60021, .. },
            CallEvent::LoggedOut { .. }
        ]
    ));
}

#[test]
fn heartbeats_keep_going_while_logged_in() {
    let mut w = World::logged_in(&["alice"]);
    w.advance(HEARTBEAT_INTERVAL_MS);
    w.advance(HEARTBEAT_INTERVAL_MS);
    let pings = w.sent.iter().filter(|(_, m)| *m == ClientMsg::Ping).count();
    assert_eq!(pings, 2);
}

#[test]
fn kicked_out_ends_the_call_and_the_session() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.input(
        "bob",
        Input::Server(ServerMsg::Error {
            code: ErrorCode::KickedOut,
            message: "logged in elsewhere".into(),
            req: None,
        }),
    )
    .unwrap();
    let events = w.take_events("bob");
    assert!(
        matches!(
            &events[..],
            [
                CallEvent::CallEnd { .. },
                CallEvent::KickedOut,
                CallEvent::LoggedOut { .. }
            ]
        ),
        "{events:?}"
    );
    assert_eq!(w.state("bob"), CallState::Idle);
}

#[test]
fn logout_in_a_call_hangs_up_first() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.input("alice", Input::Logout).unwrap();
    w.run();
    assert!(w
        .sent
        .iter()
        .any(|(from, m)| from == "alice" && matches!(m, ClientMsg::Hangup { .. })));
    assert!(matches!(
        w.take_events("alice")[..],
        [
            CallEvent::CallEnd { .. },
            CallEvent::LoggedOut { reason: None }
        ]
    ));
    assert!(matches!(
        w.take_events("bob")[..],
        [CallEvent::UserLeave { .. }, CallEvent::CallEnd { .. }]
    ));
}

#[test]
fn stale_server_messages_are_ignored() {
    let mut w = World::logged_in(&["alice"]);
    for msg in [
        ServerMsg::Accepted {
            call_id: "nope".into(),
        },
        ServerMsg::CallEnded {
            call_id: "nope".into(),
            outcome: Outcome::Rejected,
        },
        ServerMsg::Signal {
            call_id: "nope".into(),
            signal: ice("x"),
        },
        created(99, "nope"),
    ] {
        w.input("alice", Input::Server(msg)).unwrap();
    }
    assert!(w.take_events("alice").is_empty());
    assert_eq!(w.state("alice"), CallState::Idle);
}

#[test]
fn refusals_of_messages_that_crossed_the_end_of_a_call_stay_quiet() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    w.input("bob", Input::Reject).unwrap();
    w.run();
    assert!(matches!(
        w.take_events("alice")[..],
        [CallEvent::Ringing { .. }, CallEvent::Reject { .. }]
    ));
    // alice's last ICE candidate reached the server after the call ended.
    w.input(
        "alice",
        Input::Server(ServerMsg::Error {
            code: ErrorCode::NoSuchCall,
            message: "no such call".into(),
            req: None,
        }),
    )
    .unwrap();
    assert!(w.take_events("alice").is_empty());
}

#[test]
fn hanging_up_before_the_accept_is_confirmed_ends_the_call_on_both_sides() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.input("alice", Input::call("bob")).unwrap();
    w.run();
    w.take_events("bob");
    w.input("bob", Input::Accept).unwrap();
    // Bob hangs up before the server's Accepted reaches him.
    w.input("bob", Input::Hangup).unwrap();
    let events = w.take_events("bob");
    assert!(
        matches!(
            &events[..],
            [CallEvent::CallEnd { ended_by: Some(by), duration_secs: 0, failure: None, .. }]
                if by == "bob"
        ),
        "{events:?}"
    );
    assert!(w.devices["bob"].peer.is_none() && !w.devices["bob"].mic_open);
    w.run();
    assert!(
        w.take_events("bob").is_empty(),
        "the server's end was told twice"
    );
    assert!(matches!(
        w.take_events("alice")[..],
        [
            CallEvent::Ringing { .. },
            CallEvent::UserAccept { .. },
            CallEvent::UserLeave { .. },
            CallEvent::CallEnd { .. }
        ]
    ));
    assert_eq!(w.state("alice"), CallState::Idle);
}

#[test]
fn each_side_reports_connected_audio_once() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    let reports = |w: &World, user: &str| {
        w.sent
            .iter()
            .filter(|(from, m)| {
                from == user
                    && *m
                        == ClientMsg::MediaConnected {
                            call_id: "call-1".into(),
                        }
            })
            .count()
    };
    assert_eq!((reports(&w, "alice"), reports(&w, "bob")), (1, 1));
    // The browser reports "connected" again (after a network change, say).
    w.input("alice", Input::Media(MediaEvent::Connected))
        .unwrap();
    assert_eq!(reports(&w, "alice"), 1);
    assert!(w.take_events("alice").is_empty());
    // Before the call is accepted there is nothing to report.
    let mut m = lone("carol");
    server(&mut m, invited("c1", "dave"));
    step(&mut m, 5_000, Input::Accept);
    assert!(step(&mut m, 5_000, Input::Media(MediaEvent::Connected)).is_empty());
}

#[test]
fn the_verification_code_belongs_to_the_call_and_is_told_once() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    let code = |code: &str| Input::Media(MediaEvent::VerificationCode(code.into()));
    let told = |code: &str| CallEvent::VerificationCode {
        call_id: "call-1".into(),
        code: code.into(),
    };
    let shown = |w: &World, user: &str| match w.state(user) {
        CallState::InCall {
            verification_code, ..
        } => verification_code,
        other => panic!("{user} is not in the call: {other:?}"),
    };
    assert_eq!(shown(&w, "alice"), None);

    // The shells compute it once the audio has connected; each side keeps its own.
    w.input("alice", code("123 456")).unwrap();
    w.input("bob", code("123 456")).unwrap();
    for user in ["alice", "bob"] {
        assert_eq!(w.take_events(user), vec![told("123 456")]);
        assert_eq!(shown(&w, user).as_deref(), Some("123 456"));
    }
    // The browser reports "connected" again: the same code goes unsaid.
    w.input("alice", code("123 456")).unwrap();
    assert!(w.take_events("alice").is_empty());
    // A different one replaces it and is told.
    w.input("alice", code("654 321")).unwrap();
    assert_eq!(w.take_events("alice"), vec![told("654 321")]);
    assert_eq!(shown(&w, "alice").as_deref(), Some("654 321"));
    assert!(
        !w.sent.iter().any(|(_, m)| format!("{m:?}").contains("654")),
        "the code went to the server"
    );

    // It goes with the call; a late result of the ended call is dropped.
    w.input("alice", Input::Hangup).unwrap();
    w.run();
    w.take_events("alice");
    w.input("alice", code("111 111")).unwrap();
    assert!(w.take_events("alice").is_empty());
    assert_eq!(w.state("alice"), CallState::Idle);
    // The next call starts without one.
    w.take_events("bob");
    w.connect("alice", "bob");
    assert_eq!(shown(&w, "alice"), None);

    // Before the call is accepted there is none to keep.
    let mut m = lone("carol");
    server(&mut m, invited("c1", "dave"));
    assert!(step(&mut m, 5_000, code("123 456")).is_empty());
    step(&mut m, 5_000, Input::Accept);
    assert!(step(&mut m, 5_000, code("123 456")).is_empty());
    assert_eq!(
        m.call_state(),
        CallState::Connecting {
            peer: "dave".into(),
            call_id: "c1".into()
        }
    );
}

#[test]
fn a_hang_up_by_the_user_names_no_failure() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.input("bob", Input::Hangup).unwrap();
    assert!(w.sent.contains(&(
        "bob".into(),
        ClientMsg::Hangup {
            call_id: "call-1".into(),
            failure: None
        }
    )));
}

#[test]
fn audio_that_stays_down_ends_the_call_as_connection_lost_on_both_sides() {
    let mut w = World::logged_in(&["alice", "bob"]);
    w.connect("alice", "bob");
    w.advance(4_000);
    w.input("alice", Input::Media(MediaEvent::Failed)).unwrap();
    w.run();
    assert_eq!(
        w.take_events("alice"),
        vec![CallEvent::AudioInterrupted {
            call_id: "call-1".into()
        }]
    );
    w.advance(MEDIA_LOST_AFTER_MS - 1);
    assert!(w.take_events("alice").is_empty());
    w.advance(1);
    assert!(w.sent.contains(&(
        "alice".into(),
        ClientMsg::Hangup {
            call_id: "call-1".into(),
            failure: Some("connection lost".into())
        }
    )));
    let failed = CallEvent::CallEnd {
        call_id: "call-1".into(),
        duration_secs: 34,
        ended_by: None,
        failure: Some("connection lost".into()),
    };
    assert_eq!(w.take_events("alice"), vec![failed.clone()]);
    w.run();
    assert!(w.take_events("alice").is_empty());
    assert_eq!(
        w.take_events("bob"),
        vec![
            CallEvent::UserLeave {
                user_id: "alice".into()
            },
            failed
        ]
    );
    for user in ["alice", "bob"] {
        assert_eq!(w.state(user), CallState::Idle);
        assert!(w.devices[user].peer.is_none() && !w.devices[user].mic_open);
    }
}

#[test]
fn a_setup_error_while_accepting_hangs_up_as_failed() {
    let mut m = lone("bob");
    server(&mut m, invited("c1", "alice"));
    step(&mut m, 5_000, Input::Accept);
    let out = step(
        &mut m,
        5_000,
        Input::Media(MediaEvent::Error("bad SDP".into())),
    );
    assert_eq!(
        sent_of(&out),
        vec![ClientMsg::Hangup {
            call_id: "c1".into(),
            failure: Some("call setup failed".into())
        }]
    );
    assert!(
        matches!(
            &events_of(&out)[..],
            [
                CallEvent::Error { code: 60002, .. },
                CallEvent::CallEnd {
                    ended_by: None,
                    failure: Some(_),
                    duration_secs: 0,
                    ..
                }
            ]
        ),
        "{out:?}"
    );
    assert!(out.contains(&Output::Media(MediaCommand::Close)));
    assert_eq!(m.call_state(), CallState::Idle);
}
