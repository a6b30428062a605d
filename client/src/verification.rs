//! The call verification code: a short code both sides of a call show, derived from the two
//! DTLS certificate fingerprints of the call's audio connection.
//!
//! WebRTC encrypts the audio with keys agreed in a DTLS handshake, and each side checks the
//! other's certificate against the fingerprint in the SDP it received (`a=fingerprint:`). The
//! SDPs travel through the signaling server, so a server that swapped the fingerprints for its
//! own could terminate DTLS on each side and listen in, unseen by either browser. The users can
//! see it, though: each side derives the code from its own fingerprint and the one it
//! received, so an honest connection gives both the same pair of fingerprints, and the same
//! code, while a man in the middle leaves each side with a pair that holds one of his own, and
//! (with the odds below) two different codes. Users who read the codes to each other over the
//! call notice.
//!
//! # Derivation
//!
//! 1. [`fingerprint`]: each SDP's fingerprint: the first `a=fingerprint:` line, which is the
//!    session-level one when there is one, else that of the first media section (with BUNDLE
//!    every section has the same one). Normalised to `<hash function> <value>`, the hash
//!    function in lowercase and the value in uppercase hex (`sha-256 AB:CD:…`), so that two
//!    spellings of one fingerprint agree.
//! 2. [`digest_input`]: [`DOMAIN`], then the two normalised fingerprints in ascending byte
//!    order, each followed by a line feed. Sorting makes the input the same on both sides,
//!    whoever offered: one side's local fingerprint is the other's remote one.
//! 3. SHA-256 of that input ([`DIGEST_ALGORITHM`]; the browser shell uses WebCrypto).
//! 4. [`code_from_digest`]: the first 8 bytes of the digest as a big-endian integer, modulo one
//!    million, as six decimal digits in two groups of three: `"042 917"`.
//!
//! # Why six digits, and what they guard against
//!
//! Digits read aloud easily in any language, and two groups of three are easy to compare.
//! Two different fingerprint pairs give the same code by chance with a probability of one in a
//! million (the modulo bias of a 64-bit value is below 10⁻¹³), so a plain substitution of
//! fingerprints shows almost surely.
//!
//! Six digits are no proof against an attacker who expects the comparison, however: the
//! fingerprint the attacker hands to the offerer, in the answer, is chosen after seeing both
//! real ones, so trying about a million certificates (quick work) finds one that gives both
//! sides the same code. The code raises the bar from passive to deliberate interception; a
//! guarantee would need more digits and a commitment to the fingerprints exchanged before
//! they are revealed (as ZRTP does).
//!
//! # Example
//!
//! Both sides of a connection between two DTLS certificates get the same code; the shell does
//! this with WebCrypto's SHA-256, any SHA-256 does (the `sha2` crate here):
//!
//! ```
//! use sha2::{Digest, Sha256};
//! use webcall_client::verification::{code_from_digest, digest_input_of_sdps};
//!
//! /// What a side shows, from its local and remote SDP.
//! fn code(local_sdp: &str, remote_sdp: &str) -> Option<String> {
//!     let input = digest_input_of_sdps(local_sdp, remote_sdp)?;
//!     Some(code_from_digest(&Sha256::digest(input).into()))
//! }
//!
//! let alice = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 AB:CD:EF:01\r\n";
//! let bob = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=fingerprint:sha-256 10:32:54:76\r\n";
//! let mallory = "v=0\r\na=fingerprint:sha-256 00:11:22:33\r\n";
//!
//! let at_alice = code(alice, bob).unwrap();
//! assert_eq!(at_alice, code(bob, alice).unwrap());
//! assert_eq!(at_alice.len(), 7); // "ddd ddd"
//!
//! // A server that swapped in its own fingerprint leaves each side with another code.
//! assert_ne!(code(alice, mallory), code(bob, mallory));
//! assert_ne!(code(alice, mallory).unwrap(), at_alice);
//! ```

use std::fmt;

/// The digest the code is derived from, as WebCrypto's `crypto.subtle.digest` names it.
pub const DIGEST_ALGORITHM: &str = "SHA-256";

/// The first line of every digest input: keeps these digests apart from any other use of the
/// same fingerprints, and leaves room for a later scheme (`v2`).
pub const DOMAIN: &str = "WebCall call verification v1\n";

/// How many codes there are: six decimal digits.
const CODES: u64 = 1_000_000;

/// A DTLS certificate fingerprint from an SDP, normalised (see [`fingerprint`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// The hash function, lowercase: `sha-256`.
    pub algorithm: String,
    /// The fingerprint: uppercase hex bytes separated by colons, `AB:CD:…`.
    pub value: String,
}

impl fmt::Display for Fingerprint {
    /// `sha-256 AB:CD:…`: the form that goes into the digest.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.algorithm, self.value)
    }
}

