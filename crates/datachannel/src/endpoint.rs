//! The data channel endpoint: channels on top of one SCTP association.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use log::{debug, info};
use weft_sctp::{Association, CloseReason, Ppid, SendOptions, StreamId};

use crate::dcep::{ChannelType, Dcep, Open};
use crate::error::{Error, ErrorDetail};
use crate::{ChannelId, ChannelInit, ChannelState, Config, Event, Message, Role, ppid};

/// What the endpoint knows of one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    /// The id (SCTP stream).
    pub id: ChannelId,
    /// Label.
    pub label: String,
    /// Subprotocol.
    pub protocol: String,
    /// Ordered delivery.
    pub ordered: bool,
    /// W3C `maxPacketLifeTime`.
    pub max_packet_lifetime: Option<Duration>,
    /// W3C `maxRetransmits`.
    pub max_retransmits: Option<u16>,
    /// Negotiated out of band.
    pub negotiated: bool,
    /// Priority as in DCEP.
    pub priority: u16,
    /// W3C `readyState`.
    pub state: ChannelState,
    /// Whether this side created it.
    pub local: bool,
    /// Messages sent and received, bytes sent and received.
    pub messages_sent: u64,
    /// Messages received.
    pub messages_received: u64,
    /// User bytes sent.
    pub bytes_sent: u64,
    /// User bytes received.
    pub bytes_received: u64,
}

#[derive(Debug)]
struct Channel {
    info: ChannelInfo,
    /// Our DATA_CHANNEL_OPEN awaits its ACK (messages go ordered until then, RFC 8832 §6).
    awaiting_ack: bool,
    /// OPEN not sent yet (association not up).
    open_pending: bool,
    outgoing_reset: bool,
    incoming_reset: bool,
    /// Deprecated partial messages (PPIDs 52 and 54) being joined.
    partial: Option<(bool, BytesMut)>,
}

/// Data channels over one SCTP association (one per DTLS transport in WebRTC).
#[derive(Debug)]
pub struct Endpoint {
    sctp: Association,
    role: Role,
    /// Boxed: a B-tree node holds room for 11 values, and most connections have one or two
    /// channels.
    channels: BTreeMap<u16, Box<Channel>>,
    events: VecDeque<Event>,
    connected: bool,
    closed: bool,
    now: Instant,
    max_message: usize,
}

impl Endpoint {
    /// A new endpoint; `config.role` is the DTLS role, which decides the parity of the stream
    /// ids this side picks (RFC 8832 §6: even for the DTLS client, odd for the server).
    pub fn new(config: Config, now: Instant) -> Result<Endpoint, Error> {
        let max_message = config.sctp.max_message_size;
        Ok(Endpoint {
            max_message,
            sctp: Association::new(config.sctp, now)?,
            role: config.role,
            channels: BTreeMap::new(),
            events: VecDeque::new(),
            connected: false,
            closed: false,
            now,
        })
    }

    /// Starts the SCTP association. Both WebRTC peers do this (RFC 8841 §9.3).
    pub fn connect(&mut self, now: Instant) -> Result<(), Error> {
        self.now = now.max(self.now);
        self.sctp.connect(now)?;
        Ok(())
    }

    /// The association underneath (state, stats, negotiated limits).
    pub fn sctp(&self) -> &Association {
        &self.sctp
    }

    /// Mutable access to the association, for settings such as the peer's max message size.
    pub fn sctp_mut(&mut self) -> &mut Association {
        &mut self.sctp
    }

