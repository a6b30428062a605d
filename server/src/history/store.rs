//! The call history's SQLite database: one table, one row per user per call, read a page at a
//! time, newest first (calls placed in the same millisecond: the one recorded last first).
//!
//! A row is keyed by (user, call ID) and never rewritten: recording the same call again (a call
//! restored after a restart and ended a second time, say) keeps the first row. Each user keeps
//! the newest [`KEEP_PER_USER`] rows; older ones are deleted as new ones come. The file's
//! `user_version` is the schema's version: a file from a newer server is refused rather than
//! misread. The journal is a write-ahead log, so a killed server loses nothing it committed.

use std::path::Path;
use std::time::Duration;

use rusqlite::{params, Connection};
use webcall_protocol::{
    CallDirection, HistoryEntry, HistoryOutcome, HistoryPage, HISTORY_PAGE_SIZE,
};

use super::record::Record;

/// The schema version this server writes (SQLite's `user_version`).
pub const SCHEMA_VERSION: i64 = 1;

/// How many calls each user's history keeps: the newest.
pub const KEEP_PER_USER: u32 = 1000;

/// The path that keeps the history in memory only (lost when the server stops).
pub const IN_MEMORY: &str = ":memory:";

/// Why the database could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (not a database, unreadable, disk full...).
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer server, with a schema this one does not know.
    #[error(
        "it was written by a newer server (schema version {found}; this server knows \
         {SCHEMA_VERSION})"
    )]
    NewerSchema { found: i64 },
    /// A stored row holds a value this server does not know.
    #[error("a stored call has an unknown {column}: {value:?}")]
    BadRow { column: &'static str, value: String },
}

/// The open database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating when missing) the database at `path`, or one in memory for
    /// [`IN_MEMORY`], and makes its table.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        let conn = if path == Path::new(IN_MEMORY) {
            Connection::open_in_memory()?
        } else {
            Connection::open(path)?
        };
        conn.busy_timeout(Duration::from_secs(5))?;
        // The first read: fails on a file that is not a database.
        let found: i64 = conn.pragma_query_value(None, "user_version", |row| row.get(0))?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::NewerSchema { found });
        }
        let _mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |row| row.get(0))?;
        conn.execute_batch(
            "PRAGMA synchronous = NORMAL;
             CREATE TABLE IF NOT EXISTS call_history (
                 user_id TEXT NOT NULL,
                 call_id TEXT NOT NULL,
                 peer TEXT NOT NULL,
                 direction TEXT NOT NULL,
                 started_ms INTEGER NOT NULL,
                 answered INTEGER NOT NULL,
                 duration_secs INTEGER NOT NULL,
                 outcome TEXT NOT NULL,
                 PRIMARY KEY (user_id, call_id)
             );
             CREATE INDEX IF NOT EXISTS call_history_newest
                 ON call_history (user_id, started_ms DESC);",
        )?;
        conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        Ok(Store { conn })
    }

    /// Stores `record`, unless its user's history has that call already; then drops the
    /// user's calls beyond the newest [`KEEP_PER_USER`]. Returns whether it was stored.
    pub fn insert(&mut self, record: &Record) -> Result<bool, StoreError> {
        let entry = &record.entry;
        let tx = self.conn.transaction()?;
        // Cached statements: parsed once, not for every call (measured: SQL parsing was a
        // sixth of the server's CPU in `cargo xtask bench churn`).
        let added =
            tx.prepare_cached(
                "INSERT OR IGNORE INTO call_history
                 (user_id, call_id, peer, direction, started_ms, answered, duration_secs, outcome)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                record.user,
                entry.call_id,
                entry.peer,
                direction_text(entry.direction),
                clamp_i64(entry.started_ms),
                entry.answered,
                clamp_i64(entry.duration_secs),
                outcome_text(entry.outcome),
            ])? == 1;
        if added {
            tx.prepare_cached(
                "DELETE FROM call_history WHERE rowid IN (
                     SELECT rowid FROM call_history WHERE user_id = ?1
                     ORDER BY started_ms DESC, rowid DESC LIMIT -1 OFFSET ?2)",
            )?
            .execute(params![record.user, KEEP_PER_USER])?;
        }
        tx.commit()?;
        Ok(added)
    }

    /// Page `page` of `user`'s history: [`HISTORY_PAGE_SIZE`] calls, newest first (page 0 has
    /// the newest).
    pub fn page(&self, user: &str, page: u32) -> Result<HistoryPage, StoreError> {
        let size = u64::from(HISTORY_PAGE_SIZE);
        let offset = clamp_i64(u64::from(page) * size);
        let mut stmt = self.conn.prepare_cached(
            "SELECT call_id, peer, direction, started_ms, answered, duration_secs, outcome
             FROM call_history WHERE user_id = ?1
             ORDER BY started_ms DESC, rowid DESC LIMIT ?2 OFFSET ?3",
        )?;
        let rows = stmt.query_map(params![user, clamp_i64(size + 1), offset], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, i64>(3)?,
                row.get::<_, bool>(4)?,
                row.get::<_, i64>(5)?,
                row.get::<_, String>(6)?,
            ))
        })?;
        let mut entries = Vec::new();
        for row in rows {
            let (call_id, peer, direction, started_ms, answered, duration_secs, outcome) = row?;
            entries.push(HistoryEntry {
                call_id,
                peer,
                direction: parse_direction(&direction)?,
                started_ms: started_ms.max(0) as u64,
                answered,
                duration_secs: duration_secs.max(0) as u64,
                outcome: parse_outcome(&outcome)?,
            });
        }
        let more = entries.len() as u64 > size;
        entries.truncate(HISTORY_PAGE_SIZE as usize);
        Ok(HistoryPage {
            page,
            entries,
            more,
        })
    }
}

