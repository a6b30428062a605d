//! Every user-facing text of the app, in one table per language.
//!
//! Components never spell out English: they read [`t()`], which gives the table of the language
//! chosen now ([`crate::lang`]): [`EN`] or [`ZH`] (zh-CN; the call words follow the TRTCCalling
//! demo: 呼叫, 接听, 拒绝, 挂断...). Adding a language means adding one more [`Strings`] value and
//! a [`Lang`] for it. Texts that carry a value are plain `fn` pointers so that each language can
//! order its words freely.
//!
//! Messages that the calling service or the server send in [`CallEvent::Error`] are shown as
//! they come, except the refusals the login page explains in its own words (too many devices,
//! the UserSig refusals and the expired session: [`LoginError`]).
//!
//! [`CallEvent::Error`]: webcall_client::CallEvent::Error

use webcall_client::{validate_user_id, ClientError};

use crate::api::{ApiError, UserSigError};
use crate::lang::{self, Lang};
#[cfg(feature = "extra-pages")]
use crate::page_strings::{self, PageStrings};
use crate::state::{LoginError, Notice};

/// One language's texts. Those of the pages only the whole app has are in [`Strings::pages`],
/// and only in the whole app.
pub struct Strings {
    /// The product name, in the header.
    pub app_name: &'static str,
    /// The document title.
    pub page_title: &'static str,
    /// The header's language switch: the other language's own name, and what the switch does.
    pub switch_language: &'static str,
    pub switch_language_label: &'static str,

    // ----- /login ---------------------------------------------------------------------------
    pub user_id_label: &'static str,
    pub log_in: &'static str,
    pub logging_in: &'static str,
    pub user_id_empty: &'static str,
    pub user_id_invalid: &'static str,
    pub server_unreachable: &'static str,
    pub server_refused: fn(u16) -> String,
    pub server_bad_answer: &'static str,
    pub kicked_out: &'static str,
    pub too_many_devices: &'static str,
    pub disconnected: fn(&str) -> String,
    /// The field for a UserSig issued elsewhere (strict mode without a UserSig URL).
    pub user_sig_label: &'static str,
    pub user_sig_hint: &'static str,
    pub user_sig_empty: &'static str,
    /// The customer backend (its origin) gave no UserSig, and why (one of the `backend_*`).
    pub user_sig_from_failed: fn(&str, &str) -> String,
    pub backend_unreachable: &'static str,
    pub backend_refused: fn(u16) -> String,
    pub backend_bad_answer: &'static str,
    pub user_sig_expired: &'static str,
    pub user_sig_invalid: &'static str,
    pub user_sig_wrong_user: &'static str,
    pub user_sig_wrong_app: &'static str,
    pub session_expired: &'static str,

    // ----- /call ----------------------------------------------------------------------------
    pub logged_in_as: fn(&str) -> String,
    /// The session of a pasted UserSig ends in this many minutes and cannot be renewed.
    pub session_expiring: fn(u64) -> String,
    /// The connection to the server is lost and being restored; a call goes on meanwhile.
    pub reconnecting: &'static str,
    /// A call can not be placed while reconnecting.
    pub reconnecting_try_later: &'static str,
    /// The call's audio stopped and is being restored.
    pub audio_interrupted: &'static str,
    pub log_out: &'static str,
    pub callee_label: &'static str,
    pub call: &'static str,
    pub cancel: &'static str,
    pub calling: fn(&str) -> String,
    pub ringing: &'static str,
    pub ringing_on: fn(u32) -> String,
    pub callee_offline_waiting: fn(&str) -> String,
    pub user_online: fn(&str) -> String,
    pub user_offline: fn(&str) -> String,
    pub in_call_elsewhere: fn(&str) -> String,
    pub call_self: &'static str,
    pub already_in_call: &'static str,
    pub busy_elsewhere: &'static str,
    pub too_many_watched: &'static str,
    pub not_logged_in: &'static str,
    pub no_call: &'static str,
    pub video_unsupported: &'static str,

    // ----- notices: why the last call ended ------------------------------------------------
    pub call_ended: &'static str,
    pub call_ended_after: fn(&str) -> String,
    pub call_ended_because: fn(&str) -> String,
    /// Why a call failed, as the calling service or the server says it (in English): the
    /// reasons they give are known and translated; anything else shows as it came.
    pub failure_reason: fn(&str) -> String,
    pub rejected: fn(&str) -> String,
    pub busy: fn(&str) -> String,
    pub no_answer: &'static str,
    pub no_answer_because: fn(&str) -> String,
    pub no_answer_offline: fn(&str) -> String,
    pub call_cancelled: &'static str,
    pub caller_disconnected: fn(&str) -> String,
    pub missed_call: fn(&str) -> String,
    pub answered_elsewhere: &'static str,
    pub rejected_elsewhere: &'static str,

    // ----- incoming call dialog -------------------------------------------------------------
    pub voice_call_from: fn(&str) -> String,
    /// Under the dialog's title: what answering does.
    pub incoming_hint: &'static str,
    pub accept: &'static str,
    pub reject: &'static str,

