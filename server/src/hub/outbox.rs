//! A connection's outbox: what the hub queues for a connection, drained by the connection's
//! task in batches.
//!
//! Why not a tokio channel: a bounded `tokio::sync::mpsc` channel costs about 600 bytes per
//! connection before anything is sent (its halves are cache-padded, and its first block of 32
//! slots is allocated up front), and an idle connection is mostly its outbox waiting. This one
//! is a mutex around a queue that allocates only while messages wait (~80 bytes idle), and the
//! connection takes everything queued at once, to write it with one flush.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};

use super::Outgoing;

/// The outbox is full: the connection does not read what it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Full;

/// An outbox for `capacity` messages: the sending side (cloned for the hub and the connection
/// itself) and the receiving side (the connection's task).
pub fn outbox(capacity: usize) -> (Sender, Receiver) {
    let shared = Arc::new(Shared {
        capacity,
        state: Mutex::new(State::default()),
    });
    (
        Sender {
            shared: shared.clone(),
        },
        Receiver { shared },
    )
}

struct Shared {
    capacity: usize,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Outgoing>,
    /// The receiver's task, waiting for a message.
    waker: Option<Waker>,
    /// The receiver is gone: messages are dropped.
    closed: bool,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while holding the lock; a poisoned one still holds a valid queue.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Queues messages for a connection; cheap to clone.
#[derive(Clone)]
pub struct Sender {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Sender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sender").finish_non_exhaustive()
    }
}

impl Sender {
    /// Queues `out` without waiting, and wakes the connection. Fails when `capacity` messages
    /// wait already. Once the connection has stopped receiving, anything is taken (and dropped).
    pub fn try_send(&self, out: Outgoing) -> Result<(), Full> {
        let waker = {
            let mut state = self.shared.lock();
            if state.closed {
                return Ok(());
            }
            if state.queue.len() >= self.shared.capacity {
                return Err(Full);
            }
            state.queue.push_back(out);
            state.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
        Ok(())
    }
}

/// The connection's side of its outbox.
pub struct Receiver {
    shared: Arc<Shared>,
}

impl Receiver {
    /// Waits until something is queued, and takes everything queued, oldest first.
    pub async fn recv(&mut self) -> VecDeque<Outgoing> {
        poll_fn(|cx| {
            let mut state = self.shared.lock();
            if !state.queue.is_empty() {
                return Poll::Ready(std::mem::take(&mut state.queue));
            }
            match &mut state.waker {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                waker => *waker = Some(cx.waker().clone()),
            }
            Poll::Pending
        })
        .await
    }

    /// Takes everything queued, without waiting (empty when nothing is).
    pub fn take(&mut self) -> VecDeque<Outgoing> {
        std::mem::take(&mut self.shared.lock().queue)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let mut state = self.shared.lock();
        state.closed = true;
        state.queue = VecDeque::new();
        state.waker = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use webcall_protocol::ServerMsg;

    fn msg() -> Outgoing {
        Outgoing::Msg(ServerMsg::Pong)
    }

    #[tokio::test]
    async fn messages_come_out_in_order_in_one_batch() {
        let (tx, mut rx) = outbox(4);
        tx.try_send(msg()).unwrap();
        tx.try_send(Outgoing::Close {
            code: 1000,
            reason: "bye",
        })
        .unwrap();
        let batch: Vec<_> = rx.recv().await.into_iter().collect();
        assert_eq!(
            batch,
            vec![
                msg(),
                Outgoing::Close {
                    code: 1000,
                    reason: "bye"
                }
            ]
        );
        assert!(rx.take().is_empty());
    }

    #[test]
    fn a_full_outbox_refuses_and_takes_again_once_drained() {
        let (tx, mut rx) = outbox(2);
        assert_eq!(tx.try_send(msg()), Ok(()));
        assert_eq!(tx.try_send(msg()), Ok(()));
        assert_eq!(tx.try_send(msg()), Err(Full));
        assert_eq!(rx.take().len(), 2);
        assert_eq!(tx.try_send(msg()), Ok(()));
    }

    #[tokio::test]
    async fn a_waiting_receiver_is_woken_by_a_send_from_another_task() {
        let (tx, mut rx) = outbox(8);
        let waiting = tokio::spawn(async move { rx.recv().await.len() });
        tokio::task::yield_now().await;
        let tx2 = tx.clone();
        tokio::spawn(async move { tx2.try_send(msg()) })
            .await
            .unwrap()
            .unwrap();
        let got = tokio::time::timeout(std::time::Duration::from_secs(5), waiting)
            .await
            .expect("woken")
            .unwrap();
        assert_eq!(got, 1);
    }

    #[test]
    fn after_the_receiver_is_gone_anything_is_taken_and_dropped() {
        let (tx, rx) = outbox(1);
        drop(rx);
        assert_eq!(tx.try_send(msg()), Ok(()));
        assert_eq!(tx.try_send(msg()), Ok(()));
    }
}
