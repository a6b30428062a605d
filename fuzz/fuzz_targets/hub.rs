//! Fuzz target `hub`: the input is a script of logins, disconnections, lost sockets and
//! resumes, client messages and waits on six connections of four users, played against a fresh hub with paused tokio time.
//! The player and its invariants are `server/tests/hub_script/mod.rs`, shared with the property
//! test `server/tests/hub_properties.rs`: no panic (timer tasks included); after every step at
//! most one call per user and exactly two busy users per call, device counts as the
//! connections say, every message a connection reads about its own user's calls and watched
//! IDs only; after everybody left, no call and no busy user.
//!
//! `cargo +nightly fuzz fmt hub <file>` prints the script an input stands for.
//!
//! # Input format
//!
//! One byte per number, read in order; a missing byte reads as 0.
//!
//! - Setup, 3 bytes: flags (bit 0: single-device; `1 + (flags >> 1) % 3` devices per user),
//!   ring timeout `1 + b % 40` s and resume grace period `b / 40` s (from the same byte),
//!   connect timeout `1 + b % 40` s.
//! - Then steps (at most [`MAX_STEPS`]) until the input ends, each an opcode `op = b % 16`:
//!   - 0, 1: connect: slot, user, reads (`b % 8 != 0`);
//!   - 2: disconnect: slot;
//!   - 3: wait: `b < 200` waits `b × 100` ms, else `(b − 200) × 5` s;
//!   - 4 to 14: send from a slot (1 byte), then the message `op − 4`: 0 invite (req, callee,
//!     video if `b % 16 == 0`, timeout: 0 none, up to 250 that many seconds, else near
//!     `u32::MAX`), 1 accept, 2 reject, 3 cancel, 4 hang-up (call, failure if `b` odd: text),
//!     5 signal (call, signal), 6 media connected, 7 watch (count `b % 20`, then user IDs),
//!     8 ping, 9 renew (text), 10 login (user ID);
//!   - 15: a slot (1 byte), then `b % 5`: 0 send accept (call), 1 send ack (how many of the
//!     messages read it leaves out: `b`, 255 one more than were read), 2 lose the socket,
//!     3 resume the session on a new socket, 4 send media interrupted (call).
//! - A user ID is `b % 8`: 0 to 4 a user (modulo 4), 5 the ghost, 6 and 7 text. A call ID is
//!   `b`: below 240 the `b % 8`-th most recent call ID heard, else text. A signal is `b % 8`:
//!   0, 1 offer (text), 2 answer (text), 3 to 5 ICE (candidate text, `sdp_mid` text if the next
//!   byte is odd, m-line index if the next one is odd), 6 an offer over half the held-bytes
//!   limit, 7 an empty answer. Text is a length `b % 64` and that many bytes, as lossy UTF-8.

#![no_main]

#[path = "../../server/tests/hub_script/mod.rs"]
mod hub_script;