    // ----- /in-call -------------------------------------------------------------------------
    pub in_call_with: fn(&str) -> String,
    pub call_duration: &'static str,
    pub connecting: &'static str,
    pub mute: &'static str,
    pub unmute: &'static str,
    pub hang_up: &'static str,
    /// Precedes the call's verification code (which the page shows in its own element).
    pub verification_code: &'static str,
    pub verification_hint: &'static str,
    /// The other party muted their microphone.
    pub peer_muted: fn(&str) -> String,
    /// A page that comes with the rest of the app is loading (first-load build only).
    #[cfg_attr(feature = "extra-pages", allow(dead_code))]
    pub loading_page: &'static str,
    /// The meters: this user's microphone, and the other party's voice.
    pub mic_level: &'static str,
    pub peer_level: fn(&str) -> String,
    /// The network quality indicator: its levels, its directions and its numbers.
    pub network_quality: &'static str,
    pub quality_unknown: &'static str,
    pub quality_bad: &'static str,
    pub quality_poor: &'static str,
    pub quality_fair: &'static str,
    pub quality_good: &'static str,
    pub quality_excellent: &'static str,
    pub sending: &'static str,
    pub receiving: &'static str,
    pub round_trip: &'static str,
    pub jitter: &'static str,
    pub packet_loss: &'static str,
    /// The device menus.
    pub microphone: &'static str,
    pub speaker: &'static str,
    pub default_device: &'static str,
    pub unnamed_device: fn(u32) -> String,
    pub speaker_default_only: &'static str,
    pub device_failed: fn(&str) -> String,

    // ----- the links to /check and /history, and the unsupported-browser notice -------------
    /// The link to `/check`.
    pub check_link: &'static str,
    pub unsupported_insecure: &'static str,
    pub unsupported_no_webrtc: &'static str,
    pub unsupported_no_mic: &'static str,
    /// The link from `/call` to `/history`, and the page's title.
    pub history_link: &'static str,

    /// The texts of `/check` and `/history`, which only the whole app has (the first load
    /// leaves them out: see [`crate::page_strings`]).
    #[cfg(feature = "extra-pages")]
    pub pages: &'static PageStrings,
}

/// English.
pub const EN: Strings = Strings {
    app_name: "WebCall",
    page_title: "WebCall: voice calls",
    switch_language: "中文",
    switch_language_label: "Switch to Chinese (中文)",

    user_id_label: "User ID",
    log_in: "Log in",
    logging_in: "Logging in…",
    user_id_empty: "Enter a user ID",
    user_id_invalid: "Use 1–32 letters, digits, _ or -",
    server_unreachable: "Could not reach the server",
    server_refused: |status| format!("The server refused the login (HTTP {status})"),
    server_bad_answer: "The server sent an unexpected answer",
    kicked_out: "You were logged out because this user logged in elsewhere",
    too_many_devices:
        "You are logged in on too many devices (at most 5). Log out on one of them first.",
    disconnected: |reason| format!("Logged out: {reason}"),
    user_sig_label: "UserSig",
    user_sig_hint: "Paste the UserSig issued for this user ID.",
    user_sig_empty: "Paste a UserSig",
    user_sig_from_failed: |origin, why| format!("Could not get a UserSig from {origin}: {why}"),
    backend_unreachable: "no answer (it is unreachable, or its CORS rules do not allow this page)",
    backend_refused: |status| format!("it answered HTTP {status}"),
    backend_bad_answer: "its answer is not JSON with a user_sig",
    user_sig_expired: "This UserSig has expired. Get a new one.",
    user_sig_invalid: "This UserSig is not valid (it was changed or signed with another key).",
    user_sig_wrong_user: "This UserSig belongs to another user ID.",
    user_sig_wrong_app: "This UserSig is for another application (SDKAppID).",
    session_expired: "Your session expired. Log in again.",

    logged_in_as: |id| format!("Logged in as {id}"),
    session_expiring: |minutes| {
        let unit = if minutes == 1 { "minute" } else { "minutes" };
        format!(
            "Your session expires in {minutes} {unit}. Log out and in again with a new UserSig."
        )
    },
    log_out: "Log out",
    callee_label: "Callee user ID",
    call: "Call",
    cancel: "Cancel",
    calling: |id| format!("Calling {id}…"),
    ringing: "Ringing…",
    ringing_on: |n| format!("Ringing on {n} devices"),
    callee_offline_waiting: |id| format!("{id} is offline. The call will ring when {id} logs in."),
    user_online: |id| format!("{id} is online"),
    user_offline: |id| format!("{id} is offline"),
    in_call_elsewhere: |id| format!("You are in a call with {id} on another device"),
    call_self: "You cannot call yourself",
    already_in_call: "A call is already in progress",
    busy_elsewhere: "You are in a call on another device",
    too_many_watched: "Too many user IDs are watched",
    not_logged_in: "You are not logged in",
    no_call: "There is no call",
    video_unsupported: "Video calls are not supported",

    call_ended: "Call ended",
    call_ended_after: |duration| format!("Call ended ({duration})"),
    call_ended_because: |failure| format!("Call ended: {failure}"),
    failure_reason: str::to_owned,
    reconnecting: "Reconnecting… The call goes on; hanging up works meanwhile.",
    reconnecting_try_later: "Reconnecting to the server; try again in a moment.",
    audio_interrupted: "Audio interrupted: reconnecting…",
    rejected: |id| format!("{id} rejected the call"),
    busy: |id| format!("{id} is busy"),
    no_answer: "No answer",
    no_answer_because: |why| format!("No answer: {why}"),
    no_answer_offline: |id| format!("No answer: {id} is offline"),
    call_cancelled: "Call cancelled",
    caller_disconnected: |id| format!("{id} lost their connection; the call was cancelled"),
    missed_call: |id| format!("Missed call from {id}"),
    answered_elsewhere: "Answered on another device",
    rejected_elsewhere: "Rejected on another device",

    voice_call_from: |id| format!("Voice call from {id}"),
    incoming_hint: "Accept to start talking.",
    accept: "Accept",
    reject: "Reject",

    in_call_with: |id| format!("In call with {id}"),
    call_duration: "Call duration",
    connecting: "Connecting…",
    mute: "Mute",
    unmute: "Unmute",
    hang_up: "Hang up",
    verification_code: "Verification code:",
    verification_hint:
        "Compare it with the other person: if the codes differ, someone may be listening in.",
    peer_muted: |id| format!("{id} muted their microphone"),
    loading_page: "Loading…",
    mic_level: "Your microphone",
    peer_level: |id| format!("{id}'s voice"),
    network_quality: "Network quality",
    quality_unknown: "Measuring…",
    quality_bad: "Bad",
    quality_poor: "Poor",
    quality_fair: "Fair",
    quality_good: "Good",
    quality_excellent: "Excellent",
    sending: "Sending",
    receiving: "Receiving",
    round_trip: "Round trip",
    jitter: "Jitter",
    packet_loss: "Packet loss",
    microphone: "Microphone",
    speaker: "Speaker",
    default_device: "Default",
    unnamed_device: |n| format!("Device {n}"),
    speaker_default_only: "This browser plays calls on the system's default speaker.",
    device_failed: |why| format!("Could not switch the device: {why}"),

    check_link: "Check this device",
    unsupported_insecure: "This page is not secure (http on a network address): browsers block the microphone, so calls can not work here. Open it via https or localhost.",
    unsupported_no_webrtc: "This browser can not make calls: it has no WebRTC. Use a current version of Chrome, Edge, Firefox or Safari.",
    unsupported_no_mic: "This browser gives no access to the microphone, so calls can not work here.",
    history_link: "Call history",
    #[cfg(feature = "extra-pages")]
    pages: &page_strings::EN,
};

