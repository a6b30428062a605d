//! Keeping the audio of a call that connected: interruptions, ICE restarts and the limit.
//!
//! A connected call's path can break: a network change, Wi-Fi to cellular, a NAT binding that
//! expired, a TURN server that restarted. The browser then reports the peer connection
//! "disconnected" (no packets for a few seconds; it may come back by itself) or "failed". The
//! machine then:
//!
//! - tells the app ([`CallEvent::AudioInterrupted`]) and the server
//!   (`ClientMsg::MediaInterrupted`: the server ends the call at once if the other party's
//!   connection is gone too, so a vanished peer is noticed quickly);
//! - on the caller's side, restarts ICE ([`MediaCommand::RestartIce`], with this session's
//!   latest ICE servers, so that expired TURN credentials are renewed) after
//!   [`ICE_RESTART_AFTER_MS`] of "disconnected", at once on "failed", and again every
//!   [`ICE_RESTART_RETRY_MS`] while the path stays down and the server is reachable. Only the
//!   caller offers, so the two sides never offer at once; the callee answers its offer as
//!   usual;
//! - ends the call as "connection lost" when the path is not back within
//!   [`MEDIA_LOST_AFTER_MS`].
//!
//! When the path is back ("connected" again), the timers stop and both the app
//! ([`CallEvent::AudioRestored`]) and the server (`MediaConnected`) hear it.
//!
//! A path that never connected is not interrupted: it fails as before (the server's connect
//! limit, or a refused relay).

use webcall_protocol::ClientMsg;

use super::reconnect::Link;
use super::{Call, Machine, MediaCommand, Millis, Output, Session, Timer};
use crate::CallEvent;

/// How long the path may stay "disconnected" before the caller restarts ICE.
pub const ICE_RESTART_AFTER_MS: Millis = 2_000;

/// How often the caller restarts ICE again while the path stays down: often enough that audio
/// is back within about this long of the path returning (gathering and checks take well under
/// a second on most paths), seldom enough that a restart finishes before the next.
pub const ICE_RESTART_RETRY_MS: Millis = 2_000;

/// How long a connected call's path may stay down before the call ends as "connection lost".
pub const MEDIA_LOST_AFTER_MS: Millis = 30_000;

/// Why a call ends when its audio path could not be restored.
pub(super) const CONNECTION_LOST: &str = "connection lost";

impl Machine {
    /// The peer connection went "disconnected" (`failed: false`) or "failed".
    pub(super) fn media_down(&mut self, now: Millis, failed: bool) {
        let Call::Active {
            call_id,
            connected,
            interrupted,
            caller,
            ..
        } = &mut self.call
        else {
            if failed && self.call.has_media() {
                self.end_call_failed(now, "the audio connection failed");
            }
            return;
        };
        if !*connected {
            // It never connected: nothing to restore.
            if failed {
                self.end_call_failed(now, "the audio connection failed");
            }
            return;
        }
        let caller = *caller;
        if interrupted.is_none() {
            *interrupted = Some(now);
            let call_id = call_id.clone();
            self.send(ClientMsg::MediaInterrupted {
                call_id: call_id.clone(),
            });
            self.out(Output::SetTimer {
                timer: Timer::MediaLost,
                at: now + MEDIA_LOST_AFTER_MS,
            });
            self.event(CallEvent::AudioInterrupted { call_id });
        }
        if caller {
            let wait = if failed { 0 } else { ICE_RESTART_AFTER_MS };
            self.out(Output::SetTimer {
                timer: Timer::IceRestart,
                at: now + wait,
            });
        }
    }

    /// The peer connection is "connected" again after an interruption.
    pub(super) fn media_restored(&mut self) {
        let Call::Active {
            call_id,
            interrupted,
            ..
        } = &mut self.call
        else {
            return;
        };
        if interrupted.take().is_none() {
            return;
        }
        let call_id = call_id.clone();
        self.out(Output::CancelTimer(Timer::IceRestart));
        self.out(Output::CancelTimer(Timer::MediaLost));
        self.send(ClientMsg::MediaConnected {
            call_id: call_id.clone(),
        });
        self.event(CallEvent::AudioRestored { call_id });
    }

    /// [`Timer::IceRestart`]: the caller restarts ICE, while the path is down, whenever the
    /// server can carry the offer; and plans the next try.
    pub(super) fn ice_restart_due(&mut self, now: Millis) {
        let Call::Active {
            interrupted: Some(_),
            caller: true,
            ..
        } = &self.call
        else {
            return;
        };
        self.out(Output::SetTimer {
            timer: Timer::IceRestart,
            at: now + ICE_RESTART_RETRY_MS,
        });
        // An offer that waited out a reconnection could cross a later one; the next try after
        // the reconnection makes it.
        let Session::LoggedIn {
            link: Link::Up,
            ice_servers,
            relay_only,
            ..
        } = &self.session
        else {
            return;
        };
        let command = MediaCommand::RestartIce {
            ice_servers: ice_servers.clone(),
            relay_only: *relay_only,
        };
        self.out(Output::Media(command));
    }

    /// A new session after a lost connection: the server that held the caller's offer (and
    /// candidates) until the callee accepted, or was relaying them, may have died with them. A
    /// caller whose call rings, or is accepted but not connected yet, negotiates again with a
    /// fresh offer (an ICE restart of the same peer connection), which the new server holds or
    /// relays in turn.
    ///
    /// Returns whether it does: the signals of the old negotiation still waiting to go out are
    /// then void (an offer superseded, candidates of old ICE credentials).
    pub(super) fn needs_new_offer(&self) -> bool {
        matches!(
            self.call,
            Call::Dialing { .. }
                | Call::Active {
                    caller: true,
                    connected: false,
                    ..
                }
        )
    }

    /// Negotiates again after a new session, when [`needs_new_offer`](Self::needs_new_offer).
    pub(super) fn renegotiate_after_new_session(&mut self) {
        let again = matches!(
            self.call,
            Call::Dialing { .. }
                | Call::Active {
                    caller: true,
                    connected: false,
                    ..
                }
        );
        let Session::LoggedIn {
            ice_servers,
            relay_only,
            ..
        } = &self.session
        else {
            return;
        };
        if again {
            let command = MediaCommand::RestartIce {
                ice_servers: ice_servers.clone(),
                relay_only: *relay_only,
            };
            self.out(Output::Media(command));
        }
    }

    /// [`Timer::MediaLost`]: the path did not come back in time.
    pub(super) fn media_lost_due(&mut self, now: Millis) {
        if matches!(
            self.call,
            Call::Active {
                interrupted: Some(_),
                ..
            }
        ) {
            self.end_call_failed(now, CONNECTION_LOST);
        }
    }

    /// Stops the recovery timers (the call is over).
    pub(super) fn stop_recovery(&mut self) {
        self.out(Output::CancelTimer(Timer::IceRestart));
        self.out(Output::CancelTimer(Timer::MediaLost));
    }
}
