//! The microphone's level where the statistics lack it: Firefox has no `media-source` stats, so
//! its `audioLevel` is read here from the microphone's own samples, through an `AnalyserNode`
//! that is never played back.
//!
//! Created only when a sample came without a local level, for the microphone then open (and
//! replaced with it); dropping it closes its `AudioContext`.

use web_sys::{AnalyserNode, AudioContext, MediaStream, MediaStreamAudioSourceNode};

/// Reads the peak level (0.0–1.0) of one microphone stream.
pub(crate) struct LevelReader {
    context: AudioContext,
    /// Held: Firefox lets a source node nobody references fall silent.
    _source: MediaStreamAudioSourceNode,
    analyser: AnalyserNode,
    samples: Vec<f32>,
}

impl LevelReader {
    /// Starts reading `stream`; `None` without Web Audio.
    pub(crate) fn new(stream: &MediaStream) -> Option<LevelReader> {
        let context = AudioContext::new().ok()?;
        let reader = |context: &AudioContext| {
            let source = context.create_media_stream_source(stream).ok()?;
            let analyser = context.create_analyser().ok()?;
            analyser.set_fft_size(2048);
            source.connect_with_audio_node(&analyser).ok()?;
            Some((source, analyser))
        };
        let Some((source, analyser)) = reader(&context) else {
            let _ = context.close();
            return None;
        };
        let samples = vec![0.0; analyser.fft_size() as usize];
        // Reading needs a running context; a suspended one (no user gesture yet) reads silence.
        let _ = context.resume();
        Some(LevelReader {
            context,
            _source: source,
            analyser,
            samples,
        })
    }

    /// The peak of the last 2048 samples.
    pub(crate) fn level(&mut self) -> f64 {
        self.analyser.get_float_time_domain_data(&mut self.samples);
        let peak = self.samples.iter().fold(0.0f32, |m, s| m.max(s.abs()));
        f64::from(peak.min(1.0))
    }
}

impl Drop for LevelReader {
    fn drop(&mut self) {
        let _ = self.context.close();
    }
}
