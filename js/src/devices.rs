//! Microphones and speakers: `getMicrophoneList()`, `getSpeakerList()` and
//! `switchDevice({ deviceType, deviceId })`, TRTCCalling's names over
//! [`WebCall::devices`], [`WebCall::set_microphone`] and [`WebCall::set_speaker`].

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;
use webcall_client::{Devices, WebCall};

use crate::error::SdkError;
use crate::events::device_list;
use crate::js::get;
use crate::pending::settled;

/// Resolves with `[{ deviceId, label }]` of the microphones (`speakers: false`) or speakers.
pub(crate) fn list(client: WebCall, speakers: bool) -> Promise {
    future_to_promise(async move {
        let Devices {
            microphones,
            speakers: outputs,
        } = client.devices().await.map_err(SdkError::from)?;
        Ok(device_list(if speakers { &outputs } else { &microphones }))
    })
}

/// What `switchDevice` switches.
enum Kind {
    Microphone,
    Speaker,
}

/// `switchDevice({ deviceType: 'audioInput' | 'audioOutput', deviceId })`; `'audio'`
/// (TRTCCalling's name) means the microphone. An empty `deviceId` is the browser's default.
pub(crate) fn switch(client: WebCall, params: &JsValue) -> Promise {
    let kind = match get(params, "deviceType").as_string().as_deref() {
        Some("audioInput" | "audio") => Kind::Microphone,
        Some("audioOutput") => Kind::Speaker,
        _ => {
            return settled(Err(SdkError::bad(
                "deviceType",
                "'audioInput' or 'audioOutput'",
            )))
        }
    };
    let Some(device_id) = get(params, "deviceId").as_string() else {
        return settled(Err(SdkError::bad("deviceId", "a string")));
    };
    future_to_promise(async move {
        let device = Some(device_id.as_str()).filter(|id| !id.is_empty());
        match kind {
            Kind::Microphone => client.set_microphone(device).await,
            Kind::Speaker => client.set_speaker(device).await,
        }
        .map_err(SdkError::from)?;
        Ok(JsValue::UNDEFINED)
    })
}
