//! `/check`: the device check, open logged in or out. It runs the calling service's checks
//! ([`webcall_client::check`]) one after the other, as soon as the page opens: browser
//! support, a secure page, the microphone permission, a microphone level test with a meter,
//! a speaker test tone, the signaling round trip and, for a logged-in user, whether the TURN
//! relay gives an address. Each row shows its status and what it measured, a failed one what to
//! do; a summary at the end says whether calls should work here (announced: `role="status"`).
//! "Run again" repeats them; leaving the page stops the run (the checks close what they
//! opened).

use std::cell::RefCell;
use std::rc::Rc;

use webcall_client::check::{
    self, Abort, CheckError, CheckId, MicLevel, Permission, RelayCandidate, RoundTrip, Summary,
    Support, Tone, Verdict,
};
use webcall_client::{MediaError, WebCallOptions};
use yew::platform::spawn_local;
use yew::prelude::*;
use yew_router::prelude::*;

use crate::calling::Calling;
use crate::hooks::{use_app_state, use_calling, use_focus_on_mount};
use crate::route::Route;
use crate::strings::{t, Strings};

/// How long the microphone level test listens.
const MIC_TEST_MS: u32 = 3000;
/// How many pings the signaling check times.
const PINGS: usize = 5;

/// What a finished check found.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    Browser(Support),
    Secure(bool),
    Permission(Permission),
    Mic(Result<MicLevel, CheckError>),
    Speaker {
        played: Result<Tone, CheckError>,
        /// The user said they heard nothing.
        heard_nothing: bool,
    },
    Signaling(Result<RoundTrip, CheckError>),
    /// `None`: nobody is logged in, so there are no TURN credentials to test with.
    Relay(Option<Result<RelayCandidate, CheckError>>),
}

impl Outcome {
    /// Pass, fail, or skipped.
    pub fn verdict(&self) -> Verdict {
        let pass = |ok: bool| if ok { Verdict::Pass } else { Verdict::Fail };
        match self {
            Outcome::Browser(support) => pass(support.browser_ok()),
            Outcome::Secure(secure) => pass(*secure),
            Outcome::Permission(Permission::Granted | Permission::Prompt) => Verdict::Pass,
            Outcome::Permission(Permission::Denied) => Verdict::Fail,
            Outcome::Permission(Permission::Unknown) => Verdict::Skipped,
            Outcome::Mic(level) => pass(level.as_ref().is_ok_and(MicLevel::heard)),
            Outcome::Speaker {
                played,
                heard_nothing,
            } => pass(played.is_ok() && !heard_nothing),
            Outcome::Signaling(rtt) => pass(rtt.is_ok()),
            Outcome::Relay(None) | Outcome::Relay(Some(Err(CheckError::NoTurnServer))) => {
                Verdict::Skipped
            }
            Outcome::Relay(Some(relay)) => pass(relay.is_ok()),
        }
    }