/// Simplified Chinese (zh-CN). IDs, "UserSig", "SDKAppID" and "WebCall" stay as they are.
pub const ZH: Strings = Strings {
    app_name: "WebCall",
    page_title: "WebCall 语音通话",
    switch_language: "English",
    switch_language_label: "切换为英文（English）",

    user_id_label: "用户 ID",
    log_in: "登录",
    logging_in: "正在登录…",
    user_id_empty: "请输入用户 ID",
    user_id_invalid: "用户 ID 只能由 1–32 个字母、数字、_ 或 - 组成",
    server_unreachable: "无法连接服务器",
    server_refused: |status| format!("服务器拒绝了登录（HTTP {status}）"),
    server_bad_answer: "服务器返回了无法识别的应答",
    kicked_out: "该用户已在其他地方登录，你已被迫下线",
    too_many_devices: "你登录的设备过多（最多 5 台），请先在其中一台上退出登录。",
    disconnected: |reason| format!("已退出登录：{reason}"),
    user_sig_label: "UserSig",
    user_sig_hint: "请粘贴为此用户 ID 签发的 UserSig。",
    user_sig_empty: "请粘贴 UserSig",
    user_sig_from_failed: |origin, why| format!("无法从 {origin} 获取 UserSig：{why}"),
    backend_unreachable: "没有应答（无法访问，或其 CORS 规则不允许此页面）",
    backend_refused: |status| format!("对方返回了 HTTP {status}"),
    backend_bad_answer: "对方的应答不是包含 user_sig 的 JSON",
    user_sig_expired: "此 UserSig 已过期，请重新获取。",
    user_sig_invalid: "此 UserSig 无效（已被修改，或由其他密钥签发）。",
    user_sig_wrong_user: "此 UserSig 属于其他用户 ID。",
    user_sig_wrong_app: "此 UserSig 属于其他应用（SDKAppID）。",
    session_expired: "登录已过期，请重新登录。",

    logged_in_as: |id| format!("当前用户：{id}"),
    session_expiring: |minutes| {
        format!("登录将在 {minutes} 分钟后过期。请退出，并使用新的 UserSig 重新登录。")
    },
    log_out: "退出登录",
    callee_label: "被叫用户 ID",
    call: "呼叫",
    cancel: "取消",
    calling: |id| format!("正在呼叫 {id}…"),
    ringing: "等待对方接听…",
    ringing_on: |n| format!("对方的 {n} 台设备正在响铃"),
    callee_offline_waiting: |id| format!("{id} 不在线。{id} 登录后即会响铃。"),
    user_online: |id| format!("{id} 在线"),
    user_offline: |id| format!("{id} 离线"),
    in_call_elsewhere: |id| format!("你正在其他设备上与 {id} 通话"),
    call_self: "不能呼叫自己",
    already_in_call: "已有通话正在进行",
    busy_elsewhere: "你正在其他设备上通话",
    too_many_watched: "关注的用户 ID 过多",
    not_logged_in: "你尚未登录",
    no_call: "当前没有通话",
    video_unsupported: "暂不支持视频通话",

    call_ended: "通话已结束",
    call_ended_after: |duration| format!("通话已结束（{duration}）"),
    call_ended_because: |failure| format!("通话已结束：{failure}"),
    failure_reason: zh_failure_reason,
    reconnecting: "正在重新连接… 通话不受影响，可随时挂断。",
    reconnecting_try_later: "正在重新连接服务器，请稍后再试。",
    audio_interrupted: "音频中断，正在重新连接…",
    rejected: |id| format!("对方（{id}）已拒绝"),
    busy: |id| format!("对方（{id}）忙线中"),
    no_answer: "对方无应答",
    no_answer_because: |why| format!("无应答：{why}"),
    no_answer_offline: |id| format!("无应答：{id} 不在线"),
    call_cancelled: "通话已取消",
    caller_disconnected: |id| format!("{id} 的连接已断开，通话已取消"),
    missed_call: |id| format!("{id} 的未接来电"),
    answered_elsewhere: "已在其他设备上接听",
    rejected_elsewhere: "已在其他设备上拒绝",

    voice_call_from: |id| format!("{id} 邀请你语音通话"),
    incoming_hint: "接听后即可开始通话。",
    accept: "接听",
    reject: "拒绝",

    in_call_with: |id| format!("正在与 {id} 通话"),
    call_duration: "通话时长",
    connecting: "正在连接…",
    mute: "静音",
    unmute: "取消静音",
    hang_up: "挂断",
    verification_code: "验证码：",
    verification_hint: "请与对方核对：如果双方的验证码不同，可能有人在窃听。",
    peer_muted: |id| format!("{id} 已静音"),
    loading_page: "加载中…",
    mic_level: "我的麦克风",
    peer_level: |id| format!("{id} 的声音"),
    network_quality: "网络质量",
    quality_unknown: "检测中…",
    quality_bad: "很差",
    quality_poor: "较差",
    quality_fair: "一般",
    quality_good: "良好",
    quality_excellent: "优秀",
    sending: "上行",
    receiving: "下行",
    round_trip: "往返时延",
    jitter: "抖动",
    packet_loss: "丢包率",
    microphone: "麦克风",
    speaker: "扬声器",
    default_device: "默认设备",
    unnamed_device: |n| format!("设备 {n}"),
    speaker_default_only: "此浏览器只能用系统默认扬声器播放通话。",
    device_failed: |why| format!("无法切换设备：{why}"),

    check_link: "检测本设备",
    unsupported_insecure: "此页面不安全（通过 http 访问网络地址）：浏览器会禁止使用麦克风，因此无法在此通话。请通过 https 或 localhost 打开。",
    unsupported_no_webrtc: "此浏览器不支持 WebRTC，无法通话。请使用最新版的 Chrome、Edge、Firefox 或 Safari。",
    unsupported_no_mic: "此浏览器无法使用麦克风，因此无法在此通话。",
    history_link: "通话记录",
    #[cfg(feature = "extra-pages")]
    pages: &page_strings::ZH,
};

