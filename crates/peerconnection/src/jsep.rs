//! JSEP: descriptions, the signaling state machine, and what negotiation decided.

use log::debug;
use thiserror::Error;
use weft_sdp::{
    Attribute, Candidate, Connection, Direction, Fingerprint, MediaDescription, MediaKind,
    SessionDescription, Setup,
};

/// `RTCSdpType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SdpType {
    /// An offer.
    Offer,
    /// A provisional answer.
    Pranswer,
    /// A final answer.
    Answer,
    /// Back to the last stable state (RFC 9429 §4.1.10.2).
    Rollback,
}

/// `RTCSignalingState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignalingState {
    /// No offer/answer in progress.
    Stable,
    /// Our offer is applied.
    HaveLocalOffer,
    /// The peer's offer is applied.
    HaveRemoteOffer,
    /// Our provisional answer is applied.
    HaveLocalPranswer,
    /// The peer's provisional answer is applied.
    HaveRemotePranswer,
    /// Closed.
    Closed,
}

/// The DTLS role negotiation gave this side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtlsRole {
    /// DTLS client (`a=setup:active` on our side).
    Client,
    /// DTLS server.
    Server,
}

/// Errors of the JSEP operations (the W3C exceptions in Rust form).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Error {
    /// The operation is not allowed in this signaling state (`InvalidStateError`).
    #[error("{op} not allowed in state {state:?}")]
    InvalidState {
        /// The operation.
        op: &'static str,
        /// The state.
        state: SignalingState,
    },
    /// The description does not parse (`SyntaxError` / `OperationError`).
    #[error("description does not parse: {0}")]
    Parse(String),
    /// The description parses but cannot be used (`InvalidAccessError` / `OperationError`).
    #[error("unusable description: {0}")]
    Unusable(&'static str),
    /// Nothing to offer (no data channel and no media).
    #[error("nothing to negotiate")]
    Nothing,
}

/// What this side puts in its descriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalParameters {
    /// ICE username fragment.
    pub ice_ufrag: String,
    /// ICE password.
    pub ice_pwd: String,
    /// DTLS certificate fingerprint.
    pub fingerprint: Option<Fingerprint>,
    /// Candidates gathered so far.
    pub candidates: Vec<Candidate>,
    /// Whether gathering is complete (`a=end-of-candidates`).
    pub gathering_complete: bool,
    /// Whether this side is ICE-lite.
    pub ice_lite: bool,
    /// Our SCTP port.
    pub sctp_port: u16,
    /// Largest message we accept.
    pub max_message_size: u64,
}

impl LocalParameters {
    /// Parameters with WebRTC defaults (SCTP port 5000, 256 KiB messages).
    pub fn new(ice_ufrag: &str, ice_pwd: &str, fingerprint: Option<Fingerprint>) -> Self {
        LocalParameters {
            ice_ufrag: ice_ufrag.into(),
            ice_pwd: ice_pwd.into(),
            fingerprint,
            candidates: Vec::new(),
            gathering_complete: false,
            ice_lite: false,
            sctp_port: 5000,
            max_message_size: 256 * 1024,
        }
    }
}

/// What the applied descriptions decided, for the transports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Negotiated {
    /// The mid of the data section (the BUNDLE transport's first mid).
    pub data_mid: String,
    /// The peer's ICE ufrag.
    pub remote_ice_ufrag: String,
    /// The peer's ICE password.
    pub remote_ice_pwd: String,
    /// Whether the peer is ICE-lite.
    pub remote_ice_lite: bool,
    /// The peer's candidates in its description.
    pub remote_candidates: Vec<Candidate>,
    /// Whether the peer said `end-of-candidates`.
    pub remote_end_of_candidates: bool,
    /// The peer's certificate fingerprints.
    pub remote_fingerprints: Vec<Fingerprint>,
    /// Our DTLS role.
    pub dtls_role: DtlsRole,
    /// The peer's SCTP port.
    pub remote_sctp_port: u16,
    /// The largest message the peer accepts (`usize::MAX` for 0, 64 KiB when absent).
    pub remote_max_message_size: u64,
}

