//! Property tests of the UserSig codec ([`UserSigKey`]): what it issues verifies, for exactly
//! the user, app and time span it was issued for; a token changed in any one character is
//! refused, unless the change leaves what the token says untouched; and no input makes it panic.
//!
//! "Untouched" is a real case: a token is base64 of zlib of JSON, and both encodings have slack.
//! The last deflate byte ends in padding bits that no decoder reads, a `_` (base64 `=`) turned
//! into a data character only adds a byte after the end of the zlib stream, and the standard
//! base64 characters `+ / =` are read like their TLS-SigAPIv2 spellings `* - _`. Such a token
//! still verifies, but it carries the very same signed document. The test checks that every
//! change that verifies is one of those, by inflating both tokens and comparing the documents.
//!
//! Every run tries the same cases (a fixed seed); `PROPTEST_RNG_SEED=<n>` tries others and
//! `PROPTEST_CASES=<n>` more of them.

use std::io::Read;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use webcall_server::usersig::SigInfo;
use webcall_server::{UserSigError, UserSigKey};

const APP: u32 = 1_400_000_000;
const SECRET: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

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
        config.rng_seed = RngSeed::Fixed(0x5eed_0002);
    }
    config
}

fn key() -> UserSigKey {
    UserSigKey::new(APP, SECRET)
}

/// A valid user ID.
fn user_id() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_-]{1,32}"
}

/// What a token is issued with: user, validity in seconds, issue time, optional userbuf.
fn params() -> impl Strategy<Value = (String, u64, u64, Option<Vec<u8>>)> {
    (
        user_id(),
        prop_oneof![1..=u64::from(u32::MAX), 1..=u64::MAX],
        prop_oneof![0..=(1u64 << 40), any::<u64>(), (u64::MAX - 2)..=u64::MAX],
        option::of(vec(any::<u8>(), 0..64)),
    )
}

/// The JSON document inside a token, or `None` when the token does not inflate.
fn inflate(token: &str) -> Option<Vec<u8>> {
    let b64: String = token
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect();
    let compressed = STANDARD.decode(b64).ok()?;
    let mut json = Vec::new();
    ZlibDecoder::new(compressed.as_slice())
        .take(1 << 16)
        .read_to_end(&mut json)
        .ok()?;
    Some(json)
}

/// `text`, zlib-compressed, in TLS-SigAPIv2's base64.
fn encode(text: &[u8]) -> String {
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    std::io::Write::write_all(&mut encoder, text).unwrap();
    STANDARD
        .encode(encoder.finish().unwrap())
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn issued_tokens_verify_for_their_user_app_and_time_span_only(
        (user, expire, time, userbuf) in params(),
        offset in any::<u64>(),
        other in user_id(),
    ) {
        let token = key().issue_with_userbuf(&user, expire, time, userbuf.as_deref());
        let info = SigInfo { identifier: user.clone(), time, expire, userbuf };
        // Valid from `time` until just before `time + expire`, which saturates: a token issued
        // at the end of time is never valid.
        let end = time.saturating_add(expire);
        if time < end {
            let now = time + offset % (end - time);
            prop_assert_eq!(key().verify(&user, &token, now), Ok(info.clone()));
            prop_assert_eq!(key().verify(&user, &token, time), Ok(info));
        }
        prop_assert_eq!(key().verify(&user, &token, end), Err(UserSigError::Expired));
        prop_assert_eq!(key().verify(&user, &token, u64::MAX), Err(UserSigError::Expired));
        if other != user {
            prop_assert_eq!(key().verify(&other, &token, time), Err(UserSigError::WrongUser));
        }
        prop_assert_eq!(
            UserSigKey::new(APP.wrapping_add(1), SECRET).verify(&user, &token, time),
            Err(UserSigError::WrongAppId { expected: APP.wrapping_add(1), found: APP.into() })
        );
        prop_assert_eq!(
            UserSigKey::new(APP, "another secret").verify(&user, &token, time),
            Err(UserSigError::BadSignature)
        );
    }

    #[test]
    fn a_token_changed_in_one_character_is_refused_unless_it_says_the_same(
        (user, expire, time, userbuf) in params(),
        at in any::<prop::sample::Index>(),
        replacement in prop_oneof![
            proptest::sample::select(
                "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-_+/=."
                    .chars()
                    .collect::<Vec<_>>()
            ),
            any::<char>(),
        ],
    ) {
        let token = key().issue_with_userbuf(&user, expire, time, userbuf.as_deref());
        let mut chars: Vec<char> = token.chars().collect();
        let at = at.index(chars.len());
        prop_assume!(chars[at] != replacement);
        chars[at] = replacement;
        let changed: String = chars.into_iter().collect();
        let got = key().verify(&user, &changed, time);
        if !matches!(got, Err(UserSigError::Malformed(_) | UserSigError::BadSignature)) {
            // Past the signature check: only encoding slack, the same document byte for byte.
            prop_assert_eq!(
                inflate(&changed),
                inflate(&token),
                "{} passes as {:?}",
                changed,
                &got
            );
            prop_assert_eq!(got, key().verify(&user, &token, time));
        }
    }

    #[test]
    fn arbitrary_strings_never_panic_and_are_refused(
        user in prop_oneof![user_id(), any::<String>()],
        token in prop_oneof![
            any::<String>(),
            "[A-Za-z0-9*_-]{0,400}",
            "eJ[A-Za-z0-9*_-]{0,200}",
        ],
        now in any::<u64>(),
    ) {
        prop_assert!(key().verify(&user, &token, now).is_err());
    }

    #[test]
    fn well_formed_documents_signed_otherwise_are_refused(
        user in user_id(),
        sdkappid in prop_oneof![Just(u64::from(APP)), any::<u64>()],
        expire in any::<u64>(),
        time in any::<u64>(),
        userbuf in option::of("[A-Za-z0-9+/=]{0,12}|\\PC{0,8}"),
        sig in prop_oneof!["[A-Za-z0-9+/]{43}=", "\\PC{0,50}"],
        ver in prop_oneof![Just("2.0".to_owned()), "\\PC{0,4}"],
    ) {
        let mut doc = serde_json::json!({
            "TLS.ver": ver,
            "TLS.identifier": user,
            "TLS.sdkappid": sdkappid,
            "TLS.expire": expire,
            "TLS.time": time,
            "TLS.sig": sig,
        });
        if let Some(userbuf) = userbuf {
            doc["TLS.userbuf"] = userbuf.into();
        }
        let token = encode(doc.to_string().as_bytes());
        let result = key().verify(&user, &token, time);
        prop_assert!(
            matches!(result, Err(UserSigError::BadSignature | UserSigError::Malformed(_))),
            "{doc} gave {result:?}"
        );
    }
}
