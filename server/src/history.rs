//! The call history: every call each user placed or was called with, kept in an embedded
//! SQLite database so that it survives a restart with nothing to install.
//!
//! The hub records a call once, when it decides the call's outcome ([`History::call_ended`]);
//! the user reads it a page at a time through `GET /api/history` (see [`api`]). The hub never
//! waits for the disk: [`History`] hands records to one writer thread over a bounded queue and
//! returns at once (a record that finds the queue full is dropped with a warning). The same
//! thread answers the page reads, in order, so a page read after a call ended shows that call.
//!
//! What is kept is described in [`store`]: a row per user per call, recorded once (a call
//! restored after a restart and ended again is not recorded twice), at most
//! [`KEEP_PER_USER`] per user.

pub(crate) mod api;
mod record;
mod store;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{SystemTime, UNIX_EPOCH};

use tokio::sync::oneshot;
use tracing::{debug, error, info, warn};
use webcall_protocol::{HistoryPage, Outcome};

pub use record::{EndedCall, Record};
use store::Store;
pub use store::{StoreError, IN_MEMORY, KEEP_PER_USER, SCHEMA_VERSION};

/// How many records and reads may wait for the writer thread.
pub const QUEUE_CAPACITY: usize = 4096;

/// Why the history could not be opened or read.
#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    /// The database file could not be opened or set up (unreadable, not a database, from a
    /// newer server...).
    #[error("cannot use the call history database {path}: {source}")]
    Open { path: PathBuf, source: StoreError },
    /// The writer thread could not be started.
    #[error("cannot start the call history thread: {0}")]
    Thread(std::io::Error),
    /// The server keeps no history.
    #[error("this server keeps no call history")]
    Disabled,
    /// Too much is waiting for the database; try again.
    #[error("the call history is busy; try again")]
    Busy,
    /// Reading the database failed.
    #[error("the call history could not be read: {0}")]
    Read(StoreError),
    /// The writer thread has stopped (the server is shutting down).
    #[error("the call history is closed")]
    Closed,
}

/// The server's call history: a cheap handle (clones share the database), or a disabled one
/// that drops what it is given.
#[derive(Clone, Default)]
pub struct History {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    jobs: SyncSender<Job>,
    thread: Mutex<Option<JoinHandle<()>>>,
    path: PathBuf,
}

/// What the writer thread is asked to do.
enum Job {
    Record([Record; 2]),
    Page {
        user: String,
        page: u32,
        reply: oneshot::Sender<Result<HistoryPage, StoreError>>,
    },
    Stop,
}

impl std::fmt::Debug for History {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.inner {
            Some(inner) => write!(f, "History({})", inner.path.display()),
            None => f.write_str("History(disabled)"),
        }
    }
}

impl History {
    /// Opens (creating when missing) the database at `path` (or in memory for [`IN_MEMORY`])
    /// and starts its writer thread. Fails, touching nothing, when the file is not a usable
    /// history database.
    pub fn open(path: &Path) -> Result<History, HistoryError> {
        let open_error = |source| HistoryError::Open {
            path: path.to_owned(),
            source,
        };
        let store = Store::open(path).map_err(open_error)?;
        let (jobs, queue) = mpsc::sync_channel(QUEUE_CAPACITY);
        let thread = std::thread::Builder::new()
            .name("webcall-history".into())
            .spawn(move || write_loop(store, queue))
            .map_err(HistoryError::Thread)?;
        info!(path = %path.display(), "call history database open");
        Ok(History {
            inner: Some(Arc::new(Inner {
                jobs,
                thread: Mutex::new(Some(thread)),
                path: path.to_owned(),
            })),
        })
    }

    /// A history that records nothing and answers [`HistoryError::Disabled`].
    pub fn disabled() -> History {
        History { inner: None }
    }

    /// Whether calls are recorded.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Records, for both of its parties, a call that ended with `outcome`. Never waits.
    pub fn call_ended(&self, call: EndedCall<'_>, outcome: &Outcome) {
        let Some(inner) = &self.inner else {
            return;
        };
        match inner
            .jobs
            .try_send(Job::Record(record::records(call, outcome)))
        {
            Ok(()) => debug!(call_id = call.call_id, "call queued for the history"),
            Err(TrySendError::Full(_)) => {
                warn!(
                    call_id = call.call_id,
                    "call history queue full: call not recorded"
                )
            }
            Err(TrySendError::Disconnected(_)) => {
                warn!(
                    call_id = call.call_id,
                    "call history closed: call not recorded"
                )
            }
        }
    }

