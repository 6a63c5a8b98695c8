//! The native side of each case: one `weft::peer::PeerConnection` per (case, role), the
//! channels weft opens, what it does with each message, and the checks it makes of itself
//! when the page reports.
//!
//! Rules every case shares, so that the page knows what to expect:
//! - every channel weft creates sends `hello from weft` as its first message once open, and
//!   the page answers `hello back` on it;
//! - every other message is echoed on the same channel with the same type, except the text
//!   `close me` (weft closes that channel), the text `go` on `bulk-down` (weft starts its
//!   100 MiB transfer) and everything on `bulk-up` (hashed, answered by `sha256:<hex>`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use weft::peer::{
    ChannelHandle, ChannelInfo, ChannelInit, ConnectionState, Event, PeerConnection,
    RtcConfiguration, SdpType,
};
use weft_datachannel::{ChannelId, Event as ChannelEvent};

/// The cases, in the order the page runs them.
pub const CASES: &[&str] = &[
    "echo",
    "partial",
    "negotiated",
    "many",
    "late",
    "close",
    "bulk",
    "stats",
    "renegotiate",
    "restart",
    "close-pc",
    "peer-close-pc",
    "whip",
];

/// Whether a case runs in a role: `whip` is the browser offering to `weft echo`'s endpoint.
pub fn applies(case: &str, role: &str) -> bool {
    case != "whip" || role == "browser-offers"
}

/// Who makes the first offer.
pub const ROLES: &[&str] = &["browser-offers", "weft-offers"];

/// The size of each bulk transfer (each direction), 100 MiB unless `--bulk-mib` says otherwise.
pub static BULK_MIB: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(100);

fn bulk() -> u64 {
    BULK_MIB.load(std::sync::atomic::Ordering::Relaxed) << 20
}
/// The bulk chunk size.
const CHUNK: usize = 64 << 10;
/// weft keeps sending while `bufferedAmount` is below this.
const HIGH_WATER: usize = 4 << 20;
/// `bufferedAmountLowThreshold` of the bulk sender.
const LOW_WATER: usize = 1 << 20;
/// The `maxPacketLifeTime` of the lifetime channels.
pub const LIFETIME_MS: u64 = 3000;
/// Channels each side opens in the `many` case.
pub const MANY: usize = 64;

/// One case in progress.
pub struct Session {
    /// The case name.
    pub case: String,
    /// The role.
    pub role: String,
    /// The peer connection.
    pub pc: PeerConnection,
    /// Its event stream ended.
    pub ended: bool,
    t0: Instant,
    labels: HashMap<ChannelHandle, String>,
    /// Channels weft created, by handle.
    own: HashMap<ChannelHandle, String>,
    /// What weft learnt about channels the browser opened.
    incoming: BTreeMap<String, ChannelInfo>,
    hello_back: BTreeSet<String>,
    closing: BTreeSet<String>,
    closed: BTreeSet<String>,
    /// Channels the browser opened, and the handles that closed (by handle: a channel the
    /// peer closes at once may be gone before its label can be asked for).
    incoming_handles: BTreeSet<ChannelHandle>,
    closed_handles: BTreeSet<ChannelHandle>,
    states: Vec<ConnectionState>,
    connected_at: Option<Duration>,
    negotiation_after_connect: u32,
    errors: Vec<String>,
    notes: Vec<String>,
    echoed: u64,
    up: Option<Up>,
    down: Option<Down>,
    local_ufrags: Vec<String>,
    remote_ufrags: Vec<String>,
}

struct Up {
    hasher: openssl::sha::Sha256,
    bytes: u64,
    started: Instant,
}

struct Down {
    h: ChannelHandle,
    hasher: Option<openssl::sha::Sha256>,
    sent: u64,
    index: u64,
    base: Vec<u8>,
    started: Instant,
    low_events: u32,
}

