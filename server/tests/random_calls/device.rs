//! The simulated devices of the randomized test: a seeded PRNG, the state the whole run shares,
//! and the devices themselves, each a real WebSocket client whose socket a task of its own reads
//! all the time, recording every frame in a log, while the device acts at random.
//!
//! It exists so that what the devices do is apart from what is checked afterwards (`checker`):
//! this file only drives the server and records, it judges nothing but a refused bad login.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use webcall_protocol::{CallId, CallType, ClientMsg, ErrorCode, ServerMsg, Signal};

use crate::common::{unix_now, within, APP, DEADLINE, SECRET};
use crate::{user_name, DEVICES_PER_USER, GHOSTS, IGNORE_PERCENT, STEPS};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// splitmix64: small, seedable, good enough to pick actions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n`.
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            None
        } else {
            Some(items[self.below(items.len() as u64) as usize].clone())
        }
    }
}

/// The seed: `WEBCALL_RANDOM_SEED` (decimal or 0x-hex) or the clock.
pub(crate) fn seed() -> u64 {
    if let Ok(text) = std::env::var("WEBCALL_RANDOM_SEED") {
        let text = text.trim();
        let parsed = match text.strip_prefix("0x") {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => text.parse(),
        };
        return parsed.unwrap_or_else(|e| panic!("WEBCALL_RANDOM_SEED={text}: {e}"));
    }
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_nanos() as u64;
    Rng(nanos ^ u64::from(std::process::id())).next()
}

/// What the whole run shares: where the server is, and the trace of every frame.
pub(crate) struct World {
    pub(crate) addr: SocketAddr,
    /// Every frame sent and received, in the order the devices saw them.
    pub(crate) trace: Mutex<Vec<String>>,
    /// Every call ID any device was given in `CallCreated`.
    pub(crate) calls_seen: Mutex<Vec<CallId>>,
    /// Problems found outside a device's own log (a bad login answered wrongly).
    pub(crate) problems: Mutex<Vec<String>>,
    /// Logins refused with `TooManyDevices` (retried).
    pub(crate) too_many_devices: Mutex<u32>,
}

impl World {
    fn note(&self, line: String) {
        self.trace.lock().unwrap().push(line);
    }

    fn problem(&self, problem: String) {
        self.problems.lock().unwrap().push(problem);
    }

    async fn connect(&self) -> Ws {
        let url = format!("ws://{}/ws", self.addr);
        let (ws, _) = within(tokio_tungstenite::connect_async(url))
            .await
            .expect("WebSocket handshake");
        ws
    }
}

fn sig(user: &str) -> String {
    webcall_server::UserSigKey::new(APP, SECRET).issue(user, 3600, unix_now())
}

/// What a device knows of a call it has heard of and not heard the end of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Known {
    /// This device placed it; it rings.
    Calling,
    /// It rings here.
    Incoming,
    /// This device is a party of the accepted call.
    Active,
    /// The user has it on another device.
    Elsewhere,
}

/// Everything one connection sent and received.
#[derive(Default)]
pub(crate) struct Log {
    pub(crate) name: String,
    pub(crate) user: String,
    /// Every message received, in order.
    pub(crate) received: Vec<ServerMsg>,
    /// What the reader found wrong: a frame that does not parse, an unexpected close.
    pub(crate) problems: Vec<String>,
    /// The device is closing or dropping the connection itself.
    pub(crate) leaving: bool,
    /// The connection lasted until the end of the run.
    pub(crate) survived: bool,
    /// The reader saw the connection end.
    pub(crate) finished: bool,
    /// The calls heard of and not ended, for choosing actions.
    pub(crate) open: BTreeMap<CallId, Known>,
    /// The calls heard to end, for stale actions.
    pub(crate) ended: Vec<CallId>,
    /// The caller of each call that rang here, for calling back (glare).
    pub(crate) callers: HashMap<CallId, String>,
    pub(crate) pongs: u32,
    /// The number of the last numbered message received.
    pub(crate) last_seq: u64,
    /// What was sent: `Invite` request numbers, pings, frames meant to be refused as bad, and
    /// every ID watched.
    pub(crate) reqs: Vec<u32>,
    pub(crate) pings: u32,
    pub(crate) bad_frames: u32,
    pub(crate) watched: HashSet<String>,
}

