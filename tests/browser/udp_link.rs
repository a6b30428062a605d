//! A UDP link the tests control, between the browsers and a TURN server: a relay on
//! 127.0.0.1 that forwards each client's datagrams to the TURN server from a socket of the
//! client's own, and the answers back, dropping a set share of what comes back: packet loss on
//! the way to each browser.
//!
//! The kernel here has no `netem`, so loss is made in user space; it hits real RTP, RTCP, STUN
//! and TURN traffic all the same. The drop decisions come from a seeded generator: every run
//! loses the same pattern.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio::task::JoinHandle;

/// What the link does to traffic, shared with its tasks.
#[derive(Default)]
struct Control {
    /// Datagrams towards the clients dropped, per 1000.
    loss_per_mille: AtomicU32,
    /// Datagrams towards the clients: forwarded and dropped.
    forwarded: AtomicU64,
    dropped: AtomicU64,
}

/// The link; dropping it stops it.
pub struct UdpLink {
    /// Where the browsers send: give this to them as the TURN server.
    pub addr: SocketAddr,
    control: Arc<Control>,
    task: JoinHandle<()>,
}

impl Drop for UdpLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl UdpLink {
    /// A link to `upstream` (the TURN server's UDP address), passing everything for now.
    pub async fn start(upstream: SocketAddr) -> UdpLink {
        let socket = Arc::new(
            UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
                .await
                .expect("binding the UDP link"),
        );
        let addr = socket.local_addr().expect("the UDP link's address");
        let control = Arc::new(Control::default());
        let task = tokio::spawn(serve(socket, upstream, control.clone()));
        UdpLink {
            addr,
            control,
            task,
        }
    }

    /// `turn:127.0.0.1:<port>?transport=udp`, for `--turn-url`.
    pub fn turn_url(&self) -> String {
        format!("turn:127.0.0.1:{}?transport=udp", self.addr.port())
    }

    /// Drops `percent` % of the datagrams towards the clients from now on.
    pub fn set_loss_percent(&self, percent: u32) {
        self.control
            .loss_per_mille
            .store(percent * 10, Ordering::SeqCst);
    }

    /// How many datagrams towards the clients were forwarded and dropped so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.control.forwarded.load(Ordering::SeqCst),
            self.control.dropped.load(Ordering::SeqCst),
        )
    }
}

/// Forwards datagrams from clients on `socket` to `upstream`, one upstream socket per client,
/// and the answers back.
async fn serve(socket: Arc<UdpSocket>, upstream: SocketAddr, control: Arc<Control>) {
    let mut clients: HashMap<SocketAddr, Arc<UdpSocket>> = HashMap::new();
    let mut buf = vec![0u8; 65_536];
    // Dropped with this task: the answers' tasks stop with it.
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let Ok((len, client)) = socket.recv_from(&mut buf).await else {
            return;
        };
        let up = match clients.get(&client) {
            Some(up) => up.clone(),
            None => {
                let Ok(up) = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await else {
                    continue;
                };
                if up.connect(upstream).await.is_err() {
                    continue;
                }
                let up = Arc::new(up);
                clients.insert(client, up.clone());
                tasks.spawn(back(
                    up.clone(),
                    socket.clone(),
                    client,
                    control.clone(),
                    client.port().into(),
                ));
                up
            }
        };
        let _ = up.send(&buf[..len]).await;
    }
}

/// Forwards what `upstream` answers to `client`, dropping as told.
async fn back(
    upstream: Arc<UdpSocket>,
    socket: Arc<UdpSocket>,
    client: SocketAddr,
    control: Arc<Control>,
    seed: u64,
) {
    let mut rng = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut buf = vec![0u8; 65_536];
    loop {
        let Ok(len) = upstream.recv(&mut buf).await else {
            return;
        };
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        if (rng % 1000) < u64::from(control.loss_per_mille.load(Ordering::SeqCst)) {
            control.dropped.fetch_add(1, Ordering::SeqCst);
            continue;
        }
        control.forwarded.fetch_add(1, Ordering::SeqCst);
        let _ = socket.send_to(&buf[..len], client).await;
    }
}