impl Session {
    /// A new peer connection for `case`; weft's own channels are created; when weft offers,
    /// the offer is made and set. Returns the session and the JSON the page gets back.
    pub async fn start(case: &str, role: &str) -> anyhow::Result<(Session, String)> {
        let pc = PeerConnection::new(RtcConfiguration::loopback()).await?;
        let port = pc.local_addrs().first().map(|a| a.port()).unwrap_or(0);
        let mut s = Session {
            case: case.to_owned(),
            role: role.to_owned(),
            pc,
            ended: false,
            t0: Instant::now(),
            labels: HashMap::new(),
            own: HashMap::new(),
            incoming: BTreeMap::new(),
            hello_back: BTreeSet::new(),
            closing: BTreeSet::new(),
            closed: BTreeSet::new(),
            incoming_handles: BTreeSet::new(),
            closed_handles: BTreeSet::new(),
            states: Vec::new(),
            connected_at: None,
            negotiation_after_connect: 0,
            errors: Vec::new(),
            notes: Vec::new(),
            echoed: 0,
            up: None,
            down: None,
            local_ufrags: Vec::new(),
            remote_ufrags: Vec::new(),
        };
        for init in weft_channels(case) {
            s.open(init).await?;
        }
        // `renegotiate` starts with an audio-only offer from the browser in both roles.
        let offer = if role == "weft-offers" && case != "renegotiate" {
            Some(s.offer().await?)
        } else {
            None
        };
        let mut json = format!(
            "{{\"port\":{port},\"maxMessageSize\":{},\"bulk\":{},\"many\":{MANY},\"lifetime\":{LIFETIME_MS}",
            weft_sctp::Config::default().max_message_size,
            bulk()
        );
        if let Some(o) = offer {
            json.push_str(&format!(",\"offer\":{}", json_str(&o)));
        }
        json.push('}');
        Ok((s, json))
    }

    async fn open(&mut self, init: ChannelInit) -> anyhow::Result<ChannelHandle> {
        let label = init.label.clone();
        let h = self.pc.create_data_channel(init).await?;
        self.labels.insert(h, label.clone());
        self.own.insert(h, label);
        Ok(h)
    }

    async fn offer(&mut self) -> anyhow::Result<String> {
        let o = self.pc.create_offer().await?;
        self.pc.set_local_description(SdpType::Offer, &o).await?;
        self.local_ufrags.extend(ufrag(&o));
        Ok(o)
    }

    /// The browser's offer (first or later): answer it.
    pub async fn answer_offer(&mut self, offer: &str) -> anyhow::Result<String> {
        self.pc
            .set_remote_description(SdpType::Offer, offer)
            .await
            .context("setRemoteDescription(offer)")?;
        self.remote_ufrags.extend(ufrag(offer));
        let a = self.pc.create_answer().await.context("createAnswer")?;
        self.pc
            .set_local_description(SdpType::Answer, &a)
            .await
            .context("setLocalDescription(answer)")?;
        self.local_ufrags.extend(ufrag(&a));
        Ok(a)
    }

    /// The browser's answer to weft's offer.
    pub async fn take_answer(&mut self, answer: &str) -> anyhow::Result<()> {
        self.pc
            .set_remote_description(SdpType::Answer, answer)
            .await
            .context("setRemoteDescription(answer)")?;
        self.remote_ufrags.extend(ufrag(answer));
        Ok(())
    }

    /// The page asks weft for a new offer: `data` adds weft's channel to a connection without a
    /// data section, `restart` restarts ICE.
    pub async fn reoffer(&mut self, what: &str) -> anyhow::Result<String> {
        match what {
            "data" => {
                self.open(ChannelInit::new("reneg-w")).await?;
            }
            "restart" => self.pc.restart_ice().await.context("restartIce")?,
            other => anyhow::bail!("unknown re-offer {other}"),
        }
        self.offer().await
    }

    /// Handles one event of the peer connection.
    pub async fn on_event(&mut self, ev: Event) -> anyhow::Result<()> {
        match ev {
            Event::ConnectionState(s) => {
                self.states.push(s);
                if s == ConnectionState::Connected && self.connected_at.is_none() {
                    self.connected_at = Some(self.t0.elapsed());
                }
            }
            Event::NegotiationNeeded if self.connected_at.is_some() => {
                self.negotiation_after_connect += 1
            }
            Event::DataChannel(h) => {
                self.incoming_handles.insert(h);
                let info = self.pc.channel(h).await?;
                let label = info.as_ref().map(|i| i.label.clone()).unwrap_or_default();
                if let Some(i) = info {
                    self.incoming.insert(label.clone(), i);
                }
                self.labels.insert(h, label);
            }
            Event::Channel(h, ev) => self.on_channel(h, ev).await?,
            _ => {}
        }
        Ok(())
    }

