//! A simulated WebCall device: the real calling state machine of `webcall-client` driven
//! natively, on a real WebSocket, with a fake media layer that connects as soon as both
//! descriptions are in. Everything the app of a real device would see comes out as events, with
//! the time they arrived.
//!
//! The shell is the native twin of the browser's: it opens and closes sockets, sends, arms the
//! machine's timers and reports what happened, deciding nothing itself. Sockets are replaced,
//! not reused: events of an abandoned socket are told apart by a generation number and ignored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use webcall_client::machine::{
    Input, Machine, MediaCommand, MediaEvent, Millis, Output, Timer, CLOSE_ABNORMAL,
};
use webcall_client::{CallEvent, CallState, ClientError};
use webcall_protocol::{ServerMsg, Signal, CLOSE_RECONNECTING};

type Sink = SplitSink<WebSocketStream<MaybeTlsStream<TcpStream>>, Message>;

/// What happened to one device, in order: an event with its time (milliseconds since the run's
/// epoch).
pub type Events = Arc<Mutex<Vec<(Millis, CallEvent)>>>;

/// A device's call state and whether it is logged in, as of its last input.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub state: CallState,
    pub logged_in: bool,
}

/// A running simulated device. Dropping it stops it (its socket closes without a frame).
pub struct Device {
    pub name: String,
    intents: mpsc::UnboundedSender<(Input, tokio::sync::oneshot::Sender<Result<(), ClientError>>)>,
    pub events: Events,
    pub snapshot: Arc<Mutex<Snapshot>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Device {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Device {
    /// Starts a device that logs in as `user` with `user_sig` at `url`; `epoch` is time zero of
    /// its clock and its events.
    pub fn start(
        url: String,
        user: &str,
        user_sig: String,
        app: u32,
        epoch: Instant,
        seed: u64,
    ) -> Device {
        let (intents, rx) = mpsc::unbounded_channel();
        let events: Events = Arc::default();
        let snapshot: Arc<Mutex<Snapshot>> = Arc::default();
        let mut machine = Machine::new(app);
        machine.seed_rng(seed);
        let shell = Shell {
            url,
            machine,
            epoch,
            socket: None,
            generation: 0,
            timers: HashMap::new(),
            events: events.clone(),
            snapshot: snapshot.clone(),
            from_sockets: mpsc::unbounded_channel(),
        };
        let task = tokio::spawn(shell.run(rx));
        let device = Device {
            name: user.to_owned(),
            intents,
            events,
            snapshot,
            task,
        };
        let (done, _) = tokio::sync::oneshot::channel();
        let _ = device.intents.send((
            Input::Login {
                user_id: user.to_owned(),
                user_sig,
            },
            done,
        ));
        device
    }

    /// Feeds an intent (call, accept, reject, hang up, ...) and returns the machine's answer.
    pub async fn act(&self, input: Input) -> Result<(), ClientError> {
        let (done, answer) = tokio::sync::oneshot::channel();
        if self.intents.send((input, done)).is_err() {
            return Err(ClientError::NotLoggedIn);
        }
        answer.await.unwrap_or(Err(ClientError::NotLoggedIn))
    }

    pub fn snapshot(&self) -> Snapshot {
        self.snapshot.lock().unwrap().clone()
    }

    pub fn events(&self) -> Vec<(Millis, CallEvent)> {
        self.events.lock().unwrap().clone()
    }
}

/// What a socket task reports, with the generation of the socket.
enum SocketEvent {
    Opened(Sink),
    Message(ServerMsg),
    Closed(u16),
}

struct Shell {
    url: String,
    machine: Machine,
    epoch: Instant,
    socket: Option<Sink>,
    generation: u64,
    timers: HashMap<Timer, Instant>,
    events: Events,
    snapshot: Arc<Mutex<Snapshot>>,
    /// What the socket tasks report, with their socket's generation.
    from_sockets: (SocketReports, mpsc::UnboundedReceiver<(u64, SocketEvent)>),
}

type SocketReports = mpsc::UnboundedSender<(u64, SocketEvent)>;

type Intent = (Input, tokio::sync::oneshot::Sender<Result<(), ClientError>>);

impl Shell {
    async fn run(mut self, mut intents: mpsc::UnboundedReceiver<Intent>) {
        loop {
            let next = self.timers.values().min().copied();
            let wake = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                intent = intents.recv() => {
                    let Some((input, done)) = intent else { return };
                    let answer = self.feed(input).await;
                    let _ = done.send(answer);
                }
                event = self.from_sockets.1.recv() => {
                    let Some((generation, event)) = event else { return };
                    if generation != self.generation {
                        continue;
                    }
                    let input = match event {
                        SocketEvent::Opened(sink) => {
                            self.socket = Some(sink);
                            Input::SocketOpened
                        }
                        SocketEvent::Message(msg) => Input::Server(msg),
                        SocketEvent::Closed(code) => {
                            self.socket = None;
                            Input::SocketClosed { reason: format!("closed ({code})"), code }
                        }
                    };
                    let _ = self.feed(input).await;
                }
                _ = wake => {
                    let now = Instant::now();
                    let due: Vec<Timer> = self.timers.iter().filter(|(_, at)| **at <= now).map(|(t, _)| *t).collect();
                    for timer in due {
                        self.timers.remove(&timer);
                        let _ = self.feed(Input::Timer(timer)).await;
                    }
                }
            }
        }
    }

    fn now(&self) -> Millis {
        self.epoch.elapsed().as_millis() as Millis
    }

    /// Feeds `input`, then carries out every output, feeding the fake media's answers back.
    async fn feed(&mut self, input: Input) -> Result<(), ClientError> {
        let mut queue = vec![input];
        let mut first = None;
        while !queue.is_empty() {
            let input = queue.remove(0);
            let result = self.machine.handle(self.now(), input);
            if first.is_none() {
                first = Some(result);
            }
            while let Some(output) = self.machine.poll_output() {
                self.execute(output, &mut queue).await;
            }
        }
        *self.snapshot.lock().unwrap() = Snapshot {
            state: self.machine.call_state(),
            logged_in: self.machine.user_id().is_some(),
        };
        first.unwrap_or(Ok(()))
    }

    async fn execute(&mut self, output: Output, media: &mut Vec<Input>) {
        match output {
            Output::OpenSocket => {
                self.drop_socket(None).await;
                let generation = self.generation;
                let url = self.url.clone();
                let tx = self.from_sockets.0.clone();
                tokio::spawn(async move {
                    let connected = tokio::time::timeout(
                        Duration::from_secs(5),
                        tokio_tungstenite::connect_async(url),
                    )
                    .await;
                    let Ok(Ok((ws, _))) = connected else {
                        let _ = tx.send((generation, SocketEvent::Closed(CLOSE_ABNORMAL)));
                        return;
                    };
                    let (sink, mut stream) = ws.split();
                    let _ = tx.send((generation, SocketEvent::Opened(sink)));
                    let code = loop {
                        match stream.next().await {
                            Some(Ok(Message::Text(text))) => {
                                if let Ok(msg) = serde_json::from_str::<ServerMsg>(text.as_str()) {
                                    let _ = tx.send((generation, SocketEvent::Message(msg)));
                                }
                            }
                            Some(Ok(Message::Close(frame))) => {
                                break frame.map_or(1005, |f| u16::from(f.code));
                            }
                            Some(Ok(_)) => {}
                            Some(Err(_)) | None => break CLOSE_ABNORMAL,
                        }
                    };
                    let _ = tx.send((generation, SocketEvent::Closed(code)));
                });
            }
            Output::CloseSocket => self.drop_socket(Some(1000)).await,
            Output::AbandonSocket => self.drop_socket(Some(CLOSE_RECONNECTING)).await,
            Output::Send(msg) => {
                if let Some(sink) = &mut self.socket {
                    let text = serde_json::to_string(&msg).expect("messages serialize");
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        // The reader reports the end.
                    }
                }
            }
            Output::SetTimer { timer, at } => {
                let delay = at.saturating_sub(self.now());
                self.timers
                    .insert(timer, Instant::now() + Duration::from_millis(delay));
            }
            Output::CancelTimer(timer) => {
                self.timers.remove(&timer);
            }
            Output::Event(event) => {
                let now = self.now();
                self.events.lock().unwrap().push((now, event));
            }
            Output::Media(command) => fake_media(command, media),
        }
    }

