//! The `RTCPeerConnection` of one call and the `<audio>` element that plays the other side.
//!
//! Negotiation runs one step at a time, in order (local offers, ICE restarts, remote offers,
//! answers and candidates): a second offer never lands while the answer to the first is being
//! made, and an answer to an offer a later one replaced is dropped. Remote ICE candidates that
//! arrive before the remote description are held and added once it is set. STUN/TURN server failures (`icecandidateerror`) and the end of candidate gathering
//! are reported too. Dropping the peer removes its handlers, closes the connection and removes
//! the audio element.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;

use js_sys::{Array, Reflect};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::{spawn_local, JsFuture};
use web_sys::{
    HtmlAudioElement, MediaStream, RtcConfiguration, RtcIceCandidateInit, RtcIceServer,
    RtcIceTransportPolicy, RtcOfferOptions, RtcPeerConnection, RtcPeerConnectionIceErrorEvent,
    RtcPeerConnectionIceEvent, RtcPeerConnectionState, RtcRtpTransceiver,
    RtcRtpTransceiverDirection, RtcSdpType, RtcSessionDescriptionInit, RtcSignalingState,
    RtcTrackEvent,
};
use webcall_protocol::{IceServer, Signal};

use super::mic::Mic;
use crate::IceServerError;

/// What the peer reports to its owner.
pub(crate) enum PeerEvent {
    /// A local offer, answer or ICE candidate for the other party.
    Signal(Signal),
    Connected,
    /// `connectionState` "disconnected": the path stopped carrying packets, maybe for a moment.
    Disconnected,
    Failed,
    Error(String),
    /// The call's verification code, computed once the connection connected.
    VerificationCode(String),
    /// A STUN or TURN server failed (`icecandidateerror`).
    IceServerFailed(IceServerError),
    /// All local candidates are gathered (`icecandidate` without a candidate).
    GatheringComplete,
}

type Report = Rc<dyn Fn(PeerEvent)>;

/// State shared with the peer's pending async steps.
struct Shared {
    pc: RtcPeerConnection,
    report: Report,
    remote_set: Cell<bool>,
    pending_ice: RefCell<Vec<RtcIceCandidateInit>>,
    closed: Cell<bool>,
    /// Negotiation steps waiting for the one running (see [`Step`]).
    steps: RefCell<VecDeque<Step>>,
    /// Whether a step is running.
    stepping: Cell<bool>,
}

/// One call's peer connection. See the module docs.
pub(crate) struct Peer {
    shared: Rc<Shared>,
    audio: HtmlAudioElement,
    _on_ice: Closure<dyn FnMut(RtcPeerConnectionIceEvent)>,
    _on_state: Closure<dyn FnMut()>,
    _on_track: Closure<dyn FnMut(RtcTrackEvent)>,
    /// An event listener (there is no `onicecandidateerror` setter): removed on drop.
    on_ice_error: Closure<dyn FnMut(RtcPeerConnectionIceErrorEvent)>,
}