    async fn on_channel(&mut self, h: ChannelHandle, ev: ChannelEvent) -> anyhow::Result<()> {
        let label = self.labels.get(&h).cloned().unwrap_or_default();
        let own = self.own.contains_key(&h);
        match ev {
            ChannelEvent::Open(_) if own => {
                self.send_text(h, "hello from weft").await;
                if label == "bulk-down" {
                    self.pc
                        .set_buffered_amount_low_threshold(h, LOW_WATER)
                        .await?;
                }
            }
            ChannelEvent::Message(m) => {
                let text = m.text();
                if own && text == Some("hello back") {
                    self.hello_back.insert(label.clone());
                    if label == "first-w" {
                        // `late`: a channel opened on the running connection.
                        self.open(ChannelInit::new("late-w")).await?;
                    }
                } else if label == "bulk-up" {
                    let up = self.up.get_or_insert_with(|| Up {
                        hasher: openssl::sha::Sha256::new(),
                        bytes: 0,
                        started: Instant::now(),
                    });
                    up.hasher.update(&m.data);
                    up.bytes += m.data.len() as u64;
                    if up.bytes == bulk() {
                        let hex = hex(&std::mem::replace(
                            &mut up.hasher,
                            openssl::sha::Sha256::new(),
                        )
                        .finish());
                        let secs = up.started.elapsed().as_secs_f64();
                        self.send_text(h, &format!("sha256:{hex}")).await;
                        self.note(format!(
                            "bulk-up {} MiB in {secs:.2} s ({:.0} Mbit/s)",
                            bulk() >> 20,
                            bulk() as f64 * 8.0 / secs / 1e6
                        ));
                    } else if up.bytes > bulk() {
                        self.errors
                            .push(format!("bulk-up: {} bytes, more than sent", up.bytes));
                    }
                } else if label == "bulk-down" && text == Some("go") {
                    let mut base = vec![0u8; CHUNK];
                    let mut x = 0x2545_f491_4f6c_dd1du64;
                    for b in base.iter_mut() {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        *b = x as u8;
                    }
                    self.down = Some(Down {
                        h,
                        hasher: Some(openssl::sha::Sha256::new()),
                        sent: 0,
                        index: 0,
                        base,
                        started: Instant::now(),
                        low_events: 0,
                    });
                    self.pump().await?;
                } else if text == Some("close pc") {
                    // `close-pc`: weft closes the whole peer connection.
                    self.pc.close().await;
                    self.note("weft closed its peer connection".into());
                } else if text == Some("close me") {
                    if let Err(e) = self.pc.close_channel(h).await {
                        self.errors.push(format!("close {label}: {e}"));
                    }
                } else {
                    self.echoed += 1;
                    let r = if m.binary {
                        self.pc.send(h, m.data).await
                    } else {
                        self.pc
                            .send_text(h, std::str::from_utf8(&m.data).unwrap_or_default())
                            .await
                    };
                    if let Err(e) = r {
                        self.errors.push(format!("echo on {label}: {e}"));
                    }
                }
            }
            ChannelEvent::BufferedAmountLow(_) => {
                log::debug!("{label}: bufferedamountlow");
                if let Some(d) = self.down.as_mut()
                    && d.h == h
                {
                    d.low_events += 1;
                    self.pump().await?;
                }
            }
            ChannelEvent::Closing(_) => {
                self.closing.insert(label);
            }
            ChannelEvent::Closed(_) => {
                self.closed_handles.insert(h);
                self.closed.insert(label);
            }
            ChannelEvent::Error { detail, .. } => {
                self.errors.push(format!("{label}: error {detail:?}"));
            }
            _ => {}
        }
        Ok(())
    }

    async fn send_text(&mut self, h: ChannelHandle, text: &str) {
        if let Err(e) = self.pc.send_text(h, text).await {
            let label = self.labels.get(&h).cloned().unwrap_or_default();
            self.errors.push(format!("send on {label}: {e}"));
        }
    }

