//! What the media layer reports ([`MediaEvent`]): the microphone opening or failing, the peer
//! connection's signals, its connection and its failure, and the call's verification code.
//! STUN/TURN server failures and the end of candidate gathering are handled in `ice`.
//!
//! The machine only commands the media layer ([`MediaCommand`]); these results move the call on
//! (the caller's offer goes out once the microphone is open) or end it as failed.

use webcall_protocol::ClientMsg;

use super::{Call, Machine, MediaCommand, MediaEvent, Millis, Output};
use crate::CallEvent;

impl Machine {
    pub(super) fn media_event(&mut self, now: Millis, event: MediaEvent) {
        match event {
            MediaEvent::MicReady => match &mut self.call {
                // The call does not exist yet: its peer connection is created with it.
                Call::Inviting { mic_ready, .. } => *mic_ready = true,
                // The caller's call exists (and may be accepted already) and waited for the
                // microphone to offer it.
                Call::Dialing { .. } | Call::Active { caller: true, .. } => self.create_peer(true),
                // The callee's microphone, opened while the call connected.
                Call::Accepting { .. } | Call::Active { .. } => {
                    self.out(Output::Media(MediaCommand::AttachMic))
                }
                _ => {}
            },
            MediaEvent::MicFailed(error) => {
                let ringing = matches!(self.call, Call::Inviting { .. } | Call::Dialing { .. });
                let in_call = matches!(self.call, Call::Accepting { .. } | Call::Active { .. });
                if !ringing && !in_call {
                    return;
                }
                self.event(CallEvent::Error {
                    code: error.code(),
                    message: error.to_string(),
                });
                if in_call {
                    self.end_call_failed(now, "the microphone could not be opened");
                } else {
                    // The invitation is withdrawn as if the user had hung up.
                    let _ = self.hangup(now);
                }
            }
            MediaEvent::LocalSignal(signal) => {
                if let Call::Dialing { call_id, .. }
                | Call::Accepting { call_id, .. }
                | Call::Active { call_id, .. } = &self.call
                {
                    let call_id = call_id.clone();
                    self.local_candidate(&signal);
                    self.send(ClientMsg::Signal { call_id, signal });
                }
            }
            MediaEvent::Connected => {
                if let Call::Active {
                    call_id,
                    connected,
                    peer,
                    ..
                } = &mut self.call
                {
                    if !*connected {
                        *connected = true;
                        let call_id = call_id.clone();
                        let user_id = peer.clone();
                        self.send(ClientMsg::MediaConnected { call_id });
                        self.event(CallEvent::UserEnter { user_id });
                    } else {
                        self.media_restored();
                    }
                }
            }
            // Interruptions and ICE restarts: see `recovery`.
            MediaEvent::Disconnected => self.media_down(now, false),
            MediaEvent::Failed => self.media_down(now, true),
            MediaEvent::VerificationCode(code) => {
                // Only an accepted call has one: the audio connects after the accept. The
                // browser may report "connected" again (after a network change); the code then
                // is the same and goes unsaid.
                if let Call::Active {
                    call_id,
                    verification_code,
                    ..
                } = &mut self.call
                {
                    if verification_code.as_ref() != Some(&code) {
                        *verification_code = Some(code.clone());
                        let call_id = call_id.clone();
                        self.event(CallEvent::VerificationCode { call_id, code });
                    }
                }
            }
            MediaEvent::Error(message) => {
                if self.call.has_media() {
                    self.event(CallEvent::Error {
                        code: 60002,
                        message: format!("call setup failed: {message}"),
                    });
                    self.end_call_failed(now, "call setup failed");
                }
            }
            // STUN/TURN: see `ice`.
            MediaEvent::IceServerFailed(error) => self.ice_server_failed(now, error),
            MediaEvent::GatheringComplete => self.gathering_complete(now),
            // Volume and network quality: see `quality`.
            MediaEvent::Stats(sample) => self.stats_sampled(now, sample),
        }
    }
}
