//! Association configuration.

use std::time::Duration;

use crate::error::Error;

/// Settings of one association. `Config::default()` is what WebRTC wants, with windows large
/// enough for one association to fill a 1 Gbit/s path with 50 ms of round-trip time.
#[derive(Debug, Clone)]
pub struct Config {
    /// Our SCTP port (RFC 8841 `a=sctp-port`, 5000 by default).
    pub local_port: u16,
    /// The peer's SCTP port.
    pub remote_port: u16,
    /// Largest SCTP packet, common header included (the DTLS record payload). Default 1200.
    pub mtu: usize,
    /// Largest message accepted from the peer (what we advertise as `a=max-message-size`).
    /// Default 256 KiB. A bigger message from the peer ends the association.
    pub max_message_size: usize,
    /// Largest message the peer accepts (its `a=max-message-size`); `send` refuses bigger
    /// ones. Default 256 KiB; RFC 8841 §6 says 64 KiB when the SDP gave none and 0 means
    /// unlimited (use `usize::MAX`).
    pub remote_max_message_size: usize,
    /// Receive buffer, the advertised window (a_rwnd). Default 8 MiB.
    pub receive_buffer: usize,
    /// Limit of bytes queued but not yet sent, over all streams. Default 64 MiB.
    pub send_buffer: usize,
    /// Most bytes in flight regardless of windows (bounds retransmission memory). Default 16 MiB.
    pub max_in_flight: usize,
    /// Outbound streams asked for. Default 65535.
    pub outbound_streams: u16,
    /// Inbound streams accepted. Default 65535.
    pub inbound_streams: u16,
    /// Initial retransmission timeout. Default 1 s (RFC 9260 says 1 s).
    pub rto_initial: Duration,
    /// Lower bound of the RTO. Default 200 ms: RFC 9260's 1 s is tuned for the open
    /// Internet without ICE consent; WebRTC stacks use a few hundred milliseconds.
    pub rto_min: Duration,
    /// Upper bound of the RTO. Default 60 s (RFC 9260).
    pub rto_max: Duration,
    /// Consecutive unanswered retransmissions before the association fails; `None` retries
    /// forever (ICE consent then decides liveness). Default `Some(10)` (Association.Max.Retrans).
    pub max_retransmissions: Option<u32>,
    /// INIT / COOKIE-ECHO retransmissions before giving up. Default 8 (Max.Init.Retransmits).
    pub max_init_retransmissions: u32,
    /// Delayed acknowledgement timeout. Default 200 ms (RFC 9260 says at most 500 ms).
    pub delayed_ack: Duration,
    /// Valid life of a state cookie. Default 60 s.
    pub cookie_lifetime: Duration,
    /// Send HEARTBEATs at this interval when set. Default `None`: in WebRTC, ICE consent
    /// freshness covers liveness. HEARTBEATs from the peer are always answered.
    pub heartbeat_interval: Option<Duration>,
    /// Offer I-DATA and message interleaving (RFC 8260). Default true; used only when the peer
    /// offers it too.
    pub interleaving: bool,
    /// Offer RFC 9653 zero checksums with DTLS as the error detection method. Set it only when
    /// SCTP runs over DTLS. Default false.
    pub zero_checksum: bool,
    /// Seed for the association's random numbers (tags, initial TSN, cookie key); OS entropy
    /// when `None`.
    pub rng_seed: Option<[u8; 32]>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            local_port: 5000,
            remote_port: 5000,
            mtu: 1200,
            max_message_size: 256 * 1024,
            remote_max_message_size: 256 * 1024,
            receive_buffer: 8 * 1024 * 1024,
            send_buffer: 64 * 1024 * 1024,
            max_in_flight: 16 * 1024 * 1024,
            outbound_streams: 65535,
            inbound_streams: 65535,
            rto_initial: Duration::from_secs(1),
            rto_min: Duration::from_millis(200),
            rto_max: Duration::from_secs(60),
            max_retransmissions: Some(10),
            max_init_retransmissions: 8,
            delayed_ack: Duration::from_millis(200),
            cookie_lifetime: Duration::from_secs(60),
            heartbeat_interval: None,
            interleaving: true,
            zero_checksum: false,
            rng_seed: None,
        }
    }
}

impl Config {
    pub(crate) fn validate(&self) -> Result<(), Error> {
        if !(256..=65535).contains(&self.mtu) {
            return Err(Error::InvalidConfig("mtu must be between 256 and 65535"));
        }
        if self.receive_buffer < 1500 || self.receive_buffer > u32::MAX as usize {
            return Err(Error::InvalidConfig(
                "receive_buffer must be between 1500 bytes and 4 GiB",
            ));
        }
        if self.max_message_size == 0 || self.max_message_size > self.receive_buffer {
            return Err(Error::InvalidConfig(
                "max_message_size must be between 1 and receive_buffer",
            ));
        }
        if self.outbound_streams == 0 || self.inbound_streams == 0 {
            return Err(Error::InvalidConfig("stream counts must not be 0"));
        }
        if self.rto_min > self.rto_max || self.rto_initial > self.rto_max || self.rto_min.is_zero()
        {
            return Err(Error::InvalidConfig(
                "rto_min <= rto_initial <= rto_max, rto_min > 0",
            ));
        }
        if self.max_in_flight < self.mtu {
            return Err(Error::InvalidConfig(
                "max_in_flight must hold at least one packet",
            ));
        }
        Ok(())
    }
}
