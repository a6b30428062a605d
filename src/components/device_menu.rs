//! The microphone and speaker menus on `/in-call`. A choice applies at once (the microphone is
//! replaced on the connection without renegotiating) and is remembered for later calls and
//! visits (`device_prefs`); the lists follow devices plugged in or out. Where the browser can
//! not choose the speaker, it says so instead of offering a menu that would not work.

use wasm_bindgen::JsCast;
use webcall_client::Device;
use yew::prelude::*;

use crate::device_prefs::{self, Kind};
use crate::hooks::use_calling;
use crate::live::use_devices;
use crate::strings::t;

#[function_component]
pub fn DeviceMenu() -> Html {
    let calling = use_calling();
    let devices = use_devices();
    let chosen = use_state(|| {
        calling
            .webcall()
            .map(|w| w.chosen_devices())
            .unwrap_or_default()
    });
    let error = use_state(|| None::<String>);
    let Some(webcall) = calling.webcall() else {
        return html! {};
    };
    let t = t();

    let choose = |kind: Kind| {
        let (webcall, chosen, error) = (webcall.clone(), chosen.clone(), error.clone());
        Callback::from(move |event: Event| {
            let Some(select) = event
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
            else {
                return;
            };
            let value = select.value();
            let id = (!value.is_empty()).then_some(value);
            let (webcall, chosen, error) = (webcall.clone(), chosen.clone(), error.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let result = match kind {
                    Kind::Microphone => webcall.set_microphone(id.as_deref()).await,
                    Kind::Speaker => webcall.set_speaker(id.as_deref()).await,
                };
                match result {
                    Ok(()) => {
                        device_prefs::save(kind, id.as_deref());
                        error.set(None);
                    }
                    Err(e) => error.set(Some((crate::strings::t().device_failed)(&e.to_string()))),
                }
                // What is in force now (the old device when the switch failed).
                chosen.set(webcall.chosen_devices());
            });
        })
    };

    let menu = |id: &'static str, label: &str, list: &[Device], current: &Option<String>, kind| {
        html! {
            <label class="device">
                <span>{ label }</span>
                <select {id} onchange={choose(kind)}>
                    <option value="" selected={current.is_none()}>{ t.default_device }</option>
                    { for list.iter().filter(|d| d.id != "default").enumerate().map(|(n, d)| {
                        let name = if d.label.is_empty() {
                            (t.unnamed_device)(n as u32 + 1)
                        } else {
                            d.label.clone()
                        };
                        html! {
                            <option value={d.id.clone()} selected={current.as_ref() == Some(&d.id)}>
                                { name }
                            </option>
                        }
                    }) }
                </select>
            </label>
        }
    };
    let (mic, speaker) = &*chosen;
    html! {
        <div class="devices">
            { menu("microphone", t.microphone, &devices.microphones, mic, Kind::Microphone) }
            if webcall.speaker_selection_supported() {
                { menu("speaker", t.speaker, &devices.speakers, speaker, Kind::Speaker) }
            } else {
                <p class="detail">{ t.speaker_default_only }</p>
            }
            <p class="error" aria-live="polite">{ (*error).clone().unwrap_or_default() }</p>
        </div>
    }
}
