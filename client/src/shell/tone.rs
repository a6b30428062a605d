//! Call-progress tones, synthesized with Web Audio: no sound file to download, nothing on the
//! first load. The ringback is China's (450 Hz, 1 s on, 4 s off, as TRTCCalling's users know
//! it); the ringtone a soft two-tone double ring (440 + 480 Hz, 0.4 s on, 0.2 s off, 0.4 s on,
//! 2 s off).
//!
//! The whole cadence is scheduled on the audio clock when the tone starts, so no timer or JS
//! closure runs while it plays; dropping the [`TonePlayer`] closes its `AudioContext`, which
//! stops it at once. Browsers only let a page make sound after the user interacted with it
//! (autoplay rules): a context that stays suspended plays nothing, and the call still rings
//! visibly.

use web_sys::{AudioContext, AudioContextState, GainNode};

use crate::machine::Tone;

/// How long a tone is scheduled for: longer than the longest ring (120 s).
const SCHEDULE_SECS: f64 = 130.0;
/// Loud enough to hear, soft enough not to startle.
const LEVEL: f32 = 0.08;
/// The fade at each edge, against clicks.
const RAMP_SECS: f64 = 0.015;

/// A tone playing; silent once dropped.
pub(crate) struct TonePlayer {
    context: AudioContext,
}

impl TonePlayer {
    /// Starts `tone`; `None` when the browser has no Web Audio.
    pub(crate) fn start(tone: Tone) -> Option<TonePlayer> {
        let context = AudioContext::new().ok()?;
        let player = TonePlayer { context };
        let (frequencies, period, bursts): (&[f32], f64, &[(f64, f64)]) = match tone {
            Tone::Ringback => (&[450.0], 5.0, &[(0.0, 1.0)]),
            Tone::Ringtone => (&[440.0, 480.0], 3.0, &[(0.0, 0.4), (0.6, 0.4)]),
        };
        let gain = player.context.create_gain().ok()?;
        gain.connect_with_audio_node(&player.context.destination())
            .ok()?;
        schedule(&gain, player.context.current_time(), period, bursts).ok()?;
        for &frequency in frequencies {
            let oscillator = player.context.create_oscillator().ok()?;
            oscillator.frequency().set_value(frequency);
            oscillator.connect_with_audio_node(&gain).ok()?;
            oscillator.start().ok()?;
        }
        if player.context.state() == AudioContextState::Suspended {
            // Allowed once the user has interacted with the page; refused silently otherwise.
            let _ = player.context.resume();
        }
        Some(player)
    }
}

/// Schedules the bursts (start, length within each `period`) from `start` on.
fn schedule(
    gain: &GainNode,
    start: f64,
    period: f64,
    bursts: &[(f64, f64)],
) -> Result<(), wasm_bindgen::JsValue> {
    let level = gain.gain();
    level.set_value_at_time(0.0, start)?;
    let mut cycle = start + 0.05;
    while cycle < start + SCHEDULE_SECS {
        for &(at, length) in bursts {
            let on = cycle + at;
            level.set_value_at_time(0.0, on)?;
            level.linear_ramp_to_value_at_time(LEVEL, on + RAMP_SECS)?;
            level.set_value_at_time(LEVEL, on + length - RAMP_SECS)?;
            level.linear_ramp_to_value_at_time(0.0, on + length)?;
        }
        cycle += period;
    }
    Ok(())
}

impl Drop for TonePlayer {
    fn drop(&mut self) {
        let _ = self.context.close();
    }
}
