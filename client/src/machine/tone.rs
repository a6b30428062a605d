//! Which call-progress tone plays: the ringback while the caller's call rings on at least one
//! of the callee's devices, the ringtone while a call rings here, silence otherwise.
//!
//! The tone follows from the call's state alone and is settled after every input, so that
//! every way a ringing call ends (accepted, rejected, cancelled, timed out, answered
//! elsewhere, a lost connection, a logout) stops it without each of them having to.

use super::{Call, Machine, MediaCommand, Output, Tone};

impl Machine {
    /// Starts, changes or stops the tone to match the call.
    pub(super) fn settle_tone(&mut self) {
        let wanted = match &self.call {
            Call::Dialing { ringing, .. } if *ringing > 0 => Some(Tone::Ringback),
            Call::Incoming { .. } => Some(Tone::Ringtone),
            _ => None,
        };
        if wanted != self.tone {
            self.tone = wanted;
            self.out(Output::Media(MediaCommand::Tone(wanted)));
        }
    }
}
