//! The association state machine (RFC 9260 §4-§9 with RFC 3758, RFC 6525, RFC 8260, RFC 9653).

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use log::{debug, info, trace};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

use crate::config::Config;
use crate::cookie::{Cookie, Features};
use crate::error::{CloseReason, Error};
use crate::event::Event;
use crate::recv::{Arrival, InChunk, Receiver};
use crate::send::{Fragment, ResetState, SendQueue};
use crate::wire::{
    Chunk, ChunkType, CommonHeader, Data, ErrorCause, ForwardTsn, IData, IForwardTsn,
    IForwardTsnStream, Init, InitParam, Mid, Packet, Ppid, ReconfigParam, ReconfigResult, Sack,
    Ssn, StreamId, Tsn, padded,
};
use crate::{SendOptions, Stats};

/// The association states of RFC 9260 §4, plus `Closed` as the end state after an association
/// existed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum State {
    /// No association yet: answers INIT statelessly, or waits for `connect`.
    Closed,
    /// INIT sent, waiting for INIT-ACK.
    CookieWait,
    /// COOKIE-ECHO sent, waiting for COOKIE-ACK.
    CookieEchoed,
    /// Data flows.
    Established,
    /// `close` called; queued data still goes out before SHUTDOWN.
    ShutdownPending,
    /// SHUTDOWN sent.
    ShutdownSent,
    /// SHUTDOWN received; our queued data still goes out before SHUTDOWN-ACK.
    ShutdownReceived,
    /// SHUTDOWN-ACK sent.
    ShutdownAckSent,
    /// The association ended (see `Event::Closed`).
    Terminated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SentState {
    InFlight,
    GapAcked,
    Retransmit,
    Abandoned,
}

#[derive(Debug)]
struct Sent {
    frag: Fragment,
    sent_at: Instant,
    transmits: u16,
    state: SentState,
    misses: u8,
    fast_rtxed: bool,
}

#[derive(Debug, Default)]
struct AckState {
    packets: u32,
    now: bool,
    timer: Option<Instant>,
}

#[derive(Debug)]
struct ReconfigRequest {
    seq: u32,
    streams: Vec<StreamId>,
    last_tsn: Tsn,
    /// The peer's request this one answers (an Incoming SSN Reset Request), or the last seen.
    response_seq: u32,
}

#[derive(Debug)]
struct IncomingRequest {
    seq: u32,
    last_tsn: Tsn,
    streams: Vec<StreamId>,
    performed: bool,
}

/// Largest control queue before new control chunks are dropped (and counted).
const MAX_CONTROL: usize = 256;
/// DATA / I-DATA chunk header sizes.
const DATA_HEADER: usize = 16;
const I_DATA_HEADER: usize = 20;
/// Error detection method of RFC 9653 for DTLS.
const EDMID_DTLS: u32 = 1;

/// An SCTP association: one per DTLS connection in WebRTC. See the crate documentation for
/// the driving contract.
#[derive(Debug)]
pub struct Association {
    config: Config,
    state: State,
    now: Instant,
    epoch: Instant,
    rng: ChaCha20Rng,
    cookie_key: [u8; 32],
    my_tag: u32,
    peer_tag: u32,
    my_initial_tsn: Tsn,
    features: Features,
    outbound_streams: u16,
    inbound_streams: u16,
    connected_reported: bool,
    // handshake
    init_chunk: Option<Chunk>,
    cookie_echo: Option<Bytes>,
    t1: Option<Instant>,
    t1_count: u32,
    // sending
    queue: SendQueue,
    next_tsn: u64,
    cum_ack: u64,
    outstanding: VecDeque<Sent>,
    retransmit: BTreeSet<u64>,
    flight: usize,
    cwnd: usize,
    ssthresh: usize,
    pba: usize,
    peer_rwnd: usize,
    fast_recovery: Option<u64>,
    fast_rtx_now: bool,
    adv_peer_ack: u64,
    forward_tsn_needed: bool,
    srtt: Option<Duration>,
    rttvar: Duration,
    rto: Duration,
    rtt_probe: Option<u64>,
    t3: Option<Instant>,
    error_count: u32,
    last_data_sent: Option<Instant>,
    // receiving
    recv: Option<Receiver>,
    ack: AckState,
    last_rwnd: u32,
    // shutdown
    t2: Option<Instant>,
    // stream reconfiguration
    my_req_seq: u32,
    reconfig: Option<ReconfigRequest>,
    reconfig_timer: Option<Instant>,
    peer_req_seq: Option<u32>,
    incoming_req: Option<IncomingRequest>,
    /// An Incoming SSN Reset Request our next outgoing request answers (RFC 6525 §5.2.3).
    answer_incoming: Option<u32>,
    // heartbeat
    hb_timer: Option<Instant>,
    // output
    control: VecDeque<Chunk>,
    alone: VecDeque<Bytes>,
    /// The packet being assembled and the unused rest of its allocation: the packets of one
    /// burst of `poll_transmit` calls share one allocation when the caller drops each one
    /// before asking for the next (as a DTLS layer that encrypts it does). Kept between
    /// bursts only while data is in flight or queued, so an idle association holds none.
    out: BytesMut,
    events: VecDeque<(Event, usize)>,
    stats: Stats,
}