    /// Sends bulk chunks until `bufferedAmount` nears the high-water mark; the rest follows
    /// `bufferedamountlow`. The sends here await the driver, which drains the queue between
    /// them: the buffer must be seen above the low threshold before this stops, or no event
    /// would come (W3C: the event marks a fall from above the threshold).
    async fn pump(&mut self) -> anyhow::Result<()> {
        let Some(d) = self.down.as_mut() else {
            return Ok(());
        };
        let Some(hasher) = d.hasher.as_mut() else {
            return Ok(());
        };
        while d.sent < bulk() {
            let buffered = self.pc.buffered_amount(d.h).await?;
            log::debug!("bulk-down: {} sent, {buffered} buffered", d.sent);
            if buffered + CHUNK > HIGH_WATER {
                break;
            }
            let mut room = (HIGH_WATER - buffered) / CHUNK;
            while room > 0 && d.sent < bulk() {
                let mut chunk = d.base.clone();
                chunk[..8].copy_from_slice(&d.index.to_be_bytes());
                hasher.update(&chunk);
                d.sent += chunk.len() as u64;
                d.index += 1;
                room -= 1;
                self.pc.send(d.h, Bytes::from(chunk)).await?;
            }
        }
        if d.sent >= bulk()
            && let Some(hasher) = d.hasher.take()
        {
            let (h, secs, lows) = (d.h, d.started.elapsed().as_secs_f64(), d.low_events);
            let hex = hex(&hasher.finish());
            self.send_text(h, &format!("sha256:{hex}")).await;
            self.note(format!(
                "bulk-down queued in {secs:.2} s after {lows} bufferedamountlow events"
            ));
        }
        Ok(())
    }

    fn note(&mut self, s: String) {
        log::info!("{}/{}: {s}", self.case, self.role);
        self.notes.push(s);
    }

    /// The page reported; weft checks its own side. Returns the problems (none = pass) and a
    /// one-line summary.
    pub async fn finish(&mut self, page: &PageResult) -> (Vec<String>, String) {
        let mut bad: Vec<String> = Vec::new();
        let mut notes = std::mem::take(&mut self.notes);
        if self.case == "peer-close-pc" {
            // W3C: a transport closed by an abort (Chromium's close sends ABORT, Firefox's a
            // SHUTDOWN) fires `error` (sctp-failure) before `close` on each channel.
            let (expected, rest): (Vec<String>, Vec<String>) = self
                .errors
                .drain(..)
                .partition(|e| e.ends_with("error SctpFailure"));
            notes.extend(expected);
            self.errors = rest;
        }
        bad.append(&mut self.errors);
        if self.connected_at.is_none() && page.ok {
            bad.push("weft never reached connectionState connected".into());
        }
        let expect_hello: BTreeSet<String> = self
            .own
            .values()
            .filter(|l| !matches!(l.as_str(), "close-w-self" | "close-w-peer") || page.ok)
            .cloned()
            .collect();
        if page.ok {
            let missing: Vec<_> = expect_hello.difference(&self.hello_back).collect();
            if !missing.is_empty() {
                bad.push(format!("no `hello back` on weft's channels {missing:?}"));
            }
        }
        let case = self.case.clone();
        if page.ok {
            self.case_checks(&case, page, &mut bad).await;
        }
        let summary = format!(
            "connected after {:.1} ms, {} echoed, browser opened {}, weft opened {}{}",
            self.connected_at.unwrap_or_default().as_secs_f64() * 1e3,
            self.echoed,
            self.incoming.len(),
            self.own.len(),
            if notes.is_empty() {
                String::new()
            } else {
                format!("; {}", notes.join("; "))
            }
        );
        let mut summary = summary;
        if !page.ok || !bad.is_empty() {
            // What the association looked like when it went wrong.
            if let Some(d) = &self.down {
                let b = self.pc.buffered_amount(d.h).await.unwrap_or(0);
                summary.push_str(&format!(
                    "; bulk-down: {} sent, bufferedAmount {b}, {} bufferedamountlow",
                    d.sent, d.low_events
                ));
            }
            if let Ok(Some(st)) = self.pc.sctp_stats().await {
                summary.push_str(&format!(
                    "; sctp: cwnd {} flight {} peer_rwnd {} srtt {:?}, {} data chunks sent, {} retransmitted ({} fast, {} T3), {} sacks in, {} out, {} dropped packets, receive buffered {}",
                    st.cwnd, st.flight_size, st.peer_rwnd, st.srtt, st.data_chunks_sent, st.retransmitted_chunks,
                    st.fast_retransmits, st.t3_expirations, st.sacks_received, st.sacks_sent, st.dropped_packets,
                    st.receive_buffered
                ));
            }
        }
        self.pc.close().await;
        (bad, summary)
    }

