//! A randomized test: many simulated users place and answer calls at random against a real
//! server, on several devices each, for a fixed number of actions per device; afterwards every
//! invitation has had exactly one answer, every call exactly one outcome that every device of
//! both parties heard once, and no user is left in a call.
//!
//! Every device is a real WebSocket client whose socket is read all the time by a task of its
//! own (so that the server's pings are answered) and whose actions come from a seeded PRNG. The
//! seed is printed; set `WEBCALL_RANDOM_SEED` to give every device the same random stream again.
//! What a device acts on also depends on what it has heard by then, so a replay follows the same
//! script but not the same interleaving. On a failure the test prints every frame that concerns
//! the calls involved, in the order they were sent and received.
//!
//! The test target is split by what each part does: `device` runs the simulated devices and
//! records what they sent and heard, `checker` checks those records against the rules, and this
//! file holds the knobs of the run and the two tests.

mod checker;
#[path = "../common/mod.rs"]
mod common;
mod device;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use checker::check;
use common::*;
use device::{seed, Known, Log, Slot, World};
use webcall_protocol::{CallId, CallType, ClientMsg, Outcome, ServerMsg};

/// How many devices (at once) each simulated user runs: 12 users, 21 devices.
pub(crate) const DEVICES_PER_USER: [usize; 12] = [3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1];

/// Each device acts this many times, at least and at most.
pub(crate) const STEPS: (u64, u64) = (100, 180);

/// How often a device leaves a call alone while it rings, in percent.
pub(crate) const IGNORE_PERCENT: u64 = 50;

/// Valid user IDs that never log in: calls to them wait for the ring timeout.
pub(crate) const GHOSTS: [&str; 2] = ["ghost-1", "ghost-2"];

/// How long the end of the run (every call ended, every device answered) may take.
const SETTLE: Duration = Duration::from_secs(15);

pub(crate) fn user_name(index: usize) -> String {
    format!("u{index:02}")
}

