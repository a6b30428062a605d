//! Property tests of the wire format: every message, whatever its field values, survives a trip
//! through JSON unchanged, and no input, however malformed, makes the decoder panic; whatever
//! decodes re-encodes to something that decodes to the same value.
//!
//! The generators build every variant of [`ClientMsg`] and [`ServerMsg`] (and of the types they
//! carry) from arbitrary strings (quotes, backslashes, control characters, any Unicode) and
//! numbers over their whole range. A new variant or field needs a line here; the compiler points
//! at the place for a new field.
//!
//! Every run tries the same cases (a fixed seed); `PROPTEST_RNG_SEED=<n>` tries others and
//! `PROPTEST_CASES=<n>` more of them.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use webcall_protocol::{
    CallClaim, CallType, ClaimPhase, ClientMsg, ErrorCode, IceServer, Outcome, Resume, ServerMsg,
    Signal, MAX_WATCHED,
};

/// `cases` cases from a fixed seed, unless `PROPTEST_CASES` / `PROPTEST_RNG_SEED` say otherwise.
/// Nothing is written to the source tree: a failure replays from the seed.
fn config(cases: u32) -> ProptestConfig {
    let mut config = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if config.rng_seed == RngSeed::Random {
        config.rng_seed = RngSeed::Fixed(0x5eed_0001);
    }
    config
}

/// Any string, short: arbitrary Unicode, including what JSON must escape.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9_-]{0,40}",
        r#"["\\\x00-\x1f\u{7f}-\u{10ffff}]{0,8}"#,
    ]
}

fn call_type() -> impl Strategy<Value = CallType> {
    prop_oneof![Just(CallType::Audio), Just(CallType::Video)]
}

fn signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        text().prop_map(|sdp| Signal::Offer { sdp }),
        text().prop_map(|sdp| Signal::Answer { sdp }),
        (text(), option::of(text()), option::of(any::<u16>())).prop_map(
            |(candidate, sdp_mid, sdp_m_line_index)| Signal::Ice {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            }
        ),
    ]
}

fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        (text(), text(), any::<u32>(), option::of(resume())).prop_map(
            |(user_id, user_sig, sdk_app_id, resume)| ClientMsg::Login {
                user_id,
                user_sig,
                sdk_app_id,
                resume,
            }
        ),
        (any::<u32>(), text(), call_type(), option::of(any::<u32>())).prop_map(
            |(req, callee, call_type, timeout_secs)| ClientMsg::Invite {
                req,
                callee,
                call_type,
                timeout_secs,
            }
        ),
        text().prop_map(|call_id| ClientMsg::Accept { call_id }),
        text().prop_map(|call_id| ClientMsg::Reject { call_id }),
        text().prop_map(|call_id| ClientMsg::Cancel { call_id }),
        (text(), option::of(text()))
            .prop_map(|(call_id, failure)| ClientMsg::Hangup { call_id, failure }),
        (text(), signal()).prop_map(|(call_id, signal)| ClientMsg::Signal { call_id, signal }),
        text().prop_map(|call_id| ClientMsg::MediaConnected { call_id }),
        vec(text(), 0..=MAX_WATCHED + 2).prop_map(|users| ClientMsg::Watch { users }),
        Just(ClientMsg::Ping),
        any::<u64>().prop_map(|seq| ClientMsg::Ack { seq }),
        text().prop_map(|user_sig| ClientMsg::Renew { user_sig }),
    ]
}

fn resume() -> impl Strategy<Value = Resume> {
    let phase = prop_oneof![
        any::<u32>().prop_map(|secs_left| ClaimPhase::Ringing { secs_left }),
        (any::<u64>(), any::<bool>())
            .prop_map(|(secs, connected)| ClaimPhase::Accepted { secs, connected }),
        (any::<bool>(), any::<u64>())
            .prop_map(|(accepted, secs)| ClaimPhase::Left { accepted, secs }),
    ];
    let claim =
        (text(), text(), any::<bool>(), phase).prop_map(|(call_id, peer, caller, phase)| {
            CallClaim {
                call_id,
                peer,
                caller,
                phase,
            }
        });
    (text(), any::<u64>(), option::of(claim)).prop_map(|(session, seq, call)| Resume {
        session,
        seq,
        call,
    })
}