impl Association {
    /// A new association in state `Closed`. Call [`Association::connect`] to send INIT, or
    /// leave it passive to answer the peer's INIT. WebRTC endpoints both connect; the collision
    /// is resolved by RFC 9260 §5.2.
    pub fn new(config: Config, now: Instant) -> Result<Association, Error> {
        config.validate()?;
        let seed = config.rng_seed.unwrap_or_else(os_seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let mut cookie_key = [0u8; 32];
        rng.fill_bytes(&mut cookie_key);
        let my_tag = nonzero(&mut rng);
        let my_initial_tsn = Tsn(rng.next_u32());
        let base = (1u64 << 32) + my_initial_tsn.0 as u64;
        let mtu = config.mtu;
        Ok(Association {
            state: State::Closed,
            now,
            epoch: now,
            rng,
            cookie_key,
            my_tag,
            peer_tag: 0,
            my_initial_tsn,
            features: Features::default(),
            outbound_streams: 0,
            inbound_streams: 0,
            connected_reported: false,
            init_chunk: None,
            cookie_echo: None,
            t1: None,
            t1_count: 0,
            queue: SendQueue::default(),
            next_tsn: base,
            cum_ack: base - 1,
            outstanding: VecDeque::new(),
            retransmit: BTreeSet::new(),
            flight: 0,
            // RFC 9260 §7.2.1: initial cwnd = min(4 MTU, max(2 MTU, 4380)).
            cwnd: (4 * mtu).min((2 * mtu).max(4380)),
            ssthresh: usize::MAX,
            pba: 0,
            peer_rwnd: 0,
            fast_recovery: None,
            fast_rtx_now: false,
            adv_peer_ack: base - 1,
            forward_tsn_needed: false,
            srtt: None,
            rttvar: Duration::ZERO,
            rto: config.rto_initial,
            rtt_probe: None,
            t3: None,
            error_count: 0,
            last_data_sent: None,
            recv: None,
            ack: AckState::default(),
            last_rwnd: 0,
            t2: None,
            my_req_seq: my_initial_tsn.0,
            reconfig: None,
            reconfig_timer: None,
            peer_req_seq: None,
            incoming_req: None,
            answer_incoming: None,
            hb_timer: None,
            control: VecDeque::new(),
            alone: VecDeque::new(),
            out: BytesMut::new(),
            events: VecDeque::new(),
            stats: Stats::default(),
            config,
        })
    }

    /// Starts the association: sends INIT (RFC 9260 §5.1 A).
    pub fn connect(&mut self, now: Instant) -> Result<(), Error> {
        self.set_now(now);
        if self.state != State::Closed {
            return Err(Error::AlreadyStarted);
        }
        let init = Chunk::Init(self.init_body(self.my_tag, self.my_initial_tsn));
        self.init_chunk = Some(init.clone());
        self.send_alone(0, init, false);
        self.state = State::CookieWait;
        self.t1 = Some(self.now + self.rto);
        self.t1_count = 0;
        debug!("sctp {:08x}: INIT sent", self.my_tag);
        Ok(())
    }

    /// Queues a message. It is fragmented and sent as the windows allow; see
    /// [`SendOptions`] for ordering and partial reliability.
    pub fn send(
        &mut self,
        now: Instant,
        stream: StreamId,
        ppid: Ppid,
        data: Bytes,
        opts: &SendOptions,
    ) -> Result<(), Error> {
        self.set_now(now);
        match self.state {
            State::Established => {}
            State::Terminated => return Err(Error::Closed),
            State::ShutdownPending
            | State::ShutdownSent
            | State::ShutdownReceived
            | State::ShutdownAckSent => {
                return Err(Error::Closed);
            }
            _ => return Err(Error::NotEstablished),
        }
        if data.is_empty() {
            return Err(Error::EmptyMessage);
        }
        if stream.0 >= self.outbound_streams {
            return Err(Error::InvalidStream(stream));
        }
        if data.len() > self.config.remote_max_message_size {
            return Err(Error::MessageTooLarge {
                size: data.len(),
                max: self.config.remote_max_message_size,
            });
        }
        if (opts.lifetime.is_some() || opts.max_retransmits.is_some()) && !self.features.forward_tsn
        {
            return Err(Error::PartialReliabilityNotSupported);
        }
        if self.queue.reset_state(stream) != ResetState::None {
            return Err(Error::StreamResetting(stream));
        }
        let buffered = self.queue.total_buffered();
        if buffered + data.len() > self.config.send_buffer {
            return Err(Error::SendBufferFull {
                buffered,
                limit: self.config.send_buffer,
            });
        }
        self.stats.messages_sent += 1;
        self.queue.push(stream, ppid, data, opts, self.now);
        Ok(())
    }

    /// Resets outgoing streams (RFC 6525 §5.1.2), which closes data channels. Each stream's
    /// queued messages go out first; the request follows. Completion is reported by
    /// [`Event::OutgoingStreamsReset`].
    pub fn reset_streams(&mut self, now: Instant, streams: &[StreamId]) -> Result<(), Error> {
        self.set_now(now);
        if self.state != State::Established {
            return Err(if self.state == State::Terminated {
                Error::Closed
            } else {
                Error::NotEstablished
            });
        }
        if !self.features.reconfig {
            return Err(Error::ReconfigNotSupported);
        }
        for &s in streams {
            if s.0 >= self.outbound_streams {
                return Err(Error::InvalidStream(s));
            }
        }
        for &s in streams {
            self.queue.mark_reset(s);
        }
        Ok(())
    }

    /// Graceful close (RFC 9260 §9.2): queued data is delivered, then SHUTDOWN.
    pub fn close(&mut self, now: Instant) {
        self.set_now(now);
        match self.state {
            State::Established => {
                self.state = State::ShutdownPending;
                info!("sctp {:08x}: shutdown requested", self.my_tag);
                self.progress_shutdown();
            }
            State::Closed | State::CookieWait | State::CookieEchoed => {
                self.finish(CloseReason::Shutdown)
            }
            _ => {}
        }
    }

    /// Ends the association at once with an ABORT carrying a user-initiated abort cause.
    pub fn abort(&mut self, now: Instant, reason: &str) {
        self.set_now(now);
        if self.state == State::Terminated {
            return;
        }
        if self.state != State::Closed {
            let cause = ErrorCause::with_text(ErrorCause::USER_INITIATED_ABORT, reason);
            let tag = if self.peer_tag != 0 {
                self.peer_tag
            } else {
                self.my_tag
            };
            self.send_alone(
                tag,
                Chunk::Abort {
                    reflected: self.peer_tag == 0,
                    causes: vec![cause],
                },
                true,
            );
        }
        self.finish(CloseReason::Aborted);
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether user data can be sent.
    pub fn is_established(&self) -> bool {
        self.state == State::Established
    }

    /// Whether the association has ended.
    pub fn is_closed(&self) -> bool {
        self.state == State::Terminated
    }

    /// Bytes queued on `stream` and not yet sent (W3C `bufferedAmount`).
    pub fn buffered_amount(&self, stream: StreamId) -> usize {
        self.queue.buffered(stream)
    }

    /// Bytes queued on all streams.
    pub fn total_buffered_amount(&self) -> usize {
        self.queue.total_buffered()
    }

    /// Sets the threshold under which [`Event::BufferedAmountLow`] fires for `stream`.
    pub fn set_buffered_amount_low_threshold(&mut self, stream: StreamId, bytes: usize) {
        self.queue.set_low_threshold(stream, bytes);
    }

    /// The low threshold of `stream`.
    pub fn buffered_amount_low_threshold(&self, stream: StreamId) -> usize {
        self.queue.low_threshold(stream)
    }

    /// Sets the scheduling weight of `stream` (RFC 8832 priorities: 128 very low, 256 low,
    /// 512 medium, 1024 high).
    pub fn set_priority(&mut self, stream: StreamId, priority: u16) {
        self.queue.set_priority(stream, priority);
    }

    /// Sets the peer's maximum message size once SDP gives it.
    pub fn set_remote_max_message_size(&mut self, bytes: usize) {
        self.config.remote_max_message_size = bytes;
    }

    /// Outbound streams negotiated (0 before the association is up).
    pub fn outbound_streams(&self) -> u16 {
        self.outbound_streams
    }

    /// Inbound streams negotiated (0 before the association is up).
    pub fn inbound_streams(&self) -> u16 {
        self.inbound_streams
    }

    /// Whether I-DATA (RFC 8260) is in use.
    pub fn is_interleaving(&self) -> bool {
        self.features.i_data
    }

    /// Whether the peer accepts zero checksums from us (RFC 9653).
    pub fn is_zero_checksum(&self) -> bool {
        self.features.zero_checksum
    }

    /// Whether partial reliability (RFC 3758) is available.
    pub fn supports_partial_reliability(&self) -> bool {
        self.features.forward_tsn
    }

    /// Whether stream reconfiguration (RFC 6525) is available.
    pub fn supports_stream_reset(&self) -> bool {
        self.features.reconfig
    }

    /// Counters and the congestion-control state.
    pub fn stats(&self) -> Stats {
        let mut s = self.stats.clone();
        s.cwnd = self.cwnd;
        s.ssthresh = self.ssthresh;
        s.flight_size = self.flight;
        s.peer_rwnd = self.peer_rwnd;
        s.srtt = self.srtt;
        s.rto = self.rto;
        s.zero_checksum = self.features.zero_checksum;
        s.interleaving = self.features.i_data;
        if let Some(r) = &self.recv {
            s.dropped_chunks = r.dropped_chunks;
            s.duplicate_tsns = r.duplicate_tsns;
            s.messages_received = r.messages;
            s.receive_buffered = r.buffered();
        }
        s.messages_expired_unsent = self.queue.expired_unsent;
        s
    }
}

// Input.
impl Association {
    /// Feeds one SCTP packet (the payload of a DTLS record). Malformed, mis-tagged or
    /// corrupted packets are dropped and counted in [`Stats`].
    pub fn handle_input(&mut self, now: Instant, packet: Bytes) {
        self.set_now(now);
        self.stats.packets_received += 1;
        self.stats.bytes_received += packet.len() as u64;
        if self.state == State::Terminated {
            self.stats.dropped_packets += 1;
            return;
        }
        let header = match CommonHeader::decode(&packet) {
            Ok(h) => h,
            Err(_) => return self.drop_packet("short packet"),
        };
        if header.destination_port != self.config.local_port {
            return self.drop_packet("wrong port");
        }
        let zero_ok = self.config.zero_checksum && header.checksum == 0;
        if !zero_ok && !Packet::checksum_ok(&packet) {
            self.stats.checksum_errors += 1;
            return self.drop_packet("bad checksum");
        }
        let pkt = match Packet::decode(&packet) {
            Ok(p) => p,
            Err(e) => {
                self.stats.malformed_packets += 1;
                debug!("sctp {:08x}: malformed packet: {e}", self.my_tag);
                return self.drop_packet("malformed");
            }
        };
        if pkt.chunks.is_empty() {
            return self.drop_packet("no chunks");
        }
        let vtag = header.verification_tag;
        let has = |t: ChunkType| pkt.chunks.iter().any(|c| c.typ() == t);
        if has(ChunkType::INIT) {
            // RFC 9260 §8.5.1 A and §6.10: INIT travels alone with tag 0.
            if pkt.chunks.len() != 1 || vtag != 0 {
                return self.drop_packet("INIT bundled or tagged");
            }
        } else if matches!(pkt.chunks[0], Chunk::CookieEcho { .. }) {
            // Checked against the cookie's own tag below.
        } else if has(ChunkType::ABORT) || has(ChunkType::SHUTDOWN_COMPLETE) {
            let reflected = pkt.chunks.iter().any(|c| {
                matches!(
                    c,
                    Chunk::Abort {
                        reflected: true,
                        ..
                    } | Chunk::ShutdownComplete { reflected: true }
                )
            });
            let ok =
                vtag == self.my_tag || (reflected && self.peer_tag != 0 && vtag == self.peer_tag);
            if !ok || self.state == State::Closed {
                return self.drop_packet("bad tag on ABORT/SHUTDOWN-COMPLETE");
            }
        } else if self.state == State::Closed {
            // Out of the blue (RFC 9260 §8.4).
            self.stats.dropped_packets += 1;
            if has(ChunkType::SHUTDOWN_ACK) {
                self.send_alone(vtag, Chunk::ShutdownComplete { reflected: true }, true);
            } else if !has(ChunkType::COOKIE_ACK) {
                self.send_alone(
                    vtag,
                    Chunk::Abort {
                        reflected: true,
                        causes: vec![],
                    },
                    true,
                );
            }
            return;
        } else if vtag != self.my_tag {
            return self.drop_packet("bad verification tag");
        }
        let mut had_data = false;
        let mut immediate = false;
        let mut unrecognized = Vec::new();
        for chunk in pkt.chunks {
            if self.state == State::Terminated {
                break;
            }
            match chunk {
                Chunk::Init(init) => self.on_init(init),
                Chunk::InitAck(init) => self.on_init_ack(init),
                Chunk::CookieEcho { cookie } => {
                    if !self.on_cookie_echo(vtag, &cookie) {
                        return;
                    }
                }
                Chunk::CookieAck => self.on_cookie_ack(),
                Chunk::Data(d) => {
                    if self.features.i_data && self.recv.is_some() {
                        return self.violation("DATA on an association that negotiated I-DATA");
                    }
                    immediate |= d.immediate;
                    had_data = true;
                    let c = InChunk {
                        tsn: d.tsn,
                        stream: d.stream,
                        seq: d.ssn.widen(),
                        fsn: 0,
                        ppid: d.ppid,
                        unordered: d.unordered,
                        begin: d.begin,
                        end: d.end,
                        payload: d.payload,
                    };
                    if !self.on_data(c) {
                        return;
                    }
                }
                Chunk::IData(d) => {
                    if !self.features.i_data {
                        return self.violation("I-DATA without negotiating it");
                    }
                    immediate |= d.immediate;
                    had_data = true;
                    let c = InChunk {
                        tsn: d.tsn,
                        stream: d.stream,
                        seq: d.mid.0,
                        fsn: d.fsn,
                        ppid: d.ppid,
                        unordered: d.unordered,
                        begin: d.begin,
                        end: d.end,
                        payload: d.payload,
                    };
                    if !self.on_data(c) {
                        return;
                    }
                }
                Chunk::Sack(s) => self.on_sack(s),
                Chunk::Heartbeat { info } => {
                    if self.recv.is_some() {
                        self.push_control(Chunk::HeartbeatAck { info });
                    }
                }
                Chunk::HeartbeatAck { .. } => self.error_count = 0,
                Chunk::Abort { causes, .. } => {
                    let cause = causes.first().map(|c| c.code);
                    let text = causes
                        .first()
                        .map(|c| {
                            String::from_utf8_lossy(&c.info[..c.info.len().min(256)]).into_owned()
                        })
                        .unwrap_or_default();
                    info!(
                        "sctp {:08x}: ABORT from peer (cause {cause:?})",
                        self.my_tag
                    );
                    self.finish(CloseReason::AbortedByPeer { cause, text });
                    return;
                }
                Chunk::Shutdown { cum_tsn } => self.on_shutdown(cum_tsn),
                Chunk::ShutdownAck => self.on_shutdown_ack(),
                Chunk::ShutdownComplete { .. } => {
                    if self.state == State::ShutdownAckSent {
                        self.finish(CloseReason::Shutdown);
                    }
                }
                Chunk::Error { causes } => {
                    self.stats.error_chunks_received += 1;
                    for c in &causes {
                        debug!("sctp {:08x}: ERROR cause {} from peer", self.my_tag, c.code);
                    }
                }
                Chunk::ReConfig { params } => self.on_reconfig(params),
                Chunk::ForwardTsn(f) => {
                    if self.features.i_data {
                        return self.violation("FORWARD-TSN on an I-DATA association");
                    }
                    let ordered: Vec<(StreamId, u32)> =
                        f.streams.iter().map(|(s, n)| (*s, n.widen())).collect();
                    self.on_forward_tsn(f.new_cum_tsn, &ordered, &[]);
                }
                Chunk::IForwardTsn(f) => {
                    if !self.features.i_data {
                        return self.violation("I-FORWARD-TSN without I-DATA");
                    }
                    let ordered: Vec<(StreamId, u32)> = f
                        .streams
                        .iter()
                        .filter(|s| !s.unordered)
                        .map(|s| (s.stream, s.mid.0))
                        .collect();
                    let unordered: Vec<(StreamId, Mid)> = f
                        .streams
                        .iter()
                        .filter(|s| s.unordered)
                        .map(|s| (s.stream, s.mid))
                        .collect();
                    self.on_forward_tsn(f.new_cum_tsn, &ordered, &unordered);
                }
                Chunk::Unknown { typ, flags, value } => {
                    self.stats.unknown_chunks += 1;
                    // RFC 9260 §3.2: the upper two bits say whether to go on and whether to report.
                    if typ & 0x40 != 0 && unrecognized.len() < 4 {
                        let mut raw = BytesMut::new();
                        Chunk::Unknown { typ, flags, value }.encode(&mut raw);
                        unrecognized.push(ErrorCause {
                            code: ErrorCause::UNRECOGNIZED_CHUNK,
                            info: raw.freeze(),
                        });
                    }
                    if typ & 0x80 == 0 {
                        break;
                    }
                }
            }
        }
        if !unrecognized.is_empty() && self.peer_tag != 0 {
            self.push_control(Chunk::Error {
                causes: unrecognized,
            });
        }
        if let Some(r) = self.recv.as_ref().filter(|_| had_data) {
            self.ack.packets += 1;
            if immediate
                || r.has_gaps()
                || r.has_dups()
                || self.ack.packets >= 2
                || self.state != State::Established
            {
                self.ack.now = true;
            } else if self.ack.timer.is_none() {
                self.ack.timer = Some(self.now + self.config.delayed_ack);
            }
        }
        self.drain_ready();
        self.progress_shutdown();
    }

    fn drop_packet(&mut self, why: &str) {
        self.stats.dropped_packets += 1;
        debug!("sctp {:08x}: dropped packet: {why}", self.my_tag);
    }

    fn on_init(&mut self, init: Init) {
        if let Err(cause) = check_init(&init) {
            // RFC 9260 §5.1: answer a broken INIT with ABORT; no state is created.
            self.send_alone(
                init.initiate_tag,
                Chunk::Abort {
                    reflected: false,
                    causes: vec![cause],
                },
                true,
            );
            return;
        }
        let (features, unrecognized) = self.negotiate(&init.params);
        // §5.2.1 in COOKIE-WAIT/COOKIE-ECHOED: the same tag and TSN as our INIT; §5.2.2 after
        // that: fresh ones, with our current tags as tie-tags so a restart is recognized.
        let (tag, tsn, tie_my, tie_peer) = match self.state {
            State::Closed => (self.my_tag, self.my_initial_tsn, 0, 0),
            State::CookieWait | State::CookieEchoed => {
                (self.my_tag, self.my_initial_tsn, self.my_tag, self.peer_tag)
            }
            State::ShutdownAckSent => {
                // §9.2: an INIT while our SHUTDOWN-ACK is out: keep insisting on the shutdown.
                self.push_control(Chunk::ShutdownAck);
                return;
            }
            _ => (
                nonzero(&mut self.rng),
                Tsn(self.rng.next_u32()),
                self.my_tag,
                self.peer_tag,
            ),
        };
        let cookie = Cookie {
            my_tag: tag,
            peer_tag: init.initiate_tag,
            my_initial_tsn: tsn,
            peer_initial_tsn: init.initial_tsn,
            peer_a_rwnd: init.a_rwnd,
            peer_outbound: init.outbound_streams,
            peer_inbound: init.inbound_streams,
            features,
            tie_my,
            tie_peer,
            created: self.now.saturating_duration_since(self.epoch),
        };
        let mut body = self.init_body(tag, tsn);
        body.params.insert(
            0,
            InitParam::StateCookie(Bytes::from(cookie.seal(&self.cookie_key))),
        );
        body.params.extend(
            unrecognized
                .into_iter()
                .map(InitParam::UnrecognizedParameter),
        );
        debug!("sctp {:08x}: INIT received, INIT-ACK sent", self.my_tag);
        self.send_alone(init.initiate_tag, Chunk::InitAck(body), true);
    }

    fn on_init_ack(&mut self, init: Init) {
        if self.state != State::CookieWait {
            return;
        }
        if let Err(cause) = check_init(&init) {
            self.send_alone(
                init.initiate_tag,
                Chunk::Abort {
                    reflected: false,
                    causes: vec![cause],
                },
                true,
            );
            self.finish(CloseReason::ProtocolViolation("invalid INIT-ACK"));
            return;
        }
        let Some(cookie) = init.params.iter().find_map(|p| match p {
            InitParam::StateCookie(c) => Some(c.clone()),
            _ => None,
        }) else {
            self.stats.malformed_packets += 1;
            return;
        };
        let (features, unrecognized) = self.negotiate(&init.params);
        self.peer_tag = init.initiate_tag;
        self.setup_tcb(
            features,
            init.initial_tsn,
            init.a_rwnd,
            init.outbound_streams,
            init.inbound_streams,
        );
        self.cookie_echo = Some(cookie.clone());
        self.push_control(Chunk::CookieEcho { cookie });
        if !unrecognized.is_empty() {
            let causes = unrecognized
                .into_iter()
                .map(|p| ErrorCause {
                    code: ErrorCause::UNRECOGNIZED_PARAMETERS,
                    info: p,
                })
                .collect();
            self.push_control(Chunk::Error { causes });
        }
        self.state = State::CookieEchoed;
        self.t1 = Some(self.now + self.rto);
        self.t1_count = 0;
        debug!(
            "sctp {:08x}: INIT-ACK received, COOKIE-ECHO sent",
            self.my_tag
        );
    }

    /// Returns false when the rest of the packet must be dropped.
    fn on_cookie_echo(&mut self, vtag: u32, raw: &Bytes) -> bool {
        let Some(c) = Cookie::open(&self.cookie_key, raw) else {
            self.drop_packet("bad cookie");
            return false;
        };
        if vtag != c.my_tag {
            self.drop_packet("cookie tag mismatch");
            return false;
        }
        let age = self
            .now
            .saturating_duration_since(self.epoch)
            .saturating_sub(c.created);
        if age > self.config.cookie_lifetime {
            let mut info = BytesMut::new();
            info.extend_from_slice(&(age.as_micros().min(u32::MAX as u128) as u32).to_be_bytes());
            let cause = ErrorCause {
                code: ErrorCause::STALE_COOKIE,
                info: info.freeze(),
            };
            self.send_alone(
                c.peer_tag,
                Chunk::Error {
                    causes: vec![cause],
                },
                false,
            );
            return false;
        }
        let local_match = c.my_tag == self.my_tag;
        let peer_match = self.peer_tag != 0 && c.peer_tag == self.peer_tag;
        match self.state {
            State::Terminated => false,
            State::Closed => {
                self.establish_from(&c);
                true
            }
            _ if !local_match
                && !peer_match
                && c.tie_my == self.my_tag
                && c.tie_peer == self.peer_tag =>
            {
                // §5.2.4 A: the peer restarted.
                info!("sctp {:08x}: peer restarted the association", self.my_tag);
                self.finish(CloseReason::PeerRestarted);
                false
            }
            _ if local_match && !peer_match => {
                // §5.2.4 B: INITs crossed; the cookie's view of the peer wins.
                self.establish_from(&c);
                true
            }
            _ if !local_match && peer_match && c.tie_my == 0 && c.tie_peer == 0 => false,
            _ if local_match && peer_match => {
                // §5.2.4 D.
                if matches!(self.state, State::CookieWait | State::CookieEchoed) {
                    self.establish_from(&c);
                } else {
                    self.push_control(Chunk::CookieAck);
                }
                true
            }
            _ => false,
        }
    }

    fn establish_from(&mut self, c: &Cookie) {
        self.peer_tag = c.peer_tag;
        let fresh = self.recv.is_none() || self.state == State::Closed;
        if fresh {
            self.setup_tcb(
                c.features,
                c.peer_initial_tsn,
                c.peer_a_rwnd,
                c.peer_outbound,
                c.peer_inbound,
            );
        }
        self.push_control(Chunk::CookieAck);
        self.t1 = None;
        self.enter_established();
    }

    fn on_cookie_ack(&mut self) {
        if self.state == State::CookieEchoed {
            self.t1 = None;
            self.cookie_echo = None;
            self.enter_established();
        }
    }

    fn enter_established(&mut self) {
        self.state = State::Established;
        self.init_chunk = None;
        self.cookie_echo = None;
        self.control
            .retain(|c| !matches!(c, Chunk::CookieEcho { .. }));
        if let Some(hb) = self.config.heartbeat_interval {
            self.hb_timer = Some(self.now + hb);
        }
        if !self.connected_reported {
            self.connected_reported = true;
            info!(
                "sctp {:08x}: established ({} out / {} in streams, i-data {}, zero checksum {})",
                self.my_tag,
                self.outbound_streams,
                self.inbound_streams,
                self.features.i_data,
                self.features.zero_checksum
            );
            self.events.push_back((Event::Connected, 0));
        }
    }

    fn setup_tcb(
        &mut self,
        features: Features,
        peer_tsn: Tsn,
        a_rwnd: u32,
        peer_out: u16,
        peer_in: u16,
    ) {
        self.features = features;
        self.outbound_streams = self.config.outbound_streams.min(peer_in);
        self.inbound_streams = self.config.inbound_streams.min(peer_out);
        self.peer_rwnd = a_rwnd as usize;
        self.recv = Some(Receiver::new(
            peer_tsn,
            self.config.receive_buffer,
            self.config.max_message_size,
            features.i_data,
            self.inbound_streams,
        ));
        self.last_rwnd = self.config.receive_buffer as u32;
        // RFC 6525 §5.2.1: the peer's first request carries its initial TSN as sequence number.
        self.peer_req_seq = Some(peer_tsn.0);
    }

    /// Which extensions both sides have, and the parameters to report as unrecognized.
    fn negotiate(&self, params: &[InitParam]) -> (Features, Vec<Bytes>) {
        let mut f = Features::default();
        let mut unrecognized = Vec::new();
        for p in params {
            match p {
                InitParam::ForwardTsnSupported => f.forward_tsn = true,
                InitParam::SupportedExtensions(types) => {
                    for &t in types {
                        match ChunkType(t) {
                            ChunkType::FORWARD_TSN => f.forward_tsn = true,
                            ChunkType::RE_CONFIG => f.reconfig = true,
                            ChunkType::I_DATA => f.i_data = self.config.interleaving,
                            _ => {}
                        }
                    }
                }
                InitParam::ZeroChecksumAcceptable(m) => {
                    f.zero_checksum = *m == EDMID_DTLS && self.config.zero_checksum
                }
                InitParam::Unknown { typ, value } => {
                    // RFC 9260 §3.2.1: upper bits 00/01 stop processing, x1 reports.
                    if typ & 0x4000 != 0 && unrecognized.len() < 8 {
                        let mut raw = BytesMut::new();
                        InitParam::Unknown {
                            typ: *typ,
                            value: value.clone(),
                        }
                        .encode(&mut raw);
                        raw.truncate(4 + value.len());
                        unrecognized.push(raw.freeze());
                    }
                    if typ & 0x8000 == 0 {
                        break;
                    }
                }
                _ => {}
            }
        }
        (f, unrecognized)
    }

    fn init_body(&self, tag: u32, tsn: Tsn) -> Init {
        let mut ext = vec![ChunkType::RE_CONFIG.0, ChunkType::FORWARD_TSN.0];
        if self.config.interleaving {
            ext.push(ChunkType::I_DATA.0);
            ext.push(ChunkType::I_FORWARD_TSN.0);
        }
        let mut params = vec![
            InitParam::ForwardTsnSupported,
            InitParam::SupportedExtensions(ext),
        ];
        if self.config.zero_checksum {
            params.push(InitParam::ZeroChecksumAcceptable(EDMID_DTLS));
        }
        Init {
            initiate_tag: tag,
            a_rwnd: self.config.receive_buffer.min(u32::MAX as usize) as u32,
            outbound_streams: self.config.outbound_streams,
            inbound_streams: self.config.inbound_streams,
            initial_tsn: tsn,
            params,
        }
    }

    /// Returns false when the association ended.
    fn on_data(&mut self, c: InChunk) -> bool {
        if !matches!(
            self.state,
            State::CookieEchoed | State::Established | State::ShutdownPending | State::ShutdownSent
        ) {
            return true;
        }
        let Some(r) = self.recv.as_mut() else {
            return true;
        };
        if c.payload.is_empty() {
            // RFC 9260 §6.2: DATA without user data ends the association.
            let cause = ErrorCause::bare(ErrorCause::NO_USER_DATA);
            self.abort_with(
                cause,
                CloseReason::ProtocolViolation("DATA chunk without user data"),
            );
            return false;
        }
        let stream = c.stream;
        let valid = r.is_valid_stream(stream);
        self.stats.data_chunks_received += 1;
        match r.on_chunk(c) {
            Arrival::New => {
                if !valid {
                    let mut info = BytesMut::new();
                    info.extend_from_slice(&stream.0.to_be_bytes());
                    info.extend_from_slice(&[0, 0]);
                    let cause = ErrorCause {
                        code: ErrorCause::INVALID_STREAM_ID,
                        info: info.freeze(),
                    };
                    self.push_control(Chunk::Error {
                        causes: vec![cause],
                    });
                }
                self.check_incoming_reset();
            }
            Arrival::Duplicate | Arrival::Dropped => {}
            Arrival::TooLarge => {
                let cause = ErrorCause::with_text(
                    ErrorCause::PROTOCOL_VIOLATION,
                    "message exceeds max-message-size",
                );
                self.abort_with(
                    cause,
                    CloseReason::ProtocolViolation("message exceeds max-message-size"),
                );
                return false;
            }
        }
        true
    }

    fn on_forward_tsn(
        &mut self,
        new_cum: Tsn,
        ordered: &[(StreamId, u32)],
        unordered: &[(StreamId, Mid)],
    ) {
        if !matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownSent | State::CookieEchoed
        ) {
            return;
        }
        let Some(r) = self.recv.as_mut() else { return };
        r.forward(new_cum, ordered, unordered);
        // RFC 3758 §3.6: acknowledge a FORWARD-TSN at once.
        self.ack.now = true;
        self.check_incoming_reset();
    }

    fn drain_ready(&mut self) {
        let Some(r) = self.recv.as_mut() else { return };
        while let Some((msg, charge)) = r.pop_complete() {
            self.events.push_back((Event::Message(msg), charge));
        }
    }

    fn violation(&mut self, what: &'static str) {
        let cause = ErrorCause::with_text(ErrorCause::PROTOCOL_VIOLATION, what);
        self.abort_with(cause, CloseReason::ProtocolViolation(what));
    }

    fn abort_with(&mut self, cause: ErrorCause, reason: CloseReason) {
        debug!("sctp {:08x}: aborting: {reason:?}", self.my_tag);
        self.send_alone(
            self.peer_tag,
            Chunk::Abort {
                reflected: false,
                causes: vec![cause],
            },
            true,
        );
        self.finish(reason);
    }

    fn finish(&mut self, reason: CloseReason) {
        if self.state == State::Terminated {
            return;
        }
        info!("sctp {:08x}: closed: {reason:?}", self.my_tag);
        self.state = State::Terminated;
        self.t1 = None;
        self.t2 = None;
        self.t3 = None;
        self.ack = AckState::default();
        self.reconfig_timer = None;
        self.hb_timer = None;
        self.control.clear();
        self.events.push_back((Event::Closed { reason }, 0));
    }
}

/// RFC 9260 §3.3.2: the mandatory fields of INIT / INIT-ACK.
fn check_init(init: &Init) -> Result<(), ErrorCause> {
    if init.initiate_tag == 0
        || init.a_rwnd < 1500
        || init.outbound_streams == 0
        || init.inbound_streams == 0
    {
        return Err(ErrorCause::bare(ErrorCause::INVALID_MANDATORY_PARAMETER));
    }
    Ok(())
}

fn nonzero(rng: &mut ChaCha20Rng) -> u32 {
    loop {
        let v = rng.next_u32();
        if v != 0 {
            return v;
        }
    }
}

fn os_seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    // Entropy for tags and cookie keys; a machine without it cannot run DTLS either.
    openssl::rand::rand_bytes(&mut seed).expect("OS entropy must be available");
    seed
}