    /// Creates a channel (W3C `createDataChannel`). In-band channels send DATA_CHANNEL_OPEN
    /// once the association is up; negotiated ones open then on both sides without DCEP.
    pub fn create_channel(&mut self, now: Instant, init: ChannelInit) -> Result<ChannelId, Error> {
        self.now = now.max(self.now);
        if self.closed {
            return Err(Error::Sctp(weft_sctp::Error::Closed));
        }
        if init.max_packet_lifetime.is_some() && init.max_retransmits.is_some() {
            return Err(Error::BothReliabilityLimits);
        }
        if init.label.len() > 65535 || init.protocol.len() > 65535 {
            return Err(Error::TooLong);
        }
        let id = match init.negotiated {
            Some(id) => {
                if id.0 == 65535 {
                    return Err(Error::ReservedId);
                }
                if self.channels.contains_key(&id.0) {
                    return Err(Error::IdInUse(id));
                }
                id
            }
            None => self.free_id()?,
        };
        let ch = Channel {
            info: ChannelInfo {
                id,
                label: init.label,
                protocol: init.protocol,
                ordered: init.ordered,
                max_packet_lifetime: init.max_packet_lifetime,
                max_retransmits: init.max_retransmits,
                negotiated: init.negotiated.is_some(),
                priority: init.priority,
                state: ChannelState::Connecting,
                local: true,
                messages_sent: 0,
                messages_received: 0,
                bytes_sent: 0,
                bytes_received: 0,
            },
            awaiting_ack: false,
            open_pending: true,
            outgoing_reset: false,
            incoming_reset: false,
            partial: None,
        };
        self.sctp.set_priority(StreamId(id.0), init.priority);
        self.channels.insert(id.0, Box::new(ch));
        if self.connected {
            self.announce(id);
        }
        Ok(id)
    }

    /// Sends a message (W3C `send`): `binary` picks the PPID. Empty messages go as the
    /// "empty" PPIDs with one byte (RFC 8831 §6.6).
    pub fn send(
        &mut self,
        now: Instant,
        id: ChannelId,
        data: Bytes,
        binary: bool,
    ) -> Result<(), Error> {
        self.now = now.max(self.now);
        let ch = self
            .channels
            .get_mut(&id.0)
            .ok_or(Error::NoSuchChannel(id))?;
        if ch.info.state != ChannelState::Open {
            return Err(Error::NotOpen(id));
        }
        let (ppid, payload) = match (binary, data.is_empty()) {
            (false, false) => (ppid::STRING, data),
            (true, false) => (ppid::BINARY, data),
            (false, true) => (ppid::STRING_EMPTY, Bytes::from_static(&[0])),
            (true, true) => (ppid::BINARY_EMPTY, Bytes::from_static(&[0])),
        };
        let opts = SendOptions {
            // RFC 8832 §6: ordered until the ACK arrives, so data cannot overtake the OPEN.
            unordered: !ch.info.ordered && !ch.awaiting_ack,
            lifetime: ch.info.max_packet_lifetime,
            max_retransmits: ch.info.max_retransmits,
        };
        let len = if data_is_empty_ppid(ppid) {
            0
        } else {
            payload.len() as u64
        };
        self.sctp.send(now, StreamId(id.0), ppid, payload, &opts)?;
        ch.info.messages_sent += 1;
        ch.info.bytes_sent += len;
        Ok(())
    }

    /// Sends a text message.
    pub fn send_text(&mut self, now: Instant, id: ChannelId, text: &str) -> Result<(), Error> {
        self.send(now, id, Bytes::copy_from_slice(text.as_bytes()), false)
    }

    /// Closes a channel (W3C `close`): queued messages go out, then the stream is reset; the
    /// channel is closed when both directions are reset.
    pub fn close_channel(&mut self, now: Instant, id: ChannelId) -> Result<(), Error> {
        self.now = now.max(self.now);
        let ch = self
            .channels
            .get_mut(&id.0)
            .ok_or(Error::NoSuchChannel(id))?;
        match ch.info.state {
            ChannelState::Closing | ChannelState::Closed => return Ok(()),
            ChannelState::Connecting if !self.connected => {
                ch.info.state = ChannelState::Closed;
                self.events.push_back(Event::Closed(id));
                self.channels.remove(&id.0);
                return Ok(());
            }
            _ => {}
        }
        ch.info.state = ChannelState::Closing;
        self.events.push_back(Event::Closing(id));
        self.reset_outgoing(id);
        Ok(())
    }

    /// What the endpoint knows of a channel.
    pub fn channel(&self, id: ChannelId) -> Option<&ChannelInfo> {
        self.channels.get(&id.0).map(|c| &c.info)
    }

    /// Every channel, by id.
    pub fn channels(&self) -> impl Iterator<Item = &ChannelInfo> {
        self.channels.values().map(|c| &c.info)
    }