#[derive(Debug, Clone)]
struct Applied {
    kind: SdpType,
    sdp: SessionDescription,
    text: String,
}

/// The JSEP machine of one peer connection.
#[derive(Debug)]
pub struct Jsep {
    local: LocalParameters,
    state: SignalingState,
    session_id: u64,
    version: u64,
    data_wanted: bool,
    current_local: Option<Applied>,
    pending_local: Option<Applied>,
    current_remote: Option<Applied>,
    pending_remote: Option<Applied>,
    /// Our setup in the last answer we made or offer we sent.
    setup: Setup,
    ice_restart: bool,
}

const DATA_PROTO: &str = "UDP/DTLS/SCTP";

impl Jsep {
    /// A machine with our parameters and the session id of our `o=` line (RFC 9429 §5.2.1:
    /// below 2^63, so the top bit is cleared; Firefox refuses larger ones).
    pub fn new(local: LocalParameters, session_id: u64) -> Jsep {
        Jsep {
            local,
            state: SignalingState::Stable,
            session_id: session_id & (i64::MAX as u64 >> 1),
            version: 1,
            data_wanted: false,
            current_local: None,
            pending_local: None,
            current_remote: None,
            pending_remote: None,
            setup: Setup::ActPass,
            ice_restart: false,
        }
    }

    /// The signaling state.
    pub fn signaling_state(&self) -> SignalingState {
        self.state
    }

    /// Updates our parameters (new candidates, gathering complete, ICE restart credentials).
    pub fn local_parameters_mut(&mut self) -> &mut LocalParameters {
        &mut self.local
    }

    /// A data channel exists (W3C `createDataChannel`), so the session needs a data section.
    pub fn set_data_wanted(&mut self, wanted: bool) {
        self.data_wanted = wanted;
    }

    /// W3C `negotiationneeded`: a data channel is wanted but the current session has no data
    /// section, or an ICE restart was asked for.
    pub fn is_negotiation_needed(&self) -> bool {
        if self.state != SignalingState::Stable {
            return false;
        }
        let has_data = self.current_local.as_ref().is_some_and(|a| {
            a.sdp
                .media
                .iter()
                .any(|m| m.sctp_port().is_some() && !m.is_rejected())
        });
        (self.data_wanted && !has_data) || self.ice_restart
    }

    /// Asks for an ICE restart at the next offer (W3C `restartIce`); set new credentials in
    /// [`Jsep::local_parameters_mut`] first.
    pub fn restart_ice(&mut self) {
        self.ice_restart = true;
    }

    /// The current or pending local description, as applied.
    pub fn local_description(&self) -> Option<(SdpType, &str)> {
        self.pending_local
            .as_ref()
            .or(self.current_local.as_ref())
            .map(|a| (a.kind, a.text.as_str()))
    }

    /// The current or pending local description with the candidates gathered since it was
    /// applied and, once gathering is complete, `a=end-of-candidates` (W3C
    /// `localDescription`). Sections whose ICE ufrag is no longer ours are left as they are.
    pub fn local_description_with_candidates(&self) -> Option<(SdpType, String)> {
        let a = self
            .pending_local
            .as_ref()
            .or(self.current_local.as_ref())?;
        let mut sdp = a.sdp.clone();
        let mut changed = false;
        for m in sdp.media.iter_mut().filter(|m| !m.is_rejected()) {
            if m.ice_ufrag() != Some(self.local.ice_ufrag.as_str()) {
                continue;
            }
            for c in &self.local.candidates {
                if !m.candidates().any(|x| x == c) {
                    m.attributes.push(Attribute::Candidate(Box::new(c.clone())));
                    changed = true;
                }
            }
            if self.local.gathering_complete && !m.is_end_of_candidates() {
                m.attributes.push(Attribute::EndOfCandidates);
                changed = true;
            }
        }
        let text = if changed {
            sdp.to_string()
        } else {
            a.text.clone()
        };
        Some((a.kind, text))
    }