// Acknowledgements, retransmission and congestion control (RFC 9260 §6-7, RFC 3758).
impl Association {
    fn unwrap_own(&self, tsn: Tsn) -> u64 {
        let d = tsn.0.wrapping_sub(self.cum_ack as u32) as i32 as i64;
        (self.cum_ack as i64 + d) as u64
    }

    fn mtu(&self) -> usize {
        self.config.mtu
    }

    fn on_sack(&mut self, sack: Sack) {
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
                | State::ShutdownAckSent
        ) {
            return;
        }
        self.stats.sacks_received += 1;
        let c = self.unwrap_own(sack.cum_tsn);
        if c < self.cum_ack {
            // RFC 9260 §6.2.1 D i: an old SACK, out of order.
            return;
        }
        if c >= self.next_tsn {
            return self.violation("SACK acknowledges a TSN never sent");
        }
        let old_cum = self.cum_ack;
        let mtu = self.mtu();
        let cwnd_full = self.flight + mtu >= self.cwnd;
        let mut acked_bytes = 0usize;
        let mut highest_newly = 0u64;
        while self.cum_ack < c {
            let Some(s) = self.outstanding.pop_front() else {
                break;
            };
            self.cum_ack += 1;
            let tsn = self.cum_ack;
            match s.state {
                SentState::InFlight => {
                    self.flight -= s.frag.payload.len();
                    acked_bytes += s.frag.payload.len();
                    highest_newly = tsn;
                }
                SentState::Retransmit => {
                    self.retransmit.remove(&tsn);
                    acked_bytes += s.frag.payload.len();
                    highest_newly = tsn;
                }
                SentState::GapAcked | SentState::Abandoned => {}
            }
            if self.rtt_probe == Some(tsn) {
                self.rtt_sample(s.transmits, s.sent_at);
            }
        }
        if self.adv_peer_ack < self.cum_ack {
            self.adv_peer_ack = self.cum_ack;
        }
        // Gap blocks must ascend without overlap (RFC 9260 §3.3.4); stop at the first that
        // does not, which also bounds the work a lying peer can cause.
        let mut floor = 0u64;
        for &(start, end) in &sack.gaps {
            let (start, end) = (start as u64, end as u64);
            if start == 0 || start > end || start <= floor {
                break;
            }
            floor = end;
            let lo = self.cum_ack + start;
            let hi = (self.cum_ack + end).min(self.next_tsn - 1);
            let mut t = lo;
            while t <= hi {
                let idx = (t - self.cum_ack - 1) as usize;
                let Some(s) = self.outstanding.get_mut(idx) else {
                    break;
                };
                match s.state {
                    SentState::InFlight => {
                        self.flight -= s.frag.payload.len();
                        acked_bytes += s.frag.payload.len();
                        s.state = SentState::GapAcked;
                        highest_newly = highest_newly.max(t);
                    }
                    SentState::Retransmit => {
                        self.retransmit.remove(&t);
                        acked_bytes += s.frag.payload.len();
                        s.state = SentState::GapAcked;
                        highest_newly = highest_newly.max(t);
                    }
                    SentState::GapAcked | SentState::Abandoned => {}
                }
                let probe = (self.rtt_probe == Some(t)).then_some((s.transmits, s.sent_at));
                if let Some((transmits, sent_at)) = probe {
                    self.rtt_sample(transmits, sent_at);
                }
                t += 1;
            }
        }
        // Fast retransmit (§7.2.4): chunks below the highest newly acknowledged TSN that are
        // still missing get a miss indication; the third marks them.
        let mut marked = false;
        if highest_newly > self.cum_ack && !sack.gaps.is_empty() {
            let upto = (highest_newly - self.cum_ack - 1) as usize;
            let base = self.cum_ack + 1;
            for (i, s) in self.outstanding.iter_mut().enumerate().take(upto) {
                if s.state != SentState::InFlight || s.fast_rtxed {
                    continue;
                }
                s.misses = s.misses.saturating_add(1);
                if s.misses >= 3 {
                    s.state = SentState::Retransmit;
                    s.fast_rtxed = true;
                    self.flight -= s.frag.payload.len();
                    self.retransmit.insert(base + i as u64);
                    marked = true;
                    self.stats.fast_retransmits += 1;
                }
            }
        }
        if marked && self.fast_recovery.is_none() {
            self.ssthresh = (self.cwnd / 2).max(4 * mtu);
            self.cwnd = self.ssthresh;
            self.pba = 0;
            self.fast_recovery = Some(self.next_tsn - 1);
            self.fast_rtx_now = true;
            debug!(
                "sctp {:08x}: fast recovery, cwnd {}",
                self.my_tag, self.cwnd
            );
        }
        if let Some(exit) = self.fast_recovery
            && self.cum_ack >= exit
        {
            self.fast_recovery = None;
        }
        // Congestion window (§7.2.1, §7.2.2): grows only when the cumulative ack moves and
        // the window was in use.
        if self.cum_ack > old_cum && self.fast_recovery.is_none() && cwnd_full {
            if self.cwnd <= self.ssthresh {
                self.cwnd += acked_bytes.min(mtu);
            } else {
                self.pba += acked_bytes;
                if self.pba >= self.cwnd {
                    self.pba -= self.cwnd;
                    self.cwnd += mtu;
                }
            }
        }
        if self.flight == 0 {
            self.pba = 0;
        }
        self.cwnd = self.cwnd.min(self.config.max_in_flight.max(4 * mtu));
        self.peer_rwnd = (sack.a_rwnd as usize).saturating_sub(self.flight);
        if self.cum_ack > old_cum || acked_bytes > 0 {
            self.error_count = 0;
        }
        if self.flight == 0 && self.retransmit.is_empty() {
            self.t3 = None;
        } else if self.cum_ack > old_cum || self.t3.is_none() {
            self.t3 = Some(self.now + self.rto);
        }
        self.check_abandon();
        self.advance_peer_ack_point();
        if self.adv_peer_ack > self.cum_ack {
            self.forward_tsn_needed = true;
        }
        self.progress_shutdown();
    }

    /// The RTT probe chunk was acknowledged: a sample, unless it was retransmitted (Karn).
    fn rtt_sample(&mut self, transmits: u16, sent_at: Instant) {
        self.rtt_probe = None;
        if transmits == 1 {
            self.update_rtt(self.now.saturating_duration_since(sent_at));
        }
    }

    fn update_rtt(&mut self, r: Duration) {
        // RFC 9260 §6.3.1 C2/C3 with alpha 1/8 and beta 1/4.
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let diff = srtt.abs_diff(r);
                self.rttvar = self.rttvar * 3 / 4 + diff / 4;
                self.srtt = Some(srtt * 7 / 8 + r / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        let rto = srtt + (self.rttvar * 4).max(Duration::from_millis(1));
        self.rto = rto.clamp(self.config.rto_min, self.config.rto_max);
        trace!(
            "sctp {:08x}: rtt {:?} srtt {:?} rto {:?}",
            self.my_tag, r, srtt, self.rto
        );
    }

    /// RFC 3758 §3.5 A3/C1: abandons chunks marked for retransmission whose message ran out of
    /// lifetime or retransmissions, with every other fragment of their messages.
    fn check_abandon(&mut self) {
        if !self.features.forward_tsn || self.retransmit.is_empty() {
            return;
        }
        let now = self.now;
        let mut doomed = Vec::new();
        for &t in &self.retransmit {
            let idx = (t - self.cum_ack - 1) as usize;
            if let Some(s) = self.outstanding.get(idx) {
                let expired = s.frag.expires.is_some_and(|e| now >= e);
                let exhausted = s.frag.max_rtx.is_some_and(|m| s.transmits > m);
                if expired || exhausted {
                    doomed.push((s.frag.stream, s.frag.msg));
                }
            }
        }
        doomed.dedup();
        for (stream, msg) in doomed {
            self.abandon_message(stream, msg);
        }
    }

    fn abandon_message(&mut self, stream: StreamId, msg: u64) {
        let base = self.cum_ack + 1;
        let mut any = false;
        for (i, s) in self.outstanding.iter_mut().enumerate() {
            if s.frag.msg != msg {
                continue;
            }
            match s.state {
                SentState::InFlight => self.flight -= s.frag.payload.len(),
                SentState::Retransmit => {
                    self.retransmit.remove(&(base + i as u64));
                }
                SentState::GapAcked | SentState::Abandoned => {}
            }
            s.state = SentState::Abandoned;
            any = true;
        }
        if any {
            self.stats.messages_abandoned += 1;
            self.queue.abandon(stream, msg);
            trace!(
                "sctp {:08x}: abandoned message {msg} on stream {stream}",
                self.my_tag
            );
        }
    }

    fn advance_peer_ack_point(&mut self) {
        // RFC 3758 §3.5 C2: move over abandoned (and already acknowledged) chunks.
        let mut p = self.adv_peer_ack.max(self.cum_ack);
        loop {
            let idx = (p - self.cum_ack) as usize;
            match self.outstanding.get(idx) {
                Some(s) if matches!(s.state, SentState::Abandoned | SentState::GapAcked) => p += 1,
                _ => break,
            }
        }
        // Only worth a FORWARD-TSN when it skips something abandoned.
        let skips = (self.cum_ack + 1..=p).any(|t| {
            self.outstanding
                .get((t - self.cum_ack - 1) as usize)
                .is_some_and(|s| s.state == SentState::Abandoned)
        });
        self.adv_peer_ack = if skips {
            p
        } else {
            self.cum_ack.max(self.adv_peer_ack.min(p))
        };
    }

    fn forward_tsn_chunk(&self) -> Chunk {
        let upto = (self.adv_peer_ack - self.cum_ack) as usize;
        let new_cum_tsn = Tsn(self.adv_peer_ack as u32);
        if self.features.i_data {
            let mut streams: Vec<IForwardTsnStream> = Vec::new();
            for s in self
                .outstanding
                .iter()
                .take(upto)
                .filter(|s| s.state == SentState::Abandoned)
            {
                let e = IForwardTsnStream {
                    stream: s.frag.stream,
                    unordered: s.frag.unordered,
                    mid: Mid(s.frag.seq),
                };
                match streams
                    .iter_mut()
                    .find(|x| x.stream == e.stream && x.unordered == e.unordered)
                {
                    Some(x) => {
                        if Tsn(x.mid.0).is_before(Tsn(e.mid.0)) {
                            x.mid = e.mid;
                        }
                    }
                    None => streams.push(e),
                }
            }
            Chunk::IForwardTsn(IForwardTsn {
                new_cum_tsn,
                streams,
            })
        } else {
            let mut streams: Vec<(StreamId, Ssn)> = Vec::new();
            for s in self
                .outstanding
                .iter()
                .take(upto)
                .filter(|s| s.state == SentState::Abandoned && !s.frag.unordered)
            {
                let ssn = Ssn(s.frag.seq as u16);
                match streams.iter_mut().find(|x| x.0 == s.frag.stream) {
                    Some(x) => {
                        if weft_proto::Serial16(x.1.0).is_before(weft_proto::Serial16(ssn.0)) {
                            x.1 = ssn;
                        }
                    }
                    None => streams.push((s.frag.stream, ssn)),
                }
            }
            Chunk::ForwardTsn(ForwardTsn {
                new_cum_tsn,
                streams,
            })
        }
    }

    fn on_t3(&mut self) {
        self.t3 = None;
        if self
            .outstanding
            .iter()
            .all(|s| matches!(s.state, SentState::GapAcked | SentState::Abandoned))
            && self.adv_peer_ack <= self.cum_ack
        {
            return;
        }
        self.stats.t3_expirations += 1;
        if self.count_error() {
            return;
        }
        // RFC 9260 §6.3.3 E1-E3 and §7.2.3.
        self.rto = (self.rto * 2).min(self.config.rto_max);
        let mtu = self.mtu();
        self.ssthresh = (self.cwnd / 2).max(4 * mtu);
        self.cwnd = mtu;
        self.pba = 0;
        self.fast_recovery = None;
        self.rtt_probe = None;
        // A cumulative ack stuck on a chunk the peer gap-acked means it reneged: send those too.
        let reneged = self
            .outstanding
            .front()
            .is_some_and(|s| s.state == SentState::GapAcked);
        let base = self.cum_ack + 1;
        for (i, s) in self.outstanding.iter_mut().enumerate() {
            let take =
                s.state == SentState::InFlight || (reneged && s.state == SentState::GapAcked);
            if take {
                if s.state == SentState::InFlight {
                    self.flight -= s.frag.payload.len();
                }
                s.state = SentState::Retransmit;
                self.retransmit.insert(base + i as u64);
            }
        }
        self.check_abandon();
        self.advance_peer_ack_point();
        if self.adv_peer_ack > self.cum_ack {
            self.forward_tsn_needed = true;
        }
        self.t3 = Some(self.now + self.rto);
        debug!(
            "sctp {:08x}: T3-rtx expired, rto {:?}, {} to resend",
            self.my_tag,
            self.rto,
            self.retransmit.len()
        );
    }

    /// Counts a timeout against Association.Max.Retrans; true when the association ended.
    fn count_error(&mut self) -> bool {
        self.error_count += 1;
        if self
            .config
            .max_retransmissions
            .is_some_and(|m| self.error_count > m)
        {
            self.finish(CloseReason::TooManyRetransmissions);
            return true;
        }
        false
    }
}