/// The Chinese for a failure reason of the calling service or the server (see
/// `Strings::failure_reason`): its fixed reasons, the server's "the audio did not connect
/// within N s", "<user> logged in elsewhere", and the other party's reason the server passes on
/// as "<user>: <reason>". Others (a TURN server's own words) stay as they came.
fn zh_failure_reason(reason: &str) -> String {
    fn fixed(reason: &str) -> Option<&'static str> {
        Some(match reason {
            "connection lost" => "连接中断",
            "lost the connection to the server" => "与服务器的连接已断开",
            "the microphone could not be opened" => "无法打开麦克风",
            "call setup failed" => "通话建立失败",
            "the audio connection failed" => "音频连接失败",
            "logged in elsewhere" => "已在其他设备登录",
            "the session expired" => "登录已过期",
            _ => return None,
        })
    }
    if let Some(zh) = fixed(reason) {
        return zh.to_owned();
    }
    if let Some(secs) = reason
        .strip_prefix("the audio did not connect within ")
        .and_then(|rest| rest.strip_suffix(" s"))
    {
        return format!("音频未能在 {secs} 秒内接通");
    }
    if let Some(user) = reason.strip_suffix(" logged in elsewhere") {
        return format!("{user} 已在其他设备登录");
    }
    match reason.split_once(": ") {
        Some((user, theirs)) if fixed(theirs).is_some() => {
            format!("{user}：{}", zh_failure_reason(theirs))
        }
        _ => reason.to_owned(),
    }
}

/// The table of `lang`.
pub fn strings_of(lang: Lang) -> &'static Strings {
    match lang {
        Lang::En => &EN,
        Lang::ZhCn => &ZH,
    }
}

/// The texts of the language chosen now (see [`crate::lang`]).
pub fn t() -> &'static Strings {
    strings_of(lang::current())
}

