//! The presence watch list and what the server said about each watched user.

use std::collections::HashMap;

use webcall_protocol::{validate_user_id, UserId, MAX_WATCHED};

use crate::ClientError;

/// Whom the app watches, and what is known of them on the current connection.
#[derive(Debug, Default)]
pub(super) struct Presence {
    /// The IDs to watch, without duplicates, in the app's order. Kept across logins.
    watched: Vec<UserId>,
    /// Online (`true`) or offline, as the server last said on this connection.
    known: HashMap<UserId, bool>,
}

impl Presence {
    /// Replaces the watch list, or refuses it (and changes nothing) when an ID is invalid or
    /// there are more than [`MAX_WATCHED`] distinct IDs.
    pub(super) fn set_watched(&mut self, users: Vec<UserId>) -> Result<(), ClientError> {
        for user in &users {
            validate_user_id(user)?;
        }
        let mut watched: Vec<UserId> = Vec::with_capacity(users.len().min(MAX_WATCHED));
        for user in users {
            if !watched.contains(&user) {
                if watched.len() == MAX_WATCHED {
                    return Err(ClientError::TooManyWatched);
                }
                watched.push(user);
            }
        }
        self.known.retain(|user, _| watched.contains(user));
        self.watched = watched;
        Ok(())
    }

    pub(super) fn watched(&self) -> &[UserId] {
        &self.watched
    }

    /// Records what the server said; `true` when it is news about a watched user.
    pub(super) fn update(&mut self, user: &str, online: bool) -> bool {
        if !self.watched.iter().any(|w| w == user) {
            return false;
        }
        self.known.insert(user.to_owned(), online) != Some(online)
    }

    pub(super) fn get(&self, user: &str) -> Option<bool> {
        self.known.get(user).copied()
    }

    /// Forgets what the server said (the connection is gone), keeping the watch list.
    pub(super) fn forget(&mut self) {
        self.known.clear();
    }
}
