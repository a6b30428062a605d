//! Fuzz target `usersig`: the UserSig codec ([`UserSigKey`]), from both ends.
//!
//! 1. The input, as text, is a UserSig that `verify` must take without panicking (whatever it
//!    answers: a seed is a valid token, and mutations of it explore the decoder).
//! 2. The input, as bytes, also chooses a token to issue: a valid user ID, a validity, an issue
//!    time and maybe a userbuf. The token must verify for that user from its issue time until
//!    just before it expires (answering what it was issued with), be `Expired` from then on,
//!    and be refused for another user. Then one character of it, chosen by the input, is
//!    changed: the changed token must fail the signature check (`Malformed` or
//!    `BadSignature`), unless the change leaves the signed document the same byte for byte.
//!    Base64 and deflate both have slack (the padding bits of the last deflate byte, a byte
//!    added after the zlib stream by turning a `_` into a data character, `+ / =` read like
//!    `* - _`), so such a token still verifies, saying exactly what the original says; nothing
//!    else may.
//!
//! Seeds: `fuzz/seeds/usersig/`.

#![no_main]

use std::io::Read;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use flate2::read::ZlibDecoder;
use libfuzzer_sys::arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use webcall_server::usersig::SigInfo;
use webcall_server::{UserSigError, UserSigKey};

const APP: u32 = 1_400_000_000;
const SECRET: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

/// When part 1 verifies; the seed tokens are valid then.
const NOW: u64 = 1_700_000_000;

/// The characters a user ID may hold.
const ID_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

/// TLS-SigAPIv2's base64 alphabet, the standard one's extra characters, and a stranger.
const TOKEN_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-_+/=.";

/// What part 2 issues and changes.
#[derive(Debug)]
struct Case {
    user: String,
    other: String,
    expire: u64,
    time: u64,
    offset: u64,
    userbuf: Option<Vec<u8>>,
    at: usize,
    replacement: u8,
}

fn user_id(u: &mut Unstructured) -> Result<String> {
    let len: usize = u.int_in_range(1..=32)?;
    (0..len)
        .map(|_| Ok(char::from(*u.choose(ID_CHARS)?)))
        .collect()
}

fn case(u: &mut Unstructured) -> Result<Case> {
    Ok(Case {
        user: user_id(u)?,
        other: user_id(u)?,
        expire: u.int_in_range(1..=u64::MAX)?,
        time: u.arbitrary()?,
        offset: u.arbitrary()?,
        userbuf: if u.arbitrary()? {
            let len = u.int_in_range(0..=256usize)?.min(u.len());
            Some(u.bytes(len)?.to_vec())
        } else {
            None
        },
        at: u.arbitrary()?,
        replacement: u.arbitrary()?,
    })
}

/// The JSON document inside a token, or `None` when it does not inflate.
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

fn check(key: &UserSigKey, c: Case) {
    let token = key.issue_with_userbuf(&c.user, c.expire, c.time, c.userbuf.as_deref());
    let info = SigInfo {
        identifier: c.user.clone(),
        time: c.time,
        expire: c.expire,
        userbuf: c.userbuf.clone(),
    };
    // Valid from `time` until just before `time + expire`, which saturates: a token issued at
    // the end of time is never valid.
    let end = c.time.saturating_add(c.expire);
    if c.time < end {
        let now = c.time + c.offset % (end - c.time);
        assert_eq!(key.verify(&c.user, &token, c.time), Ok(info.clone()));
        assert_eq!(key.verify(&c.user, &token, now), Ok(info.clone()));
    }
    for now in [end, u64::MAX] {
        assert_eq!(key.verify(&c.user, &token, now), Err(UserSigError::Expired));
    }
    if c.other != c.user {
        assert_eq!(
            key.verify(&c.other, &token, c.time),
            Err(UserSigError::WrongUser)
        );
    }

    let mut changed = token.clone().into_bytes();
    let at = c.at % changed.len();
    changed[at] = if c.replacement & 0x80 == 0 {
        TOKEN_CHARS[usize::from(c.replacement) % TOKEN_CHARS.len()]
    } else {
        // A bit flip, kept ASCII.
        changed[at] ^ (1 << (c.replacement % 7))
    };
    if changed[at] == token.as_bytes()[at] {
        return;
    }
    let changed = String::from_utf8(changed).expect("ASCII stays UTF-8");
    // Past the signature check, whatever the answer, only if it says the same, byte for byte.
    let got = key.verify(&c.user, &changed, c.time);
    if !matches!(
        got,
        Err(UserSigError::Malformed(_) | UserSigError::BadSignature)
    ) {
        assert_eq!(
            inflate(&changed),
            inflate(&token),
            "{token} changed at {at} to {changed} passes as {got:?}, saying something else"
        );
        assert_eq!(got, key.verify(&c.user, &token, c.time));
    }
}

fuzz_target!(|data: &[u8]| {
    let key = UserSigKey::new(APP, SECRET);
    let _ = key.verify("alice", &String::from_utf8_lossy(data), NOW);
    if let Ok(c) = case(&mut Unstructured::new(data)) {
        check(&key, c);
    }
});