impl Log {
    /// Notes what `msg` says about the calls, for choosing later actions.
    fn learn(&mut self, msg: &ServerMsg) {
        match msg {
            ServerMsg::CallCreated { call_id, .. } => {
                self.open.insert(call_id.clone(), Known::Calling);
            }
            ServerMsg::Invited {
                call_id, caller, ..
            } => {
                self.open.insert(call_id.clone(), Known::Incoming);
                self.callers.insert(call_id.clone(), caller.clone());
            }
            ServerMsg::Accepted { call_id } | ServerMsg::CallMerged { call_id, .. } => {
                self.open.insert(call_id.clone(), Known::Active);
            }
            ServerMsg::AnsweredElsewhere { call_id } | ServerMsg::CallElsewhere { call_id, .. } => {
                self.open.insert(call_id.clone(), Known::Elsewhere);
            }
            ServerMsg::CallEnded { call_id, .. } => {
                self.open.remove(call_id);
                self.ended.push(call_id.clone());
            }
            ServerMsg::Pong => self.pongs += 1,
            _ => {}
        }
    }

    /// Records `msg`, unwrapped from its number, which must follow the last one's.
    pub(crate) fn record(&mut self, msg: ServerMsg) {
        let msg = match msg.unsequenced() {
            (Some(seq), msg) => {
                if seq != self.last_seq + 1 {
                    let problem = format!("{msg:?} is numbered {seq} after {}", self.last_seq);
                    self.problems.push(problem);
                }
                self.last_seq = seq;
                msg
            }
            (None, msg) => msg,
        };
        self.learn(&msg);
        self.received.push(msg);
    }
}

/// One logged-in connection: its sending half, and the task that reads the other.
pub(crate) struct Device {
    pub(crate) log: Arc<Mutex<Log>>,
    sink: SplitSink<Ws, Message>,
    reader: JoinHandle<()>,
    next_req: u32,
}

/// The first protocol message on a fresh connection, skipping ping frames.
async fn first_message(ws: &mut Ws) -> Option<ServerMsg> {
    loop {
        match tokio::time::timeout(DEADLINE, ws.next()).await.ok()?? {
            Ok(Message::Text(text)) => return serde_json::from_str(text.as_str()).ok(),
            Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_)) => continue,
            _ => return None,
        }
    }
}

/// Reads the connection until it ends, recording everything.
async fn read_loop(mut stream: SplitStream<Ws>, log: Arc<Mutex<Log>>, world: Arc<World>) {
    loop {
        let item = stream.next().await;
        let mut log = log.lock().unwrap();
        match item {
            Some(Ok(Message::Text(text))) => {
                world.note(format!("{} <- {}", log.name, text.as_str()));
                match serde_json::from_str::<ServerMsg>(text.as_str()) {
                    Ok(msg) => {
                        if let ServerMsg::CallCreated { call_id, .. } = &msg {
                            world.calls_seen.lock().unwrap().push(call_id.clone());
                        }
                        log.record(msg);
                    }
                    Err(e) => {
                        let problem = format!("a server message does not parse: {text}: {e}");
                        log.problems.push(problem);
                    }
                }
            }
            Some(Ok(Message::Close(frame))) => {
                world.note(format!("{} <- close {frame:?}", log.name));
                if !log.leaving {
                    let problem = format!("the server closed the connection: {frame:?}");
                    log.problems.push(problem);
                }
            }
            Some(Ok(Message::Binary(_))) => log.problems.push("a binary frame".into()),
            Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            Some(Err(e)) => {
                if !log.leaving {
                    log.problems.push(format!("the socket failed: {e}"));
                }
                log.finished = true;
                return;
            }
            None => {
                if !log.leaving {
                    log.problems.push("the connection ended unasked".into());
                }
                log.finished = true;
                return;
            }
        }
    }
}