    /// What it measured, and what to do when it failed, in `t`'s words.
    fn describe(&self, t: &Strings) -> (String, Option<&'static str>) {
        let failed = |e: &CheckError, advice| match e {
            CheckError::AudioBlocked => (
                t.pages.audio_blocked.to_owned(),
                Some(t.pages.advice_audio_blocked),
            ),
            CheckError::Microphone(MediaError::PermissionDenied) => (
                t.pages.permission_denied.to_owned(),
                Some(t.pages.advice_permission),
            ),
            CheckError::Microphone(MediaError::NoDevice) => (
                t.pages.mic_no_device.to_owned(),
                Some(t.pages.advice_mic_no_device),
            ),
            e => ((t.pages.check_failed)(&e.to_string()), Some(advice)),
        };
        match self {
            Outcome::Browser(support) => {
                let speaker = if support.speaker_selection {
                    t.pages.speaker_selection_yes
                } else {
                    t.pages.speaker_selection_no
                };
                if support.browser_ok() {
                    (format!("{} {speaker}", t.pages.browser_ok), None)
                } else {
                    let missing =
                        (t.pages.browser_missing)(&support.missing().join(t.pages.list_separator));
                    (missing, Some(t.pages.advice_browser))
                }
            }
            Outcome::Secure(true) => (t.pages.secure_ok.to_owned(), None),
            Outcome::Secure(false) => (t.pages.secure_fail.to_owned(), Some(t.pages.advice_secure)),
            Outcome::Permission(permission) => match permission {
                Permission::Granted => (t.pages.permission_granted.to_owned(), None),
                Permission::Denied => (
                    t.pages.permission_denied.to_owned(),
                    Some(t.pages.advice_permission),
                ),
                Permission::Prompt => (t.pages.permission_prompt.to_owned(), None),
                Permission::Unknown => (t.pages.permission_unknown.to_owned(), None),
            },
            Outcome::Mic(Ok(level)) => {
                let db = format!("{:.0}", level.peak_dbfs().max(-100.0));
                if level.heard() {
                    ((t.pages.mic_heard)(&db), None)
                } else {
                    ((t.pages.mic_silent)(&db), Some(t.pages.advice_mic_silent))
                }
            }
            Outcome::Mic(Err(e)) => failed(e, t.pages.advice_mic_silent),
            Outcome::Speaker {
                heard_nothing: true,
                ..
            } => (
                t.pages.tone_not_heard.to_owned(),
                Some(t.pages.advice_speaker),
            ),
            Outcome::Speaker { played: Ok(_), .. } => (t.pages.tone_played.to_owned(), None),
            Outcome::Speaker { played: Err(e), .. } => failed(e, t.pages.advice_speaker),
            Outcome::Signaling(Ok(rtt)) => ((t.pages.rtt)(rtt.median_ms.ceil() as u32), None),
            Outcome::Signaling(Err(CheckError::Refused(_))) => {
                (t.pages.signaling_old_server.to_owned(), None)
            }
            Outcome::Signaling(Err(e)) => failed(e, t.pages.advice_signaling),
            Outcome::Relay(None) => (t.pages.relay_log_in.to_owned(), None),
            Outcome::Relay(Some(Ok(relay))) => {
                let address = format!("{} ({})", relay.address, relay.protocol);
                ((t.pages.relay_ok)(&address), None)
            }
            Outcome::Relay(Some(Err(CheckError::NoTurnServer))) => {
                (t.pages.relay_none.to_owned(), None)
            }
            Outcome::Relay(Some(Err(e))) => failed(e, t.pages.advice_relay),
        }
    }
}

/// One row of the list.
#[derive(Debug, Clone, PartialEq)]
enum Row {
    Waiting,
    Running,
    /// The relay check waits for the login under way (this tab's, replayed after a reload).
    AwaitingLogin,
    Done(Outcome),
}

/// The page's state: one row per check, the microphone meter, and which run it shows.
#[derive(Debug, Clone, PartialEq)]
struct Checks {
    rows: [Row; 7],
    /// The last microphone reading, 0..1 (see [`check::meter`]).
    level: f32,
    run: u32,
}

enum Action {
    Start(u32),
    Running(u32, CheckId),
    AwaitingLogin(u32),
    Done(u32, CheckId, Outcome),
    Level(u32, f32),
    HeardNothing,
}

fn index(id: CheckId) -> usize {
    CheckId::ALL.iter().position(|c| *c == id).unwrap_or(0)
}

impl Reducible for Checks {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            Action::Start(run) => {
                next = Checks {
                    rows: std::array::from_fn(|_| Row::Waiting),
                    level: 0.0,
                    run,
                }
            }
            // Whatever a stopped run reports late is dropped.
            Action::Running(run, _)
            | Action::AwaitingLogin(run)
            | Action::Done(run, ..)
            | Action::Level(run, _)
                if run != self.run =>
            {
                return self
            }
            Action::Running(_, id) => next.rows[index(id)] = Row::Running,
            Action::AwaitingLogin(_) => next.rows[index(CheckId::Relay)] = Row::AwaitingLogin,
            Action::Done(_, id, outcome) => next.rows[index(id)] = Row::Done(outcome),
            Action::Level(_, level) => next.level = level,
            Action::HeardNothing => {
                if let Row::Done(Outcome::Speaker { heard_nothing, .. }) =
                    &mut next.rows[index(CheckId::Speaker)]
                {
                    *heard_nothing = true;
                }
            }
        }
        Rc::new(next)
    }
}

