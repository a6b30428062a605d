//! The events in JavaScript: TRTCCalling's names (`WebCall.EVENT`, every value equal to its key)
//! and each [`CallEvent`] as the plain payload object a handler receives.

use js_sys::Object;
use wasm_bindgen::JsValue;
use webcall_client::{CallEvent, CallType, Device, Devices, NoRespReason, Quality};

use crate::js::{array, number_or_null, object, string_or_null};

/// Every event name, as `WebCall.EVENT` lists them.
pub const EVENT_NAMES: [&str; 31] = [
    "SDK_READY",
    "INVITED",
    "USER_ACCEPT",
    "USER_ENTER",
    "USER_LEAVE",
    "REJECT",
    "NO_RESP",
    "LINE_BUSY",
    "CALLING_CANCEL",
    "CALLING_TIMEOUT",
    "CALL_END",
    "KICKED_OUT",
    "ERROR",
    "USER_AUDIO_AVAILABLE",
    "USER_VOICE_VOLUME",
    "NETWORK_QUALITY",
    "DEVICED_UPDATED",
    "LOGGED_OUT",
    "RINGING",
    "ANSWERED_ELSEWHERE",
    "REJECTED_ELSEWHERE",
    "IN_CALL_ELSEWHERE",
    "IN_CALL_ELSEWHERE_ENDED",
    "PRESENCE_CHANGED",
    "SESSION_EXPIRING",
    "SESSION_RENEWED",
    "VERIFICATION_CODE",
    "RECONNECTING",
    "RECONNECTED",
    "AUDIO_INTERRUPTED",
    "AUDIO_RESTORED",
];

/// `WebCall.EVENT`: a frozen object whose keys and values are [`EVENT_NAMES`].
pub(crate) fn event_object() -> JsValue {
    let fields: Vec<(&str, JsValue)> = EVENT_NAMES
        .iter()
        .map(|name| (*name, JsValue::from_str(name)))
        .collect();
    Object::freeze(&object(&fields).into()).into()
}

/// `WebCall.CALL_TYPE`: `{ AUDIO: 1, VIDEO: 2 }`, frozen.
pub(crate) fn call_type_object() -> JsValue {
    let fields = [
        ("AUDIO", JsValue::from(call_type_number(CallType::Audio))),
        ("VIDEO", JsValue::from(call_type_number(CallType::Video))),
    ];
    Object::freeze(&object(&fields).into()).into()
}

/// TRTCCalling's number for a call type.
pub(crate) fn call_type_number(call_type: CallType) -> u32 {
    match call_type {
        CallType::Audio => 1,
        CallType::Video => 2,
    }
}

/// The name `event` goes by in JavaScript.
pub(crate) fn name(event: &CallEvent) -> &'static str {
    match event {
        CallEvent::LoggedIn { .. } => "SDK_READY",
        CallEvent::LoggedOut { .. } => "LOGGED_OUT",
        CallEvent::Reconnecting { .. } => "RECONNECTING",
        CallEvent::Reconnected { .. } => "RECONNECTED",
        CallEvent::AudioInterrupted { .. } => "AUDIO_INTERRUPTED",
        CallEvent::AudioRestored { .. } => "AUDIO_RESTORED",
        CallEvent::Invited { .. } => "INVITED",
        CallEvent::Ringing { .. } => "RINGING",
        CallEvent::UserAccept { .. } => "USER_ACCEPT",
        CallEvent::UserEnter { .. } => "USER_ENTER",
        CallEvent::UserLeave { .. } => "USER_LEAVE",
        CallEvent::Reject { .. } => "REJECT",
        CallEvent::LineBusy { .. } => "LINE_BUSY",
        CallEvent::NoResp { .. } => "NO_RESP",
        CallEvent::CallingCancel { .. } => "CALLING_CANCEL",
        CallEvent::CallingTimeout { .. } => "CALLING_TIMEOUT",
        CallEvent::CallEnd { .. } => "CALL_END",
        CallEvent::AnsweredElsewhere { .. } => "ANSWERED_ELSEWHERE",
        CallEvent::RejectedElsewhere { .. } => "REJECTED_ELSEWHERE",
        CallEvent::InCallElsewhere { .. } => "IN_CALL_ELSEWHERE",
        CallEvent::InCallElsewhereEnded { .. } => "IN_CALL_ELSEWHERE_ENDED",
        CallEvent::PresenceChanged { .. } => "PRESENCE_CHANGED",
        CallEvent::SessionExpiring { .. } => "SESSION_EXPIRING",
        CallEvent::SessionRenewed { .. } => "SESSION_RENEWED",
        CallEvent::VerificationCode { .. } => "VERIFICATION_CODE",
        CallEvent::UserAudioAvailable { .. } => "USER_AUDIO_AVAILABLE",
        CallEvent::UserVoiceVolume { .. } => "USER_VOICE_VOLUME",
        CallEvent::NetworkQuality(_) => "NETWORK_QUALITY",
        CallEvent::DevicesUpdated(_) => "DEVICED_UPDATED",
        CallEvent::KickedOut => "KICKED_OUT",
        CallEvent::Error { .. } => "ERROR",
    }
}