/// `value` as SQLite's integer, saturating.
fn clamp_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

const DIRECTIONS: [(CallDirection, &str); 2] = [
    (CallDirection::Outgoing, "outgoing"),
    (CallDirection::Incoming, "incoming"),
];

const OUTCOMES: [(HistoryOutcome, &str); 8] = [
    (HistoryOutcome::Answered, "answered"),
    (HistoryOutcome::Rejected, "rejected"),
    (HistoryOutcome::Busy, "busy"),
    (HistoryOutcome::NoAnswer, "no_answer"),
    (HistoryOutcome::Cancelled, "cancelled"),
    (HistoryOutcome::Missed, "missed"),
    (HistoryOutcome::Failed, "failed"),
    (HistoryOutcome::ConnectionLost, "connection_lost"),
];

fn direction_text(direction: CallDirection) -> &'static str {
    DIRECTIONS
        .iter()
        .find(|(d, _)| *d == direction)
        .map_or("", |(_, text)| text)
}

fn outcome_text(outcome: HistoryOutcome) -> &'static str {
    OUTCOMES
        .iter()
        .find(|(o, _)| *o == outcome)
        .map_or("", |(_, text)| text)
}

fn parse_direction(text: &str) -> Result<CallDirection, StoreError> {
    DIRECTIONS
        .iter()
        .find(|(_, t)| *t == text)
        .map(|(d, _)| *d)
        .ok_or_else(|| StoreError::BadRow {
            column: "direction",
            value: text.to_owned(),
        })
}

