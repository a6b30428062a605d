//! WebSocket frames (RFC 6455, section 5), server side and sans I/O: [`decode`] parses one
//! client frame from bytes read, [`Assembler`] joins fragments into messages, and the `encode_*`
//! functions append server frames to a write buffer.
//!
//! The server has its own frame layer (instead of tungstenite's) so that an idle connection
//! holds no buffers at all: bytes are read into a buffer on the reading task's stack and
//! parsed there, and only a frame cut in two by the network is copied aside (see
//! [`super::socket`]). Extensions (compression) are never negotiated, so every RSV bit must be
//! clear; client frames must be masked, server frames never are.

use std::fmt;

/// A frame's opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    fn from_bits(bits: u8) -> Option<Opcode> {
        Some(match bits {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// One frame from the client, its payload unmasked.
#[derive(Debug, PartialEq)]
pub(crate) struct Frame {
    pub fin: bool,
    pub opcode: Opcode,
    pub payload: Vec<u8>,
}

/// Why what the client sent is not a valid WebSocket stream. Each is answered with the close
/// code of [`FrameError::close_code`] and ends the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FrameError {
    /// A frame or message over the size limit.
    #[error("message too big")]
    TooBig,
    /// Text that is not UTF-8.
    #[error("invalid UTF-8")]
    BadUtf8,
    /// Anything else the protocol forbids; the reason names it.
    #[error("protocol error: {0}")]
    Protocol(&'static str),
}

impl FrameError {
    /// The close code that answers it.
    pub(crate) fn close_code(self) -> u16 {
        match self {
            FrameError::TooBig => 1009,
            FrameError::BadUtf8 => 1007,
            FrameError::Protocol(_) => 1002,
        }
    }

    /// The close frame's reason.
    pub(crate) fn reason(self) -> &'static str {
        match self {
            FrameError::TooBig => "message too big",
            FrameError::BadUtf8 => "invalid UTF-8",
            FrameError::Protocol(why) => why,
        }
    }
}

/// The largest payload of a control frame.
const MAX_CONTROL_PAYLOAD: usize = 125;

/// Parses the first frame in `buf`: `Ok(None)` while it is incomplete, else the frame and how
/// many bytes of `buf` it took. A frame whose header announces more than `max` bytes is
/// refused before its payload arrives.
pub(crate) fn decode(buf: &[u8], max: usize) -> Result<Option<(Frame, usize)>, FrameError> {
    let [b0, b1, ..] = *buf else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(FrameError::Protocol("reserved bits set"));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(FrameError::Protocol("unknown opcode"))?;
    if b1 & 0x80 == 0 {
        return Err(FrameError::Protocol("unmasked client frame"));
    }
    let (len, mut at) = match b1 & 0x7F {
        126 => match buf.get(2..4) {
            Some(b) => (u64::from(u16::from_be_bytes([b[0], b[1]])), 4),
            None => return Ok(None),
        },
        127 => match buf.get(2..10) {
            Some(b) => (u64::from_be_bytes(b.try_into().expect("8 bytes")), 10),
            None => return Ok(None),
        },
        n => (u64::from(n), 2),
    };
    if opcode.is_control() && (!fin || len > MAX_CONTROL_PAYLOAD as u64) {
        return Err(FrameError::Protocol("bad control frame"));
    }
    let len = usize::try_from(len).map_err(|_| FrameError::TooBig)?;
    if len > max {
        return Err(FrameError::TooBig);
    }
    let Some(mask) = buf.get(at..at + 4) else {
        return Ok(None);
    };
    let mask = [mask[0], mask[1], mask[2], mask[3]];
    at += 4;
    let Some(masked) = buf.get(at..at + len) else {
        return Ok(None);
    };
    let mut payload = masked.to_vec();
    unmask(&mut payload, mask);
    Ok(Some((
        Frame {
            fin,
            opcode,
            payload,
        },
        at + len,
    )))
}

/// Unmasks `payload` in place, eight bytes at a time.
fn unmask(payload: &mut [u8], mask: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        mask[0], mask[1], mask[2], mask[3], mask[0], mask[1], mask[2], mask[3],
    ]);
    let mut chunks = payload.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes(chunk.try_into().expect("8 bytes")) ^ wide;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    // The tail starts at a multiple of 8, so at mask byte 0.
    for (byte, m) in chunks.into_remainder().iter_mut().zip(mask.iter().cycle()) {
        *byte ^= m;
    }
}