fn s(value: &str) -> JsValue {
    JsValue::from_str(value)
}

fn user(user_id: &str) -> JsValue {
    object(&[("userID", s(user_id))])
}

fn sponsor_and_invite(sponsor: &str, call_id: &str) -> JsValue {
    object(&[("sponsor", s(sponsor)), ("inviteID", s(call_id))])
}

fn invite(call_id: &str) -> JsValue {
    object(&[("inviteID", s(call_id))])
}

/// The payload handlers receive for `event`; `me` is the logged-in user (`INVITED`'s
/// `userIDList`).
pub(crate) fn payload(event: &CallEvent, me: Option<&str>) -> JsValue {
    match event {
        CallEvent::LoggedIn { user_id } => user(user_id),
        CallEvent::LoggedOut { reason } => object(&[("reason", string_or_null(reason.as_deref()))]),
        CallEvent::Reconnecting {
            attempt,
            retry_in_ms,
        } => object(&[
            ("attempt", JsValue::from(*attempt)),
            ("retryInMs", JsValue::from(*retry_in_ms as f64)),
        ]),
        CallEvent::Reconnected { resumed } => object(&[("resumed", JsValue::from(*resumed))]),
        CallEvent::AudioInterrupted { call_id }
        | CallEvent::AudioRestored { call_id }
        | CallEvent::InCallElsewhereEnded { call_id } => invite(call_id),
        CallEvent::Invited {
            sponsor,
            call_id,
            call_type,
            timeout_secs,
        } => object(&[
            ("sponsor", s(sponsor)),
            ("userIDList", array(me.map(s))),
            ("isFromGroup", JsValue::FALSE),
            ("inviteID", s(call_id)),
            (
                "inviteData",
                object(&[
                    ("callType", JsValue::from(call_type_number(*call_type))),
                    ("timeout", JsValue::from(*timeout_secs)),
                ]),
            ),
        ]),
        CallEvent::Ringing { callee, devices } => {
            object(&[("userID", s(callee)), ("devices", JsValue::from(*devices))])
        }
        CallEvent::UserAccept { user_id }
        | CallEvent::UserEnter { user_id }
        | CallEvent::UserLeave { user_id }
        | CallEvent::Reject { user_id }
        | CallEvent::LineBusy { user_id } => user(user_id),
        CallEvent::NoResp { user_id, reason } => {
            let (reason, message) = match reason {
                NoRespReason::Timeout => ("timeout", None),
                NoRespReason::Offline => ("offline", None),
                NoRespReason::Unreachable(message) => ("unreachable", Some(message.as_str())),
            };
            object(&[
                ("userID", s(user_id)),
                ("reason", s(reason)),
                ("message", string_or_null(message)),
            ])
        }
        CallEvent::CallingCancel {
            sponsor,
            call_id,
            caller_disconnected,
        } => object(&[
            ("sponsor", s(sponsor)),
            ("inviteID", s(call_id)),
            ("callerDisconnected", JsValue::from(*caller_disconnected)),
        ]),
        CallEvent::CallingTimeout { sponsor, call_id }
        | CallEvent::AnsweredElsewhere { sponsor, call_id }
        | CallEvent::RejectedElsewhere { sponsor, call_id } => sponsor_and_invite(sponsor, call_id),
        CallEvent::CallEnd {
            call_id,
            duration_secs,
            ended_by,
            failure,
        } => object(&[
            ("inviteID", s(call_id)),
            ("duration", JsValue::from(*duration_secs as f64)),
            ("endedBy", string_or_null(ended_by.as_deref())),
            ("failure", string_or_null(failure.as_deref())),
        ]),
        CallEvent::InCallElsewhere { call_id, peer } => {
            object(&[("inviteID", s(call_id)), ("userID", s(peer))])
        }
        CallEvent::PresenceChanged { user_id, online } => {
            object(&[("userID", s(user_id)), ("online", JsValue::from(*online))])
        }
        CallEvent::SessionExpiring { expires_in_secs }
        | CallEvent::SessionRenewed { expires_in_secs } => {
            object(&[("expiresIn", JsValue::from(*expires_in_secs as f64))])
        }
        CallEvent::VerificationCode { call_id, code } => {
            object(&[("inviteID", s(call_id)), ("code", s(code))])
        }
        CallEvent::UserAudioAvailable { user_id, available } => object(&[
            ("userID", s(user_id)),
            ("isAudioAvailable", JsValue::from(*available)),
        ]),
        CallEvent::UserVoiceVolume { local, remote } => object(&[
            ("local", JsValue::from(*local)),
            ("remote", JsValue::from(*remote)),
        ]),
        CallEvent::NetworkQuality(quality) => object(&[
            ("sending", quality_object(&quality.sending)),
            ("receiving", quality_object(&quality.receiving)),
        ]),
        CallEvent::DevicesUpdated(devices) => devices_object(devices),
        CallEvent::KickedOut => object(&[]),
        CallEvent::Error { code, message } => {
            object(&[("code", JsValue::from(*code)), ("message", s(message))])
        }
    }
}