use hub_script::{CallRef, Msg, Setup, Step, Who};
use libfuzzer_sys::arbitrary::{Arbitrary, Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use webcall_protocol::Signal;
use webcall_server::hub::MAX_HELD_BYTES;

/// The most steps one input plays; keeps every run short.
const MAX_STEPS: usize = 128;

/// A script, decoded from the input as the module documentation describes.
#[derive(Debug)]
struct Script {
    setup: Setup,
    steps: Vec<Step>,
}

/// Reads the input a byte at a time.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn index(&mut self) -> usize {
        usize::from(self.byte())
    }

    fn text(&mut self) -> String {
        let len = (self.index() % 64).min(self.0.len());
        let (text, rest) = self.0.split_at(len);
        self.0 = rest;
        String::from_utf8_lossy(text).into_owned()
    }

    fn who(&mut self) -> Who {
        match self.byte() % 8 {
            b @ 0..=4 => Who::User(usize::from(b)),
            5 => Who::Ghost,
            _ => Who::Raw(self.text()),
        }
    }

    fn call(&mut self) -> CallRef {
        match self.byte() {
            b @ 0..=239 => CallRef::Seen(usize::from(b % 8)),
            _ => CallRef::Raw(self.text()),
        }
    }

    fn signal(&mut self) -> Signal {
        match self.byte() % 8 {
            0 | 1 => Signal::Offer { sdp: self.text() },
            2 => Signal::Answer { sdp: self.text() },
            3..=5 => Signal::Ice {
                candidate: self.text(),
                sdp_mid: (self.byte() % 2 == 1).then(|| self.text()),
                sdp_m_line_index: (self.byte() % 2 == 1).then(|| u16::from(self.byte())),
            },
            6 => Signal::Offer {
                sdp: "v".repeat(MAX_HELD_BYTES / 2 + 1),
            },
            _ => Signal::Answer { sdp: String::new() },
        }
    }

    fn msg(&mut self, kind: u8) -> Msg {
        match kind {
            0 => Msg::Invite {
                req: u32::from(self.byte()),
                callee: self.who(),
                video: self.byte().is_multiple_of(16),
                timeout_secs: match self.byte() {
                    0 => None,
                    b @ 1..=250 => Some(u32::from(b)),
                    b => Some(u32::MAX - u32::from(255 - b)),
                },
            },
            1 => Msg::Accept(self.call()),
            2 => Msg::Reject(self.call()),
            3 => Msg::Cancel(self.call()),
            4 => Msg::Hangup {
                call: self.call(),
                failure: (self.byte() % 2 == 1).then(|| self.text()),
            },
            5 => Msg::Signal {
                call: self.call(),
                signal: self.signal(),
            },
            6 => Msg::MediaConnected(self.call()),
            7 => {
                let count = self.byte() % 20;
                Msg::Watch((0..count).map(|_| self.who()).collect())
            }
            8 => Msg::Ping,
            9 => Msg::Renew(self.text()),
            _ => Msg::Login { user: self.who() },
        }
    }

    fn step(&mut self) -> Step {
        match self.byte() % 16 {
            0 | 1 => Step::Connect {
                slot: self.index(),
                user: self.index(),
                reads: !self.byte().is_multiple_of(8),
            },
            2 => Step::Disconnect { slot: self.index() },
            3 => Step::Wait {
                millis: match self.byte() {
                    b @ 0..=199 => u64::from(b) * 100,
                    b => u64::from(b - 200) * 5_000,
                },
            },
            15 => {
                let slot = self.index();
                match self.byte() % 5 {
                    0 => Step::Send {
                        slot,
                        msg: Msg::Accept(self.call()),
                    },
                    1 => Step::Send {
                        slot,
                        msg: Msg::Ack { back: self.byte() },
                    },
                    2 => Step::Lose { slot },
                    3 => Step::Resume { slot },
                    _ => Step::Send {
                        slot,
                        msg: Msg::MediaInterrupted(self.call()),
                    },
                }
            }
            op => Step::Send {
                slot: self.index(),
                msg: self.msg(op - 4),
            },
        }
    }
}

impl<'a> Arbitrary<'a> for Script {
    fn arbitrary(u: &mut Unstructured<'a>) -> Result<Self> {
        let mut r = Reader(u.bytes(u.len())?);
        let flags = r.byte();
        let ring = r.byte();
        let setup = Setup {
            single_device: flags & 1 == 1,
            max_devices: 1 + u32::from(flags >> 1) % 3,
            ring_timeout_secs: 1 + u32::from(ring % 40),
            connect_timeout_secs: 1 + u32::from(r.byte() % 40),
            resume_grace_secs: u32::from(ring / 40),
        };
        let mut steps = Vec::new();
        while !r.0.is_empty() && steps.len() < MAX_STEPS {
            steps.push(r.step());
        }
        Ok(Script { setup, steps })
    }
}

fuzz_target!(|script: Script| {
    hub_script::run(script.setup, &script.steps);
});