    /// W3C `canTrickleIceCandidates`: `None` before a remote description, then whether it
    /// carries `a=ice-options:trickle` (at session or section level).
    pub fn remote_can_trickle(&self) -> Option<bool> {
        let a = self
            .pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())?;
        let trickle = |attrs: &[Attribute]| {
            attrs
                .iter()
                .any(|x| matches!(x, Attribute::IceOptions(o) if o.iter().any(|t| t == "trickle")))
        };
        Some(trickle(&a.sdp.attributes) || a.sdp.media.iter().any(|m| trickle(&m.attributes)))
    }

    /// The current or pending remote description.
    pub fn remote_description(&self) -> Option<(SdpType, &str)> {
        self.pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())
            .map(|a| (a.kind, a.text.as_str()))
    }

    /// `currentLocalDescription`.
    pub fn current_local_description(&self) -> Option<&str> {
        self.current_local.as_ref().map(|a| a.text.as_str())
    }

    /// `pendingLocalDescription`.
    pub fn pending_local_description(&self) -> Option<&str> {
        self.pending_local.as_ref().map(|a| a.text.as_str())
    }

    /// `currentRemoteDescription`.
    pub fn current_remote_description(&self) -> Option<&str> {
        self.current_remote.as_ref().map(|a| a.text.as_str())
    }

    /// `pendingRemoteDescription`.
    pub fn pending_remote_description(&self) -> Option<&str> {
        self.pending_remote.as_ref().map(|a| a.text.as_str())
    }

    /// Closes the machine (W3C `close`).
    pub fn close(&mut self) {
        self.state = SignalingState::Closed;
    }

    /// Creates an offer (RFC 9429 §5.2): one data section, BUNDLEd, `a=setup:actpass`. A
    /// re-offer keeps the mids of the current session.
    pub fn create_offer(&mut self, ice_restart: bool) -> Result<String, Error> {
        if !matches!(
            self.state,
            SignalingState::Stable | SignalingState::HaveLocalOffer
        ) {
            return Err(Error::InvalidState {
                op: "createOffer",
                state: self.state,
            });
        }
        if ice_restart {
            self.ice_restart = true;
        }
        // Keep the sections of the current session, in order; add a data section if needed.
        let mut sections: Vec<MediaDescription> = Vec::new();
        let mut data_mid = None;
        if let Some(cur) = self.current_local.as_ref().or(self.current_remote.as_ref()) {
            for m in &cur.sdp.media {
                let mid = m.mid().unwrap_or("").to_owned();
                if m.sctp_port().is_some() && !m.is_rejected() {
                    data_mid = Some(mid.clone());
                    sections.push(self.data_section(&mid, Setup::ActPass));
                } else {
                    sections.push(rejected(m));
                }
            }
        }
        if data_mid.is_none() {
            if !self.data_wanted && sections.is_empty() {
                return Err(Error::Nothing);
            }
            let mid = next_mid(&sections);
            sections.push(self.data_section(&mid, Setup::ActPass));
            data_mid = Some(mid);
        }
        self.version += 1;
        self.build(sections, data_mid.as_deref())
    }

    /// Creates an answer to the applied remote offer (RFC 9429 §5.3): the data section is
    /// accepted with `a=setup:active` (or `passive` when the offer insists on `active`); audio,
    /// video and anything else is rejected.
    pub fn create_answer(&mut self) -> Result<String, Error> {
        if !matches!(
            self.state,
            SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer
        ) {
            return Err(Error::InvalidState {
                op: "createAnswer",
                state: self.state,
            });
        }
        let offer = self
            .pending_remote
            .as_ref()
            .ok_or(Error::Unusable("no remote offer"))?
            .sdp
            .clone();
        let mut sections = Vec::new();
        let mut data_mid = None;
        for m in &offer.media {
            let mid = m.mid().unwrap_or("").to_owned();
            let is_data = m.kind == MediaKind::Application
                && m.protocol.contains(DATA_PROTO)
                && !m.is_rejected();
            if is_data && data_mid.is_none() {
                // RFC 8842 §5.5: a later answer keeps the DTLS role of the association in
                // place (a re-offer says actpass again); only a first answer picks one.
                let setup = match (self.current_dtls_role(), offer_setup(&offer, m)) {
                    (Some(DtlsRole::Client), _) => Setup::Active,
                    (Some(DtlsRole::Server), _) => Setup::Passive,
                    (None, Some(Setup::Active)) => Setup::Passive,
                    (None, _) => Setup::Active,
                };
                sections.push(self.data_section(&mid, setup));
                data_mid = Some(mid);
            } else {
                sections.push(rejected(m));
            }
        }
        self.version += 1;
        self.build(sections, data_mid.as_deref())
    }

    /// Applies a local description (W3C `setLocalDescription`).
    pub fn set_local_description(&mut self, kind: SdpType, sdp: &str) -> Result<(), Error> {
        use SignalingState::*;
        if kind == SdpType::Rollback {
            return self.rollback(true);
        }
        let next = match (self.state, kind) {
            (Stable | HaveLocalOffer, SdpType::Offer) => HaveLocalOffer,
            (HaveRemoteOffer | HaveLocalPranswer, SdpType::Answer) => Stable,
            (HaveRemoteOffer | HaveLocalPranswer, SdpType::Pranswer) => HaveLocalPranswer,
            (state, _) => {
                return Err(Error::InvalidState {
                    op: "setLocalDescription",
                    state,
                });
            }
        };
        let parsed = parse(sdp)?;
        if let Some(m) = data_section(&parsed) {
            self.setup = m.setup().unwrap_or(Setup::ActPass);
        }
        let applied = Applied {
            kind,
            sdp: parsed,
            text: sdp.to_owned(),
        };
        match kind {
            SdpType::Offer => self.pending_local = Some(applied),
            SdpType::Pranswer => self.pending_local = Some(applied),
            _ => {
                self.current_local = Some(applied);
                self.current_remote = self.pending_remote.take().or(self.current_remote.take());
                self.pending_local = None;
                self.ice_restart = false;
            }
        }
        debug!("jsep: local {kind:?} applied, {:?} -> {next:?}", self.state);
        self.state = next;
        Ok(())
    }

    /// Applies a remote description (W3C `setRemoteDescription`).
    pub fn set_remote_description(&mut self, kind: SdpType, sdp: &str) -> Result<(), Error> {
        use SignalingState::*;
        if kind == SdpType::Rollback {
            return self.rollback(false);
        }
        let next = match (self.state, kind) {
            (Stable | HaveRemoteOffer, SdpType::Offer) => HaveRemoteOffer,
            (HaveLocalOffer | HaveRemotePranswer, SdpType::Answer) => Stable,
            (HaveLocalOffer | HaveRemotePranswer, SdpType::Pranswer) => HaveRemotePranswer,
            (state, _) => {
                return Err(Error::InvalidState {
                    op: "setRemoteDescription",
                    state,
                });
            }
        };
        let parsed = parse(sdp)?;
        let data = data_section(&parsed);
        if let Some(m) = data {
            if parsed.ice_credentials(m).is_none() {
                return Err(Error::Unusable("data section without ICE credentials"));
            }
            if parsed.fingerprints(m).is_empty() {
                return Err(Error::Unusable("data section without a fingerprint"));
            }
            if kind != SdpType::Offer && offer_setup(&parsed, m) == Some(Setup::ActPass) {
                return Err(Error::Unusable("an answer cannot say a=setup:actpass"));
            }
        } else if kind != SdpType::Offer
            && self
                .pending_local
                .as_ref()
                .is_some_and(|l| data_section(&l.sdp).is_some())
        {
            debug!("jsep: the answer rejected the data section");
        }
        let applied = Applied {
            kind,
            sdp: parsed,
            text: sdp.to_owned(),
        };
        match kind {
            SdpType::Offer | SdpType::Pranswer => self.pending_remote = Some(applied),
            _ => {
                self.current_remote = Some(applied);
                self.current_local = self.pending_local.take().or(self.current_local.take());
                self.pending_remote = None;
                self.ice_restart = false;
            }
        }
        debug!(
            "jsep: remote {kind:?} applied, {:?} -> {next:?}",
            self.state
        );
        self.state = next;
        Ok(())
    }

    fn rollback(&mut self, local: bool) -> Result<(), Error> {
        use SignalingState::*;
        match (self.state, local) {
            (HaveLocalOffer, true) => self.pending_local = None,
            (HaveRemoteOffer, false) => self.pending_remote = None,
            (state, _) => {
                return Err(Error::InvalidState {
                    op: "rollback",
                    state,
                });
            }
        }
        self.state = Stable;
        Ok(())
    }

    /// The peer's ICE parameters from its applied description alone (enough to start
    /// checks before our answer exists): ufrag, password, lite, candidates, end-of-candidates.
    pub fn remote_ice(&self) -> Option<(String, String, bool, Vec<Candidate>, bool)> {
        let remote = self
            .pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())?;
        let m = data_section(&remote.sdp)?;
        let creds = remote.sdp.ice_credentials(m)?;
        Some((
            creds.ufrag.to_owned(),
            creds.pwd.to_owned(),
            remote.sdp.is_ice_lite(),
            m.candidates().cloned().collect(),
            m.is_end_of_candidates(),
        ))
    }

    /// What the applied descriptions decided; `None` until both sides' descriptions with a
    /// data section are applied (an offer and an answer, or a pranswer).
    pub fn negotiated(&self) -> Option<Negotiated> {
        let remote = self
            .pending_remote
            .as_ref()
            .or(self.current_remote.as_ref())?;
        let local = self
            .pending_local
            .as_ref()
            .or(self.current_local.as_ref())?;
        let rm = data_section(&remote.sdp)?;
        let lm = data_section(&local.sdp)?;
        let creds = remote.sdp.ice_credentials(rm)?;
        // RFC 8842 §5: whoever says active is the DTLS client.
        let ours = lm.setup().or_else(|| {
            local.sdp.attributes.iter().find_map(|a| {
                if let Attribute::Setup(s) = a {
                    Some(*s)
                } else {
                    None
                }
            })
        });
        let theirs = offer_setup(&remote.sdp, rm);
        let dtls_role = match (ours, theirs) {
            (Some(Setup::Active), _) => DtlsRole::Client,
            (Some(Setup::Passive), _) => DtlsRole::Server,
            (_, Some(Setup::Active)) => DtlsRole::Server,
            (_, Some(Setup::Passive)) => DtlsRole::Client,
            _ => return None,
        };
        Some(Negotiated {
            data_mid: rm.mid().unwrap_or("").to_owned(),
            remote_ice_ufrag: creds.ufrag.to_owned(),
            remote_ice_pwd: creds.pwd.to_owned(),
            remote_ice_lite: remote.sdp.is_ice_lite(),
            remote_candidates: rm.candidates().cloned().collect(),
            remote_end_of_candidates: rm.is_end_of_candidates(),
            remote_fingerprints: remote.sdp.fingerprints(rm).into_iter().cloned().collect(),
            dtls_role,
            remote_sctp_port: rm.sctp_port().unwrap_or(5000),
            remote_max_message_size: match rm.max_message_size() {
                None => 65536,
                Some(0) => u64::MAX,
                Some(n) => n,
            },
        })
    }

    /// The DTLS role the current (not pending) descriptions settled, if they have a data
    /// section on both sides.
    fn current_dtls_role(&self) -> Option<DtlsRole> {
        let (local, remote) = (self.current_local.as_ref()?, self.current_remote.as_ref()?);
        let (lm, rm) = (data_section(&local.sdp)?, data_section(&remote.sdp)?);
        match (offer_setup(&local.sdp, lm), offer_setup(&remote.sdp, rm)) {
            (Some(Setup::Active), _) | (_, Some(Setup::Passive)) => Some(DtlsRole::Client),
            (Some(Setup::Passive), _) | (_, Some(Setup::Active)) => Some(DtlsRole::Server),
            _ => None,
        }
    }

    fn data_section(&self, mid: &str, setup: Setup) -> MediaDescription {
        let l = &self.local;
        let mut m = MediaDescription::new(MediaKind::Application, 9, "UDP/DTLS/SCTP")
            .with_format("webrtc-datachannel")
            .with_connection(Connection {
                network_type: "IN".into(),
                address_type: "IP4".into(),
                address: "0.0.0.0".into(),
                ttl: None,
                count: None,
            })
            .with_ice_credentials(&l.ice_ufrag, &l.ice_pwd)
            .with(Attribute::IceOptions(vec!["trickle".into()]))
            .with_setup(setup)
            .with_mid(mid)
            .with(Attribute::SctpPort(l.sctp_port))
            .with(Attribute::MaxMessageSize(l.max_message_size));
        if let Some(fp) = &l.fingerprint {
            m = m.with_fingerprint(fp.clone());
        }
        if let Some(first) = l.candidates.first() {
            m.port = first.port;
            m.connections = vec![Connection {
                network_type: "IN".into(),
                address_type: if first.address.contains(':') {
                    "IP6".into()
                } else {
                    "IP4".into()
                },
                address: first.address.clone(),
                ttl: None,
                count: None,
            }];
        }
        for c in &l.candidates {
            m = m.with_candidate(c.clone());
        }
        if l.gathering_complete {
            m = m.with(Attribute::EndOfCandidates);
        }
        m
    }

    fn build(
        &self,
        sections: Vec<MediaDescription>,
        data_mid: Option<&str>,
    ) -> Result<String, Error> {
        let mut b = SessionDescription::builder(self.session_id, self.version);
        if let Some(mid) = data_mid {
            b = b.bundle([mid]);
        }
        if self.local.ice_lite {
            b = b.ice_lite();
        }
        b = b.msid_semantic(std::iter::empty());
        for m in sections {
            b = b.media(m);
        }
        let sdp = b.build().map_err(|e| Error::Parse(format!("{e:?}")))?;
        Ok(sdp.to_string())
    }
}