fn ice_server() -> impl Strategy<Value = IceServer> {
    (vec(text(), 0..3), option::of(text()), option::of(text())).prop_map(
        |(urls, username, credential)| IceServer {
            urls,
            username,
            credential,
        },
    )
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        Just(Outcome::Rejected),
        Just(Outcome::Busy),
        any::<bool>().prop_map(|offline| Outcome::NoAnswer { offline }),
        any::<bool>().prop_map(|disconnected| Outcome::Cancelled { disconnected }),
        (text(), any::<u64>())
            .prop_map(|(by, duration_secs)| Outcome::HungUp { by, duration_secs }),
        text().prop_map(|message| Outcome::Failed { message }),
        text().prop_map(|user| Outcome::ConnectionLost { user }),
    ]
}

fn error_code() -> impl Strategy<Value = ErrorCode> {
    use ErrorCode::*;
    proptest::sample::select(vec![
        BadMessage,
        NotLoggedIn,
        KickedOut,
        TooManyDevices,
        BadUserSig,
        UserSigExpired,
        UserSigWrongUser,
        WrongSdkAppId,
        SessionExpired,
        RateLimited,
        BadUserId,
        CallSelf,
        AlreadyInCall,
        NoSuchCall,
        WrongState,
        Unsupported,
        Internal,
    ])
}

fn server_msg() -> impl Strategy<Value = ServerMsg> {
    let plain = plain_server_msg();
    prop_oneof![
        3 => plain.clone(),
        1 => (any::<u64>(), plain).prop_map(|(seq, msg)| ServerMsg::Seq(seq, Box::new(msg))),
    ]
}

fn plain_server_msg() -> BoxedStrategy<ServerMsg> {
    prop_oneof![
        (
            text(),
            vec(ice_server(), 0..3),
            any::<u64>(),
            any::<bool>(),
            text(),
            any::<bool>()
        )
            .prop_map(
                |(user_id, ice_servers, expires_in_secs, relay_only, session, resumed)| {
                    ServerMsg::LoggedIn {
                        user_id,
                        ice_servers,
                        expires_in_secs,
                        relay_only,
                        session,
                        resumed,
                    }
                }
            ),
        any::<u64>().prop_map(|expires_in_secs| ServerMsg::SessionExpiring { expires_in_secs }),
        any::<u64>().prop_map(|expires_in_secs| ServerMsg::Renewed { expires_in_secs }),
        (any::<u32>(), text(), text(), any::<u32>()).prop_map(|(req, call_id, callee, ringing)| {
            ServerMsg::CallCreated {
                req,
                call_id,
                callee,
                ringing,
            }
        }),
        (text(), any::<u32>())
            .prop_map(|(call_id, devices)| ServerMsg::Ringing { call_id, devices }),
        (text(), text(), call_type(), any::<u32>()).prop_map(
            |(call_id, caller, call_type, timeout_secs)| ServerMsg::Invited {
                call_id,
                caller,
                call_type,
                timeout_secs,
            }
        ),
        text().prop_map(|call_id| ServerMsg::Accepted { call_id }),
        text().prop_map(|call_id| ServerMsg::AnsweredElsewhere { call_id }),
        (any::<u32>(), text(), text()).prop_map(|(req, call_id, caller)| {
            ServerMsg::CallMerged {
                req,
                call_id,
                caller,
            }
        }),
        (text(), text()).prop_map(|(call_id, peer)| ServerMsg::CallElsewhere { call_id, peer }),
        (text(), any::<bool>())
            .prop_map(|(user_id, online)| ServerMsg::Presence { user_id, online }),
        (text(), signal()).prop_map(|(call_id, signal)| ServerMsg::Signal { call_id, signal }),
        (text(), outcome())
            .prop_map(|(call_id, outcome)| ServerMsg::CallEnded { call_id, outcome }),
        (error_code(), text(), option::of(any::<u32>()))
            .prop_map(|(code, message, req)| ServerMsg::Error { code, message, req }),
        Just(ServerMsg::Pong),
    ]
    .boxed()
}