// Output, timers, shutdown and stream reconfiguration.
impl Association {
    /// The next SCTP packet to send (to hand to DTLS), or `None`. Packets are assembled on
    /// demand: control chunks, a SACK when one is due, FORWARD-TSN, retransmissions, then new
    /// data as the congestion and receiver windows allow.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if let Some(p) = self.alone.pop_front() {
            return Some(self.count_sent(p));
        }
        if self.state == State::Terminated {
            return None;
        }
        self.make_reconfig_request();
        let mtu = self.mtu();
        let mut buf = std::mem::take(&mut self.out);
        buf.clear();
        buf.reserve(mtu);
        CommonHeader {
            source_port: self.config.local_port,
            destination_port: self.config.remote_port,
            verification_tag: self.peer_tag,
            checksum: 0,
        }
        .encode(&mut buf);
        while let Some(c) = self.control.front() {
            let len = c.padded_len();
            if buf.len() + len > mtu {
                if buf.len() == CommonHeader::LEN {
                    // Cannot fit any packet: drop rather than wedge the queue.
                    self.control.pop_front();
                    self.stats.dropped_control += 1;
                    continue;
                }
                break;
            }
            if let Some(c) = self.control.pop_front() {
                c.encode(&mut buf);
            }
        }
        let sack_due = self.recv.is_some()
            && (self.ack.now
                || self.ack.timer.is_some_and(|t| t <= self.now)
                || (self.ack.timer.is_some() && self.has_data_to_send()));
        if sack_due {
            let sack = self.build_sack(mtu.saturating_sub(buf.len()));
            if buf.len() + sack.padded_len() <= mtu {
                sack.encode(&mut buf);
                self.ack = AckState::default();
                self.stats.sacks_sent += 1;
            }
        }
        if self.forward_tsn_needed && self.adv_peer_ack > self.cum_ack {
            let f = self.forward_tsn_chunk();
            if buf.len() + f.padded_len() <= mtu {
                f.encode(&mut buf);
                self.forward_tsn_needed = false;
                self.stats.forward_tsns_sent += 1;
            }
        }
        if matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownReceived
        ) {
            self.write_data(&mut buf);
        }
        if buf.len() == CommonHeader::LEN {
            // Data in flight or queued: more packets follow soon (as SACKs arrive), so the
            // allocation is kept for them; otherwise it is freed.
            if self.flight > 0 || !self.queue.is_empty() {
                buf.clear();
                self.out = buf;
            }
            return None;
        }
        if !self.features.zero_checksum {
            crate::wire::fill_checksum(&mut buf);
        }
        let packet = buf.split().freeze();
        self.out = buf;
        Some(self.count_sent(packet))
    }

    fn count_sent(&mut self, p: Bytes) -> Bytes {
        self.stats.packets_sent += 1;
        self.stats.bytes_sent += p.len() as u64;
        trace!("sctp {:08x}: sending {} bytes", self.my_tag, p.len());
        p
    }

    fn has_data_to_send(&self) -> bool {
        matches!(
            self.state,
            State::Established | State::ShutdownPending | State::ShutdownReceived
        ) && (!self.retransmit.is_empty() || !self.queue.is_empty())
            && self.flight < self.cwnd
    }

    fn header_len(&self) -> usize {
        if self.features.i_data {
            I_DATA_HEADER
        } else {
            DATA_HEADER
        }
    }

    fn write_data(&mut self, buf: &mut BytesMut) {
        let mtu = self.mtu();
        let hdr = self.header_len();
        let window = self.cwnd.min(self.config.max_in_flight);
        self.check_abandon();
        // Retransmissions first (§6.1 / §7.2.4: the first fast-retransmit packet ignores cwnd).
        let mut wrote_rtx = false;
        while let Some(&t) = self.retransmit.first() {
            if !self.fast_rtx_now && self.flight >= window {
                break;
            }
            let idx = (t - self.cum_ack - 1) as usize;
            let Some(s) = self.outstanding.get(idx) else {
                self.retransmit.remove(&t);
                continue;
            };
            let len = padded(hdr + s.frag.payload.len());
            if buf.len() + len > mtu {
                break;
            }
            self.retransmit.remove(&t);
            let chunk = self.data_chunk(t, idx);
            chunk.encode(buf);
            let now = self.now;
            let Some(s) = self.outstanding.get_mut(idx) else {
                break;
            };
            s.state = SentState::InFlight;
            s.transmits = s.transmits.saturating_add(1);
            s.sent_at = now;
            s.misses = 0;
            self.flight += s.frag.payload.len();
            self.peer_rwnd = self.peer_rwnd.saturating_sub(s.frag.payload.len());
            if self.rtt_probe == Some(t) {
                self.rtt_probe = None;
            }
            self.stats.retransmitted_chunks += 1;
            wrote_rtx = true;
        }
        if wrote_rtx {
            self.fast_rtx_now = false;
            if self.t3.is_none() {
                self.t3 = Some(self.now + self.rto);
            }
        }
        if !self.retransmit.is_empty() {
            return;
        }
        // RFC 9260 §7.2.1: after an idle period of an RTO, restart from a smaller window.
        if self.flight == 0
            && let Some(last) = self.last_data_sent
            && self.now.saturating_duration_since(last) > self.rto
            && !self.queue.is_empty()
        {
            self.cwnd = self.cwnd.min((self.cwnd / 2).max(4 * mtu));
            self.last_data_sent = Some(self.now);
        }
        loop {
            if self.flight >= window {
                break;
            }
            let room = mtu.saturating_sub(buf.len() + hdr);
            if room < 64.min(mtu / 4) || self.queue.is_empty() {
                break;
            }
            // RFC 9260 §6.1 A/B: respect the peer's window, but allow one chunk in flight when
            // it is closed (zero window probe).
            let max_payload = if self.flight == 0 {
                room
            } else {
                room.min(self.peer_rwnd)
            };
            if max_payload == 0 {
                break;
            }
            let Some(frag) = self
                .queue
                .next_fragment(self.now, max_payload, self.features.i_data)
            else {
                break;
            };
            let t = self.next_tsn;
            self.next_tsn += 1;
            let len = frag.payload.len();
            self.outstanding.push_back(Sent {
                frag,
                sent_at: self.now,
                transmits: 1,
                state: SentState::InFlight,
                misses: 0,
                fast_rtxed: false,
            });
            let idx = self.outstanding.len() - 1;
            self.data_chunk(t, idx).encode(buf);
            self.flight += len;
            self.peer_rwnd = self.peer_rwnd.saturating_sub(len);
            self.stats.data_chunks_sent += 1;
            self.last_data_sent = Some(self.now);
            if self.rtt_probe.is_none() {
                self.rtt_probe = Some(t);
            }
            if self.t3.is_none() {
                self.t3 = Some(self.now + self.rto);
            }
        }
        for stream in self.queue.take_low_events() {
            self.events
                .push_back((Event::BufferedAmountLow { stream }, 0));
        }
    }

    fn data_chunk(&self, t: u64, idx: usize) -> Chunk {
        let s = &self.outstanding[idx];
        let f = &s.frag;
        if self.features.i_data {
            Chunk::IData(IData {
                tsn: Tsn(t as u32),
                stream: f.stream,
                mid: Mid(f.seq),
                ppid: f.ppid,
                fsn: f.fsn,
                unordered: f.unordered,
                begin: f.begin,
                end: f.end,
                immediate: false,
                payload: f.payload.clone(),
            })
        } else {
            Chunk::Data(Data {
                tsn: Tsn(t as u32),
                stream: f.stream,
                ssn: Ssn(f.seq as u16),
                ppid: f.ppid,
                unordered: f.unordered,
                begin: f.begin,
                end: f.end,
                immediate: false,
                payload: f.payload.clone(),
            })
        }
    }

    fn build_sack(&mut self, room: usize) -> Chunk {
        let r = self
            .recv
            .as_mut()
            .expect("SACKs are built only with a receiver");
        let max_blocks = room.saturating_sub(16 + 4 * 8) / 4;
        let (gaps, mut dups) = r.take_sack_blocks(max_blocks.max(1));
        dups.truncate(8);
        let a_rwnd = r.a_rwnd();
        self.last_rwnd = a_rwnd;
        Chunk::Sack(Sack {
            cum_tsn: r.cum_tsn(),
            a_rwnd,
            gaps,
            dups,
        })
    }

    /// Pops the next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        let (ev, charge) = self.events.pop_front()?;
        if charge > 0
            && let Some(r) = self.recv.as_mut()
        {
            r.release(charge);
            // Window update: tell a sender stalled on our window that it reopened.
            let now = r.a_rwnd();
            let cap = self.config.receive_buffer as u32;
            if self.last_rwnd < cap / 4 && now >= cap / 2 {
                self.ack.now = true;
            }
        }
        Some(ev)
    }

    /// The earliest timer, if any is armed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.t1,
            self.t2,
            self.t3,
            self.ack.timer,
            self.reconfig_timer,
            self.hb_timer,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Fires the timers that are due. Calling it early or twice does nothing.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.set_now(now);
        let now = self.now;
        if self.t1.is_some_and(|t| t <= now) {
            self.on_t1();
        }
        if self.ack.timer.is_some_and(|t| t <= now) {
            self.ack.timer = None;
            self.ack.now = true;
        }
        if self.t3.is_some_and(|t| t <= now) {
            self.on_t3();
        }
        if self.t2.is_some_and(|t| t <= now) {
            self.on_t2();
        }
        if self.reconfig_timer.is_some_and(|t| t <= now) {
            self.on_reconfig_timer();
        }
        if self.hb_timer.is_some_and(|t| t <= now) {
            self.hb_timer = self.config.heartbeat_interval.map(|i| now + i);
            if self.state == State::Established {
                let mut info = BytesMut::new();
                // Heartbeat Info parameter (type 1) with our send time as an opaque value.
                let nanos = now.saturating_duration_since(self.epoch).as_nanos() as u64;
                info.extend_from_slice(&[0, 1, 0, 12]);
                info.extend_from_slice(&nanos.to_be_bytes());
                self.push_control(Chunk::Heartbeat {
                    info: info.freeze(),
                });
            }
        }
    }

    fn on_t1(&mut self) {
        self.t1_count += 1;
        if self.t1_count > self.config.max_init_retransmissions {
            self.finish(CloseReason::InitTimeout);
            return;
        }
        self.rto = (self.rto * 2).min(self.config.rto_max);
        self.t1 = Some(self.now + self.rto);
        match self.state {
            State::CookieWait => {
                if let Some(init) = self.init_chunk.clone() {
                    self.send_alone(0, init, false);
                }
            }
            State::CookieEchoed => {
                if let Some(cookie) = self.cookie_echo.clone() {
                    self.push_control(Chunk::CookieEcho { cookie });
                }
            }
            _ => self.t1 = None,
        }
        debug!(
            "sctp {:08x}: T1 expired ({}), rto {:?}",
            self.my_tag, self.t1_count, self.rto
        );
    }

    fn on_t2(&mut self) {
        self.t2 = None;
        if self.count_error() {
            return;
        }
        self.rto = (self.rto * 2).min(self.config.rto_max);
        match self.state {
            State::ShutdownSent => self.send_shutdown(),
            State::ShutdownAckSent => {
                self.push_control(Chunk::ShutdownAck);
                self.t2 = Some(self.now + self.rto);
            }
            _ => {}
        }
    }

    fn send_shutdown(&mut self) {
        let cum_tsn = self.recv.as_ref().map_or(Tsn(0), |r| r.cum_tsn());
        self.push_control(Chunk::Shutdown { cum_tsn });
        self.t2 = Some(self.now + self.rto);
    }

    fn progress_shutdown(&mut self) {
        let drained = self.outstanding.is_empty() && self.queue.is_empty();
        match self.state {
            State::ShutdownPending if drained => {
                self.state = State::ShutdownSent;
                self.t3 = None;
                self.send_shutdown();
                debug!("sctp {:08x}: SHUTDOWN sent", self.my_tag);
            }
            State::ShutdownReceived if drained => {
                self.state = State::ShutdownAckSent;
                self.t3 = None;
                self.push_control(Chunk::ShutdownAck);
                self.t2 = Some(self.now + self.rto);
                debug!("sctp {:08x}: SHUTDOWN-ACK sent", self.my_tag);
            }
            _ => {}
        }
    }

    fn on_shutdown(&mut self, cum_tsn: Tsn) {
        match self.state {
            State::Established | State::ShutdownPending => {
                self.state = State::ShutdownReceived;
                info!("sctp {:08x}: peer shuts down", self.my_tag);
            }
            State::ShutdownSent => {
                // §9.2: both sides shut down at once.
                self.state = State::ShutdownAckSent;
                self.push_control(Chunk::ShutdownAck);
                self.t2 = Some(self.now + self.rto);
                return;
            }
            State::ShutdownReceived => {}
            _ => return,
        }
        // The SHUTDOWN's cumulative TSN acknowledges like a SACK without gaps.
        let c = self.unwrap_own(cum_tsn);
        if c > self.cum_ack && c < self.next_tsn {
            let a_rwnd = self
                .peer_rwnd
                .saturating_add(self.flight)
                .min(u32::MAX as usize) as u32;
            self.on_sack(Sack {
                cum_tsn,
                a_rwnd,
                gaps: vec![],
                dups: vec![],
            });
        }
        self.progress_shutdown();
    }

    fn on_shutdown_ack(&mut self) {
        if matches!(self.state, State::ShutdownSent | State::ShutdownAckSent) {
            self.send_alone(
                self.peer_tag,
                Chunk::ShutdownComplete { reflected: false },
                false,
            );
            self.finish(CloseReason::Shutdown);
        }
    }

    fn make_reconfig_request(&mut self) {
        if self.reconfig.is_some()
            || !self.queue.has_pending_reset()
            || self.state != State::Established
        {
            return;
        }
        let streams = self.queue.take_ready_resets();
        if streams.is_empty() {
            return;
        }
        let response_seq = self
            .answer_incoming
            .take()
            .unwrap_or_else(|| self.peer_req_seq.map_or(0, |s| s.wrapping_sub(1)));
        let req = ReconfigRequest {
            seq: self.my_req_seq,
            streams,
            last_tsn: Tsn((self.next_tsn - 1) as u32),
            response_seq,
        };
        self.my_req_seq = self.my_req_seq.wrapping_add(1);
        self.send_reconfig_request(&req);
        self.reconfig = Some(req);
    }

    fn send_reconfig_request(&mut self, req: &ReconfigRequest) {
        self.push_control(Chunk::ReConfig {
            params: vec![ReconfigParam::OutgoingReset {
                request_seq: req.seq,
                response_seq: req.response_seq,
                last_tsn: req.last_tsn,
                streams: req.streams.clone(),
            }],
        });
        self.reconfig_timer = Some(self.now + self.rto);
        debug!(
            "sctp {:08x}: requesting reset of {} outgoing streams",
            self.my_tag,
            req.streams.len()
        );
    }

    fn on_reconfig_timer(&mut self) {
        self.reconfig_timer = None;
        if self.count_error() {
            return;
        }
        if let Some(req) = self.reconfig.take() {
            self.send_reconfig_request(&req);
            self.reconfig = Some(req);
        }
    }

    fn on_reconfig(&mut self, params: Vec<ReconfigParam>) {
        if !matches!(
            self.state,
            State::Established
                | State::ShutdownPending
                | State::ShutdownSent
                | State::ShutdownReceived
        ) {
            return;
        }
        let mut responses = Vec::new();
        for p in params {
            match p {
                ReconfigParam::OutgoingReset {
                    request_seq,
                    last_tsn,
                    streams,
                    ..
                } => {
                    if let Some(r) = self.on_outgoing_reset_request(request_seq, last_tsn, streams)
                    {
                        responses.push(r);
                    }
                }
                ReconfigParam::IncomingReset {
                    request_seq,
                    streams,
                } => {
                    // RFC 6525 §5.2.3: the peer asks us to reset our outgoing streams; our
                    // Outgoing SSN Reset Request, sent once their queues drain, is the answer.
                    let usable = self.state == State::Established
                        && !streams.is_empty()
                        && streams.iter().all(|s| s.0 < self.outbound_streams);
                    match self.accept_request_seq(request_seq) {
                        Ok(_) if usable => {
                            for &s in &streams {
                                self.queue.mark_reset(s);
                            }
                            self.answer_incoming = Some(request_seq);
                        }
                        Ok(_) => responses.push(ReconfigParam::Response {
                            response_seq: request_seq,
                            result: ReconfigResult::DENIED,
                            next_tsns: None,
                        }),
                        Err(ReconfigResult::SUCCESS_NOTHING_TO_DO) => {}
                        Err(result) => responses.push(ReconfigParam::Response {
                            response_seq: request_seq,
                            result,
                            next_tsns: None,
                        }),
                    }
                }
                ReconfigParam::SsnTsnReset { request_seq }
                | ReconfigParam::AddOutgoingStreams { request_seq, .. }
                | ReconfigParam::AddIncomingStreams { request_seq, .. } => {
                    // Not used by WebRTC; refused (RFC 6525 lets a receiver deny any request).
                    let result = self
                        .accept_request_seq(request_seq)
                        .unwrap_or(ReconfigResult::DENIED);
                    let result = if result == ReconfigResult::SUCCESS_PERFORMED {
                        ReconfigResult::DENIED
                    } else {
                        result
                    };
                    responses.push(ReconfigParam::Response {
                        response_seq: request_seq,
                        result,
                        next_tsns: None,
                    });
                }
                ReconfigParam::Response {
                    response_seq,
                    result,
                    ..
                } => self.on_reconfig_response(response_seq, result),
                ReconfigParam::Unknown { .. } => {}
            }
        }
        for r in responses {
            self.push_control(Chunk::ReConfig { params: vec![r] });
        }
    }

    /// Checks a request sequence number (RFC 6525 §5.2.1). `Ok` for the next expected one,
    /// `Err(result)` to answer a retransmission or an out-of-window number.
    fn accept_request_seq(&mut self, seq: u32) -> Result<ReconfigResult, ReconfigResult> {
        let expected = self.peer_req_seq.unwrap_or(seq);
        if seq == expected {
            self.peer_req_seq = Some(expected.wrapping_add(1));
            Ok(ReconfigResult::SUCCESS_PERFORMED)
        } else if seq == expected.wrapping_sub(1) {
            Err(ReconfigResult::SUCCESS_NOTHING_TO_DO)
        } else {
            Err(ReconfigResult::ERROR_BAD_SEQUENCE_NUMBER)
        }
    }

    fn on_outgoing_reset_request(
        &mut self,
        seq: u32,
        last_tsn: Tsn,
        streams: Vec<StreamId>,
    ) -> Option<ReconfigParam> {
        let result = match self.accept_request_seq(seq) {
            Ok(_) => {
                self.incoming_req = Some(IncomingRequest {
                    seq,
                    last_tsn,
                    streams,
                    performed: false,
                });
                self.check_incoming_reset();
                if self.incoming_req.as_ref().is_some_and(|r| r.performed) {
                    ReconfigResult::SUCCESS_PERFORMED
                } else {
                    ReconfigResult::IN_PROGRESS
                }
            }
            Err(ReconfigResult::SUCCESS_NOTHING_TO_DO) => {
                // A retransmission of the last request: answer with where it stands now.
                self.check_incoming_reset();
                match &self.incoming_req {
                    Some(r) if r.seq == seq && !r.performed => ReconfigResult::IN_PROGRESS,
                    _ => ReconfigResult::SUCCESS_PERFORMED,
                }
            }
            Err(e) => e,
        };
        Some(ReconfigParam::Response {
            response_seq: seq,
            result,
            next_tsns: None,
        })
    }

    /// Performs a pending incoming reset once every TSN up to its last one has arrived.
    fn check_incoming_reset(&mut self) {
        let due = match (&self.incoming_req, &self.recv) {
            (Some(req), Some(r)) => !req.performed && r.has_received_through(req.last_tsn),
            _ => false,
        };
        if !due {
            return;
        }
        // Messages completed before the reset go out first.
        self.drain_ready();
        let (Some(req), Some(r)) = (self.incoming_req.as_mut(), self.recv.as_mut()) else {
            return;
        };
        r.reset_streams(&req.streams);
        req.performed = true;
        let streams = req.streams.clone();
        debug!(
            "sctp {:08x}: peer reset {} incoming streams",
            self.my_tag,
            streams.len()
        );
        self.events
            .push_back((Event::IncomingStreamsReset { streams }, 0));
    }

    fn on_reconfig_response(&mut self, seq: u32, result: ReconfigResult) {
        let Some(req) = self.reconfig.take_if(|r| r.seq == seq) else {
            return;
        };
        self.reconfig_timer = None;
        self.error_count = 0;
        match result {
            ReconfigResult::SUCCESS_PERFORMED | ReconfigResult::SUCCESS_NOTHING_TO_DO => {
                for &s in &req.streams {
                    self.queue.finish_reset(s, true);
                }
                self.events.push_back((
                    Event::OutgoingStreamsReset {
                        streams: req.streams,
                    },
                    0,
                ));
            }
            ReconfigResult::IN_PROGRESS => {
                // Ask again after an RTO with the same sequence number.
                self.reconfig_timer = Some(self.now + self.rto);
                self.reconfig = Some(req);
            }
            _ => {
                for &s in &req.streams {
                    self.queue.finish_reset(s, false);
                }
                debug!(
                    "sctp {:08x}: stream reset refused ({:?})",
                    self.my_tag, result
                );
                self.events.push_back((
                    Event::StreamResetFailed {
                        streams: req.streams,
                    },
                    0,
                ));
            }
        }
    }

    fn push_control(&mut self, c: Chunk) {
        if self.control.len() >= MAX_CONTROL {
            self.stats.dropped_control += 1;
            return;
        }
        self.control.push_back(c);
    }

    /// Queues a packet with one chunk that must travel alone (INIT, INIT-ACK, ABORT,
    /// SHUTDOWN-COMPLETE), with a real CRC when `crc` or zero checksums are off.
    fn send_alone(&mut self, tag: u32, chunk: Chunk, crc: bool) {
        if self.alone.len() >= MAX_CONTROL {
            self.stats.dropped_control += 1;
            return;
        }
        let zero = !crc && self.features.zero_checksum && !matches!(chunk, Chunk::Init(_));
        let p = Packet {
            header: CommonHeader {
                source_port: self.config.local_port,
                destination_port: self.config.remote_port,
                verification_tag: tag,
                checksum: 0,
            },
            chunks: vec![chunk],
        };
        self.alone.push_back(p.to_bytes(zero));
    }

    fn set_now(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }
}