/// Waits until `done` holds, polling; false when `limit` passes first.
async fn eventually(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let until = Instant::now() + limit;
    while !done() {
        if Instant::now() > until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_users_making_random_calls_leave_every_call_with_exactly_one_outcome() {
    let seed = seed();
    println!("random_calls: seed {seed} (run again with WEBCALL_RANDOM_SEED={seed})");
    let started = Instant::now();
    let server = TestServer::start_with(|c| {
        c.ring_timeout_secs = 2;
        c.connect_timeout_secs = 2;
        // A simulated user places dozens of calls and reconnects up to a dozen times in a few
        // seconds, far beyond any person (and the default invitation and login limits). The
        // message limit stays at its default: every device's bursts must fit in it.
        c.invite_rate = 1_000_000;
        c.invite_burst = 1_000_000;
        c.login_rate = 1_000_000;
        c.login_burst = 1_000_000;
    })
    .await;
    let hub = server.state.hub().clone();
    let world = Arc::new(World {
        addr: server.addr,
        trace: Mutex::default(),
        calls_seen: Mutex::default(),
        problems: Mutex::default(),
        too_many_devices: Mutex::default(),
    });

    // Every device acts its number of steps.
    let mut tasks = Vec::new();
    for (user, &devices) in DEVICES_PER_USER.iter().enumerate() {
        for slot in 0..devices {
            let world = world.clone();
            tasks.push(tokio::spawn(async move {
                Slot::start(world, user, slot, seed).await.run().await
            }));
        }
    }
    let mut logs = Vec::new();
    let mut devices = Vec::new();
    for task in tasks {
        match task.await {
            Ok((retired, device)) => {
                logs.extend(retired);
                devices.push(device);
            }
            Err(e) => {
                eprintln!("random_calls: a device failed with seed {seed}");
                std::panic::resume_unwind(e.into_panic());
            }
        }
    }
    let acting = started.elapsed();

    // Nobody acts any more: every device ends what it still has, until the hub has no call.
    let mut settled = false;
    let until = Instant::now() + SETTLE;
    while Instant::now() < until {
        for device in &mut devices {
            let open = device.log.lock().unwrap().open.clone();
            for (call_id, known) in open {
                let msg = match known {
                    Known::Calling => ClientMsg::Cancel { call_id },
                    Known::Incoming => ClientMsg::Reject { call_id },
                    Known::Active => ClientMsg::Hangup {
                        call_id,
                        failure: None,
                    },
                    Known::Elsewhere => continue,
                };
                device.send(&world, &msg).await;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        if hub.calls() == 0 && hub.busy_users() == 0 {
            settled = true;
            break;
        }
    }
    let mut extra: Vec<String> = world.problems.lock().unwrap().clone();
    if !settled {
        extra.push(format!(
            "the hub still has {} calls and {} busy users",
            hub.calls(),
            hub.busy_users()
        ));
    }

    // The server is healthy: every device still connected answers a ping, after everything
    // queued for it before.
    for device in &mut devices {
        device.send(&world, &ClientMsg::Ping).await;
    }
    for device in &devices {
        let answered = eventually(DEADLINE, || {
            let log = device.log.lock().unwrap();
            log.pongs >= log.pings
        })
        .await;
        if !answered {
            extra.push(format!("{}: no Pong to the last Ping", device.name()));
        }
    }
    // The devices that left are gone from the hub; the others are all there.
    for (user, _) in DEVICES_PER_USER.iter().enumerate() {
        let user = user_name(user);
        let live = devices
            .iter()
            .filter(|d| d.log.lock().unwrap().user == user)
            .count();
        if !eventually(DEADLINE, || hub.devices(&user) == live).await {
            extra.push(format!(
                "{user}: the hub lists {} devices, {live} connected",
                hub.devices(&user)
            ));
        }
    }
    for device in devices {
        device.log.lock().unwrap().survived = true;
        logs.push(device.leave(&world, true).await);
    }
    if !eventually(DEADLINE, || hub.online_users() == 0).await {
        extra.push(format!(
            "{} users online after all left",
            hub.online_users()
        ));
    }
    server.shutdown().await.expect("the server shuts down");

    let (mut violations, summary) = check(&logs);
    violations.extend(extra.into_iter().map(|e| (None, e)));
    println!(
        "random_calls: {summary}; {} logins refused for too many devices; \
         acting took {acting:?}, all {:?}",
        world.too_many_devices.lock().unwrap(),
        started.elapsed()
    );
    if violations.is_empty() {
        return;
    }
    eprintln!("random_calls: seed {seed}: {} violations", violations.len());
    for (call_id, wrong) in &violations {
        match call_id {
            Some(id) => eprintln!("  call {id}: {wrong}"),
            None => eprintln!("  {wrong}"),
        }
    }
    let calls: BTreeSet<&CallId> = violations.iter().filter_map(|(c, _)| c.as_ref()).collect();
    let trace = world.trace.lock().unwrap();
    for call_id in calls.into_iter().take(3) {
        eprintln!("trace of call {call_id}:");
        for line in trace.iter().filter(|line| line.contains(call_id.as_str())) {
            eprintln!("  {line}");
        }
    }
    panic!(
        "seed {seed}: {} invariant violations (see above)",
        violations.len()
    );
}

/// The checker itself: a clean call passes, and each broken rule is caught.
#[test]
fn the_checker_catches_broken_rules() {
    fn log(name: &str, user: &str, reqs: Vec<u32>, received: Vec<ServerMsg>) -> Arc<Mutex<Log>> {
        let mut log = Log {
            name: name.into(),
            user: user.into(),
            survived: true,
            finished: true,
            reqs,
            ..Log::default()
        };
        let logged_in = ServerMsg::LoggedIn {
            user_id: user.into(),
            ice_servers: vec![],
            expires_in_secs: 3600,
            relay_only: false,
            session: "s".into(),
            resumed: false,
        };
        for msg in std::iter::once(logged_in).chain(received) {
            log.record(msg);
        }
        Arc::new(Mutex::new(log))
    }
    let id = "0e6f2d1c-6b8a-4c39-9d2e-7f1f2a3b4c5d".to_string();
    let created = ServerMsg::CallCreated {
        req: 1,
        call_id: id.clone(),
        callee: "b".into(),
        ringing: 2,
    };
    let invited = ServerMsg::Invited {
        call_id: id.clone(),
        caller: "a".into(),
        call_type: CallType::Audio,
        timeout_secs: 2,
    };
    let accepted = ServerMsg::Accepted {
        call_id: id.clone(),
    };
    let elsewhere = ServerMsg::AnsweredElsewhere {
        call_id: id.clone(),
    };
    let ended = |outcome: Outcome| ServerMsg::CallEnded {
        call_id: id.clone(),
        outcome,
    };
    let hung_up = Outcome::HungUp {
        by: "a".into(),
        duration_secs: 1,
    };

    let clean = [
        log(
            "a",
            "a",
            vec![1],
            vec![created.clone(), accepted.clone(), ended(hung_up.clone())],
        ),
        log(
            "b1",
            "b",
            vec![],
            vec![invited.clone(), accepted.clone(), ended(hung_up.clone())],
        ),
        log(
            "b2",
            "b",
            vec![],
            vec![invited.clone(), elsewhere.clone(), ended(hung_up.clone())],
        ),
    ];
    let (violations, _) = check(&clean);
    assert!(violations.is_empty(), "{violations:?}");

    let broken = [
        // Never hears the end; a request never answered.
        log("a", "a", vec![1, 2], vec![created, accepted.clone()]),
        // Hears the end twice, then an invitation.
        log(
            "b1",
            "b",
            vec![],
            vec![
                invited.clone(),
                accepted.clone(),
                ended(hung_up.clone()),
                ended(hung_up),
                invited.clone(),
            ],
        ),
        // Accepted on a second device, after answered elsewhere; another outcome.
        log(
            "b2",
            "b",
            vec![],
            vec![invited, elsewhere, accepted, ended(Outcome::Rejected)],
        ),
    ];
    let (violations, _) = check(&broken);
    let text = format!("{violations:?}");
    for wrong in [
        "a: heard 0 CallEnded",
        "a: request 2 never answered",
        "b1: CallEnded #2",
        "b1: heard 2 CallEnded",
        "after the call's CallEnded",
        "b2: Accepted after",
        "accepted on 2 callee devices",
        "different outcomes",
    ] {
        assert!(text.contains(wrong), "{wrong} not caught: {text}");
    }
}
