//! Batched UDP for the peer connection's task, through `quinn-udp`: runs of equal-sized
//! datagrams to one destination leave in one `sendmsg` with UDP segmentation offload (GSO),
//! and receives take many datagrams per call (GRO and `recvmmsg`). Where the kernel offers
//! neither, one datagram per call, as plain sockets do.
//!
//! The large send and receive buffers live once per thread, not per connection: a
//! connection's own memory stays small.

use std::cell::RefCell;
use std::io::IoSliceMut;
use std::net::SocketAddr;
use std::task::{Context, Poll};

use bytes::Bytes;
use log::debug;
use quinn_udp::{RecvMeta, Transmit as UdpTransmit, UdpSockRef, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use weft_proto::{Received, Transmit, Transport};

/// The socket buffers asked for (the kernel caps them at `net.core.[rw]mem_max`).
const SOCKET_BUFFER: usize = 4 << 20;
/// Largest GSO batch in bytes.
const MAX_BATCH_BYTES: usize = 60_000;
/// The receive buffer: one GRO super-datagram.
const RECV_BYTES: usize = 65_536;

thread_local! {
    static SEND_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static RECV_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A host socket with its offload state.
pub(crate) struct Socket {
    pub socket: UdpSocket,
    pub local: SocketAddr,
    state: UdpSocketState,
}

impl Socket {
    pub fn new(socket: UdpSocket) -> std::io::Result<Socket> {
        let local = socket.local_addr()?;
        let state = UdpSocketState::new(UdpSockRef::from(&socket))?;
        for r in [
            state.set_send_buffer_size(UdpSockRef::from(&socket), SOCKET_BUFFER),
            state.set_recv_buffer_size(UdpSockRef::from(&socket), SOCKET_BUFFER),
        ] {
            if let Err(e) = r {
                debug!("peer connection: socket buffer not raised: {e}");
            }
        }
        Ok(Socket {
            socket,
            local,
            state,
        })
    }

    /// Sends `batch` (datagrams from this socket), coalescing runs for GSO. Waits only when
    /// the socket's buffer is full.
    pub async fn send_all(&self, batch: &[Transmit]) {
        let max_segments = self.state.max_gso_segments().max(1);
        let mut i = 0;
        while i < batch.len() {
            // A run: same destination, equal sizes except a shorter last one.
            let first = &batch[i];
            let size = first.payload.len();
            let mut j = i + 1;
            let mut bytes = size;
            while j < batch.len()
                && j - i < max_segments
                && batch[j].destination == first.destination
                && batch[j - 1].payload.len() == size
                && batch[j].payload.len() <= size
                && bytes + batch[j].payload.len() <= MAX_BATCH_BYTES
                && size > 0
            {
                bytes += batch[j].payload.len();
                j += 1;
            }
            self.send_run(&batch[i..j], size).await;
            i = j;
        }
    }

    async fn send_run(&self, run: &[Transmit], size: usize) {
        let dest = run[0].destination;
        let segment_size = (run.len() > 1).then_some(size);
        loop {
            let r = SEND_BUF.with(|b| {
                let mut b = b.borrow_mut();
                b.clear();
                for t in run {
                    b.extend_from_slice(&t.payload);
                }
                let t = UdpTransmit {
                    destination: dest,
                    ecn: None,
                    contents: &b,
                    segment_size,
                    src_ip: None,
                };
                self.socket.try_io(Interest::WRITABLE, || {
                    self.state.try_send(UdpSockRef::from(&self.socket), &t)
                })
            });
            match r {
                Ok(()) => return,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if self.socket.writable().await.is_err() {
                        return;
                    }
                }
                Err(e) => {
                    debug!("peer connection: send to {dest} failed: {e}");
                    return;
                }
            }
        }
    }

    /// Whether a datagram can be read now (registers the waker otherwise).
    pub fn poll_ready(&self, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.socket.poll_recv_ready(cx)
    }

    /// Reads what is waiting, up to `limit` datagrams, into `out`. Returns how many
    /// datagrams were read; 0 when nothing was waiting.
    pub fn drain(&self, limit: usize, out: &mut Vec<Received>) -> usize {
        let mut n = 0;
        RECV_BUF.with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < RECV_BYTES {
                b.resize(RECV_BYTES, 0);
            }
            while n < limit {
                let mut meta = [RecvMeta::default()];
                let r = self.socket.try_io(Interest::READABLE, || {
                    let mut bufs = [IoSliceMut::new(&mut b[..])];
                    self.state
                        .recv(UdpSockRef::from(&self.socket), &mut bufs, &mut meta)
                });
                match r {
                    Ok(0) => break,
                    Ok(_) => {
                        let m = &meta[0];
                        let stride = m.stride.max(1);
                        for seg in b[..m.len.min(RECV_BYTES)].chunks(stride) {
                            out.push(Received {
                                source: m.addr,
                                destination: self.local,
                                transport: Transport::Udp,
                                payload: Bytes::copy_from_slice(seg),
                            });
                            n += 1;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(e) => {
                        // ICMP errors surface here; the next read goes on.
                        debug!("peer connection: receive failed: {e}");
                        break;
                    }
                }
            }
        });
        n
    }
}
