//! The audio devices: listing microphones and speakers, choosing where the call plays, and
//! watching for devices plugged in or out (`devicechange`).
//!
//! Speaker choice needs `HTMLMediaElement.setSinkId`, which not every browser has: it is
//! detected, never assumed, and without it the speaker list is empty and the system's
//! default output plays the call.

use js_sys::{Array, Function, Reflect};
use wasm_bindgen::{closure::Closure, JsCast};
use wasm_bindgen_futures::JsFuture;
use web_sys::{HtmlMediaElement, MediaDeviceInfo, MediaDeviceKind, MediaDevices};

use crate::{Device, Devices, MediaError};

/// `navigator.mediaDevices`, absent outside secure contexts and in old browsers.
pub(crate) fn media_devices() -> Option<MediaDevices> {
    let window = web_sys::window()?;
    Reflect::get(&window.navigator(), &"mediaDevices".into())
        .ok()
        .filter(|v| !v.is_undefined())
        .map(|v| v.unchecked_into())
}

/// Whether this browser can choose the speaker that plays an audio element.
pub(crate) fn speaker_selection_supported() -> bool {
    let Some(window) = web_sys::window() else {
        return false;
    };
    Reflect::get(&window, &"HTMLMediaElement".into())
        .and_then(|class| Reflect::get(&class, &"prototype".into()))
        .and_then(|proto| Reflect::get(&proto, &"setSinkId".into()))
        .is_ok_and(|f| f.is_function())
}

/// The microphones and (where they can be chosen) speakers, in the browser's order.
pub(crate) async fn list() -> Result<Devices, MediaError> {
    let devices = media_devices().ok_or(MediaError::NotSupported)?;
    let promise = devices
        .enumerate_devices()
        .map_err(|_| MediaError::NotSupported)?;
    let infos: Array = JsFuture::from(promise)
        .await
        .map_err(|e| MediaError::Other(format!("{e:?}")))?
        .unchecked_into();
    let speakers_allowed = speaker_selection_supported();
    let mut found = Devices::default();
    for info in infos.iter() {
        let info: MediaDeviceInfo = info.unchecked_into();
        let device = Device {
            id: info.device_id(),
            label: info.label(),
        };
        match info.kind() {
            MediaDeviceKind::Audioinput => found.microphones.push(device),
            MediaDeviceKind::Audiooutput if speakers_allowed => found.speakers.push(device),
            _ => {}
        }
    }
    Ok(found)
}

/// Plays `element` through speaker `id` ("" is the system default).
pub(crate) async fn set_sink(element: &HtmlMediaElement, id: &str) -> Result<(), MediaError> {
    let set_sink_id: Function = Reflect::get(element, &"setSinkId".into())
        .ok()
        .and_then(|f| f.dyn_into().ok())
        .ok_or(MediaError::NotSupported)?;
    let promise = set_sink_id
        .call1(element, &id.into())
        .map_err(|e| MediaError::Other(format!("{e:?}")))?;
    JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map(|_| ())
        .map_err(
            |e| match e.dyn_ref::<web_sys::DomException>().map(|e| e.name()) {
                Some(name) if name == "NotFoundError" => MediaError::NoDevice,
                Some(name) if name == "NotAllowedError" => MediaError::PermissionDenied,
                _ => MediaError::Other(format!("{e:?}")),
            },
        )
}

/// Calls a handler whenever the devices change; the listener is removed on drop.
pub(crate) struct DeviceWatch {
    devices: MediaDevices,
    listener: Closure<dyn FnMut()>,
}

impl DeviceWatch {
    /// Watches for `devicechange`; `None` where there is no `navigator.mediaDevices`.
    pub(crate) fn new(on_change: impl FnMut() + 'static) -> Option<DeviceWatch> {
        let devices = media_devices()?;
        let listener = Closure::<dyn FnMut()>::new(on_change);
        devices
            .add_event_listener_with_callback("devicechange", listener.as_ref().unchecked_ref())
            .ok()?;
        Some(DeviceWatch { devices, listener })
    }
}

impl Drop for DeviceWatch {
    fn drop(&mut self) {
        let _ = self.devices.remove_event_listener_with_callback(
            "devicechange",
            self.listener.as_ref().unchecked_ref(),
        );
    }
}