/// A complete message from the client.
#[derive(PartialEq)]
pub(crate) enum Message {
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong,
    /// The close frame's status code, if it had one.
    Close(Option<u16>),
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Message::Text(text) => write!(f, "Text({} bytes)", text.len()),
            Message::Binary(bytes) => write!(f, "Binary({} bytes)", bytes.len()),
            Message::Ping(_) => f.write_str("Ping"),
            Message::Pong => f.write_str("Pong"),
            Message::Close(code) => write!(f, "Close({code:?})"),
        }
    }
}

/// Joins a fragmented message's frames. Control frames may come between the fragments and
/// pass through at once.
#[derive(Debug, Default)]
pub(crate) struct Assembler {
    /// The message being received: whether it is text, and its bytes so far.
    partial: Option<(bool, Vec<u8>)>,
}

impl Assembler {
    /// Takes the next frame: a message when it completes one. `max` bounds the whole message.
    pub(crate) fn push(&mut self, frame: Frame, max: usize) -> Result<Option<Message>, FrameError> {
        let Frame {
            fin,
            opcode,
            payload,
        } = frame;
        let (text, bytes) = match opcode {
            Opcode::Ping => return Ok(Some(Message::Ping(payload))),
            Opcode::Pong => return Ok(Some(Message::Pong)),
            Opcode::Close => return close(&payload).map(|code| Some(Message::Close(code))),
            Opcode::Text | Opcode::Binary if self.partial.is_some() => {
                return Err(FrameError::Protocol(
                    "a new message inside a fragmented one",
                ))
            }
            Opcode::Continuation => {
                let Some((text, mut bytes)) = self.partial.take() else {
                    return Err(FrameError::Protocol("a continuation of no message"));
                };
                if bytes.len() + payload.len() > max {
                    return Err(FrameError::TooBig);
                }
                bytes.extend_from_slice(&payload);
                (text, bytes)
            }
            Opcode::Text => (true, payload),
            Opcode::Binary => (false, payload),
        };
        if !fin {
            self.partial = Some((text, bytes));
            return Ok(None);
        }
        Ok(Some(if text {
            Message::Text(String::from_utf8(bytes).map_err(|_| FrameError::BadUtf8)?)
        } else {
            Message::Binary(bytes)
        }))
    }
}

/// A close frame's status code (its reason is checked, not kept).
fn close(payload: &[u8]) -> Result<Option<u16>, FrameError> {
    match payload {
        [] => Ok(None),
        [_] => Err(FrameError::Protocol("a close frame of one byte")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            // Codes that may be sent (RFC 6455 7.4.1, 7.4.2).
            let valid = matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999);
            if !valid {
                return Err(FrameError::Protocol("an invalid close code"));
            }
            std::str::from_utf8(reason).map_err(|_| FrameError::BadUtf8)?;
            Ok(Some(code))
        }
    }
}