impl Strings {
    /// Why `id` is not a valid user ID, if it is not.
    pub fn check_user_id(&self, id: &str) -> Result<(), &'static str> {
        if id.is_empty() {
            return Err(self.user_id_empty);
        }
        validate_user_id(id).map_err(|_| self.user_id_invalid)
    }

    /// Why the calling service refused a request.
    pub fn client_error(&self, error: &ClientError) -> String {
        match error {
            ClientError::BadUserId(_) => self.user_id_invalid.to_owned(),
            ClientError::NotLoggedIn => self.not_logged_in.to_owned(),
            // Logging in twice can only be a double click: the first login goes on.
            ClientError::AlreadyLoggedIn => self.logging_in.to_owned(),
            ClientError::CallSelf => self.call_self.to_owned(),
            ClientError::Busy => self.already_in_call.to_owned(),
            ClientError::InCallElsewhere => self.busy_elsewhere.to_owned(),
            ClientError::TooManyWatched => self.too_many_watched.to_owned(),
            ClientError::NoCall(_) => self.no_call.to_owned(),
            ClientError::Unsupported => self.video_unsupported.to_owned(),
            ClientError::Reconnecting => self.reconnecting_try_later.to_owned(),
        }
    }

    /// Why fetching the UserSig failed.
    pub fn api_error(&self, error: &ApiError) -> String {
        match error {
            ApiError::Unreachable => self.server_unreachable.to_owned(),
            ApiError::Status(status) => (self.server_refused)(*status),
            ApiError::BadAnswer => self.server_bad_answer.to_owned(),
        }
    }

    /// Why no UserSig could be fetched: from this server, or from the customer backend.
    pub fn user_sig_error(&self, error: &UserSigError) -> String {
        match error {
            UserSigError::Server(error) => self.api_error(error),
            UserSigError::Backend { origin, error } => {
                let why = match error {
                    ApiError::Unreachable => self.backend_unreachable.to_owned(),
                    ApiError::Status(status) => (self.backend_refused)(*status),
                    ApiError::BadAnswer => self.backend_bad_answer.to_owned(),
                };
                (self.user_sig_from_failed)(origin, &why)
            }
        }
    }

    /// Why the user is on the login page.
    pub fn login_error(&self, error: &LoginError) -> String {
        match error {
            LoginError::Message(message) => message.clone(),
            LoginError::KickedOut => self.kicked_out.to_owned(),
            LoginError::TooManyDevices => self.too_many_devices.to_owned(),
            LoginError::Disconnected(reason) => (self.disconnected)(reason),
            LoginError::UserSigExpired => self.user_sig_expired.to_owned(),
            LoginError::UserSigInvalid => self.user_sig_invalid.to_owned(),
            LoginError::UserSigWrongUser => self.user_sig_wrong_user.to_owned(),
            LoginError::UserSigWrongApp => self.user_sig_wrong_app.to_owned(),
            LoginError::SessionExpired => self.session_expired.to_owned(),
        }
    }

    /// The warning on `/call` that the session ends in `secs` and cannot be renewed, in whole
    /// minutes (rounded up, at least one).
    pub fn expiry_warning(&self, secs: u64) -> String {
        (self.session_expiring)(secs.div_ceil(60).max(1))
    }

    /// The notice on `/call`: why the last call ended, or what went wrong.
    pub fn notice(&self, notice: &Notice) -> String {
        match notice {
            Notice::CallEnded {
                duration_secs: None,
                failure: None,
            } => self.call_ended.to_owned(),
            Notice::CallEnded {
                duration_secs: Some(secs),
                failure: None,
            } => (self.call_ended_after)(&clock(*secs)),
            Notice::CallEnded {
                failure: Some(failure),
                ..
            } => (self.call_ended_because)(&(self.failure_reason)(failure)),
            Notice::Rejected(id) => (self.rejected)(id),
            Notice::Busy(id) => (self.busy)(id),
            Notice::NoAnswer(None) => self.no_answer.to_owned(),
            Notice::NoAnswer(Some(why)) => (self.no_answer_because)(&(self.failure_reason)(why)),
            Notice::NoAnswerOffline(id) => (self.no_answer_offline)(id),
            Notice::Cancelled => self.call_cancelled.to_owned(),
            Notice::CallerDisconnected(id) => (self.caller_disconnected)(id),
            Notice::Missed(id) => (self.missed_call)(id),
            Notice::AnsweredElsewhere => self.answered_elsewhere.to_owned(),
            Notice::RejectedElsewhere => self.rejected_elsewhere.to_owned(),
            Notice::Error(message) => message.clone(),
        }
    }

    /// How a dialled call stands once the server has said how many of `callee`'s devices ring:
    /// waiting for an offline callee, or ringing.
    pub fn dialing_status(&self, callee: &str, ringing: u32) -> String {
        match ringing {
            0 => (self.callee_offline_waiting)(callee),
            1 => self.ringing.to_owned(),
            n => (self.ringing_on)(n),
        }
    }

    /// Whether `user_id` is online.
    pub fn presence(&self, user_id: &str, online: bool) -> String {
        if online {
            (self.user_online)(user_id)
        } else {
            (self.user_offline)(user_id)
        }
    }
}

