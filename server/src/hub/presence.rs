//! Presence, only for the IDs a connection asks about: there is no directory of users. A
//! connection watches at most [`MAX_WATCHED`] IDs; it is told each one's presence when it starts
//! watching and whenever the user's first device logs in or last device leaves.

use webcall_protocol::{validate_user_id, ServerMsg, UserId, MAX_WATCHED};

use super::{ConnId, Hub, HubError, State};

impl Hub {
    /// `Watch`: connection `conn` now watches exactly `users`, and hears their presence.
    pub(super) fn watch(st: &mut State, conn: ConnId, users: Vec<UserId>) -> Result<(), HubError> {
        let mut wanted: Vec<UserId> = Vec::with_capacity(users.len().min(MAX_WATCHED));
        for user in users {
            validate_user_id(&user).map_err(HubError::BadUserId)?;
            if !wanted.contains(&user) {
                if wanted.len() == MAX_WATCHED {
                    return Err(HubError::TooManyWatched);
                }
                wanted.push(user);
            }
        }
        let Some(c) = st.conns.get_mut(&conn) else {
            return Err(HubError::NotLoggedIn);
        };
        let before = std::mem::replace(&mut c.watching, wanted.clone());
        st.unwatch(conn, &before);
        for user in wanted {
            st.watchers.entry(user.clone()).or_default().insert(conn);
            let online = st.users.contains_key(&user);
            st.send(
                conn,
                ServerMsg::Presence {
                    user_id: user,
                    online,
                },
            );
        }
        Ok(())
    }
}

impl State {
    /// Stops connection `conn` watching `users`.
    pub(super) fn unwatch(&mut self, conn: ConnId, users: &[UserId]) {
        for user in users {
            if let Some(watchers) = self.watchers.get_mut(user) {
                watchers.remove(&conn);
                if watchers.is_empty() {
                    self.watchers.remove(user);
                }
            }
        }
    }

    /// Tells `user`'s watchers that the user came online or went offline, if that is so.
    pub(super) fn announce_presence(&mut self, user: &str, was_online: bool) {
        let online = self.users.contains_key(user);
        if online == was_online {
            return;
        }
        let watchers = self.watchers.get(user).cloned().unwrap_or_default();
        for watcher in watchers {
            self.send(
                watcher,
                ServerMsg::Presence {
                    user_id: user.to_owned(),
                    online,
                },
            );
        }
    }
}
