//! The sans-IO peer connection of weft: [`PeerConnection`] composes JSEP, one ICE agent
//! (`weft-ice`), one DTLS connection (`weft-dtls`) and one SCTP association with its data
//! channels (`weft-datachannel`) for the BUNDLE transport, by value, routing datagrams by
//! their first byte (RFC 7983), and reports the W3C `connectionState`. The driver gives it
//! local candidates and datagrams and sends what it returns.
//!
//! Its JSEP part ([`jsep`], RFC 9429) does offers and answers
//! for the data channel section (audio and video sections of a remote offer are answered as
//! rejected until the media pipeline exists), the signaling state machine with pranswer and
//! rollback, pending and current descriptions, BUNDLE and rtcp-mux, the DTLS role from
//! `a=setup`, and the `sctp-port` / `max-message-size` exchange.
//!
//! ```
//! use weft_peerconnection::jsep::{DtlsRole, Jsep, LocalParameters, SdpType, SignalingState};
//! use weft_sdp::{Fingerprint, HashFunction};
//! let fp = |b| Some(Fingerprint { algorithm: HashFunction::Sha256, value: vec![b; 32] });
//! let mut a = Jsep::new(LocalParameters::new("ufrag", "0123456789abcdef012345", fp(1)), 1);
//! a.set_data_wanted(true);
//! let offer = a.create_offer(false).unwrap();
//! a.set_local_description(SdpType::Offer, &offer).unwrap();
//! assert_eq!(a.signaling_state(), SignalingState::HaveLocalOffer);
//!
//! let mut b = Jsep::new(LocalParameters::new("other", "abcdefabcdefabcdefabcd", fp(2)), 2);
//! b.set_remote_description(SdpType::Offer, &offer).unwrap();
//! let answer = b.create_answer().unwrap();
//! b.set_local_description(SdpType::Answer, &answer).unwrap();
//! a.set_remote_description(SdpType::Answer, &answer).unwrap();
//! let n = a.negotiated().unwrap();
//! assert_eq!((n.remote_ice_ufrag.as_str(), n.dtls_role), ("other", DtlsRole::Server));
//! assert_eq!(b.negotiated().unwrap().dtls_role, DtlsRole::Client);
//! assert_eq!(a.signaling_state(), SignalingState::Stable);
//! ```
//!
//! | spec | sections | notes |
//! |---|---|---|
//! | RFC 9429 (JSEP) | §4.1.8-§4.1.10 offer/answer and the state machine, §5.2 offer, §5.3 answer, §5.7 rollback | data section only; media answered rejected |
//! | RFC 8843 (BUNDLE) | the group, rejected sections left out of it | max-bundle behaviour |
//! | RFC 8842 | `a=setup`: actpass offers, active answers by default | |
//! | RFC 8841 | `a=sctp-port`, `a=max-message-size` (64 KiB when absent, 0 = unlimited) | |
//!
//! Also `restartIce` (either side; the answerer renews its credentials when the offer carries
//! new ones, RFC 8445 §9), `getStats` ([`stats`]: peer-connection, transport, candidate-pair,
//! local and remote candidate, certificate and data-channel reports), the W3C
//! `iceGatheringState` (gathering starts at the first `setLocalDescription`; STUN and TURN
//! servers are handed to the agent then), `iceTransportPolicy` `relay`, `icecandidateerror`,
//! DTLS and SCTP transport states, `canTrickleIceCandidates`, a `localDescription` that
//! carries the candidates gathered since it was set, and mDNS ([`MdnsMode`]): remote `.local`
//! candidates are resolved with `weft_ice::mdns` (the driver moves its multicast datagrams,
//! [`PeerConnection::handle_mdns_input`]) and host addresses can be hidden behind names.
//! `close` sends the SCTP ABORT and DTLS close_notify before the agent stops.
//!
//! Not yet: media transceivers (audio and video sections are answered rejected), the
//! `balanced` / `max-compat` bundle policies (one BUNDLE transport is always used), and
//! renegotiation that removes the data section.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod connection;
pub mod jsep;
pub mod stats;

pub use connection::{
    ChannelHandle, Config, ConnectionState, Error, Event, IceTransportPolicy, MdnsMode,
    PeerConnection, TransportState,
};
pub use weft_ice::GatheringState;