impl Peer {
    /// Creates the connection, with the microphone's track when it is open already, reporting
    /// to `report`. With `relay_only`, it uses relayed (TURN) candidates only.
    pub(crate) fn new(
        ice_servers: &[IceServer],
        relay_only: bool,
        mic: Option<&Mic>,
        report: impl Fn(PeerEvent) + 'static,
    ) -> Result<Peer, String> {
        let config = configuration(ice_servers, relay_only);
        let pc = RtcPeerConnection::new_with_configuration(&config)
            .map_err(|e| format!("cannot create a peer connection: {e:?}"))?;
        if let Some(mic) = mic {
            for track in mic.tracks() {
                pc.add_track_0(&track, mic.stream());
            }
        }

        let document = web_sys::window()
            .and_then(|w| w.document())
            .ok_or("no document")?;
        let audio = HtmlAudioElement::new().map_err(|e| format!("no audio element: {e:?}"))?;
        audio.set_autoplay(true);
        if let Some(body) = document.body() {
            let _ = body.append_child(&audio);
        }

        let shared = Rc::new(Shared {
            pc: pc.clone(),
            report: Rc::new(report),
            remote_set: Cell::new(false),
            pending_ice: RefCell::new(Vec::new()),
            closed: Cell::new(false),
            steps: RefCell::new(VecDeque::new()),
            stepping: Cell::new(false),
        });
        let on_ice = {
            let shared = shared.clone();
            Closure::<dyn FnMut(RtcPeerConnectionIceEvent)>::new(
                move |event: RtcPeerConnectionIceEvent| {
                    let Some(candidate) = event.candidate() else {
                        (shared.report)(PeerEvent::GatheringComplete);
                        return;
                    };
                    if candidate.candidate().is_empty() {
                        return;
                    }
                    (shared.report)(PeerEvent::Signal(Signal::Ice {
                        candidate: candidate.candidate(),
                        sdp_mid: candidate.sdp_mid(),
                        sdp_m_line_index: candidate.sdp_m_line_index(),
                    }));
                },
            )
        };
        let on_state = {
            let shared = shared.clone();
            Closure::<dyn FnMut()>::new(move || match shared.pc.connection_state() {
                RtcPeerConnectionState::Connected => {
                    (shared.report)(PeerEvent::Connected);
                    shared.report_verification_code();
                }
                RtcPeerConnectionState::Disconnected => (shared.report)(PeerEvent::Disconnected),
                RtcPeerConnectionState::Failed => (shared.report)(PeerEvent::Failed),
                _ => {}
            })
        };
        let on_track = {
            let audio = audio.clone();
            Closure::<dyn FnMut(RtcTrackEvent)>::new(move |event: RtcTrackEvent| {
                let stream = match event.streams().get(0).dyn_into::<MediaStream>() {
                    Ok(stream) => stream,
                    Err(_) => {
                        let Ok(stream) = MediaStream::new() else {
                            return;
                        };
                        stream.add_track(&event.track());
                        stream
                    }
                };
                audio.set_src_object(Some(&stream));
                if let Ok(playing) = audio.play() {
                    spawn_local(async move {
                        if let Err(e) = JsFuture::from(playing).await {
                            super::log_warn(&format!("remote audio did not start: {e:?}"));
                        }
                    });
                }
            })
        };
        pc.set_onicecandidate(Some(on_ice.as_ref().unchecked_ref()));
        pc.set_onconnectionstatechange(Some(on_state.as_ref().unchecked_ref()));
        let on_ice_error = {
            let shared = shared.clone();
            Closure::<dyn FnMut(RtcPeerConnectionIceErrorEvent)>::new(
                move |event: RtcPeerConnectionIceErrorEvent| {
                    let error = IceServerError {
                        url: event.url(),
                        code: event.error_code(),
                        text: event.error_text(),
                    };
                    super::log_warn(&format!("ICE server failure: {error}"));
                    (shared.report)(PeerEvent::IceServerFailed(error));
                },
            )
        };
        pc.set_ontrack(Some(on_track.as_ref().unchecked_ref()));
        if let Err(e) = pc.add_event_listener_with_callback(
            "icecandidateerror",
            on_ice_error.as_ref().unchecked_ref(),
        ) {
            // The call still works; only its STUN/TURN failures go unreported.
            super::log_warn(&format!(
                "cannot listen for ICE server errors: {}",
                js_message(&e)
            ));
        }
        Ok(Peer {
            shared,
            audio,
            _on_ice: on_ice,
            _on_state: on_state,
            _on_track: on_track,
            on_ice_error,
        })
    }

    /// Creates and sets a local offer, then reports it.
    pub(crate) fn offer(&self) {
        self.shared.enqueue(Step::Offer { ice_restart: false });
    }

    /// Restarts ICE: takes `ice_servers` (fresh TURN credentials) and then creates, sets and
    /// reports an offer with new ICE credentials, which the other side answers as usual. The
    /// DTLS session, and so the verification code, stay the same.
    pub(crate) fn restart_ice(&self, ice_servers: &[IceServer], relay_only: bool) {
        if let Err(e) = self
            .shared
            .pc
            .set_configuration_with_configuration(&configuration(ice_servers, relay_only))
        {
            // The old credentials may still do.
            super::log_warn(&format!(
                "cannot update the ICE servers: {}",
                js_message(&e)
            ));
        }
        self.shared.enqueue(Step::Offer { ice_restart: true });
    }

    /// Sends the microphone that opened after the connection was created. Before the remote
    /// offer is applied the track is simply added (the offer then takes its transceiver); after,
    /// it replaces the silent sender of the audio transceiver the offer created, which the
    /// answer already declared `sendrecv`: no renegotiation either way.
    pub(crate) fn attach_mic(&self, mic: &Mic) {
        let pc = &self.shared.pc;
        let Some(track) = mic.tracks().next() else {
            return;
        };
        if pc.remote_description().is_none() {
            pc.add_track_0(&track, mic.stream());
            return;
        }
        for transceiver in pc.get_transceivers() {
            let transceiver: RtcRtpTransceiver = transceiver.unchecked_into();
            if transceiver.receiver().track().kind() == "audio" {
                let replaced = transceiver.sender().replace_track(Some(&track));
                let shared = self.shared.clone();
                spawn_local(async move {
                    if let Err(e) = JsFuture::from(replaced).await {
                        shared.fail(e);
                    }
                });
                return;
            }
        }
    }