impl Checks {
    fn summary(&self) -> Summary {
        Summary::of(CheckId::ALL.iter().zip(&self.rows).map(|(id, row)| {
            let verdict = match row {
                Row::Done(outcome) => Some(outcome.verdict()),
                _ => None,
            };
            (*id, verdict)
        }))
    }
}

/// Runs every check in order, reporting to `dispatch` under run number `run`, until done or
/// `abort`ed. The relay check needs the TURN credentials of a login: while one is under way
/// (`logging_in`) it waits for it (see [`CheckPage`]).
async fn run_checks(
    run: u32,
    abort: Abort,
    dispatch: UseReducerDispatcher<Checks>,
    calling: Calling,
    logging_in: bool,
) {
    let running = |id| dispatch.dispatch(Action::Running(run, id));
    let done = |id, outcome| dispatch.dispatch(Action::Done(run, id, outcome));
    let support = Support::detect();
    done(CheckId::Browser, Outcome::Browser(support));
    done(
        CheckId::SecureContext,
        Outcome::Secure(support.secure_context),
    );

    running(CheckId::MicPermission);
    let permission = check::microphone_permission().await;
    done(CheckId::MicPermission, Outcome::Permission(permission));
    running(CheckId::MicLevel);
    let level = {
        let dispatch = dispatch.clone();
        check::mic_level(MIC_TEST_MS, &abort, move |level| {
            dispatch.dispatch(Action::Level(run, level))
        })
        .await
    };
    if abort.is_aborted() {
        return;
    }
    // Opening the microphone answers what the Permissions API could not.
    let known = match &level {
        Ok(_) => Some(Permission::Granted),
        Err(CheckError::Microphone(MediaError::PermissionDenied)) => Some(Permission::Denied),
        Err(_) => None,
    };
    if let Some(permission) = known {
        done(CheckId::MicPermission, Outcome::Permission(permission));
    }
    done(CheckId::MicLevel, Outcome::Mic(level));

    running(CheckId::Speaker);
    let played = check::speaker_tone(&abort).await;
    if abort.is_aborted() {
        return;
    }
    let heard_nothing = false;
    done(
        CheckId::Speaker,
        Outcome::Speaker {
            played,
            heard_nothing,
        },
    );

    running(CheckId::Signaling);
    let rtt = check::signaling_rtt(&WebCallOptions::same_origin(0).server_url, PINGS, &abort).await;
    if abort.is_aborted() {
        return;
    }
    done(CheckId::Signaling, Outcome::Signaling(rtt));

    if calling.ice_servers().is_none() && logging_in {
        dispatch.dispatch(Action::AwaitingLogin(run));
        return;
    }
    relay_check(run, abort, dispatch, calling).await;
}

/// The relay check, with the logged-in session's TURN credentials (skipped without a login).
async fn relay_check(
    run: u32,
    abort: Abort,
    dispatch: UseReducerDispatcher<Checks>,
    calling: Calling,
) {
    dispatch.dispatch(Action::Running(run, CheckId::Relay));
    let relay = match calling.ice_servers() {
        Some(servers) => Some(check::relay(&servers, &abort).await),
        None => None,
    };
    if !abort.is_aborted() {
        dispatch.dispatch(Action::Done(run, CheckId::Relay, Outcome::Relay(relay)));
    }
}