fn parse(sdp: &str) -> Result<SessionDescription, Error> {
    SessionDescription::parse(sdp).map_err(|e| Error::Parse(format!("{e:?}")))
}

/// The first accepted data section.
fn data_section(sdp: &SessionDescription) -> Option<&MediaDescription> {
    sdp.media.iter().find(|m| {
        m.kind == MediaKind::Application && m.protocol.contains(DATA_PROTO) && !m.is_rejected()
    })
}

/// `a=setup` of a section, falling back to the session level.
fn offer_setup(sdp: &SessionDescription, m: &MediaDescription) -> Option<Setup> {
    m.setup().or_else(|| {
        sdp.attributes.iter().find_map(|a| {
            if let Attribute::Setup(s) = a {
                Some(*s)
            } else {
                None
            }
        })
    })
}

/// A section answered (or re-offered) as rejected: port 0, its mid kept (RFC 9429 §5.3.1).
fn rejected(m: &MediaDescription) -> MediaDescription {
    let mut r = MediaDescription::new(m.kind.clone(), 0, &m.protocol);
    r.formats = m.formats.iter().take(1).cloned().collect();
    if r.formats.is_empty() {
        r.formats.push("0".into());
    }
    r.connections = vec![Connection {
        network_type: "IN".into(),
        address_type: "IP4".into(),
        address: "0.0.0.0".into(),
        ttl: None,
        count: None,
    }];
    if let Some(mid) = m.mid() {
        r = r.with_mid(mid);
    }
    r.with_direction(Direction::Inactive)
}

fn next_mid(sections: &[MediaDescription]) -> String {
    let mut n = sections.len();
    loop {
        let mid = n.to_string();
        if !sections.iter().any(|m| m.mid() == Some(mid.as_str())) {
            return mid;
        }
        n += 1;
    }
}
