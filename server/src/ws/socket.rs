//! One WebSocket connection's I/O after the handshake: reading messages and writing frames
//! over any byte stream (plain TCP or TLS).
//!
//! An idle connection holds no buffer: a read goes into a buffer on the stack for the time of
//! one poll and is parsed there; only bytes that do not make a whole frame yet are copied into
//! `unread`, which is freed again once they do. Outgoing frames are put together in a buffer
//! of the worker thread's and written from there; only what the socket does not take at once
//! is copied into `unsent`, freed again once written. (tungstenite keeps a read buffer of
//! its own per connection, idle or not: about 800 bytes of the ~5 KB an idle connection used to
//! cost, measured with `cargo xtask bench idle` and heaptrack.)

use std::cell::RefCell;
use std::future::poll_fn;
use std::io;
use std::mem::MaybeUninit;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::frame::{self, Assembler, FrameError, Message, Opcode};
use super::MAX_MESSAGE_SIZE;

/// The most one read takes, into a buffer on the stack: a few whole messages.
const READ_CHUNK: usize = 4096;

/// The largest frame buffer a worker thread keeps between batches.
const SCRATCH_KEPT: usize = 64 * 1024;

thread_local! {
    /// Where a batch of frames is put together before it is written (one per worker thread).
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// The frames of one batch, as [`Socket::send`] puts them together. Nothing is added after a
/// close frame.
pub(crate) struct Frames<'a> {
    buf: &'a mut Vec<u8>,
    closed_out: &'a mut bool,
}

impl Frames<'_> {
    /// Adds `msg` as a text frame of JSON; when it does not serialize, nothing is added.
    pub(crate) fn json<T: serde::Serialize>(&mut self, msg: &T) -> serde_json::Result<()> {
        if *self.closed_out {
            return Ok(());
        }
        frame::encode_text_with(self.buf, |buf| serde_json::to_writer(buf, msg))
    }

    /// Adds a ping.
    pub(crate) fn ping(&mut self) {
        if !*self.closed_out {
            frame::encode(self.buf, Opcode::Ping, &[]);
        }
    }

    /// Adds a close frame; nothing is sent after it.
    pub(crate) fn close(&mut self, code: u16, reason: &str) {
        if !*self.closed_out {
            *self.closed_out = true;
            frame::encode_close(self.buf, code, reason);
        }
    }
}