    /// W3C `bufferedAmount`: bytes queued and not yet sent.
    pub fn buffered_amount(&self, id: ChannelId) -> usize {
        self.sctp.buffered_amount(StreamId(id.0))
    }

    /// W3C `bufferedAmountLowThreshold`.
    pub fn set_buffered_amount_low_threshold(&mut self, id: ChannelId, bytes: usize) {
        self.sctp
            .set_buffered_amount_low_threshold(StreamId(id.0), bytes);
    }

    /// The low threshold of a channel.
    pub fn buffered_amount_low_threshold(&self, id: ChannelId) -> usize {
        self.sctp.buffered_amount_low_threshold(StreamId(id.0))
    }

    /// Shuts the association down gracefully.
    pub fn close(&mut self, now: Instant) {
        self.now = now.max(self.now);
        self.sctp.close(now);
    }

    /// Feeds one SCTP packet (a DTLS record's payload).
    pub fn handle_input(&mut self, now: Instant, packet: Bytes) {
        self.now = now.max(self.now);
        self.sctp.handle_input(now, packet);
        self.drain_sctp();
    }

    /// Fires due timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now.max(self.now);
        self.sctp.handle_timeout(now);
        self.drain_sctp();
    }

    /// The next SCTP packet to send over DTLS.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        let p = self.sctp.poll_transmit();
        // Sending may have drained queues (buffered-amount-low) or ended the association.
        self.drain_sctp();
        p
    }

    /// The next event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.drain_sctp();
        self.events.pop_front()
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.sctp.poll_timeout()
    }

    fn free_id(&self) -> Result<ChannelId, Error> {
        let start = match self.role {
            Role::Client => 0u32,
            Role::Server => 1,
        };
        let limit = if self.connected {
            self.sctp.outbound_streams() as u32
        } else {
            65535
        };
        let mut id = start;
        while id < limit.min(65535) {
            if !self.channels.contains_key(&(id as u16)) {
                return Ok(ChannelId(id as u16));
            }
            id += 2;
        }
        Err(Error::NoIdLeft)
    }

    /// Sends the OPEN (in-band) or opens at once (negotiated) once the association is up.
    fn announce(&mut self, id: ChannelId) {
        let now = self.now;
        let Some(ch) = self.channels.get_mut(&id.0) else {
            return;
        };
        if !ch.open_pending {
            return;
        }
        ch.open_pending = false;
        if id.0 >= self.sctp.outbound_streams() {
            return self.fail_channel(id);
        }
        if !ch.info.negotiated {
            let (channel_type, reliability) =
                match (ch.info.max_retransmits, ch.info.max_packet_lifetime) {
                    (Some(n), _) => (ChannelType::PartialReliableRexmit, n as u32),
                    (None, Some(t)) => (
                        ChannelType::PartialReliableTimed,
                        t.as_millis().min(u32::MAX as u128) as u32,
                    ),
                    (None, None) => (ChannelType::Reliable, 0),
                };
            let open = Dcep::Open(Open {
                channel_type,
                unordered: !ch.info.ordered,
                priority: ch.info.priority,
                reliability,
                label: Bytes::copy_from_slice(ch.info.label.as_bytes()),
                protocol: Bytes::copy_from_slice(ch.info.protocol.as_bytes()),
            });
            let mut b = BytesMut::with_capacity(open.encoded_len());
            open.encode(&mut b);
            if let Err(e) = self.sctp.send(
                now,
                StreamId(id.0),
                ppid::DCEP,
                b.freeze(),
                &SendOptions::default(),
            ) {
                debug!("datachannel {id}: OPEN not sent: {e}");
                return self.fail_channel(id);
            }
            ch.awaiting_ack = true;
        }
        ch.info.state = ChannelState::Open;
        info!("datachannel {id}: open ({:?})", ch.info.label);
        self.events.push_back(Event::Open(id));
    }

    /// Ends a channel with a `data-channel-failure` error, then `close`.
    fn fail_channel(&mut self, id: ChannelId) {
        if self.channels.remove(&id.0).is_some() {
            self.events.push_back(Event::Error {
                id,
                detail: ErrorDetail::DataChannelFailure,
            });
            self.events.push_back(Event::Closed(id));
        }
    }

    fn reset_outgoing(&mut self, id: ChannelId) {
        let now = self.now;
        let Some(ch) = self.channels.get_mut(&id.0) else {
            return;
        };
        if ch.outgoing_reset {
            return;
        }
        ch.outgoing_reset = true;
        if let Err(e) = self.sctp.reset_streams(now, &[StreamId(id.0)]) {
            // Without RE-CONFIG (or an association) the stream cannot be reset: the channel just
            // ends here.
            debug!("datachannel {id}: stream reset unavailable: {e}");
            ch.info.state = ChannelState::Closed;
            self.events.push_back(Event::Closed(id));
            self.channels.remove(&id.0);
        }
    }

    fn finish_if_reset(&mut self, id: u16) {
        let done = self
            .channels
            .get(&id)
            .is_some_and(|c| c.outgoing_reset && c.incoming_reset);
        if done {
            if let Some(mut ch) = self.channels.remove(&id) {
                ch.info.state = ChannelState::Closed;
            }
            debug!("datachannel {id}: closed");
            self.events.push_back(Event::Closed(ChannelId(id)));
        }
    }

    fn drain_sctp(&mut self) {
        while let Some(e) = self.sctp.poll_event() {
            match e {
                weft_sctp::Event::Connected => {
                    self.connected = true;
                    self.events.push_back(Event::Connected);
                    let ids: Vec<ChannelId> = self
                        .channels
                        .values()
                        .filter(|c| c.open_pending)
                        .map(|c| c.info.id)
                        .collect();
                    for id in ids {
                        self.announce(id);
                    }
                }
                weft_sctp::Event::Message(m) => self.on_message(m),
                weft_sctp::Event::IncomingStreamsReset { streams } => {
                    for s in streams {
                        let Some(ch) = self.channels.get_mut(&s.0) else {
                            continue;
                        };
                        ch.incoming_reset = true;
                        if ch.info.state != ChannelState::Closing {
                            ch.info.state = ChannelState::Closing;
                            self.events.push_back(Event::Closing(ChannelId(s.0)));
                        }
                        // RFC 8831 §6.7: answer with a reset of our outgoing stream.
                        self.reset_outgoing(ChannelId(s.0));
                        self.finish_if_reset(s.0);
                    }
                }
                weft_sctp::Event::OutgoingStreamsReset { streams } => {
                    for s in streams {
                        self.finish_if_reset(s.0);
                    }
                }
                weft_sctp::Event::StreamResetFailed { streams } => {
                    for s in streams {
                        self.fail_channel(ChannelId(s.0));
                    }
                }
                weft_sctp::Event::BufferedAmountLow { stream }
                    if self.channels.contains_key(&stream.0) =>
                {
                    self.events
                        .push_back(Event::BufferedAmountLow(ChannelId(stream.0)));
                }
                weft_sctp::Event::Closed { reason } => {
                    self.closed = true;
                    // Our own abort (W3C `close` of the connection) is not a failure.
                    let failed = !matches!(reason, CloseReason::Shutdown | CloseReason::Aborted);
                    for id in std::mem::take(&mut self.channels).into_keys() {
                        if failed {
                            self.events.push_back(Event::Error {
                                id: ChannelId(id),
                                detail: ErrorDetail::SctpFailure,
                            });
                        }
                        self.events.push_back(Event::Closed(ChannelId(id)));
                    }
                    self.events.push_back(Event::TransportClosed { reason });
                }
                _ => {}
            }
        }
    }

    fn on_message(&mut self, m: weft_sctp::Message) {
        let id = ChannelId(m.stream.0);
        if m.ppid == ppid::DCEP {
            return self.on_dcep(id, m.data);
        }
        let max = self.max_message;
        let Some(ch) = self.channels.get_mut(&id.0) else {
            debug!("datachannel {id}: message for an unknown channel dropped");
            return;
        };
        if !matches!(ch.info.state, ChannelState::Open | ChannelState::Closing) {
            return;
        }
        // Any message on the stream proves the peer has our OPEN (Firefox sends data before
        // its ACK on channels the other side opened).
        ch.awaiting_ack = false;
        let (binary, data) = match m.ppid {
            ppid::STRING => (false, m.data),
            ppid::BINARY => (true, m.data),
            ppid::STRING_EMPTY => (false, Bytes::new()),
            ppid::BINARY_EMPTY => (true, Bytes::new()),
            ppid::STRING_PARTIAL | ppid::BINARY_PARTIAL => {
                // Deprecated: pieces of one message, ended by a non-partial PPID.
                let binary = m.ppid == ppid::BINARY_PARTIAL;
                let (_, buf) = ch.partial.get_or_insert_with(|| (binary, BytesMut::new()));
                if buf.len() + m.data.len() > max {
                    ch.partial = None;
                    self.events.push_back(Event::Error {
                        id,
                        detail: ErrorDetail::DataChannelFailure,
                    });
                } else {
                    buf.extend_from_slice(&m.data);
                }
                return;
            }
            other => {
                debug!("datachannel {id}: unknown PPID {other:?} dropped");
                return;
            }
        };
        let data = match ch.partial.take() {
            Some((_, mut buf)) => {
                buf.extend_from_slice(&data);
                buf.freeze()
            }
            None => data,
        };
        ch.info.messages_received += 1;
        ch.info.bytes_received += data.len() as u64;
        self.events
            .push_back(Event::Message(Message { id, binary, data }));
    }

    fn on_dcep(&mut self, id: ChannelId, data: Bytes) {
        let msg = match Dcep::decode(&data) {
            Ok(m) => m,
            Err(e) => {
                debug!("datachannel {id}: bad DCEP message: {e}");
                self.events.push_back(Event::Error {
                    id,
                    detail: ErrorDetail::DataChannelFailure,
                });
                return;
            }
        };
        match msg {
            Dcep::Ack => {
                if let Some(ch) = self.channels.get_mut(&id.0) {
                    ch.awaiting_ack = false;
                }
            }
            Dcep::Open(open) => {
                if self.channels.contains_key(&id.0) {
                    debug!("datachannel {id}: OPEN for an id in use");
                    self.events.push_back(Event::Error {
                        id,
                        detail: ErrorDetail::DataChannelFailure,
                    });
                    return;
                }
                let (max_retransmits, max_packet_lifetime) = match open.channel_type {
                    ChannelType::Reliable => (None, None),
                    ChannelType::PartialReliableRexmit => {
                        (Some(open.reliability.min(u16::MAX as u32) as u16), None)
                    }
                    ChannelType::PartialReliableTimed => {
                        (None, Some(Duration::from_millis(open.reliability as u64)))
                    }
                };
                let info = ChannelInfo {
                    id,
                    label: String::from_utf8_lossy(&open.label).into_owned(),
                    protocol: String::from_utf8_lossy(&open.protocol).into_owned(),
                    ordered: !open.unordered,
                    max_packet_lifetime,
                    max_retransmits,
                    negotiated: false,
                    priority: open.priority,
                    state: ChannelState::Open,
                    local: false,
                    messages_sent: 0,
                    messages_received: 0,
                    bytes_sent: 0,
                    bytes_received: 0,
                };
                let mut ack = BytesMut::with_capacity(1);
                Dcep::Ack.encode(&mut ack);
                if let Err(e) = self.sctp.send(
                    self.now,
                    StreamId(id.0),
                    ppid::DCEP,
                    ack.freeze(),
                    &SendOptions::default(),
                ) {
                    debug!("datachannel {id}: ACK not sent: {e}");
                    return;
                }
                self.sctp.set_priority(StreamId(id.0), open.priority);
                info!("datachannel {id}: opened by the peer ({:?})", info.label);
                self.channels.insert(
                    id.0,
                    Box::new(Channel {
                        info,
                        awaiting_ack: false,
                        open_pending: false,
                        outgoing_reset: false,
                        incoming_reset: false,
                        partial: None,
                    }),
                );
                self.events.push_back(Event::Incoming(id));
                self.events.push_back(Event::Open(id));
            }
        }
    }
}

fn data_is_empty_ppid(p: Ppid) -> bool {
    p == ppid::STRING_EMPTY || p == ppid::BINARY_EMPTY
}