    /// Sends `mic` instead of the microphone sent now (a device switch), without
    /// renegotiating: `replaceTrack` on the audio sender.
    pub(crate) fn switch_mic(&self, mic: &Mic) {
        let Some(track) = mic.tracks().next() else {
            return;
        };
        let sending = self.shared.pc.get_senders().iter().find_map(|sender| {
            let sender: web_sys::RtcRtpSender = sender.unchecked_into();
            sender.track().is_some().then_some(sender)
        });
        let Some(sender) = sending else {
            // Nothing sent yet: the new microphone is simply the first.
            self.attach_mic(mic);
            return;
        };
        let replaced = sender.replace_track(Some(&track));
        let shared = self.shared.clone();
        spawn_local(async move {
            if let Err(e) = JsFuture::from(replaced).await {
                shared.fail(e);
            }
        });
    }

    /// The connection, for its statistics.
    pub(crate) fn connection(&self) -> &RtcPeerConnection {
        &self.shared.pc
    }

    /// The element that plays the other side, for the speaker choice.
    pub(crate) fn audio(&self) -> &HtmlAudioElement {
        &self.audio
    }

    /// Applies a signal from the other party, after every negotiation step before it.
    pub(crate) fn apply(&self, signal: Signal) {
        self.shared.enqueue(Step::Remote(signal));
    }
}

/// One step of the negotiation. Steps run one at a time, in order: an offer that comes while
/// the answer to the one before is still being made waits for it, rather than changing the
/// connection's state under its feet.
enum Step {
    /// Create, set and report a local offer (with new ICE credentials: `ice_restart`).
    Offer { ice_restart: bool },
    /// Apply a signal from the other party.
    Remote(Signal),
}

impl Shared {
    /// Runs `step` after the steps queued before it.
    fn enqueue(self: &Rc<Self>, step: Step) {
        self.steps.borrow_mut().push_back(step);
        if self.stepping.replace(true) {
            return; // The running loop takes it.
        }
        let shared = self.clone();
        spawn_local(async move {
            loop {
                let Some(step) = shared.steps.borrow_mut().pop_front() else {
                    break;
                };
                if shared.closed.get() {
                    shared.steps.borrow_mut().clear();
                    break;
                }
                shared.run(step).await;
            }
            shared.stepping.set(false);
        });
    }

    async fn run(self: &Rc<Self>, step: Step) {
        match step {
            Step::Offer { ice_restart } => {
                let result = async {
                    let offer = if ice_restart {
                        let options = RtcOfferOptions::new();
                        options.set_ice_restart(true);
                        self.pc.create_offer_with_rtc_offer_options(&options)
                    } else {
                        self.pc.create_offer()
                    };
                    let sdp = sdp_of(&JsFuture::from(offer).await?);
                    set_local(&self.pc, RtcSdpType::Offer, &sdp).await?;
                    Ok::<_, JsValue>(sdp)
                }
                .await;
                self.finish(result.map(|sdp| Signal::Offer { sdp }));
            }
            Step::Remote(Signal::Offer { sdp }) => {
                let result = async {
                    set_remote(self, RtcSdpType::Offer, &sdp).await?;
                    // Answer to send audio even if the microphone is not open yet.
                    for transceiver in self.pc.get_transceivers() {
                        let transceiver: RtcRtpTransceiver = transceiver.unchecked_into();
                        transceiver.set_direction(RtcRtpTransceiverDirection::Sendrecv);
                    }
                    let answer = JsFuture::from(self.pc.create_answer()).await?;
                    let sdp = sdp_of(&answer);
                    set_local(&self.pc, RtcSdpType::Answer, &sdp).await?;
                    Ok::<_, JsValue>(sdp)
                }
                .await;
                self.finish(result.map(|sdp| Signal::Answer { sdp }));
            }
            Step::Remote(Signal::Answer { sdp }) => {
                if self.pc.signaling_state() == RtcSignalingState::Stable {
                    // The answer to an offer a later one replaced: that one's answer counts.
                    super::log_warn("ignored an answer to an offer that is no longer pending");
                    return;
                }
                if let Err(e) = set_remote(self, RtcSdpType::Answer, &sdp).await {
                    self.fail(e);
                }
            }
            Step::Remote(Signal::Ice {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            }) => {
                let init = RtcIceCandidateInit::new(&candidate);
                init.set_sdp_mid(sdp_mid.as_deref());
                init.set_sdp_m_line_index(sdp_m_line_index);
                if self.remote_set.get() {
                    add_ice(self, init);
                } else {
                    self.pending_ice.borrow_mut().push(init);
                }
            }
            // The machine keeps mutes for itself; nothing to negotiate.
            Step::Remote(Signal::Mute { .. }) => {}
        }
    }