/// Why a connection's stream failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SocketError {
    /// The client broke the WebSocket protocol (or sent a message too big).
    #[error(transparent)]
    Frame(#[from] FrameError),
    #[error("socket: {0}")]
    Io(#[from] io::Error),
}

/// A WebSocket over the byte stream `S`, server side. See the module docs.
pub(crate) struct Socket<S> {
    io: S,
    /// Bytes read that do not make a whole frame yet (unallocated when there are none).
    unread: Vec<u8>,
    /// The fragmented message being received, if any.
    assembler: Assembler,
    /// Frames not written yet (unallocated when there are none), of which `written` bytes
    /// have been.
    unsent: Vec<u8>,
    written: usize,
    /// A close frame is queued or sent: nothing more is.
    closed_out: bool,
    /// The client's close frame came, or the stream ended or broke: nothing more is read.
    closed_in: bool,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Socket<S> {
    pub(crate) fn new(io: S) -> Socket<S> {
        Socket {
            io,
            unread: Vec::new(),
            assembler: Assembler::default(),
            unsent: Vec::new(),
            written: 0,
            closed_out: false,
            closed_in: false,
        }
    }

    /// The next message from the client; `None` once the stream has ended (after a close
    /// frame, or without one). A ping is answered with a pong and a close frame with a close
    /// frame, queued: [`Socket::has_unsent`] tells that a flush is due.
    pub(crate) async fn next(&mut self) -> Option<Result<Message, SocketError>> {
        poll_fn(|cx| self.poll_next(cx)).await
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, SocketError>>> {
        loop {
            if self.closed_in {
                return Poll::Ready(None);
            }
            // A whole frame read before.
            if !self.unread.is_empty() {
                match frame::decode(&self.unread, MAX_MESSAGE_SIZE) {
                    Ok(Some((frame, used))) => {
                        self.unread.drain(..used);
                        if self.unread.is_empty() {
                            self.unread = Vec::new();
                        }
                        match self.message(frame) {
                            Ok(Some(message)) => return Poll::Ready(Some(Ok(message))),
                            Ok(None) => continue,
                            Err(e) => return Poll::Ready(Some(Err(e.into()))),
                        }
                    }
                    Ok(None) => {}
                    Err(e) => return Poll::Ready(Some(Err(self.broken(e).into()))),
                }
            }
            // (Not zeroed first: a read fills what it reports.)
            let mut chunk = [MaybeUninit::<u8>::uninit(); READ_CHUNK];
            let mut buf = ReadBuf::uninit(&mut chunk);
            if let Err(e) = ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf)) {
                self.closed_in = true;
                return Poll::Ready(Some(Err(e.into())));
            }
            let data = buf.filled();
            if data.is_empty() {
                // The end of the stream, without a close frame.
                self.closed_in = true;
                return Poll::Ready(None);
            }
            if !self.unread.is_empty() {
                self.unread.extend_from_slice(data);
                continue;
            }
            // Usually the chunk starts with a whole frame: it is parsed where it lies, and only
            // what follows it is kept.
            match frame::decode(data, MAX_MESSAGE_SIZE) {
                Ok(Some((frame, used))) => {
                    self.unread.extend_from_slice(&data[used..]);
                    match self.message(frame) {
                        Ok(Some(message)) => return Poll::Ready(Some(Ok(message))),
                        Ok(None) => {}
                        Err(e) => return Poll::Ready(Some(Err(e.into()))),
                    }
                }
                Ok(None) => self.unread.extend_from_slice(data),
                Err(e) => return Poll::Ready(Some(Err(self.broken(e).into()))),
            }
        }
    }

    /// Takes a frame: the message it completes, if any. Pings and close frames are answered.
    fn message(&mut self, frame: frame::Frame) -> Result<Option<Message>, FrameError> {
        let message = match self.assembler.push(frame, MAX_MESSAGE_SIZE) {
            Ok(message) => message,
            Err(e) => return Err(self.broken(e)),
        };
        match &message {
            Some(Message::Ping(payload)) if !self.closed_out => {
                frame::encode(&mut self.unsent, Opcode::Pong, payload)
            }
            Some(Message::Close(code)) => {
                self.closed_in = true;
                self.unread = Vec::new();
                if !self.closed_out {
                    // The close handshake: the client's code is echoed.
                    self.closed_out = true;
                    let payload = code.map(u16::to_be_bytes);
                    frame::encode(
                        &mut self.unsent,
                        Opcode::Close,
                        payload.as_ref().map_or(&[], |p| p),
                    );
                }
            }
            _ => {}
        }
        Ok(message)
    }

    /// The stream is unusable after `error`: nothing more is read.
    fn broken<E>(&mut self, error: E) -> E {
        self.closed_in = true;
        self.unread = Vec::new();
        error
    }

    /// Sends the frames `add` puts together, after anything still unsent, and flushes.
    pub(crate) async fn send(
        &mut self,
        add: impl FnOnce(&mut Frames<'_>),
    ) -> Result<(), SocketError> {
        let mut add = Some(add);
        poll_fn(|cx| {
            if let Some(add) = add.take() {
                self.write_now(cx, add)?;
            }
            self.poll_flush(cx)
        })
        .await
    }

    /// Puts the frames together in the thread's buffer and writes what the socket takes at
    /// once; the rest is kept in `unsent`.
    fn write_now(
        &mut self,
        cx: &mut Context<'_>,
        add: impl FnOnce(&mut Frames<'_>),
    ) -> Result<(), SocketError> {
        SCRATCH.with_borrow_mut(|buf| {
            buf.clear();
            add(&mut Frames {
                buf,
                closed_out: &mut self.closed_out,
            });
            let mut at = 0;
            if self.has_unsent() {
                // Behind what waits already.
                self.unsent.extend_from_slice(buf);
                at = buf.len();
            }
            while at < buf.len() {
                match Pin::new(&mut self.io).poll_write(cx, &buf[at..]) {
                    Poll::Ready(Ok(0)) => {
                        return Err(io::Error::from(io::ErrorKind::WriteZero).into())
                    }
                    Poll::Ready(Ok(n)) => at += n,
                    Poll::Ready(Err(e)) => return Err(e.into()),
                    Poll::Pending => {
                        self.unsent.extend_from_slice(&buf[at..]);
                        break;
                    }
                }
            }
            if buf.capacity() > SCRATCH_KEPT {
                *buf = Vec::new();
            }
            Ok(())
        })
    }

    /// Whether frames wait to be written.
    pub(crate) fn has_unsent(&self) -> bool {
        self.written < self.unsent.len()
    }

    /// Writes what is queued and flushes the stream.
    pub(crate) async fn flush(&mut self) -> Result<(), SocketError> {
        poll_fn(|cx| self.poll_flush(cx)).await
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SocketError>> {
        while self.written < self.unsent.len() {
            let n = ready!(Pin::new(&mut self.io).poll_write(cx, &self.unsent[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()));
            }
            self.written += n;
        }
        if !self.unsent.is_empty() {
            self.unsent = Vec::new();
            self.written = 0;
        }
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    /// Ends the connection cleanly: writes what is queued, waits for the client's close frame
    /// when the server sent one first, and shuts the stream down. (The caller bounds the time.)
    pub(crate) async fn finish(&mut self) {
        if self.flush().await.is_err() {
            return;
        }
        while let Some(Ok(_)) = self.next().await {}
        let _ = self.flush().await;
        let _ = poll_fn(|cx| Pin::new(&mut self.io).poll_shutdown(cx)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::frame::tests::client_frame;
    use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

    fn pair() -> (Socket<DuplexStream>, DuplexStream) {
        let (server, client) = tokio::io::duplex(64 * 1024);
        (Socket::new(server), client)
    }

    #[tokio::test]
    async fn messages_split_anywhere_or_sent_together_all_arrive() {
        let (mut socket, mut client) = pair();
        let long = "z".repeat(5000);
        let mut bytes = client_frame(0x81, b"one");
        bytes.extend(client_frame(0x81, long.as_bytes()));
        bytes.extend(client_frame(0x81, b"three"));
        // In pieces of 7 bytes, then the rest in one write.
        let (head, tail) = bytes.split_at(40);
        for piece in head.chunks(7) {
            client.write_all(piece).await.unwrap();
        }
        client.write_all(tail).await.unwrap();
        for expected in ["one", long.as_str(), "three"] {
            match socket.next().await {
                Some(Ok(Message::Text(text))) => assert_eq!(text, expected),
                other => panic!("{other:?}"),
            }
        }
        assert!(socket.unread.capacity() == 0, "the read buffer is freed");
        drop(client);
        assert!(socket.next().await.is_none());
    }

    proptest::proptest! {
        /// Messages arrive whole and in order however the network cuts the stream.
        #[test]
        fn messages_survive_any_cuts(
            texts in proptest::collection::vec("[a-zé]{0,300}", 1..5),
            cuts in proptest::collection::vec(1usize..200, 0..20),
        ) {
            let bytes: Vec<u8> = texts.iter().flat_map(|t| client_frame(0x81, t.as_bytes())).collect();
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let got = runtime.block_on(async move {
                let (mut socket, mut client) = pair();
                let mut at = 0;
                for cut in cuts {
                    let end = (at + cut).min(bytes.len());
                    client.write_all(&bytes[at..end]).await.unwrap();
                    at = end;
                }
                client.write_all(&bytes[at..]).await.unwrap();
                drop(client);
                let mut got = Vec::new();
                while let Some(message) = socket.next().await {
                    match message.unwrap() {
                        Message::Text(text) => got.push(text),
                        other => panic!("{other:?}"),
                    }
                }
                got
            });
            proptest::prop_assert_eq!(got, texts);
        }
    }

    #[tokio::test]
    async fn a_ping_is_answered_and_a_close_is_echoed() {
        let (mut socket, mut client) = pair();
        client.write_all(&client_frame(0x89, b"hi")).await.unwrap();
        client
            .write_all(&client_frame(0x88, &4001u16.to_be_bytes()))
            .await
            .unwrap();
        assert!(matches!(socket.next().await, Some(Ok(Message::Ping(_)))));
        assert!(socket.has_unsent());
        socket.flush().await.unwrap();
        assert!(matches!(
            socket.next().await,
            Some(Ok(Message::Close(Some(4001))))
        ));
        // Nothing is sent after the close.
        socket
            .send(|frames| {
                frames.ping();
                frames.json(&"late").unwrap();
            })
            .await
            .unwrap();
        socket.finish().await;
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(
            got,
            [&[0x8A, 2][..], b"hi", &[0x88, 2], &4001u16.to_be_bytes()].concat()
        );
    }

    #[tokio::test]
    async fn a_server_close_waits_for_the_clients_close() {
        let (mut socket, mut client) = pair();
        let finish = tokio::spawn(async move {
            socket
                .send(|frames| {
                    frames.json(&serde_json::json!({"type": "Bye"})).unwrap();
                    frames.close(1008, "login timeout");
                    frames.json(&"after the close").unwrap();
                })
                .await
                .unwrap();
            socket.finish().await;
            socket
        });
        let mut got = vec![0; 2];
        client.read_exact(&mut got).await.unwrap();
        assert_eq!(got[0], 0x81);
        // The client answers the close.
        client
            .write_all(&client_frame(0x88, &1008u16.to_be_bytes()))
            .await
            .unwrap();
        let socket = finish.await.unwrap();
        assert!(socket.closed_in && socket.closed_out);
    }

    #[tokio::test]
    async fn what_the_socket_does_not_take_at_once_is_kept_and_sent_in_order() {
        // A pipe of 100 bytes, and 3 frames of 300 bytes.
        let (server, mut client) = tokio::io::duplex(100);
        let mut socket = Socket::new(server);
        let texts: Vec<String> = ["a", "b", "c"].iter().map(|c| c.repeat(300)).collect();
        let sending = tokio::spawn(async move {
            for text in ["a", "b", "c"] {
                socket
                    .send(|frames| frames.json(&text.repeat(300)).unwrap())
                    .await
                    .unwrap();
            }
            assert_eq!(socket.unsent.capacity(), 0, "the write buffer is freed");
        });
        let mut got = vec![0; 3 * (4 + 302)];
        client.read_exact(&mut got).await.unwrap();
        sending.await.unwrap();
        for (frame, text) in got.chunks(4 + 302).zip(&texts) {
            assert_eq!(&frame[..4], &[0x81, 126, 1, 46]);
            assert_eq!(frame[4..], *format!("\"{text}\"").as_bytes());
        }
    }

    #[tokio::test]
    async fn a_protocol_error_ends_the_reading() {
        let (mut socket, mut client) = pair();
        // Unmasked.
        client.write_all(&[0x81, 0x01, b'x']).await.unwrap();
        assert!(matches!(
            socket.next().await,
            Some(Err(SocketError::Frame(FrameError::Protocol(_))))
        ));
        assert!(socket.next().await.is_none());
    }
}