/// The pieces of [`json_ish`] text besides arbitrary strings, separated by spaces.
const JSON_WORDS: &str = concat!(
    r#"{ } [ ] : , " \ null true false 0 -1 4294967296 1e3 \u0000 \ud800 "#,
    "login invite accept reject cancel hangup signal media_connected watch ping renew ",
    "call_id callee req call_type audio video timeout_secs failure offer answer ice candidate ",
    "sdp sdp_mid sdp_m_line_index users user_id user_sig sdk_app_id logged_in call_ended outcome ",
    "ack seq resume session call peer caller phase ringing secs_left accepted secs connected ",
    "left media_interrupted",
);

/// Text that looks like JSON: the characters of the wire format, the names of the messages and
/// their fields, numbers and escapes, in any order.
fn json_ish() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        proptest::sample::select(JSON_WORDS.split(' ').collect::<Vec<_>>()).prop_map(str::to_owned),
        text(),
    ];
    vec(token, 0..24).prop_map(|tokens| tokens.concat())
}

/// A valid frame with one character inserted, removed or replaced.
fn mutated_frame() -> impl Strategy<Value = String> {
    (
        prop_oneof![
            client_msg().prop_map(|m| serde_json::to_string(&m).unwrap()),
            server_msg().prop_map(|m| serde_json::to_string(&m).unwrap()),
        ],
        any::<prop::sample::Index>(),
        0..3u8,
        any::<char>(),
    )
        .prop_map(|(frame, at, how, c)| {
            let mut chars: Vec<char> = frame.chars().collect();
            let at = at.index(chars.len() + 1);
            match how {
                0 => chars.insert(at, c),
                1 if at < chars.len() => {
                    chars.remove(at);
                }
                _ if at < chars.len() => chars[at] = c,
                _ => chars.push(c),
            }
            chars.into_iter().collect()
        })
}

/// Decodes `bytes` as both message types; whatever decodes must survive a second trip.
fn decode_without_panic(bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Ok(msg) = serde_json::from_slice::<ClientMsg>(bytes) {
        let again: ClientMsg = serde_json::from_str(&serde_json::to_string(&msg).unwrap())
            .map_err(|e| TestCaseError::fail(format!("{msg:?} does not decode again: {e}")))?;
        prop_assert_eq!(again, msg);
    }
    if let Ok(msg) = serde_json::from_slice::<ServerMsg>(bytes) {
        let again: ServerMsg = serde_json::from_str(&serde_json::to_string(&msg).unwrap())
            .map_err(|e| TestCaseError::fail(format!("{msg:?} does not decode again: {e}")))?;
        prop_assert_eq!(again, msg);
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn any_client_msg_round_trips_through_json(msg in client_msg()) {
        let text = serde_json::to_string(&msg).unwrap();
        let back: ClientMsg = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("{text} does not decode: {e}")))?;
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn any_server_msg_round_trips_through_json(msg in server_msg()) {
        let text = serde_json::to_string(&msg).unwrap();
        let back: ServerMsg = serde_json::from_str(&text)
            .map_err(|e| TestCaseError::fail(format!("{text} does not decode: {e}")))?;
        prop_assert_eq!(back, msg);
    }

    #[test]
    fn json_ish_text_never_panics_the_decoder(text in json_ish()) {
        decode_without_panic(text.as_bytes())?;
    }

    #[test]
    fn mutated_frames_never_panic_the_decoder(text in mutated_frame()) {
        decode_without_panic(text.as_bytes())?;
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in vec(any::<u8>(), 0..256)) {
        decode_without_panic(&bytes)?;
    }
}