    /// Reports the local description, or the failure to make one.
    fn finish(&self, result: Result<Signal, JsValue>) {
        match result {
            Ok(signal) if !self.closed.get() => (self.report)(PeerEvent::Signal(signal)),
            Ok(_) => {}
            Err(e) => self.fail(e),
        }
    }

    /// Computes the verification code from the local and the remote description and reports
    /// it, unless the peer is closed by then. A code that can not be computed is only logged:
    /// the call goes on without one.
    fn report_verification_code(self: &Rc<Self>) {
        let computed = super::verify::verification_code(&self.pc);
        let shared = self.clone();
        spawn_local(async move {
            match computed.await {
                Ok(Some(code)) if !shared.closed.get() => {
                    (shared.report)(PeerEvent::VerificationCode(code))
                }
                Ok(Some(_)) => {}
                Ok(None) => super::log_warn("no DTLS fingerprint: no verification code"),
                Err(e) => super::log_warn(&format!("no verification code: {}", js_message(&e))),
            }
        });
    }

    fn fail(&self, error: JsValue) {
        if !self.closed.get() {
            let message = js_message(&error);
            super::log_warn(&format!("peer connection: {message}"));
            (self.report)(PeerEvent::Error(message));
        }
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        self.shared.closed.set(true);
        let pc = &self.shared.pc;
        pc.set_onicecandidate(None);
        pc.set_onconnectionstatechange(None);
        pc.set_ontrack(None);
        let _ = pc.remove_event_listener_with_callback(
            "icecandidateerror",
            self.on_ice_error.as_ref().unchecked_ref(),
        );
        pc.close();
        let _ = self.audio.pause();
        self.audio.set_src_object(None);
        self.audio.remove();
    }
}

/// Sets the remote description, then adds the candidates that waited for it.
async fn set_remote(shared: &Rc<Shared>, kind: RtcSdpType, sdp: &str) -> Result<(), JsValue> {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    JsFuture::from(shared.pc.set_remote_description(&init)).await?;
    shared.remote_set.set(true);
    let pending = std::mem::take(&mut *shared.pending_ice.borrow_mut());
    for init in pending {
        add_ice(shared, init);
    }
    Ok(())
}

async fn set_local(pc: &RtcPeerConnection, kind: RtcSdpType, sdp: &str) -> Result<(), JsValue> {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    JsFuture::from(pc.set_local_description(&init)).await?;
    Ok(())
}

fn add_ice(shared: &Rc<Shared>, init: RtcIceCandidateInit) {
    let promise = shared
        .pc
        .add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init));
    spawn_local(async move {
        // A candidate the browser refuses costs one path, not the call.
        if let Err(e) = JsFuture::from(promise).await {
            super::log_warn(&format!("ICE candidate refused: {}", js_message(&e)));
        }
    });
}

/// The peer connection's configuration: `ice_servers`, and only relayed candidates with
/// `relay_only`. (The device check's relay test uses it too.)
pub(crate) fn configuration(ice_servers: &[IceServer], relay_only: bool) -> RtcConfiguration {
    let config = RtcConfiguration::new();
    let servers = Array::new();
    for server in ice_servers {
        let entry = RtcIceServer::new();
        let urls: Array = server.urls.iter().map(|u| JsValue::from_str(u)).collect();
        entry.set_urls(&urls);
        if let Some(username) = &server.username {
            entry.set_username(username);
        }
        if let Some(credential) = &server.credential {
            entry.set_credential(credential);
        }
        servers.push(&entry);
    }
    config.set_ice_servers(&servers);
    if relay_only {
        config.set_ice_transport_policy(RtcIceTransportPolicy::Relay);
    }
    config
}

fn sdp_of(description: &JsValue) -> String {
    Reflect::get(description, &"sdp".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default()
}

fn js_message(error: &JsValue) -> String {
    Reflect::get(error, &"message".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_else(|| format!("{error:?}"))
}