#[function_component]
pub fn CheckPage() -> Html {
    // Subscribes to the language, and to the login, which the relay check needs.
    let state = use_app_state();
    let calling = use_calling();
    let checks = use_reducer(|| Checks {
        rows: std::array::from_fn(|_| Row::Waiting),
        level: 0.0,
        run: 0,
    });
    // The token of the run under way; aborted by the next run and when the page goes.
    let abort = use_mut_ref(Abort::new);
    let heading = use_node_ref();
    use_focus_on_mount(heading.clone());

    let logging_in = state.logging_in();
    let start = {
        let (abort, dispatch, calling) = (abort.clone(), checks.dispatcher(), calling.clone());
        let run_number = checks.run;
        Rc::new(move || start_run(&abort, &dispatch, &calling, run_number + 1, logging_in))
    };
    {
        let start = start.clone();
        let abort = abort.clone();
        use_effect_with((), move |_| {
            start();
            move || abort.borrow().abort()
        });
    }
    // A relay check that waited for the login runs once it is through (or is skipped when it
    // failed).
    {
        let awaiting = checks.rows[index(CheckId::Relay)] == Row::AwaitingLogin;
        let (abort, dispatch, calling, run) = (
            abort.clone(),
            checks.dispatcher(),
            calling.clone(),
            checks.run,
        );
        use_effect_with((awaiting, logging_in), move |&(awaiting, logging_in)| {
            if awaiting && !logging_in {
                let abort = abort.borrow().clone();
                spawn_local(relay_check(run, abort, dispatch, calling));
            }
        });
    }
    let run_again = Callback::from(move |_| start());
    let heard_nothing = {
        let dispatch = checks.dispatcher();
        Callback::from(move |_| dispatch.dispatch(Action::HeardNothing))
    };

    let t = t();
    let summary = checks.summary();
    let rows = CheckId::ALL.iter().zip(&checks.rows).map(|(&id, row)| {
        let (slug, name) = names(t, id);
        let (status, class, value, advice) = match row {
            Row::Waiting => (t.pages.status_waiting, "waiting", None, None),
            Row::Running | Row::AwaitingLogin => {
                let listening = (id == CheckId::MicLevel).then(|| t.pages.mic_listening.to_owned());
                (t.pages.status_running, "running", listening, None)
            }
            Row::Done(outcome) => {
                let (value, advice) = outcome.describe(t);
                let (status, class) = match outcome.verdict() {
                    Verdict::Pass => (t.pages.status_passed, "pass"),
                    Verdict::Fail => (t.pages.status_failed, "fail"),
                    Verdict::Skipped => (t.pages.status_skipped, "skipped"),
                };
                (status, class, Some(value), advice)
            }
        };
        let meter = id == CheckId::MicLevel && !matches!(row, Row::Waiting);
        let can_deny_tone = matches!(
            row,
            Row::Done(Outcome::Speaker {
                played: Ok(_),
                heard_nothing: false
            })
        );
        html! {
            <li id={format!("check-{slug}")} class={classes!("check", class)} data-status={class}>
                <span class="badge">{ status }</span>
                <span class="name">{ name }</span>
                if let Some(value) = value {
                    <span class="value detail">{ value }</span>
                }
                if meter {
                    <meter min="0" max="1" value={checks.level.to_string()}
                        aria-label={t.pages.mic_meter_label}></meter>
                }
                if let Some(advice) = advice {
                    <span class="advice">{ advice }</span>
                }
                if can_deny_tone {
                    <button type="button" onclick={heard_nothing.clone()}>
                        { t.pages.tone_heard_nothing }
                    </button>
                }
            </li>
        }
    });
    let list_names = |ids: &[CheckId]| {
        ids.iter()
            .map(|&id| names(t, id).1)
            .collect::<Vec<_>>()
            .join(t.pages.list_separator)
    };
    let summary_text = if !summary.is_done() {
        t.pages.summary_running.to_owned()
    } else if summary.all_passed() {
        t.pages.summary_passed.to_owned()
    } else {
        (t.pages.summary_failed)(&list_names(&summary.failed))
    };
    let skipped = (summary.is_done() && !summary.skipped.is_empty())
        .then(|| (t.pages.summary_skipped)(&list_names(&summary.skipped)));
    html! {
        <section class="card">
            <h2 ref={heading} tabindex="-1">{ t.pages.check_title }</h2>
            <p class="detail hint">{ t.pages.check_intro }</p>
            <ul class="checks">{ for rows }</ul>
            <div id="check-summary" role="status" aria-live="polite"
                class={classes!("summary", summary.is_done().then_some(
                    if summary.all_passed() { "pass" } else { "fail" }))}>
                <p>{ summary_text }</p>
                if let Some(skipped) = skipped {
                    <p class="detail">{ skipped }</p>
                }
            </div>
            <div class="actions">
                <button type="button" class="primary" onclick={run_again}
                    disabled={!summary.is_done()}>{ t.pages.run_again }</button>
            </div>
            <p class="links"><Link<Route> to={Route::Login}>{ t.pages.check_back }</Link<Route>></p>
        </section>
    }
}

