//! The live readings of a call: both volumes, the network quality and the device lists.
//!
//! They change several times a second, so they bypass the app state (whose every change
//! re-renders each page): each hook here subscribes to the calling service for its own
//! component, which alone re-renders, and unsubscribes when it unmounts.

use webcall_client::{CallEvent, Devices, NetworkQuality};
use yew::prelude::*;

use crate::hooks::use_calling;

/// The volumes (this user's microphone, the other side), 0–100, as last reported.
#[hook]
pub fn use_volumes() -> (u8, u8) {
    let volumes = use_state_eq(|| (0u8, 0u8));
    use_call_events({
        let volumes = volumes.clone();
        move |event| {
            if let CallEvent::UserVoiceVolume { local, remote } = event {
                volumes.set((*local, *remote));
            }
        }
    });
    *volumes
}

/// The network quality, once reported.
#[hook]
pub fn use_quality() -> Option<NetworkQuality> {
    let quality = use_state_eq(|| None);
    use_call_events({
        let quality = quality.clone();
        move |event| {
            if let CallEvent::NetworkQuality(q) = event {
                quality.set(Some(q.clone()));
            }
        }
    });
    (*quality).clone()
}

/// The microphones and speakers: listed when the component mounts, then as they change.
#[hook]
pub fn use_devices() -> Devices {
    let devices = use_state_eq(Devices::default);
    let calling = use_calling();
    {
        let devices = devices.clone();
        use_effect_with((), move |_| {
            if let Some(webcall) = calling.webcall() {
                wasm_bindgen_futures::spawn_local(async move {
                    if let Ok(listed) = webcall.devices().await {
                        devices.set(listed);
                    }
                });
            }
        });
    }
    use_call_events({
        let devices = devices.clone();
        move |event| {
            if let CallEvent::DevicesUpdated(listed) = event {
                devices.set(listed.clone());
            }
        }
    });
    (*devices).clone()
}

/// Calls `handler` with every event of the calling service while the component is mounted.
#[hook]
fn use_call_events(handler: impl Fn(&CallEvent) + 'static) {
    let calling = use_calling();
    use_effect_with((), move |_| {
        let subscription = calling.webcall().map(|w| w.on_event(handler));
        move || drop(subscription)
    });
}