    async fn case_checks(&mut self, case: &str, page: &PageResult, bad: &mut Vec<String>) {
        match case {
            "partial" => {
                let want: [(&str, bool, Option<u16>, Option<Duration>); 3] = [
                    ("unordered-b", false, None, None),
                    ("rexmit0-b", false, Some(0), None),
                    (
                        "lifetime-b",
                        true,
                        None,
                        Some(Duration::from_millis(LIFETIME_MS)),
                    ),
                ];
                for (label, ordered, rexmit, life) in want {
                    match self.incoming.get(label) {
                        None => bad.push(format!("no incoming channel {label}")),
                        Some(i) => {
                            if (i.ordered, i.max_retransmits, i.max_packet_lifetime)
                                != (ordered, rexmit, life)
                            {
                                bad.push(format!(
                                    "{label}: weft sees ordered {} maxRetransmits {:?} maxPacketLifeTime {:?}",
                                    i.ordered, i.max_retransmits, i.max_packet_lifetime
                                ));
                            }
                        }
                    }
                }
            }
            "negotiated" => {
                if !self.incoming.is_empty() {
                    bad.push(format!(
                        "negotiated channels announced as incoming: {:?}",
                        self.incoming.keys().collect::<Vec<_>>()
                    ));
                }
                for (h, l) in &self.own {
                    let want = if l == "neg" { 7 } else { 1000 };
                    match self.pc.channel(*h).await {
                        Ok(Some(i)) if i.id == ChannelId(want) && i.negotiated => {}
                        other => bad.push(format!("{l}: {other:?}, want negotiated id {want}")),
                    }
                }
            }
            "many" => {
                let n = self
                    .incoming
                    .keys()
                    .filter(|l| l.starts_with("many-b-"))
                    .count();
                if n != MANY {
                    bad.push(format!("{n} incoming channels, want {MANY}"));
                }
                let ids: BTreeSet<u16> = self.incoming.values().map(|i| i.id.0).collect();
                if ids.len() != n {
                    bad.push("two incoming channels share an id".into());
                }
            }
            "late" => {
                if self.negotiation_after_connect != 0 {
                    bad.push(format!(
                        "{} negotiationneeded after connecting (a new channel needs no renegotiation)",
                        self.negotiation_after_connect
                    ));
                }
                if !self.incoming.contains_key("late-b") {
                    bad.push("late-b never arrived".into());
                }
            }
            "close" => {
                for l in [
                    "close-b-self",
                    "close-b-peer",
                    "close-w-self",
                    "close-w-peer",
                ] {
                    if !self.closed.contains(l) {
                        bad.push(format!("{l}: no close event on weft"));
                    }
                }
                let n = self.incoming_handles.len();
                let unclosed = self
                    .incoming_handles
                    .difference(&self.closed_handles)
                    .count();
                if n != 3 || unclosed != 0 {
                    bad.push(format!(
                        "{n} channels from the browser (want 3), {unclosed} without a close event"
                    ));
                }
                // W3C: `closing` is the peer starting the close.
                for l in ["close-b-self", "close-w-peer"] {
                    if !self.closing.contains(l) {
                        bad.push(format!(
                            "{l}: the browser closed it but weft saw no closing"
                        ));
                    }
                }
            }
            "bulk" => {
                match &self.up {
                    Some(u) if u.bytes == bulk() => {}
                    Some(u) => bad.push(format!("bulk-up: {} of {} bytes", u.bytes, bulk())),
                    None => bad.push("bulk-up: nothing arrived".into()),
                }
                match &self.down {
                    Some(d) if d.sent == bulk() && d.hasher.is_none() => {
                        if d.low_events == 0 {
                            bad.push("bulk-down: no bufferedamountlow event".into());
                        }
                    }
                    _ => bad.push("bulk-down: not all sent".into()),
                }
            }
            "stats" => {
                match self.pc.get_stats().await {
                    Ok(st) => {
                        if st.transport.dtls_state != "connected" {
                            bad.push(format!("weft dtlsState {}", st.transport.dtls_state));
                        }
                        if st.candidate_pairs.is_empty() {
                            bad.push("weft reports no candidate pair".into());
                        }
                        if st.peer_connection.data_channels_opened < 2 {
                            bad.push(format!(
                                "weft dataChannelsOpened {}",
                                st.peer_connection.data_channels_opened
                            ));
                        }
                        let ours = st.data_channels.iter().find(|c| c.label == "stats-b");
                        match (
                            ours,
                            page.num("statsMessagesSent"),
                            page.num("statsMessagesReceived"),
                        ) {
                            (Some(c), Some(s), Some(r)) => {
                                if c.messages_received != s || c.messages_sent != r {
                                    bad.push(format!(
                                        "stats-b: weft received {} sent {}, the browser sent {s} received {r}",
                                        c.messages_received, c.messages_sent
                                    ));
                                }
                                if let Some(b) = page.num("statsBytesSent")
                                    && b != c.bytes_received
                                {
                                    bad.push(format!(
                                        "stats-b: browser bytesSent {b}, weft bytesReceived {}",
                                        c.bytes_received
                                    ));
                                }
                            }
                            other => bad.push(format!("stats-b counters missing: {other:?}")),
                        }
                    }
                    Err(e) => bad.push(format!("getStats: {e}")),
                }
                if self.states.first() != Some(&ConnectionState::Connecting)
                    || !self.states.contains(&ConnectionState::Connected)
                {
                    bad.push(format!("weft connection states {:?}", self.states));
                }
            }
            "peer-close-pc" => {
                for l in ["pcb-b", "pcb-w"] {
                    if !self.closed.contains(l) {
                        bad.push(format!(
                            "{l}: no close event on weft after the browser closed its peer connection"
                        ));
                    }
                }
            }
            "renegotiate" => {
                let label = if self.role == "weft-offers" {
                    "reneg-w"
                } else {
                    "reneg-b"
                };
                let seen = self.hello_back.contains(label) || self.incoming.contains_key(label);
                if !seen {
                    bad.push(format!("{label} never opened"));
                }
            }
            "restart" => {
                // Two restarts: one by the browser, one by weft.
                let distinct = |v: &[String]| v.iter().collect::<BTreeSet<_>>().len();
                if distinct(&self.local_ufrags) < 3 || distinct(&self.remote_ufrags) < 3 {
                    bad.push(format!(
                        "ICE credentials: local {:?}, remote {:?} (want 3 generations each)",
                        self.local_ufrags, self.remote_ufrags
                    ));
                }
                if let Some(n) = page.num("seq")
                    && self.echoed < n
                {
                    bad.push(format!("echoed {} of {n}", self.echoed));
                }
            }
            _ => {}
        }
    }
}

