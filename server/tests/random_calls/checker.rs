//! The rules of the randomized test, checked over the logs the simulated devices (`device`)
//! recorded: every invitation answered once, every call one outcome that every device of both
//! parties heard once, nothing about a call after its end, and the like.
//!
//! It exists apart from the devices so that the rules can be read, and tested on hand-made logs,
//! without the machinery that runs a server and its clients.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use webcall_protocol::{CallId, ErrorCode, Outcome, ServerMsg};

use crate::device::Log;

/// What one call looked like from all devices together.
#[derive(Default)]
struct Facts {
    /// The devices (indexes into the logs) that got `CallCreated` for it.
    creators: Vec<usize>,
    /// Caller and callee, as the first message naming both said.
    parties: Option<(String, String)>,
    /// Every (device user, peer) pair a `CallElsewhere` named.
    elsewhere_pairs: Vec<(String, String)>,
    /// Every `CallEnded`: the device and the outcome.
    outcomes: Vec<(usize, Outcome)>,
    /// Devices other than the creator that got `Accepted` or `CallMerged`.
    callee_accepts: Vec<usize>,
    /// The creator got `Accepted`.
    creator_accepted: bool,
    /// Some device heard it was accepted (`Accepted`, `CallMerged`, `AnsweredElsewhere`).
    accepted: bool,
    /// Every device that heard anything of it.
    heard_by: BTreeSet<usize>,
}

/// What one device heard of one call.
#[derive(Default)]
struct Seen {
    created: bool,
    invited: u32,
    elsewhere: bool,
    merged: bool,
    accepted: bool,
    answered_elsewhere: bool,
    ended: u32,
}

impl Seen {
    fn introduced(&self) -> bool {
        self.created || self.invited > 0 || self.elsewhere || self.merged
    }
}

/// Notes the parties of `call_id` as device `idx` (`name`) heard them; they must agree with
/// what other devices heard.
fn set_parties(
    v: &mut Vec<Violation>,
    facts: &mut BTreeMap<CallId, Facts>,
    idx: usize,
    name: &str,
    call_id: &CallId,
    parties: (String, String),
) {
    let f = facts.entry(call_id.clone()).or_default();
    f.heard_by.insert(idx);
    match &f.parties {
        None => f.parties = Some(parties),
        Some(known) if *known != parties => v.push((
            Some(call_id.clone()),
            format!("{name}: the call is between {parties:?}, elsewhere {known:?}"),
        )),
        Some(_) => {}
    }
}

fn kind(msg: &ServerMsg) -> &'static str {
    match msg {
        ServerMsg::LoggedIn { .. } => "logged_in",
        ServerMsg::CallCreated { .. } => "call_created",
        ServerMsg::Ringing { .. } => "ringing",
        ServerMsg::Invited { .. } => "invited",
        ServerMsg::Accepted { .. } => "accepted",
        ServerMsg::AnsweredElsewhere { .. } => "answered_elsewhere",
        ServerMsg::CallMerged { .. } => "call_merged",
        ServerMsg::CallElsewhere { .. } => "call_elsewhere",
        ServerMsg::Presence { .. } => "presence",
        ServerMsg::Signal { .. } => "signal",
        ServerMsg::CallEnded { .. } => "call_ended",
        ServerMsg::Error { .. } => "error",
        ServerMsg::Pong => "pong",
        ServerMsg::SessionExpiring { .. } => "session_expiring",
        ServerMsg::Renewed { .. } => "renewed",
        ServerMsg::Seq(..) => "seq",
    }
}

fn reason(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Rejected => "rejected",
        Outcome::Busy => "busy",
        Outcome::NoAnswer { offline: false } => "no_answer",
        Outcome::NoAnswer { offline: true } => "no_answer(offline)",
        Outcome::Cancelled {
            disconnected: false,
        } => "cancelled",
        Outcome::Cancelled { disconnected: true } => "cancelled(disconnected)",
        Outcome::HungUp { .. } => "hung_up",
        Outcome::Failed { .. } => "failed",
        Outcome::ConnectionLost { .. } => "connection_lost",
    }
}

/// A broken rule: the call it concerns, if one, and what is wrong.
pub(crate) type Violation = (Option<CallId>, String);