    /// Page `page` of `user`'s history (page 0: the newest calls), after every call recorded
    /// before this read.
    pub async fn page(&self, user: &str, page: u32) -> Result<HistoryPage, HistoryError> {
        let inner = self.inner.as_ref().ok_or(HistoryError::Disabled)?;
        let (reply, answer) = oneshot::channel();
        let job = Job::Page {
            user: user.to_owned(),
            page,
            reply,
        };
        inner.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => HistoryError::Busy,
            TrySendError::Disconnected(_) => HistoryError::Closed,
        })?;
        answer
            .await
            .map_err(|_| HistoryError::Closed)?
            .map_err(HistoryError::Read)
    }

    /// Writes what is queued, then stops the writer thread and closes the database. Later
    /// records are dropped; later reads answer [`HistoryError::Closed`].
    pub fn close(&self) {
        let Some(inner) = &self.inner else {
            return;
        };
        let Some(thread) = inner.thread.lock().ok().and_then(|mut t| t.take()) else {
            return;
        };
        // Blocks while the queue is full: the thread is draining it.
        let _ = inner.jobs.send(Job::Stop);
        if thread.join().is_err() {
            error!("the call history thread panicked");
        }
    }
}

/// The writer thread: carries out the jobs in order until told to stop or every handle is
/// gone.
fn write_loop(mut store: Store, queue: Receiver<Job>) {
    for job in queue {
        match job {
            Job::Record(records) => {
                for record in &records {
                    match store.insert(record) {
                        Ok(true) => {}
                        Ok(false) => debug!(
                            call_id = record.entry.call_id,
                            user = record.user,
                            "call already in the history"
                        ),
                        Err(e) => error!(
                            call_id = record.entry.call_id,
                            user = record.user,
                            %e,
                            "cannot record a call in the history"
                        ),
                    }
                }
            }
            Job::Page { user, page, reply } => {
                let _ = reply.send(store.page(&user, page));
            }
            Job::Stop => break,
        }
    }
    debug!("call history closed");
}

/// The current Unix time in milliseconds.
pub(crate) fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use webcall_protocol::{CallDirection, HistoryOutcome};

    fn ended(call_id: &str) -> EndedCall<'_> {
        EndedCall {
            call_id,
            caller: "alice",
            callee: "bob",
            placed_ms: unix_now_ms(),
            talked_secs: None,
        }
    }

    #[tokio::test]
    async fn records_are_read_back_in_order_and_survive_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webcall.db");
        let history = History::open(&path).unwrap();
        history.call_ended(ended("c1"), &Outcome::Rejected);
        // Queued after the record: sees it.
        let page = history.page("bob", 0).await.unwrap();
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.entries[0].direction, CallDirection::Incoming);
        assert_eq!(page.entries[0].outcome, HistoryOutcome::Rejected);
        history.call_ended(ended("c2"), &Outcome::Busy);
        history.close();
        assert!(matches!(
            history.page("bob", 0).await,
            Err(HistoryError::Closed)
        ));

        let history = History::open(&path).unwrap();
        // The restored call ends again: not recorded twice.
        history.call_ended(ended("c1"), &Outcome::Rejected);
        let page = history.page("alice", 0).await.unwrap();
        let outcomes: Vec<_> = page.entries.iter().map(|e| e.outcome).collect();
        assert_eq!(
            outcomes,
            [HistoryOutcome::Busy, HistoryOutcome::Rejected],
            "{page:?}"
        );
        history.close();
    }

    #[tokio::test]
    async fn a_disabled_history_records_nothing() {
        let history = History::disabled();
        assert!(!history.is_enabled());
        history.call_ended(ended("c1"), &Outcome::Rejected);
        assert!(matches!(
            history.page("bob", 0).await,
            Err(HistoryError::Disabled)
        ));
        history.close();
    }

    #[test]
    fn a_bad_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("webcall.db");
        std::fs::write(
            &path,
            "this is not SQLite, just text long enough ".repeat(200),
        )
        .unwrap();
        let err = History::open(&path).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(&path.display().to_string()), "{text}");
        assert!(text.contains("not a database"), "{text}");
        let missing_dir = dir.path().join("no/such/dir/webcall.db");
        let err = History::open(&missing_dir).unwrap_err();
        assert!(matches!(err, HistoryError::Open { .. }), "{err}");
    }
}