/// Aborts the run under way and starts run number `run`.
fn start_run(
    abort: &Rc<RefCell<Abort>>,
    dispatch: &UseReducerDispatcher<Checks>,
    calling: &Calling,
    run: u32,
    logging_in: bool,
) {
    abort.borrow().abort();
    let token = Abort::new();
    *abort.borrow_mut() = token.clone();
    dispatch.dispatch(Action::Start(run));
    spawn_local(run_checks(
        run,
        token,
        dispatch.clone(),
        calling.clone(),
        logging_in,
    ));
}

/// A check's element ID part and its name.
fn names(t: &Strings, id: CheckId) -> (&'static str, &'static str) {
    match id {
        CheckId::Browser => ("browser", t.pages.check_browser),
        CheckId::SecureContext => ("secure", t.pages.check_secure),
        CheckId::MicPermission => ("permission", t.pages.check_permission),
        CheckId::MicLevel => ("mic", t.pages.check_mic),
        CheckId::Speaker => ("speaker", t.pages.check_speaker),
        CheckId::Signaling => ("signaling", t.pages.check_signaling),
        CheckId::Relay => ("relay", t.pages.check_relay),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webcall_client::IceServerError;

    fn level(loud_frames: u32) -> MicLevel {
        MicLevel {
            peak_rms: 0.2,
            loud_frames,
        }
    }

    #[test]
    fn verdicts_follow_what_was_measured() {
        assert_eq!(Outcome::Secure(false).verdict(), Verdict::Fail);
        assert_eq!(Outcome::Mic(Ok(level(40))).verdict(), Verdict::Pass);
        assert_eq!(Outcome::Mic(Ok(level(1))).verdict(), Verdict::Fail);
        let denied = CheckError::Microphone(MediaError::PermissionDenied);
        assert_eq!(Outcome::Mic(Err(denied)).verdict(), Verdict::Fail);
        assert_eq!(
            Outcome::Permission(Permission::Unknown).verdict(),
            Verdict::Skipped
        );
        assert_eq!(
            Outcome::Permission(Permission::Prompt).verdict(),
            Verdict::Pass
        );
        let tone = Tone {
            frequency_hz: 440.0,
            played_secs: 0.8,
        };
        let speaker = |heard_nothing| Outcome::Speaker {
            played: Ok(tone),
            heard_nothing,
        };
        assert_eq!(speaker(false).verdict(), Verdict::Pass);
        assert_eq!(
            speaker(true).verdict(),
            Verdict::Fail,
            "the user heard nothing"
        );
    }

    #[test]
    fn the_relay_check_is_skipped_without_a_login_or_a_turn_server() {
        assert_eq!(Outcome::Relay(None).verdict(), Verdict::Skipped);
        let no_turn = Outcome::Relay(Some(Err(CheckError::NoTurnServer)));
        assert_eq!(no_turn.verdict(), Verdict::Skipped);
        let refused = CheckError::NoRelay(vec![IceServerError {
            url: "turn:127.0.0.1:3478?transport=udp".into(),
            code: 401,
            text: "Unauthorized".into(),
        }]);
        let failed = Outcome::Relay(Some(Err(refused)));
        assert_eq!(failed.verdict(), Verdict::Fail);
        let (value, advice) = failed.describe(&crate::strings::EN);
        assert!(value.contains("401"), "{value}");
        assert!(advice.is_some());
    }

    #[test]
    fn a_run_ignores_what_an_older_run_reports() {
        let checks = Rc::new(Checks {
            rows: std::array::from_fn(|_| Row::Waiting),
            level: 0.0,
            run: 2,
        });
        let same = checks
            .clone()
            .reduce(Action::Done(1, CheckId::Browser, Outcome::Secure(true)));
        assert_eq!(same.rows[0], Row::Waiting);
        let next = checks.reduce(Action::Done(
            2,
            CheckId::SecureContext,
            Outcome::Secure(true),
        ));
        assert_eq!(next.rows[1], Row::Done(Outcome::Secure(true)));
        assert_eq!(next.summary().pending, 6);
    }
}
