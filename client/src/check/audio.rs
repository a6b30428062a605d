//! The `AudioContext` of one check: running before it is used, closed when dropped.

use wasm_bindgen::JsValue;
use web_sys::{AudioContext, AudioContextState};

use super::wait::{js_message, within};
use super::CheckError;

/// How long a suspended context gets to start running.
const RESUME_MS: f64 = 1000.0;

/// A running `AudioContext`, closed on drop.
pub(crate) struct Audio {
    ctx: AudioContext,
}

impl Audio {
    /// Creates a context and waits until it runs. A context that stays suspended means the
    /// browser holds audio back until the user interacts with the page
    /// ([`CheckError::AudioBlocked`]).
    pub(crate) async fn open() -> Result<Audio, CheckError> {
        let window = web_sys::window().ok_or(CheckError::NotSupported("a window"))?;
        let exists =
            js_sys::Reflect::get(&window, &"AudioContext".into()).is_ok_and(|v| !v.is_undefined());
        if !exists {
            return Err(CheckError::NotSupported("Web Audio (AudioContext)"));
        }
        let ctx = AudioContext::new().map_err(|e| CheckError::Audio(js_message(&e)))?;
        let audio = Audio { ctx };
        if audio.ctx.state() != AudioContextState::Running {
            if let Ok(resumed) = audio.ctx.resume() {
                let _ = within(resumed, RESUME_MS).await;
            }
            if audio.ctx.state() != AudioContextState::Running {
                return Err(CheckError::AudioBlocked);
            }
        }
        Ok(audio)
    }

    pub(crate) fn context(&self) -> &AudioContext {
        &self.ctx
    }
}

impl Drop for Audio {
    fn drop(&mut self) {
        let _ = self.ctx.close();
    }
}

/// A Web Audio failure as a [`CheckError`].
pub(crate) fn audio_error(error: JsValue) -> CheckError {
    CheckError::Audio(js_message(&error))
}