/// Checks every rule over the logs of every connection; returns what is broken and a summary.
pub(crate) fn check(logs: &[Arc<Mutex<Log>>]) -> (Vec<Violation>, String) {
    let mut v: Vec<Violation> = Vec::new();
    let mut facts: BTreeMap<CallId, Facts> = BTreeMap::new();
    let mut errors: BTreeMap<String, u32> = BTreeMap::new();
    let mut kinds: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut invites = 0;
    for (idx, log) in logs.iter().enumerate() {
        let log = log.lock().unwrap();
        let name = log.name.clone();
        let me = log.user.clone();
        for msg in &log.received {
            *kinds.entry(kind(msg)).or_default() += 1;
        }
        invites += log.reqs.len();
        for problem in &log.problems {
            v.push((None, format!("{name}: {problem}")));
        }
        if !log.finished {
            v.push((None, format!("{name}: the connection never ended")));
        }
        let mut seen: HashMap<CallId, Seen> = HashMap::new();
        let mut answers: BTreeMap<u32, u32> = BTreeMap::new();
        let mut bad_messages = 0;
        let mut pongs = 0;
        for (i, msg) in log.received.iter().enumerate() {
            let is_login = matches!(msg, ServerMsg::LoggedIn { user_id, .. } if *user_id == me);
            if (i == 0) != is_login {
                v.push((None, format!("{name}: message {i} is {msg:?}")));
            }
            // Nothing about a call may come after its end.
            let about = match msg {
                ServerMsg::CallCreated { call_id, .. }
                | ServerMsg::Ringing { call_id, .. }
                | ServerMsg::Invited { call_id, .. }
                | ServerMsg::Accepted { call_id }
                | ServerMsg::AnsweredElsewhere { call_id }
                | ServerMsg::CallMerged { call_id, .. }
                | ServerMsg::CallElsewhere { call_id, .. }
                | ServerMsg::Signal { call_id, .. }
                | ServerMsg::CallEnded { call_id, .. } => Some(call_id),
                _ => None,
            };
            if let Some(call_id) = about {
                facts
                    .entry(call_id.clone())
                    .or_default()
                    .heard_by
                    .insert(idx);
                if seen.get(call_id).is_some_and(|s| s.ended > 0) {
                    let wrong = format!("{name}: {msg:?} after the call's CallEnded");
                    v.push((Some(call_id.clone()), wrong));
                }
            }
            match msg {
                ServerMsg::LoggedIn { .. }
                | ServerMsg::Presence { .. }
                | ServerMsg::SessionExpiring { .. }
                | ServerMsg::Renewed { .. } => {
                    if let ServerMsg::Presence { user_id, .. } = msg {
                        if !log.watched.contains(user_id) {
                            v.push((None, format!("{name}: presence of unwatched {user_id}")));
                        }
                    }
                }
                ServerMsg::Pong => pongs += 1,
                ServerMsg::CallCreated {
                    req,
                    call_id,
                    callee,
                    ..
                } => {
                    *answers.entry(*req).or_default() += 1;
                    let s = seen.entry(call_id.clone()).or_default();
                    if s.introduced() {
                        let wrong = format!("{name}: CallCreated for a call it knew already");
                        v.push((Some(call_id.clone()), wrong));
                    }
                    s.created = true;
                    facts.entry(call_id.clone()).or_default().creators.push(idx);
                    set_parties(
                        &mut v,
                        &mut facts,
                        idx,
                        &name,
                        call_id,
                        (me.clone(), callee.clone()),
                    );
                }
                ServerMsg::Ringing { call_id, .. } => {
                    if !seen.get(call_id).is_some_and(|s| s.created) {
                        let wrong = format!("{name}: Ringing for a call it did not place");
                        v.push((Some(call_id.clone()), wrong));
                    }
                }
                ServerMsg::Invited {
                    call_id, caller, ..
                } => {
                    let s = seen.entry(call_id.clone()).or_default();
                    if s.invited > 0 || s.created || s.elsewhere {
                        let wrong = format!("{name}: Invited for a call it knew already");
                        v.push((Some(call_id.clone()), wrong));
                    }
                    s.invited += 1;
                    set_parties(
                        &mut v,
                        &mut facts,
                        idx,
                        &name,
                        call_id,
                        (caller.clone(), me.clone()),
                    );
                }
                ServerMsg::Accepted { call_id } => {
                    let s = seen.entry(call_id.clone()).or_default();
                    if !(s.created || s.invited > 0) || s.accepted || s.answered_elsewhere {
                        let wrong = format!(
                            "{name}: Accepted after created {}, invited {}, accepted {}, \
                             answered elsewhere {}",
                            s.created, s.invited, s.accepted, s.answered_elsewhere
                        );
                        v.push((Some(call_id.clone()), wrong));
                    }
                    s.accepted = true;
                    let f = facts.entry(call_id.clone()).or_default();
                    f.accepted = true;
                    if s.created {
                        f.creator_accepted = true;
                    } else {
                        f.callee_accepts.push(idx);
                    }
                }
                ServerMsg::CallMerged {
                    req,
                    call_id,
                    caller,
                } => {
                    *answers.entry(*req).or_default() += 1;
                    let s = seen.entry(call_id.clone()).or_default();
                    if s.invited == 0 || s.accepted || s.answered_elsewhere || s.merged {
                        let wrong = format!("{name}: CallMerged for a call not ringing here");
                        v.push((Some(call_id.clone()), wrong));
                    }
                    s.merged = true;
                    s.accepted = true;
                    let f = facts.entry(call_id.clone()).or_default();
                    f.accepted = true;
                    f.callee_accepts.push(idx);
                    set_parties(
                        &mut v,
                        &mut facts,
                        idx,
                        &name,
                        call_id,
                        (caller.clone(), me.clone()),
                    );
                }
                ServerMsg::AnsweredElsewhere { call_id } => {
                    let s = seen.entry(call_id.clone()).or_default();
                    if s.invited == 0 || s.accepted || s.answered_elsewhere {
                        let wrong = format!(
                            "{name}: AnsweredElsewhere after invited {}, accepted {}",
                            s.invited, s.accepted
                        );
                        v.push((Some(call_id.clone()), wrong));
                    }
                    s.answered_elsewhere = true;
                    facts.entry(call_id.clone()).or_default().accepted = true;
                }
                ServerMsg::CallElsewhere { call_id, peer } => {
                    let s = seen.entry(call_id.clone()).or_default();
                    if s.introduced() {
                        let wrong = format!("{name}: CallElsewhere for a call it knew already");
                        v.push((Some(call_id.clone()), wrong));
                    }
                    s.elsewhere = true;
                    let f = facts.entry(call_id.clone()).or_default();
                    f.elsewhere_pairs.push((me.clone(), peer.clone()));
                }
                ServerMsg::Signal { call_id, .. } => {
                    if !seen.get(call_id).is_some_and(|s| s.accepted) {
                        let wrong = format!("{name}: a Signal for a call it is not a party of");
                        v.push((Some(call_id.clone()), wrong));
                    }
                }
                ServerMsg::CallEnded { call_id, outcome } => {
                    let s = seen.entry(call_id.clone()).or_default();
                    if !s.introduced() {
                        let wrong = format!("{name}: CallEnded for a call it never heard of");
                        v.push((Some(call_id.clone()), wrong));
                    }
                    s.ended += 1;
                    if s.ended > 1 {
                        let wrong = format!("{name}: CallEnded #{} for the call", s.ended);
                        v.push((Some(call_id.clone()), wrong));
                    }
                    let f = facts.entry(call_id.clone()).or_default();
                    f.outcomes.push((idx, outcome.clone()));
                }
                ServerMsg::Seq(..) => {
                    v.push((None, format!("{name}: a number inside a number: {msg:?}")));
                }
                ServerMsg::Error { code, req, .. } => {
                    *errors.entry(format!("{code:?}")).or_default() += 1;
                    if let Some(req) = req {
                        *answers.entry(*req).or_default() += 1;
                    }
                    match code {
                        ErrorCode::BadMessage => bad_messages += 1,
                        ErrorCode::CallSelf
                        | ErrorCode::AlreadyInCall
                        | ErrorCode::NoSuchCall
                        | ErrorCode::WrongState
                        | ErrorCode::BadUserId
                        | ErrorCode::Unsupported => {}
                        other => v.push((None, format!("{name}: error {other:?}: {msg:?}"))),
                    }
                }
            }
        }
        // Every invitation was answered once; every ping once; every bad frame once.
        for (req, count) in &answers {
            if !log.reqs.contains(req) {
                v.push((
                    None,
                    format!("{name}: an answer to request {req}, never sent"),
                ));
            } else if *count > 1 {
                v.push((
                    None,
                    format!("{name}: request {req} answered {count} times"),
                ));
            }
        }
        if log.survived {
            for req in &log.reqs {
                if !answers.contains_key(req) {
                    v.push((None, format!("{name}: request {req} never answered")));
                }
            }
        }
        let pings_ok = if log.survived {
            pongs == log.pings
        } else {
            pongs <= log.pings
        };
        if !pings_ok {
            v.push((None, format!("{name}: {} pings, {pongs} pongs", log.pings)));
        }
        let bad_ok = if log.survived {
            bad_messages == log.bad_frames
        } else {
            bad_messages <= log.bad_frames
        };
        if !bad_ok {
            let wrong = format!(
                "{name}: {} bad frames, {bad_messages} BadMessage",
                log.bad_frames
            );
            v.push((None, wrong));
        }
        // A device that lasted heard the end of every call it heard of, exactly once.
        if log.survived {
            for (call_id, s) in &seen {
                if s.introduced() && s.ended != 1 {
                    let wrong = format!("{name}: heard {} CallEnded for the call", s.ended);
                    v.push((Some(call_id.clone()), wrong));
                }
            }
        }
    }

    let mut outcomes: BTreeMap<&'static str, u32> = BTreeMap::new();
    let mut accepted_calls = 0;
    for (call_id, f) in &facts {
        let id = Some(call_id.clone());
        if f.creators.len() > 1 {
            v.push((
                id.clone(),
                format!("CallCreated on {} devices", f.creators.len()),
            ));
        }
        if f.callee_accepts.len() > 1 {
            let wrong = format!("accepted on {} callee devices", f.callee_accepts.len());
            v.push((id.clone(), wrong));
        }
        let Some((_, outcome)) = f.outcomes.first() else {
            if !f.heard_by.is_empty()
                && f.heard_by.iter().all(|&i| logs[i].lock().unwrap().survived)
            {
                v.push((id.clone(), "no device heard how the call ended".into()));
            }
            continue;
        };
        *outcomes.entry(reason(outcome)).or_default() += 1;
        if f.outcomes.iter().any(|(_, o)| o != outcome) {
            v.push((id.clone(), format!("different outcomes: {:?}", f.outcomes)));
        }
        let active_outcome = matches!(
            outcome,
            Outcome::HungUp { .. } | Outcome::Failed { .. } | Outcome::ConnectionLost { .. }
        );
        if f.accepted {
            accepted_calls += 1;
            if !active_outcome {
                v.push((id.clone(), format!("accepted, yet ended {outcome:?}")));
            }
        }
        if let Some(&creator) = f.creators.first() {
            let creator_heard_end = f.outcomes.iter().any(|(i, _)| *i == creator);
            if active_outcome && creator_heard_end && !f.creator_accepted {
                let wrong = format!("ended {outcome:?}, yet the caller never heard Accepted");
                v.push((id.clone(), wrong));
            }
            if *outcome == Outcome::Busy && f.heard_by.iter().any(|&i| i != creator) {
                v.push((id.clone(), "busy, yet other devices heard of it".into()));
            }
        }
        if let Some((caller, callee)) = &f.parties {
            if let Outcome::HungUp { by, .. } = outcome {
                if by != caller && by != callee {
                    v.push((id.clone(), format!("hung up by {by}, not a party")));
                }
            }
            for (user, peer) in &f.elsewhere_pairs {
                let fits = (user == caller && peer == callee) || (user == callee && peer == caller);
                if !fits {
                    let wrong = format!("CallElsewhere to {user} names {peer}, not the peer");
                    v.push((id.clone(), wrong));
                }
            }
        }
    }
    let summary = format!(
        "{} connections, {invites} invitations, {} calls ({accepted_calls} accepted), \
         outcomes {outcomes:?}, errors {errors:?}, messages received {kinds:?}",
        logs.len(),
        facts.values().filter(|f| !f.creators.is_empty()).count(),
    );
    (v, summary)
}