/// The DTLS fingerprint of `sdp`: its first `a=fingerprint:` line (session-level, or else the
/// first media section's), normalised. `None` when there is none or the first one is malformed
/// (a hash function that is not printable ASCII, or a value that is not colon-separated hex
/// bytes). Lines may end in CRLF (as SDP prescribes) or in LF alone.
pub fn fingerprint(sdp: &str) -> Option<Fingerprint> {
    // SDP is line-oriented ASCII: ASCII whitespace only (no Unicode tables in the wasm).
    let line = sdp
        .split('\n')
        .find_map(|line| line.trim_ascii().strip_prefix("a=fingerprint:"))?;
    let mut words = line.split_ascii_whitespace();
    let (algorithm, value) = (words.next()?, words.next()?);
    let printable = algorithm.bytes().all(|b| b.is_ascii_graphic());
    if words.next().is_some() || !printable || !is_hex_bytes(value) {
        return None;
    }
    Some(Fingerprint {
        algorithm: algorithm.to_ascii_lowercase(),
        value: value.to_ascii_uppercase(),
    })
}

/// Whether `value` is one or more hex bytes separated by colons (`ab:CD:01`).
fn is_hex_bytes(value: &str) -> bool {
    value
        .split(':')
        .all(|byte| byte.len() == 2 && byte.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// What to hash for the code of a connection between fingerprints `a` and `b`: [`DOMAIN`],
/// then both fingerprints as text (`sha-256 AB:…`) in ascending byte order, one per line.
/// Symmetric: `digest_input(a, b) == digest_input(b, a)`.
///
/// ```
/// use webcall_client::verification::{digest_input, fingerprint};
///
/// let a = fingerprint("a=fingerprint:SHA-256 ab:cd\r\n").unwrap();
/// let b = fingerprint("a=fingerprint:sha-256 10:32\n").unwrap();
/// assert_eq!(a.to_string(), "sha-256 AB:CD");
/// assert_eq!(
///     digest_input(&a, &b),
///     b"WebCall call verification v1\nsha-256 10:32\nsha-256 AB:CD\n"
/// );
/// assert_eq!(digest_input(&a, &b), digest_input(&b, &a));
/// ```
pub fn digest_input(a: &Fingerprint, b: &Fingerprint) -> Vec<u8> {
    let (a, b) = (a.to_string(), b.to_string());
    let (first, second) = if a <= b { (a, b) } else { (b, a) };
    format!("{DOMAIN}{first}\n{second}\n").into_bytes()
}

/// The digest input of a connection from its local and remote SDP (`localDescription.sdp`
/// and `remoteDescription.sdp`): `None` when either has no usable fingerprint.
pub fn digest_input_of_sdps(local_sdp: &str, remote_sdp: &str) -> Option<Vec<u8>> {
    Some(digest_input(
        &fingerprint(local_sdp)?,
        &fingerprint(remote_sdp)?,
    ))
}

/// The code for a SHA-256 `digest` of a [`digest_input`]: six digits, `"ddd ddd"`.
///
/// ```
/// use webcall_client::verification::code_from_digest;
///
/// let mut digest = [0; 32];
/// digest[..8].copy_from_slice(&1_000_042u64.to_be_bytes());
/// assert_eq!(code_from_digest(&digest), "000 042"); // 1 000 042 mod 1 000 000
/// ```
pub fn code_from_digest(digest: &[u8; 32]) -> String {
    let mut head = [0; 8];
    head.copy_from_slice(&digest[..8]);
    let n = u64::from_be_bytes(head) % CODES;
    format!("{:03} {:03}", n / 1000, n % 1000)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;

    const ALICE: &str = "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:\
                         AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89";
    const BOB: &str = "10:32:54:76:98:BA:DC:FE:10:32:54:76:98:BA:DC:FE:\
                       10:32:54:76:98:BA:DC:FE:10:32:54:76:98:BA:DC:FE";
    const MALLORY: &str = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:\
                           00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF";

    /// An SDP as Chrome writes it (CRLF, the fingerprint in the media section), trimmed.
    fn sdp(fingerprint: &str) -> String {
        [
            "v=0",
            "o=- 4611731400430051336 2 IN IP4 127.0.0.1",
            "s=-",
            "t=0 0",
            "a=group:BUNDLE 0",
            "a=msid-semantic: WMS",
            "m=audio 9 UDP/TLS/RTP/SAVPF 111",
            "c=IN IP4 0.0.0.0",
            "a=ice-ufrag:abcd",
            "a=ice-pwd:abcdefghijklmnopqrstuvwx",
            &format!("a=fingerprint:sha-256 {fingerprint}"),
            "a=setup:actpass",
            "a=mid:0",
            "a=rtpmap:111 opus/48000/2",
            "",
        ]
        .join("\r\n")
    }

    /// What the shell does with WebCrypto, with `sha2` instead.
    fn code(local_sdp: &str, remote_sdp: &str) -> Option<String> {
        let input = digest_input_of_sdps(local_sdp, remote_sdp)?;
        Some(code_from_digest(&Sha256::digest(input).into()))
    }

    fn is_code(code: &str) -> bool {
        let b = code.as_bytes();
        b.len() == 7
            && b[3] == b' '
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 3 || c.is_ascii_digit())
    }

    #[test]
    fn both_sides_get_the_same_code_whoever_offered() {
        let (alice, bob) = (sdp(ALICE), sdp(BOB));
        let at_alice = code(&alice, &bob).unwrap();
        let at_bob = code(&bob, &alice).unwrap();
        assert_eq!(at_alice, at_bob);
        assert!(is_code(&at_alice), "{at_alice:?}");
    }

    #[test]
    fn a_swapped_in_fingerprint_changes_the_code() {
        let (alice, bob, mallory) = (sdp(ALICE), sdp(BOB), sdp(MALLORY));
        let honest = code(&alice, &bob).unwrap();
        // Mallory terminates DTLS on both sides: each sees Mallory's fingerprint as remote.
        let at_alice = code(&alice, &mallory).unwrap();
        let at_bob = code(&bob, &mallory).unwrap();
        assert_ne!(at_alice, at_bob);
        assert_ne!(at_alice, honest);
        assert_ne!(at_bob, honest);
    }

    #[test]
    fn no_fingerprint_no_code() {
        let alice = sdp(ALICE);
        let bare = alice
            .lines()
            .filter(|l| !l.starts_with("a=fingerprint"))
            .collect::<Vec<_>>()
            .join("\r\n");
        assert_eq!(fingerprint(&bare), None);
        assert_eq!(code(&alice, &bare), None);
        assert_eq!(code(&bare, &alice), None);
        for odd in [
            "",
            "\r\n\n",
            "a=fingerprint:",
            "a=fingerprint:sha-256",
            "a=fingerprint: AB:CD",
            "a=fingerprint:sha-256 XY:ZZ",
            "a=fingerprint:sha-256 AB:CD:",
            "a=fingerprint:sha-256 ABC:D",
            "a=fingerprint:sha-256 AB:CD extra",
            "a=fingerprint:sha-256 é€:AB",
            "a=fingerprint:shä-256 AB:CD",
        ] {
            assert_eq!(fingerprint(odd), None, "{odd:?}");
        }
    }

    #[test]
    fn crlf_and_lf_and_case_read_alike() {
        let crlf = sdp(ALICE);
        let lf = crlf.replace("\r\n", "\n");
        let expected = Fingerprint {
            algorithm: "sha-256".into(),
            value: ALICE.into(),
        };
        assert_eq!(fingerprint(&crlf), Some(expected.clone()));
        assert_eq!(fingerprint(&lf), Some(expected.clone()));
        let lower = format!("a=fingerprint:SHA-256 {}\n", ALICE.to_lowercase());
        assert_eq!(fingerprint(&lower), Some(expected));
        assert_eq!(code(&crlf, &sdp(BOB)), code(&lf, &sdp(BOB)));
        assert_eq!(code(&lower, &sdp(BOB)), code(&lf, &sdp(BOB)));
    }

    #[test]
    fn the_session_level_fingerprint_comes_first() {
        let session = sdp(ALICE).replace(
            "t=0 0\r\n",
            &format!("t=0 0\r\na=fingerprint:sha-256 {BOB}\r\n"),
        );
        assert_eq!(fingerprint(&session).unwrap().value, BOB);
        // Otherwise the first media section's.
        let two = format!(
            "{}m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=fingerprint:sha-256 {BOB}\r\n",
            sdp(ALICE)
        );
        assert_eq!(fingerprint(&two).unwrap().value, ALICE);
    }

    #[test]
    fn the_input_is_the_domain_then_the_sorted_fingerprints() {
        let (a, b) = (
            fingerprint(&sdp(ALICE)).unwrap(),
            fingerprint(&sdp(BOB)).unwrap(),
        );
        // "10:…" sorts before "AB:…".
        let expected = format!("{DOMAIN}sha-256 {BOB}\nsha-256 {ALICE}\n");
        assert_eq!(digest_input(&a, &b), expected.as_bytes());
        assert_eq!(digest_input(&b, &a), expected.as_bytes());
    }

    #[test]
    fn codes_are_six_digits_from_the_digest_head() {
        assert_eq!(code_from_digest(&[0; 32]), "000 000");
        let mut digest = [0xff; 32];
        // u64::MAX % 1_000_000 = 551_615
        assert_eq!(code_from_digest(&digest), "551 615");
        digest[..8].copy_from_slice(&1_000_042u64.to_be_bytes());
        assert_eq!(code_from_digest(&digest), "000 042");
        // Only the first 8 bytes count.
        digest[8..].fill(0);
        assert_eq!(code_from_digest(&digest), "000 042");
    }
}