impl Device {
    /// Logs in a new connection of `user`, retrying while the user has too many devices (a
    /// connection just dropped may not have left the hub yet).
    async fn login(world: &Arc<World>, user: &str, name: String) -> Device {
        for _ in 0..200 {
            let mut ws = world.connect().await;
            let login = ClientMsg::Login {
                user_id: user.into(),
                user_sig: sig(user),
                sdk_app_id: APP,
                resume: None,
            };
            world.note(format!("{name} -> login"));
            within(ws.send(Message::text(serde_json::to_string(&login).unwrap())))
                .await
                .expect("send login");
            match first_message(&mut ws).await {
                Some(msg @ ServerMsg::LoggedIn { .. }) => {
                    world.note(format!(
                        "{name} <- {}",
                        serde_json::to_string(&msg).unwrap()
                    ));
                    let log = Arc::new(Mutex::new(Log {
                        name,
                        user: user.into(),
                        ..Log::default()
                    }));
                    log.lock().unwrap().record(msg);
                    let (sink, stream) = ws.split();
                    let reader = tokio::spawn(read_loop(stream, log.clone(), world.clone()));
                    return Device {
                        log,
                        sink,
                        reader,
                        next_req: 1,
                    };
                }
                Some(ServerMsg::Error {
                    code: ErrorCode::TooManyDevices,
                    ..
                }) => {
                    world.note(format!("{name} <- too many devices"));
                    *world.too_many_devices.lock().unwrap() += 1;
                    drop(ws);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                other => panic!("{name}: login answered with {other:?}"),
            }
        }
        panic!("{name}: too many devices, for good");
    }

    pub(crate) fn name(&self) -> String {
        self.log.lock().unwrap().name.clone()
    }

    fn open_calls(&self, wanted: &[Known]) -> Vec<CallId> {
        let log = self.log.lock().unwrap();
        log.open
            .iter()
            .filter(|(_, known)| wanted.contains(known))
            .map(|(id, _)| id.clone())
            .collect()
    }

    pub(crate) async fn send(&mut self, world: &World, msg: &ClientMsg) {
        let text = serde_json::to_string(msg).unwrap();
        {
            let mut log = self.log.lock().unwrap();
            match msg {
                ClientMsg::Ping => log.pings += 1,
                ClientMsg::Invite { req, .. } => log.reqs.push(*req),
                ClientMsg::Watch { users } => log.watched.extend(users.iter().cloned()),
                _ => {}
            }
            world.note(format!("{} -> {text}", log.name));
        }
        self.send_frame(Message::text(text)).await;
    }

    /// Sends a frame the server must answer with `BadMessage`.
    async fn send_bad(&mut self, world: &World, frame: Message) {
        {
            let mut log = self.log.lock().unwrap();
            log.bad_frames += 1;
            world.note(format!("{} -> bad frame {frame:?}", log.name));
        }
        self.send_frame(frame).await;
    }

    async fn send_frame(&mut self, frame: Message) {
        let problem = match tokio::time::timeout(DEADLINE, self.sink.send(frame)).await {
            Ok(Ok(())) => return,
            Ok(Err(e)) => format!("sending failed: {e}"),
            Err(_) => "sending timed out".to_owned(),
        };
        self.log.lock().unwrap().problems.push(problem);
    }

    /// Ends the connection: with a close handshake, or by dropping the socket.
    pub(crate) async fn leave(self, world: &World, graceful: bool) -> Arc<Mutex<Log>> {
        let Device {
            log,
            mut sink,
            mut reader,
            ..
        } = self;
        {
            let mut log = log.lock().unwrap();
            log.leaving = true;
            let how = if graceful { "closes" } else { "drops" };
            world.note(format!("{} {how} the connection", log.name));
        }
        if graceful {
            let _ = tokio::time::timeout(DEADLINE, sink.send(Message::Close(None))).await;
            if tokio::time::timeout(DEADLINE, &mut reader).await.is_err() {
                let problem = "the close handshake did not finish".to_owned();
                log.lock().unwrap().problems.push(problem);
                reader.abort();
            }
        } else {
            drop(sink);
            reader.abort();
            let _ = reader.await;
            log.lock().unwrap().finished = true;
        }
        log
    }
}

/// One of a user's devices: a run of connections, one after the other, acting at random.
pub(crate) struct Slot {
    world: Arc<World>,
    rng: Rng,
    user: String,
    label: String,
    generation: u32,
    /// The connection; `None` only while reconnecting.
    device: Option<Device>,
    retired: Vec<Arc<Mutex<Log>>>,
    /// The calls this device has decided whether to leave alone while they ring.
    decided: HashSet<CallId>,
    /// The calls it leaves alone.
    ignored: HashSet<CallId>,
}

fn made_up_call_id(rng: &mut Rng) -> CallId {
    let (a, b) = (rng.next(), rng.next());
    format!(
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

fn random_signal(rng: &mut Rng, answering: bool) -> Signal {
    let n = rng.below(1000);
    match rng.below(3) {
        0 if answering => Signal::Answer {
            sdp: format!("v=0\r\no=- {n} 2 IN IP4 127.0.0.1\r\n"),
        },
        0 => Signal::Offer {
            sdp: format!("v=0\r\no=- {n} 1 IN IP4 127.0.0.1\r\n"),
        },
        _ => Signal::Ice {
            candidate: format!(
                "candidate:{n} 1 udp 2122260223 127.0.0.1 {} typ host",
                50000 + n
            ),
            sdp_mid: Some("0".into()),
            sdp_m_line_index: Some(0),
        },
    }
}

impl Slot {
    pub(crate) async fn start(world: Arc<World>, user: usize, slot: usize, seed: u64) -> Slot {
        let mut rng = Rng(seed ^ (((user as u64) << 32) | slot as u64).wrapping_mul(0x9E37_79B9));
        rng.next();
        let user = user_name(user);
        let label = format!("{user}.{slot}");
        // Not everyone logs in at the same moment.
        tokio::time::sleep(Duration::from_millis(rng.below(30))).await;
        let device = Device::login(&world, &user, format!("{label}#0")).await;
        Slot {
            world,
            rng,
            user,
            label,
            generation: 0,
            device: Some(device),
            retired: Vec::new(),
            decided: HashSet::new(),
            ignored: HashSet::new(),
        }
    }

    fn dev(&mut self) -> &mut Device {
        self.device.as_mut().expect("a device")
    }

    async fn send(&mut self, msg: ClientMsg) {
        let world = self.world.clone();
        self.dev().send(&world, &msg).await;
    }

    /// A call ID to act on that the device has no business with: one that ended, someone
    /// else's, or one that never existed.
    fn stale_call_id(&mut self) -> CallId {
        let ended = self.dev().log.lock().unwrap().ended.clone();
        match self.rng.below(3) {
            0 if !ended.is_empty() => self.rng.pick(&ended).unwrap(),
            1 => {
                let seen = self.world.calls_seen.lock().unwrap().clone();
                self.rng
                    .pick(&seen)
                    .unwrap_or_else(|| made_up_call_id(&mut self.rng))
            }
            _ => made_up_call_id(&mut self.rng),
        }
    }

    async fn invite(&mut self) {
        let req = self.dev().next_req;
        self.dev().next_req += 1;
        let incoming = self.dev().open_calls(&[Known::Incoming]);
        let calling_back = match self.rng.pick(&incoming) {
            Some(call_id) if self.rng.chance(10) => self
                .dev()
                .log
                .lock()
                .unwrap()
                .callers
                .get(&call_id)
                .cloned(),
            _ => None,
        };
        let callee = match (calling_back, self.rng.below(100)) {
            // Call back someone who is calling: glare, when the call still rings.
            (Some(caller), _) => caller,
            (None, 0..=7) => self.user.clone(),
            (None, 8..=15) => self.rng.pick(&GHOSTS).unwrap().to_owned(),
            (None, 16..=18) => "not a user!".to_owned(),
            (None, _) => user_name(self.rng.below(DEVICES_PER_USER.len() as u64) as usize),
        };
        let call_type = if self.rng.chance(4) {
            CallType::Video
        } else {
            CallType::Audio
        };
        let timeout_secs = match self.rng.below(20) {
            0..=7 => None,
            8..=16 => Some(1),
            17 => Some(0),
            _ => Some(3),
        };
        self.send(ClientMsg::Invite {
            req,
            callee,
            call_type,
            timeout_secs,
        })
        .await;
    }

    /// An action on one of the device's calls in one of the `wanted` states, or on a stale ID
    /// when it has none (sometimes; `None` otherwise) or now and then anyway. The device
    /// leaves some calls alone while they ring, so that they ring until the timeout.
    fn target(&mut self, wanted: &[Known]) -> Option<CallId> {
        let mut open = self.dev().open_calls(wanted);
        for call_id in &open {
            if self.decided.insert(call_id.clone()) && self.rng.chance(IGNORE_PERCENT) {
                self.ignored.insert(call_id.clone());
            }
        }
        let active = self.dev().open_calls(&[Known::Active]);
        open.retain(|id| active.contains(id) || !self.ignored.contains(id));
        if open.is_empty() {
            self.rng.chance(30).then(|| self.stale_call_id())
        } else if self.rng.chance(5) {
            Some(self.stale_call_id())
        } else {
            self.rng.pick(&open)
        }
    }

    async fn step(&mut self) {
        match self.rng.below(100) {
            0..=19 => self.invite().await,
            20..=34 => {
                let Some(call_id) = self.target(&[Known::Incoming]) else {
                    return;
                };
                self.send(ClientMsg::Accept { call_id }).await;
            }
            35..=39 => {
                let Some(call_id) = self.target(&[Known::Incoming]) else {
                    return;
                };
                self.send(ClientMsg::Reject { call_id }).await;
            }
            40..=44 => {
                let Some(call_id) = self.target(&[Known::Calling]) else {
                    return;
                };
                self.send(ClientMsg::Cancel { call_id }).await;
            }
            45..=52 => {
                let all = [
                    Known::Calling,
                    Known::Incoming,
                    Known::Active,
                    Known::Elsewhere,
                ];
                let Some(call_id) = self.target(&all) else {
                    return;
                };
                let failure = match self.rng.below(8) {
                    0 => Some("the audio connection failed".to_owned()),
                    1 => Some("é".repeat(150)),
                    _ => None,
                };
                self.send(ClientMsg::Hangup { call_id, failure }).await;
            }
            53..=64 => {
                let active = self.dev().open_calls(&[Known::Active]);
                let Some(call_id) = self.target(&[Known::Calling, Known::Active, Known::Incoming])
                else {
                    return;
                };
                let answering = active.contains(&call_id) && self.rng.chance(50);
                for _ in 0..=self.rng.below(3) {
                    let signal = random_signal(&mut self.rng, answering);
                    let call_id = call_id.clone();
                    self.send(ClientMsg::Signal { call_id, signal }).await;
                }
            }
            65..=72 => {
                let Some(call_id) = self.target(&[Known::Active]) else {
                    return;
                };
                self.send(ClientMsg::MediaConnected { call_id }).await;
            }
            73..=79 => {
                let call_id = self.stale_call_id();
                let msg = match self.rng.below(6) {
                    0 => ClientMsg::Accept { call_id },
                    1 => ClientMsg::Reject { call_id },
                    2 => ClientMsg::Cancel { call_id },
                    3 => ClientMsg::Hangup {
                        call_id,
                        failure: None,
                    },
                    4 => ClientMsg::MediaConnected { call_id },
                    _ => ClientMsg::Signal {
                        call_id,
                        signal: random_signal(&mut self.rng, false),
                    },
                };
                self.send(msg).await;
            }
            80..=84 => {
                if self.rng.chance(10) {
                    // One more than allowed: refused as a bad message.
                    let users = (0..17).map(|i| format!("w{i:02}")).collect();
                    self.dev().log.lock().unwrap().bad_frames += 1;
                    self.send(ClientMsg::Watch { users }).await;
                } else {
                    let mut users = Vec::new();
                    for _ in 0..self.rng.below(7) {
                        users.push(match self.rng.below(10) {
                            0 => GHOSTS[0].to_owned(),
                            _ => user_name(self.rng.below(DEVICES_PER_USER.len() as u64) as usize),
                        });
                    }
                    self.send(ClientMsg::Watch { users }).await;
                }
            }
            85..=89 => self.send(ClientMsg::Ping).await,
            90..=91 => {
                let frame = if self.rng.chance(50) {
                    Message::text(r#"{"accept":{}}"#)
                } else {
                    Message::binary(vec![1u8, 2, 3])
                };
                let world = self.world.clone();
                self.dev().send_bad(&world, frame).await;
            }
            92 => self.reconnect().await,
            _ => {}
        }
    }

    /// Leaves (closing or dropping the socket), sometimes tries a login with a bad UserSig,
    /// and logs in again as a new device: before or after the old one leaves.
    async fn reconnect(&mut self) {
        let graceful = self.rng.chance(50);
        let bad_login = self.rng.chance(30);
        let leave_first = self.rng.chance(50);
        self.generation += 1;
        let name = format!("{}#{}", self.label, self.generation);
        if leave_first {
            let old = self.device.take().expect("a device");
            self.retired.push(old.leave(&self.world, graceful).await);
        }
        if bad_login {
            self.bad_login(&name).await;
        }
        let fresh = Device::login(&self.world, &self.user, name).await;
        if let Some(old) = self.device.replace(fresh) {
            self.retired.push(old.leave(&self.world, graceful).await);
        }
    }

    /// A login with another user's UserSig: refused with `UserSigWrongUser` and closed with
    /// 1008.
    async fn bad_login(&self, name: &str) {
        let mut ws = self.world.connect().await;
        let login = ClientMsg::Login {
            user_id: self.user.clone(),
            user_sig: sig("someone-else"),
            sdk_app_id: APP,
            resume: None,
        };
        self.world.note(format!("{name} -> bad login"));
        within(ws.send(Message::text(serde_json::to_string(&login).unwrap())))
            .await
            .expect("send login");
        match first_message(&mut ws).await {
            Some(ServerMsg::Error {
                code: ErrorCode::UserSigWrongUser,
                req: None,
                ..
            }) => {}
            other => {
                let problem = format!("{name}: a bad login was answered with {other:?}");
                self.world.problem(problem);
            }
        }
        let close = loop {
            match tokio::time::timeout(DEADLINE, ws.next()).await {
                Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| u16::from(f.code)),
                Ok(Some(Ok(_))) => continue,
                _ => break None,
            }
        };
        if close != Some(1008) {
            let problem = format!("{name}: a bad login was closed with {close:?}, not 1008");
            self.world.problem(problem);
        }
    }

    pub(crate) async fn run(mut self) -> (Vec<Arc<Mutex<Log>>>, Device) {
        let steps = STEPS.0 + self.rng.below(STEPS.1 - STEPS.0 + 1);
        for _ in 0..steps {
            self.step().await;
            // A pause to interleave with the others, never to wait for an answer.
            let pause = self.rng.below(51);
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        let device = self.device.take().expect("a device");
        (self.retired, device)
    }
}
