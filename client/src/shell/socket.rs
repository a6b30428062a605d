//! The signaling WebSocket: JSON frames in and out, its handlers owned and removed on drop.

use std::cell::Cell;

use wasm_bindgen::{closure::Closure, JsCast};
use web_sys::{CloseEvent, MessageEvent, WebSocket};
use webcall_protocol::{ClientMsg, ServerMsg};

use super::log_warn;

/// The close code of a socket closed on purpose.
const CLOSE_NORMAL: u16 = 1000;

/// What the socket reports to its owner.
pub(crate) enum SocketEvent {
    Opened,
    Message(ServerMsg),
    /// The socket closed, or failed to open: why, and the WebSocket close code (1006 when the
    /// connection dropped without a close frame or never opened).
    Closed {
        reason: String,
        code: u16,
    },
}

/// An open (or opening) signaling socket. Dropping it removes its handlers and closes it.
pub(crate) struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    /// The close code and reason sent when dropped: a normal close (1000), unless
    /// [`close_on_drop`](Socket::close_on_drop) chose another.
    close_with: Cell<(u16, &'static str)>,
}

impl Socket {
    /// Opens a socket to `url`, reporting to `report`.
    pub(crate) fn open(url: &str, report: impl Fn(SocketEvent) + 'static) -> Result<Self, String> {
        let ws = WebSocket::new(url).map_err(|e| format!("cannot open {url}: {e:?}"))?;
        let report = std::rc::Rc::new(report);
        let on_open = {
            let report = report.clone();
            Closure::<dyn FnMut()>::new(move || report(SocketEvent::Opened))
        };
        let on_message = {
            let report = report.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                let Some(text) = event.data().as_string() else {
                    log_warn("ignored a non-text frame from the server");
                    return;
                };
                match serde_json::from_str::<ServerMsg>(&text) {
                    Ok(msg) => report(SocketEvent::Message(msg)),
                    Err(e) => log_warn(&format!("ignored a message from the server: {e}")),
                }
            })
        };
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |event: CloseEvent| {
            let code = event.code();
            let reason = match event.reason() {
                r if r.is_empty() => format!("connection closed ({code})"),
                r => r,
            };
            report(SocketEvent::Closed { reason, code })
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
            close_with: Cell::new((CLOSE_NORMAL, "")),
        })
    }

    /// Closes with `code` and `reason` when dropped, instead of a normal close.
    pub(crate) fn close_on_drop(&self, code: u16, reason: &'static str) {
        self.close_with.set((code, reason));
    }

    /// Sends one message; dropped with a warning when the socket is not open.
    pub(crate) fn send(&self, msg: &ClientMsg) {
        if self.ws.ready_state() != WebSocket::OPEN {
            log_warn("dropped a message: the signaling socket is not open");
            return;
        }
        let text = serde_json::to_string(msg).expect("protocol messages always serialize");
        if let Err(e) = self.ws.send_with_str(&text) {
            log_warn(&format!("send failed: {e:?}"));
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        let (code, reason) = self.close_with.get();
        let _ = self.ws.close_with_code_and_reason(code, reason);
    }
}