/// Appends the header of an unmasked, final frame of `len` payload bytes.
fn encode_header(out: &mut Vec<u8>, opcode: Opcode, len: usize) {
    out.push(0x80 | opcode.bits());
    match len {
        0..=125 => out.push(len as u8),
        126..=0xFFFF => {
            out.push(126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
}

/// Appends a frame with `payload`.
pub(crate) fn encode(out: &mut Vec<u8>, opcode: Opcode, payload: &[u8]) {
    encode_header(out, opcode, payload.len());
    out.extend_from_slice(payload);
}

/// Appends a text frame whose payload `write` appends to the buffer it is given (JSON
/// serialized in place, without a string of its own). When `write` fails nothing is appended.
pub(crate) fn encode_text_with<E>(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    // Room for the longest header, then the payload; the header is fitted in front of the
    // payload once its length is known.
    const ROOM: usize = 10;
    let start = out.len();
    out.resize(start + ROOM, 0);
    if let Err(e) = write(out) {
        out.truncate(start);
        return Err(e);
    }
    let len = out.len() - start - ROOM;
    let mut header = Vec::with_capacity(ROOM);
    encode_header(&mut header, Opcode::Text, len);
    let gap = ROOM - header.len();
    out[start + gap..start + ROOM].copy_from_slice(&header);
    out.drain(start..start + gap);
    Ok(())
}

/// Appends a close frame with `code` and `reason`.
pub(crate) fn encode_close(out: &mut Vec<u8>, code: u16, reason: &str) {
    let mut payload = Vec::with_capacity(2 + reason.len());
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(reason.as_bytes());
    payload.truncate(MAX_CONTROL_PAYLOAD);
    encode(out, Opcode::Close, &payload);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const MAX: usize = 64 * 1024;

    /// A client frame: masked with a fixed key.
    pub(crate) fn client_frame(first_byte: u8, payload: &[u8]) -> Vec<u8> {
        let mask = [0x12, 0x34, 0x56, 0x78];
        let mut out = vec![first_byte];
        match payload.len() {
            n @ 0..=125 => out.push(0x80 | n as u8),
            n @ 126..=0xFFFF => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(n as u16).to_be_bytes());
            }
            n => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(n as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().zip(mask.iter().cycle()).map(|(b, m)| b ^ m));
        out
    }

    fn decode_all(mut buf: &[u8]) -> Result<Vec<Message>, FrameError> {
        let mut assembler = Assembler::default();
        let mut messages = Vec::new();
        while let Some((frame, used)) = decode(buf, MAX)? {
            buf = &buf[used..];
            messages.extend(assembler.push(frame, MAX)?);
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        Ok(messages)
    }

    #[test]
    fn a_masked_text_frame_decodes_at_every_length_form() {
        for len in [0, 5, 125, 126, 300, 0xFFFF, 0x10000] {
            let text = "x".repeat(len);
            let bytes = client_frame(0x81, text.as_bytes());
            assert_eq!(decode_all(&bytes), Ok(vec![Message::Text(text)]), "{len}");
        }
    }

    #[test]
    fn an_incomplete_frame_waits_for_more_at_every_cut() {
        let bytes = client_frame(0x81, "a".repeat(300).as_bytes());
        for cut in 0..bytes.len() {
            assert_eq!(decode(&bytes[..cut], MAX), Ok(None), "cut at {cut}");
        }
        let (frame, used) = decode(&bytes, MAX).unwrap().unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(frame.payload, "a".repeat(300).into_bytes());
    }

    #[test]
    fn fragments_join_and_control_frames_pass_between_them() {
        let mut bytes = client_frame(0x01, b"hel");
        bytes.extend(client_frame(0x89, b"p"));
        bytes.extend(client_frame(0x00, b"lo "));
        bytes.extend(client_frame(0x80, "wörld".as_bytes()));
        assert_eq!(
            decode_all(&bytes),
            Ok(vec![
                Message::Ping(b"p".to_vec()),
                Message::Text("hello wörld".into())
            ])
        );
    }

    #[test]
    fn close_frames_carry_their_code() {
        let mut payload = 4000u16.to_be_bytes().to_vec();
        payload.extend_from_slice(b"bye");
        assert_eq!(
            decode_all(&client_frame(0x88, &payload)),
            Ok(vec![Message::Close(Some(4000))])
        );
        assert_eq!(
            decode_all(&client_frame(0x88, &[])),
            Ok(vec![Message::Close(None)])
        );
    }

    #[test]
    fn protocol_violations_are_refused() {
        let cases: Vec<(Vec<u8>, FrameError)> = vec![
            // RSV1 (compression, never negotiated).
            (
                client_frame(0xC1, b"x"),
                FrameError::Protocol("reserved bits set"),
            ),
            (
                client_frame(0x83, b"x"),
                FrameError::Protocol("unknown opcode"),
            ),
            (
                vec![0x81, 0x01, b'x'],
                FrameError::Protocol("unmasked client frame"),
            ),
            // A fragmented ping.
            (
                client_frame(0x09, b"x"),
                FrameError::Protocol("bad control frame"),
            ),
            (
                client_frame(0x89, &[0; 126]),
                FrameError::Protocol("bad control frame"),
            ),
            (
                client_frame(0x80, b"x"),
                FrameError::Protocol("a continuation of no message"),
            ),
            (
                [client_frame(0x01, b"x"), client_frame(0x81, b"y")].concat(),
                FrameError::Protocol("a new message inside a fragmented one"),
            ),
            (
                client_frame(0x88, &[3]),
                FrameError::Protocol("a close frame of one byte"),
            ),
            (
                client_frame(0x88, &1005u16.to_be_bytes()),
                FrameError::Protocol("an invalid close code"),
            ),
            (client_frame(0x81, &[0xFF, 0xFE]), FrameError::BadUtf8),
            (client_frame(0x88, &[0x03, 0xE8, 0xFF]), FrameError::BadUtf8),
        ];
        for (bytes, error) in cases {
            assert_eq!(decode_all(&bytes), Err(error), "{bytes:?}");
        }
    }

    proptest::proptest! {
        /// Whatever a client sends, decoding ends in frames, a wait for more, or an error:
        /// never a panic, and never a frame longer than the limit.
        #[test]
        fn any_bytes_decode_without_panic(bytes in proptest::collection::vec(0u8..=255, 0..400)) {
            let mut assembler = Assembler::default();
            let mut rest = &bytes[..];
            while let Ok(Some((frame, used))) = decode(rest, 256) {
                proptest::prop_assert!(frame.payload.len() <= 256);
                proptest::prop_assert!(used > 0 && used <= rest.len());
                rest = &rest[used..];
                if assembler.push(frame, 256).is_err() {
                    break;
                }
            }
        }
    }

    #[test]
    fn too_big_is_refused_from_the_header_alone() {
        // Only the header of a frame announcing 2^40 bytes.
        let mut header = vec![0x81, 0x80 | 127];
        header.extend_from_slice(&(1u64 << 40).to_be_bytes());
        assert_eq!(decode(&header, MAX), Err(FrameError::TooBig));
        let header = [0x81, 0x80 | 126, 0xFF, 0xFF];
        assert_eq!(decode(&header, 1000), Err(FrameError::TooBig));
        // A message over the limit in fragments that are each within it.
        let mut assembler = Assembler::default();
        let half = vec![b'a'; MAX / 2 + 1];
        let first = Frame {
            fin: false,
            opcode: Opcode::Text,
            payload: half.clone(),
        };
        assert_eq!(assembler.push(first, MAX), Ok(None));
        let last = Frame {
            fin: true,
            opcode: Opcode::Continuation,
            payload: half,
        };
        assert_eq!(assembler.push(last, MAX), Err(FrameError::TooBig));
    }

    /// Parses a server frame (unmasked) back.
    fn server_frame(buf: &[u8]) -> (u8, Vec<u8>, usize) {
        let (len, at) = match buf[1] {
            126 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        (buf[0], buf[at..at + len].to_vec(), at + len)
    }

    #[test]
    fn server_frames_use_the_shortest_length_form() {
        for len in [0, 125, 126, 0xFFFF, 0x10000] {
            let text = "y".repeat(len);
            let mut out = b"before".to_vec();
            encode_text_with(&mut out, |buf| {
                buf.extend_from_slice(text.as_bytes());
                Ok::<(), ()>(())
            })
            .unwrap();
            let (b0, payload, used) = server_frame(&out[6..]);
            assert_eq!(b0, 0x81);
            assert_eq!(payload, text.as_bytes());
            assert_eq!(6 + used, out.len());
            let header = used - len;
            let shortest = match len {
                0..=125 => 2,
                126..=0xFFFF => 4,
                _ => 10,
            };
            assert_eq!(header, shortest, "{len}");
        }
        // A failed write leaves the buffer as it was.
        let mut out = b"kept".to_vec();
        assert_eq!(
            encode_text_with(&mut out, |buf| {
                buf.push(b'!');
                Err("no")
            }),
            Err("no")
        );
        assert_eq!(out, b"kept");
    }

    #[test]
    fn close_and_ping_frames_encode() {
        let mut out = Vec::new();
        encode_close(&mut out, 1012, "server restarting");
        let (b0, payload, _) = server_frame(&out);
        assert_eq!(b0, 0x88);
        assert_eq!(&payload[..2], &1012u16.to_be_bytes());
        assert_eq!(&payload[2..], b"server restarting");
        let mut out = Vec::new();
        encode(&mut out, Opcode::Ping, &[]);
        assert_eq!(out, [0x89, 0x00]);
    }
}