/// A duration as a clock reads: `mm:ss`, or `hh:mm:ss` from an hour on.
pub fn clock(secs: u64) -> String {
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    if h > 0 {
        format!("{h:02}:{m:02}:{s:02}")
    } else {
        format!("{m:02}:{s:02}")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use webcall_client::UserIdError;

    /// One text of a table: how it reads with sample arguments, and those arguments, which it
    /// must show.
    pub(crate) trait Sample {
        fn sample(self) -> (String, Vec<String>);
    }

    impl Sample for &'static str {
        fn sample(self) -> (String, Vec<String>) {
            (self.to_owned(), Vec::new())
        }
    }

    impl Sample for fn(&str) -> String {
        fn sample(self) -> (String, Vec<String>) {
            (self("arg-one"), vec!["arg-one".into()])
        }
    }

    impl Sample for fn(&str, &str) -> String {
        fn sample(self) -> (String, Vec<String>) {
            (
                self("arg-one", "arg-two"),
                vec!["arg-one".into(), "arg-two".into()],
            )
        }
    }

    impl Sample for fn(u16) -> String {
        fn sample(self) -> (String, Vec<String>) {
            (self(4242), vec!["4242".into()])
        }
    }

    impl Sample for fn(u32) -> String {
        fn sample(self) -> (String, Vec<String>) {
            (self(4242), vec!["4242".into()])
        }
    }

    impl Sample for fn(u64) -> String {
        fn sample(self) -> (String, Vec<String>) {
            (self(4242), vec!["4242".into()])
        }
    }

    /// One text of a table: the field's name, how it reads with sample arguments, and those
    /// arguments.
    pub(crate) type Text = (&'static str, String, Vec<String>);

    /// Every text of `$table`, a `$ty`, by field name. The pattern names every field: a field
    /// added to the table must be added here too, and so is checked in every language. A
    /// trailing `+ pages` adds the texts of the nested [`PageStrings`], in the whole app.
    macro_rules! texts_of {
        ($table:expr => $ty:ident { $($field:ident),* $(,)? } $(+ $nested:ident)?) => {{
            let $ty { $($field,)* $(#[cfg(feature = "extra-pages")] $nested,)? } = $table;
            #[allow(unused_mut)]
            let mut texts: Vec<Text> = vec![$({
                let (text, args) = Sample::sample(*$field);
                (stringify!($field), text, args)
            }),*];
            $(
                #[cfg(feature = "extra-pages")]
                texts.extend(crate::page_strings::tests::texts($nested));
            )?
            texts
        }};
    }
    #[cfg(feature = "extra-pages")]
    pub(crate) use texts_of;

    /// Every text of `table`, the pages' texts included where the build has them.
    fn texts(table: &Strings) -> Vec<Text> {
        texts_of!(table => Strings {
            app_name,
            page_title,
            switch_language,
            switch_language_label,
            user_id_label,
            log_in,
            logging_in,
            user_id_empty,
            user_id_invalid,
            server_unreachable,
            server_refused,
            server_bad_answer,
            kicked_out,
            too_many_devices,
            disconnected,
            user_sig_label,
            user_sig_hint,
            user_sig_empty,
            user_sig_from_failed,
            backend_unreachable,
            backend_refused,
            backend_bad_answer,
            user_sig_expired,
            user_sig_invalid,
            user_sig_wrong_user,
            user_sig_wrong_app,
            session_expired,
            logged_in_as,
            session_expiring,
            reconnecting,
            reconnecting_try_later,
            audio_interrupted,
            log_out,
            callee_label,
            call,
            cancel,
            calling,
            ringing,
            ringing_on,
            callee_offline_waiting,
            user_online,
            user_offline,
            in_call_elsewhere,
            call_self,
            already_in_call,
            busy_elsewhere,
            too_many_watched,
            not_logged_in,
            no_call,
            video_unsupported,
            call_ended,
            call_ended_after,
            call_ended_because,
            failure_reason,
            rejected,
            busy,
            no_answer,
            no_answer_because,
            no_answer_offline,
            call_cancelled,
            caller_disconnected,
            missed_call,
            answered_elsewhere,
            rejected_elsewhere,
            voice_call_from,
            incoming_hint,
            accept,
            reject,
            in_call_with,
            call_duration,
            connecting,
            mute,
            unmute,
            hang_up,
            verification_code,
            verification_hint,
            peer_muted,
            loading_page,
            mic_level,
            peer_level,
            network_quality,
            quality_unknown,
            quality_bad,
            quality_poor,
            quality_fair,
            quality_good,
            quality_excellent,
            sending,
            receiving,
            round_trip,
            jitter,
            packet_loss,
            microphone,
            speaker,
            default_device,
            unnamed_device,
            speaker_default_only,
            device_failed,
            check_link,
            unsupported_insecure,
            unsupported_no_webrtc,
            unsupported_no_mic,
            history_link,
        } + pages)
    }

    /// ZH texts that are the same in every language: names and technical terms.
    /// (`failure_reason` passes unknown reasons through, like the sample argument.)
    const SAME_IN_ZH: &[&str] = &[
        "app_name",
        "user_sig_label",
        "switch_language",
        "failure_reason",
    ];

    /// Whether `text` has a Chinese character (CJK ideographs and punctuation).
    fn has_chinese(text: &str) -> bool {
        text.chars()
            .any(|c| matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3000}'..='\u{303f}'))
    }

    #[test]
    fn failure_reasons_are_translated_where_known() {
        assert_eq!((ZH.failure_reason)("connection lost"), "连接中断");
        assert_eq!(
            (ZH.failure_reason)("the audio did not connect within 30 s"),
            "音频未能在 30 秒内接通"
        );
        assert_eq!(
            (ZH.failure_reason)("bob: the audio connection failed"),
            "bob：音频连接失败"
        );
        assert_eq!(
            (ZH.failure_reason)("alice logged in elsewhere"),
            "alice 已在其他设备登录"
        );
        // Unknown words (a TURN server's) stay; English keeps every reason as it is.
        assert_eq!((ZH.failure_reason)("TURN said 401"), "TURN said 401");
        assert_eq!((EN.failure_reason)("connection lost"), "connection lost");
        assert_eq!(
            ZH.notice(&Notice::CallEnded {
                duration_secs: Some(5),
                failure: Some("connection lost".into()),
            }),
            "通话已结束：连接中断"
        );
    }

    #[test]
    fn every_text_shows_its_arguments() {
        for (lang, table) in [("en", &EN), ("zh", &ZH)] {
            for (field, text, args) in texts(table) {
                assert!(!text.trim().is_empty(), "{lang}.{field} is empty");
                for arg in args {
                    assert!(text.contains(&arg), "{lang}.{field} {text:?} lacks {arg:?}");
                }
            }
        }
    }

    #[test]
    fn every_chinese_text_is_chinese() {
        let english: Vec<_> = texts(&EN);
        for ((field, zh, _), (_, en, _)) in texts(&ZH).into_iter().zip(english) {
            if SAME_IN_ZH.contains(&field) {
                assert!(
                    !has_chinese(&zh),
                    "zh.{field} {zh:?} is a name, not Chinese"
                );
                continue;
            }
            assert!(has_chinese(&zh), "zh.{field} {zh:?} is not Chinese");
            assert_ne!(zh, en, "zh.{field} is the English text");
        }
    }

    #[test]
    fn english_texts_are_english() {
        for (field, text, _) in texts(&EN) {
            // The switch names Chinese in Chinese.
            if field.starts_with("switch_language") {
                continue;
            }
            assert!(!has_chinese(&text), "en.{field} {text:?} has Chinese");
        }
    }

    /// What every [`Strings`] helper says in `table`, for every case it words; the bool tells
    /// whether the text is the table's own (not a message passed through).
    fn helper_texts(table: &Strings) -> Vec<(String, bool)> {
        let notices = [
            Notice::CallEnded {
                duration_secs: None,
                failure: None,
            },
            Notice::CallEnded {
                duration_secs: Some(42),
                failure: None,
            },
            Notice::CallEnded {
                duration_secs: Some(42),
                failure: Some("x".into()),
            },
            Notice::Rejected("bob".into()),
            Notice::Busy("bob".into()),
            Notice::NoAnswer(None),
            Notice::NoAnswer(Some("x".into())),
            Notice::NoAnswerOffline("bob".into()),
            Notice::Cancelled,
            Notice::CallerDisconnected("bob".into()),
            Notice::AnsweredElsewhere,
            Notice::RejectedElsewhere,
            Notice::Missed("bob".into()),
            Notice::Error("passed through".into()),
        ];
        let client_errors = [
            ClientError::BadUserId(UserIdError::BadCharacter),
            ClientError::NotLoggedIn,
            ClientError::AlreadyLoggedIn,
            ClientError::CallSelf,
            ClientError::Busy,
            ClientError::InCallElsewhere,
            ClientError::TooManyWatched,
            ClientError::NoCall("accept"),
            ClientError::Unsupported,
            ClientError::Reconnecting,
        ];
        let login_errors = [
            LoginError::Message("passed through".into()),
            LoginError::KickedOut,
            LoginError::TooManyDevices,
            LoginError::Disconnected("x".into()),
            LoginError::UserSigExpired,
            LoginError::UserSigInvalid,
            LoginError::UserSigWrongUser,
            LoginError::UserSigWrongApp,
            LoginError::SessionExpired,
        ];
        let api_errors = || {
            [
                ApiError::Unreachable,
                ApiError::Status(500),
                ApiError::BadAnswer,
            ]
        };
        let mut out = Vec::new();
        for notice in &notices {
            let own = !matches!(notice, Notice::Error(_));
            out.push((table.notice(notice), own));
        }
        for error in &client_errors {
            out.push((table.client_error(error), true));
        }
        for error in &login_errors {
            let own = !matches!(error, LoginError::Message(_));
            out.push((table.login_error(error), own));
        }
        for error in api_errors() {
            out.push((table.api_error(&error), true));
            out.push((
                table.user_sig_error(&UserSigError::Server(error.clone())),
                true,
            ));
            let backend = UserSigError::Backend {
                origin: "https://backend.test".into(),
                error,
            };
            out.push((table.user_sig_error(&backend), true));
        }
        for ringing in [0, 1, 3] {
            out.push((table.dialing_status("bob", ringing), true));
        }
        for online in [true, false] {
            out.push((table.presence("bob", online), true));
        }
        out.push((table.expiry_warning(300), true));
        for id in ["", "a b"] {
            let refusal = table.check_user_id(id).expect_err("an invalid user ID");
            out.push((refusal.to_owned(), true));
        }
        out
    }

    #[test]
    fn both_tables_word_every_helper() {
        let (en, zh) = (helper_texts(&EN), helper_texts(&ZH));
        assert_eq!(en.len(), zh.len());
        for ((en, _), (zh, own)) in en.into_iter().zip(zh) {
            assert!(!en.is_empty() && !zh.is_empty());
            if own {
                assert!(has_chinese(&zh), "{zh:?} (for {en:?}) is not Chinese");
                assert!(!has_chinese(&en), "{en:?} has Chinese");
            } else {
                assert_eq!(zh, en, "a passed-through message is shown as it came");
            }
        }
    }

    #[test]
    fn each_language_has_its_table() {
        assert_eq!(strings_of(Lang::En).page_title, EN.page_title);
        assert_eq!(strings_of(Lang::ZhCn).page_title, ZH.page_title);
        assert_eq!(
            t().page_title,
            EN.page_title,
            "English until chosen otherwise"
        );
        assert_eq!(ZH.notice(&Notice::Cancelled), "通话已取消");
        assert_eq!(
            ZH.notice(&Notice::CallEnded {
                duration_secs: Some(42),
                failure: None
            }),
            "通话已结束（00:42）"
        );
        assert_eq!((ZH.calling)("bob"), "正在呼叫 bob…");
    }

    #[test]
    fn clock_reads_minutes_then_hours() {
        assert_eq!(clock(0), "00:00");
        assert_eq!(clock(42), "00:42");
        assert_eq!(clock(3599), "59:59");
        assert_eq!(clock(3600), "01:00:00");
        assert_eq!(clock(36_000 + 61), "10:01:01");
    }

    #[test]
    fn notices_read_as_specified() {
        let t = &EN;
        let ended = |duration_secs, failure| Notice::CallEnded {
            duration_secs,
            failure,
        };
        assert_eq!(t.notice(&ended(None, None)), "Call ended");
        assert_eq!(t.notice(&ended(Some(42), None)), "Call ended (00:42)");
        assert_eq!(
            t.notice(&ended(Some(3), Some("the audio connection failed".into()))),
            "Call ended: the audio connection failed"
        );
        assert_eq!(
            t.notice(&Notice::Rejected("bob".into())),
            "bob rejected the call"
        );
        assert_eq!(t.notice(&Notice::Busy("bob".into())), "bob is busy");
        assert_eq!(t.notice(&Notice::NoAnswer(None)), "No answer");
        assert_eq!(
            t.notice(&Notice::NoAnswer(Some("bob is offline".into()))),
            "No answer: bob is offline"
        );
        assert_eq!(t.notice(&Notice::Cancelled), "Call cancelled");
        assert_eq!(
            t.notice(&Notice::Missed("alice".into())),
            "Missed call from alice"
        );
        assert_eq!((t.calling)("bob"), "Calling bob…");
        assert_eq!(
            t.client_error(&ClientError::CallSelf),
            "You cannot call yourself"
        );
    }

    #[test]
    fn multi_device_and_presence_texts_read_as_specified() {
        let t = &EN;
        assert_eq!(
            t.notice(&Notice::NoAnswerOffline("bob".into())),
            "No answer: bob is offline"
        );
        assert_eq!(
            t.notice(&Notice::CallerDisconnected("bob".into())),
            "bob lost their connection; the call was cancelled"
        );
        assert_eq!(
            t.notice(&Notice::AnsweredElsewhere),
            "Answered on another device"
        );
        assert_eq!(
            t.notice(&Notice::RejectedElsewhere),
            "Rejected on another device"
        );
        assert_eq!(
            t.dialing_status("bob", 0),
            "bob is offline. The call will ring when bob logs in."
        );
        assert_eq!(t.dialing_status("bob", 1), "Ringing…");
        assert_eq!(t.dialing_status("bob", 3), "Ringing on 3 devices");
        assert_eq!(t.presence("bob", true), "bob is online");
        assert_eq!(t.presence("bob", false), "bob is offline");
        assert_eq!(
            (t.in_call_elsewhere)("bob"),
            "You are in a call with bob on another device"
        );
        assert_eq!(
            t.client_error(&ClientError::InCallElsewhere),
            "You are in a call on another device"
        );
        assert_eq!(
            t.login_error(&LoginError::TooManyDevices),
            "You are logged in on too many devices (at most 5). Log out on one of them first."
        );
        assert_eq!(
            t.login_error(&LoginError::Message("UserSig has expired".into())),
            "UserSig has expired"
        );
    }

    #[test]
    fn usersig_texts_read_as_specified() {
        let t = &EN;
        assert_eq!(
            t.login_error(&LoginError::UserSigExpired),
            "This UserSig has expired. Get a new one."
        );
        assert_eq!(
            t.login_error(&LoginError::UserSigInvalid),
            "This UserSig is not valid (it was changed or signed with another key)."
        );
        assert_eq!(
            t.login_error(&LoginError::UserSigWrongUser),
            "This UserSig belongs to another user ID."
        );
        assert_eq!(
            t.login_error(&LoginError::UserSigWrongApp),
            "This UserSig is for another application (SDKAppID)."
        );
        assert_eq!(
            t.login_error(&LoginError::SessionExpired),
            "Your session expired. Log in again."
        );
        assert_eq!(
            t.expiry_warning(300),
            "Your session expires in 5 minutes. Log out and in again with a new UserSig."
        );
        assert_eq!(
            t.expiry_warning(299),
            "Your session expires in 5 minutes. Log out and in again with a new UserSig."
        );
        assert_eq!(
            t.expiry_warning(45),
            "Your session expires in 1 minute. Log out and in again with a new UserSig."
        );
        assert_eq!(
            t.expiry_warning(0),
            "Your session expires in 1 minute. Log out and in again with a new UserSig."
        );
    }

    #[test]
    fn usersig_fetch_failures_name_where_they_came_from() {
        let t = &EN;
        let backend = |error| UserSigError::Backend {
            origin: "https://backend.example.com".into(),
            error,
        };
        assert_eq!(
            t.user_sig_error(&backend(ApiError::Status(403))),
            "Could not get a UserSig from https://backend.example.com: it answered HTTP 403"
        );
        assert_eq!(
            t.user_sig_error(&backend(ApiError::Unreachable)),
            "Could not get a UserSig from https://backend.example.com: no answer (it is \
             unreachable, or its CORS rules do not allow this page)"
        );
        assert_eq!(
            t.user_sig_error(&backend(ApiError::BadAnswer)),
            "Could not get a UserSig from https://backend.example.com: its answer is not JSON \
             with a user_sig"
        );
        // The development endpoint is this server's.
        assert_eq!(
            t.user_sig_error(&UserSigError::Server(ApiError::Unreachable)),
            "Could not reach the server"
        );
        assert_eq!(
            t.user_sig_error(&UserSigError::Server(ApiError::Status(500))),
            "The server refused the login (HTTP 500)"
        );
    }
}