/// The channels weft creates for a case before any offer.
fn weft_channels(case: &str) -> Vec<ChannelInit> {
    let n = |l: &str| ChannelInit::new(l);
    match case {
        "echo" => vec![n("echo-w")],
        "partial" => {
            let mut u = n("unordered-w");
            u.ordered = false;
            let mut r = n("rexmit0-w");
            r.ordered = false;
            r.max_retransmits = Some(0);
            let mut l = n("lifetime-w");
            l.max_packet_lifetime = Some(Duration::from_millis(LIFETIME_MS));
            vec![u, r, l]
        }
        "negotiated" => {
            let mut a = n("neg");
            a.negotiated = Some(ChannelId(7));
            let mut b = n("neg-hi");
            b.negotiated = Some(ChannelId(1000));
            vec![a, b]
        }
        "many" => (0..MANY).map(|i| n(&format!("many-w-{i}"))).collect(),
        "late" => vec![n("first-w")],
        "close" => vec![n("close-w-self"), n("close-w-peer")],
        "bulk" => vec![n("bulk-down")],
        "stats" => vec![n("stats-w")],
        "restart" => vec![n("seq-w")],
        "close-pc" => vec![n("pcw-w")],
        "peer-close-pc" => vec![n("pcb-w")],
        _ => Vec::new(),
    }
}

/// What the page POSTs to `/result`: `key value` lines.
#[derive(Debug, Default)]
pub struct PageResult {
    /// The case passed on the page.
    pub ok: bool,
    /// The fields.
    pub fields: BTreeMap<String, String>,
}

impl PageResult {
    /// Parses the body.
    pub fn parse(body: &str) -> PageResult {
        let mut fields = BTreeMap::new();
        for line in body.lines() {
            let (k, v) = line.split_once(' ').unwrap_or((line, ""));
            fields.insert(k.to_owned(), v.to_owned());
        }
        PageResult {
            ok: fields.get("ok").map(String::as_str) == Some("true"),
            fields,
        }
    }

    /// A field.
    pub fn get(&self, k: &str) -> &str {
        self.fields.get(k).map(String::as_str).unwrap_or("")
    }

    /// A numeric field.
    pub fn num(&self, k: &str) -> Option<u64> {
        self.fields.get(k)?.trim().parse().ok()
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The first `a=ice-ufrag` of a description.
fn ufrag(sdp: &str) -> Option<String> {
    sdp.lines()
        .find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:"))
        .map(str::to_owned)
}
