//! Property test of the hub: arbitrary scripts of logins, disconnections, lost sockets and
//! resumes, messages (valid and not, about real calls and made-up ones) and waits, on up to six
//! connections of four users,
//! never make it panic, and other users never notice. `hub_script` plays a script and checks its
//! invariants after every step; the `hub` fuzz target plays the same scripts from fuzzer input.
//!
//! Every run tries the same cases (a fixed seed); `PROPTEST_RNG_SEED=<n>` tries others and
//! `PROPTEST_CASES=<n>` more of them.

mod hub_script;

use hub_script::{CallRef, Msg, Setup, Step, Who, SLOTS, USERS};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::test_runner::RngSeed;
use webcall_protocol::Signal;
use webcall_server::hub::MAX_HELD_BYTES;

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
        config.rng_seed = RngSeed::Fixed(0x5eed_0003);
    }
    config
}

fn setup() -> impl Strategy<Value = Setup> {
    (
        any::<bool>(),
        1..=3u32,
        1..=40u32,
        1..=40u32,
        prop_oneof![1 => Just(0u32), 3 => 1..=20u32],
    )
        .prop_map(
            |(
                single_device,
                max_devices,
                ring_timeout_secs,
                connect_timeout_secs,
                resume_grace_secs,
            )| Setup {
                single_device,
                max_devices,
                ring_timeout_secs,
                connect_timeout_secs,
                resume_grace_secs,
            },
        )
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        6 => (0..USERS.len()).prop_map(Who::User),
        1 => Just(Who::Ghost),
        1 => prop_oneof![Just(String::new()), "[a-z]{33}", "\\PC{0,6}"].prop_map(Who::Raw),
    ]
}

fn call() -> impl Strategy<Value = CallRef> {
    prop_oneof![
        8 => (0..4usize).prop_map(CallRef::Seen),
        1 => "\\PC{0,8}".prop_map(CallRef::Raw),
    ]
}

fn signal() -> impl Strategy<Value = Signal> {
    prop_oneof![
        4 => "v=0[a-z ]{0,10}".prop_map(|sdp| Signal::Offer { sdp }),
        2 => "v=0[a-z ]{0,10}".prop_map(|sdp| Signal::Answer { sdp }),
        4 => ("candidate:[0-9]{1,3}", option::of("[0-9]"), option::of(any::<u16>())).prop_map(
            |(candidate, sdp_mid, sdp_m_line_index)| Signal::Ice {
                candidate,
                sdp_mid,
                sdp_m_line_index,
            }
        ),
        // Large enough that two of them go over the limit on held signals.
        1 => Just(Signal::Offer { sdp: "v".repeat(MAX_HELD_BYTES / 2 + 1) }),
    ]
}

fn msg() -> impl Strategy<Value = Msg> {
    prop_oneof![
        6 => (any::<u32>(), who(), prop::bool::weighted(0.05), option::of(0..200u32)).prop_map(
            |(req, callee, video, timeout_secs)| Msg::Invite { req, callee, video, timeout_secs }
        ),
        4 => call().prop_map(Msg::Accept),
        2 => call().prop_map(Msg::Reject),
        2 => call().prop_map(Msg::Cancel),
        3 => (call(), option::of("\\PC{0,250}"))
            .prop_map(|(call, failure)| Msg::Hangup { call, failure }),
        4 => (call(), signal()).prop_map(|(call, signal)| Msg::Signal { call, signal }),
        2 => call().prop_map(Msg::MediaConnected),
        2 => call().prop_map(Msg::MediaInterrupted),
        2 => vec(who(), 0..20).prop_map(Msg::Watch),
        1 => Just(Msg::Ping),
        1 => "\\PC{0,8}".prop_map(Msg::Renew),
        1 => who().prop_map(|user| Msg::Login { user }),
        2 => prop_oneof![3 => Just(0u8), 1 => 1..4u8, 1 => Just(255u8)]
            .prop_map(|back| Msg::Ack { back }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..SLOTS, 0..USERS.len(), prop::bool::weighted(0.85))
            .prop_map(|(slot, user, reads)| Step::Connect { slot, user, reads }),
        2 => (0..SLOTS).prop_map(|slot| Step::Disconnect { slot }),
        2 => (0..SLOTS).prop_map(|slot| Step::Lose { slot }),
        2 => (0..SLOTS).prop_map(|slot| Step::Resume { slot }),
        12 => (0..SLOTS, msg()).prop_map(|(slot, msg)| Step::Send { slot, msg }),
        3 => prop_oneof![0..2_000u64, 0..130_000u64].prop_map(|millis| Step::Wait { millis }),
    ]
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn arbitrary_scripts_never_panic_the_hub_and_disturb_nobody(
        setup in setup(),
        steps in vec(step(), 0..60),
    ) {
        hub_script::run(setup, &steps);
    }
}