fn parse_outcome(text: &str) -> Result<HistoryOutcome, StoreError> {
    OUTCOMES
        .iter()
        .find(|(_, t)| *t == text)
        .map(|(o, _)| *o)
        .ok_or_else(|| StoreError::BadRow {
            column: "outcome",
            value: text.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(user: &str, call_id: &str, started_ms: u64) -> Record {
        Record {
            user: user.into(),
            entry: HistoryEntry {
                call_id: call_id.into(),
                peer: "bob".into(),
                direction: CallDirection::Outgoing,
                started_ms,
                answered: true,
                duration_secs: 42,
                outcome: HistoryOutcome::Answered,
            },
        }
    }

    fn temp_db() -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("history.db");
        (dir, path)
    }

    #[test]
    fn a_stored_call_reads_back_as_it_was() {
        let (_dir, path) = temp_db();
        let mut store = Store::open(&path).unwrap();
        for (i, (outcome, _)) in OUTCOMES.iter().enumerate() {
            let mut r = record("alice", &format!("c{i}"), 1_000 + i as u64);
            r.entry.outcome = *outcome;
            r.entry.direction = DIRECTIONS[i % 2].0;
            r.entry.answered = i % 3 == 0;
            assert!(store.insert(&r).unwrap());
        }
        let page = store.page("alice", 0).unwrap();
        assert_eq!(page.entries.len(), OUTCOMES.len());
        for (i, (outcome, _)) in OUTCOMES.iter().enumerate().rev() {
            let entry = &page.entries[OUTCOMES.len() - 1 - i];
            assert_eq!(entry.call_id, format!("c{i}"));
            assert_eq!(entry.outcome, *outcome);
            assert_eq!(entry.direction, DIRECTIONS[i % 2].0);
            assert_eq!(entry.answered, i % 3 == 0);
            assert_eq!(entry.started_ms, 1_000 + i as u64);
            assert_eq!(entry.duration_secs, 42);
            assert_eq!(entry.peer, "bob");
        }
        assert!(store.page("bob", 0).unwrap().entries.is_empty());
    }

    #[test]
    fn the_same_call_is_stored_once_per_user() {
        let mut store = Store::open(Path::new(IN_MEMORY)).unwrap();
        assert!(store.insert(&record("alice", "c1", 1_000)).unwrap());
        let mut again = record("alice", "c1", 2_000);
        again.entry.outcome = HistoryOutcome::Failed;
        assert!(!store.insert(&again).unwrap());
        // The other party's row of the same call is its own.
        assert!(store.insert(&record("bob", "c1", 1_000)).unwrap());
        let page = store.page("alice", 0).unwrap();
        assert_eq!(page.entries.len(), 1);
        assert_eq!(page.entries[0].outcome, HistoryOutcome::Answered);
        assert_eq!(page.entries[0].started_ms, 1_000);
    }

    #[test]
    fn pages_go_from_newest_to_oldest() {
        let mut store = Store::open(Path::new(IN_MEMORY)).unwrap();
        let total = HISTORY_PAGE_SIZE * 2 + 5;
        // Stored out of order: the order comes from the start time.
        for i in (0..total)
            .rev()
            .step_by(2)
            .chain((0..total).rev().skip(1).step_by(2))
        {
            store
                .insert(&record("alice", &format!("c{i:03}"), u64::from(i) * 1_000))
                .unwrap();
        }
        let mut seen = Vec::new();
        for page in 0.. {
            let got = store.page("alice", page).unwrap();
            assert_eq!(got.page, page);
            assert!(got.entries.len() <= HISTORY_PAGE_SIZE as usize);
            seen.extend(got.entries.iter().map(|e| e.started_ms));
            if !got.more {
                assert_eq!(page, 2);
                assert_eq!(got.entries.len(), 5);
                break;
            }
            assert_eq!(got.entries.len(), HISTORY_PAGE_SIZE as usize);
        }
        let expected: Vec<u64> = (0..total).rev().map(|i| u64::from(i) * 1_000).collect();
        assert_eq!(seen, expected);
        let beyond = store.page("alice", 3).unwrap();
        assert!(beyond.entries.is_empty() && !beyond.more);
        assert!(store.page("alice", u32::MAX).unwrap().entries.is_empty());
    }

    #[test]
    fn a_page_that_ends_exactly_says_there_is_no_more() {
        let mut store = Store::open(Path::new(IN_MEMORY)).unwrap();
        for i in 0..HISTORY_PAGE_SIZE {
            store
                .insert(&record("alice", &format!("c{i}"), u64::from(i)))
                .unwrap();
        }
        let page = store.page("alice", 0).unwrap();
        assert_eq!(page.entries.len(), HISTORY_PAGE_SIZE as usize);
        assert!(!page.more);
    }

    #[test]
    fn each_user_keeps_the_newest_calls() {
        let mut store = Store::open(Path::new(IN_MEMORY)).unwrap();
        for i in 0..KEEP_PER_USER + 3 {
            store
                .insert(&record("alice", &format!("c{i}"), u64::from(i)))
                .unwrap();
        }
        store.insert(&record("bob", "b", 0)).unwrap();
        let count: u32 = store
            .conn
            .query_row(
                "SELECT COUNT(*) FROM call_history WHERE user_id = 'alice'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(count, KEEP_PER_USER);
        let oldest: i64 = store
            .conn
            .query_row(
                "SELECT MIN(started_ms) FROM call_history WHERE user_id = 'alice'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(oldest, 3);
        assert_eq!(store.page("bob", 0).unwrap().entries.len(), 1);
    }

    #[test]
    fn the_history_survives_reopening() {
        let (_dir, path) = temp_db();
        {
            let mut store = Store::open(&path).unwrap();
            store.insert(&record("alice", "c1", 1_000)).unwrap();
            store.insert(&record("alice", "c2", 2_000)).unwrap();
        }
        let mut store = Store::open(&path).unwrap();
        let page = store.page("alice", 0).unwrap();
        let ids: Vec<&str> = page.entries.iter().map(|e| e.call_id.as_str()).collect();
        assert_eq!(ids, ["c2", "c1"]);
        // Still idempotent after the reopen.
        assert!(!store.insert(&record("alice", "c1", 1_000)).unwrap());
    }

    #[test]
    fn a_file_that_is_not_a_database_is_refused() {
        let (_dir, path) = temp_db();
        std::fs::write(&path, vec![0x5a_u8; 8192]).unwrap();
        let err = Store::open(&path).unwrap_err();
        assert!(matches!(err, StoreError::Sqlite(_)), "{err}");
        assert!(err.to_string().contains("not a database"), "{err}");
        // Nothing was written over it.
        assert_eq!(std::fs::read(&path).unwrap(), vec![0x5a_u8; 8192]);
    }

    #[test]
    fn a_database_from_a_newer_server_is_refused() {
        let (_dir, path) = temp_db();
        {
            let conn = Connection::open(&path).unwrap();
            conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        let err = Store::open(&path).unwrap_err();
        assert!(
            matches!(err, StoreError::NewerSchema { found } if found == SCHEMA_VERSION + 1),
            "{err}"
        );
    }

    #[test]
    fn unknown_stored_values_are_errors_not_panics() {
        let mut store = Store::open(Path::new(IN_MEMORY)).unwrap();
        store.insert(&record("alice", "c1", 1)).unwrap();
        store
            .conn
            .execute("UPDATE call_history SET outcome = 'exploded'", [])
            .unwrap();
        let err = store.page("alice", 0).unwrap_err();
        assert!(
            matches!(&err, StoreError::BadRow { column: "outcome", value } if value == "exploded"),
            "{err}"
        );
    }
}