fn quality_object(quality: &Quality) -> JsValue {
    object(&[
        ("level", JsValue::from(quality.level)),
        ("rttMs", number_or_null(quality.rtt_ms)),
        ("jitterMs", number_or_null(quality.jitter_ms)),
        ("lossPermille", number_or_null(quality.loss_permille)),
    ])
}

/// `{ microphoneList, speakerList }` of `DEVICED_UPDATED`.
fn devices_object(devices: &Devices) -> JsValue {
    object(&[
        ("microphoneList", device_list(&devices.microphones)),
        ("speakerList", device_list(&devices.speakers)),
    ])
}

/// `[{ deviceId, label }]`, as `getMicrophoneList()` and `getSpeakerList()` resolve.
pub(crate) fn device_list(devices: &[Device]) -> JsValue {
    array(
        devices
            .iter()
            .map(|device| object(&[("deviceId", s(&device.id)), ("label", s(&device.label))])),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use webcall_client::NetworkQuality;

    /// One event of every kind.
    fn every_event() -> Vec<CallEvent> {
        let id = || "alice".to_string();
        let call = || "c0ffee".to_string();
        vec![
            CallEvent::LoggedIn { user_id: id() },
            CallEvent::LoggedOut { reason: None },
            CallEvent::Reconnecting {
                attempt: 0,
                retry_in_ms: 500,
            },
            CallEvent::Reconnected { resumed: true },
            CallEvent::AudioInterrupted { call_id: call() },
            CallEvent::AudioRestored { call_id: call() },
            CallEvent::Invited {
                sponsor: id(),
                call_id: call(),
                call_type: CallType::Audio,
                timeout_secs: 30,
            },
            CallEvent::Ringing {
                callee: id(),
                devices: 1,
            },
            CallEvent::UserAccept { user_id: id() },
            CallEvent::UserEnter { user_id: id() },
            CallEvent::UserLeave { user_id: id() },
            CallEvent::Reject { user_id: id() },
            CallEvent::LineBusy { user_id: id() },
            CallEvent::NoResp {
                user_id: id(),
                reason: NoRespReason::Timeout,
            },
            CallEvent::CallingCancel {
                sponsor: id(),
                call_id: call(),
                caller_disconnected: false,
            },
            CallEvent::CallingTimeout {
                sponsor: id(),
                call_id: call(),
            },
            CallEvent::CallEnd {
                call_id: call(),
                duration_secs: 3,
                ended_by: None,
                failure: None,
            },
            CallEvent::AnsweredElsewhere {
                sponsor: id(),
                call_id: call(),
            },
            CallEvent::RejectedElsewhere {
                sponsor: id(),
                call_id: call(),
            },
            CallEvent::InCallElsewhere {
                call_id: call(),
                peer: id(),
            },
            CallEvent::InCallElsewhereEnded { call_id: call() },
            CallEvent::PresenceChanged {
                user_id: id(),
                online: true,
            },
            CallEvent::SessionExpiring {
                expires_in_secs: 60,
            },
            CallEvent::SessionRenewed {
                expires_in_secs: 600,
            },
            CallEvent::VerificationCode {
                call_id: call(),
                code: "123 456".into(),
            },
            CallEvent::UserAudioAvailable {
                user_id: id(),
                available: false,
            },
            CallEvent::UserVoiceVolume {
                local: 10,
                remote: 20,
            },
            CallEvent::NetworkQuality(NetworkQuality::default()),
            CallEvent::DevicesUpdated(Devices::default()),
            CallEvent::KickedOut,
            CallEvent::Error {
                code: 60005,
                message: "denied".into(),
            },
        ]
    }

    #[test]
    fn every_event_has_one_of_the_listed_names_and_every_name_an_event() {
        let listed: BTreeSet<&str> = EVENT_NAMES.into_iter().collect();
        assert_eq!(listed.len(), EVENT_NAMES.len(), "a name is listed twice");
        let named: BTreeSet<&str> = every_event().iter().map(name).collect();
        assert_eq!(named, listed);
    }
}