    /// Forgets the current socket (its later events are ignored), closing it with `code`.
    async fn drop_socket(&mut self, code: Option<u16>) {
        self.generation += 1;
        if let Some(mut sink) = self.socket.take() {
            if let Some(code) = code {
                let frame = CloseFrame {
                    code: CloseCode::from(code),
                    reason: "".into(),
                };
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    sink.send(Message::Close(Some(frame))),
                )
                .await;
            }
        }
    }
}

/// The media layer, faked: the microphone opens at once, an offer is answered at once, and the
/// path connects as soon as each side has both descriptions.
fn fake_media(command: MediaCommand, media: &mut Vec<Input>) {
    let signal = |signal| Input::Media(MediaEvent::LocalSignal(signal));
    match command {
        MediaCommand::StartMic => media.push(Input::Media(MediaEvent::MicReady)),
        MediaCommand::CreatePeer { offer: true, .. } => media.push(signal(Signal::Offer {
            sdp: "sim offer".into(),
        })),
        MediaCommand::RestartIce { .. } => media.push(signal(Signal::Offer {
            sdp: "sim restart".into(),
        })),
        MediaCommand::ApplySignal(Signal::Offer { .. }) => {
            media.push(signal(Signal::Answer {
                sdp: "sim answer".into(),
            }));
            media.push(Input::Media(MediaEvent::Connected));
        }
        MediaCommand::ApplySignal(Signal::Answer { .. }) => {
            media.push(Input::Media(MediaEvent::Connected))
        }
        MediaCommand::CreatePeer { offer: false, .. }
        | MediaCommand::ApplySignal(Signal::Ice { .. })
        | MediaCommand::AttachMic
        | MediaCommand::SetMicMuted(_)
        | MediaCommand::Close
        // No media: no statistics to read, no tone to play, no mute to negotiate.
        | MediaCommand::SampleStats
        | MediaCommand::Tone(_)
        | MediaCommand::ApplySignal(Signal::Mute { .. }) => {}
    }
}
