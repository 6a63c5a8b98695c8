//! The SRTP/SRTCP context: session keys, per-SSRC state, protect and unprotect.

use openssl::sha::Sha1;
use weft_proto::ReplayWindow;

use crate::cryptex::{self, Layout};
use crate::error::Error;
use crate::header;
use crate::kdf::{Label, derive};
use crate::ossl::{Aes, Gcm};
use crate::profile::Profile;

/// Settings of a [`Context`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The replay window in packets (RFC 3711 §3.3.2: at least 64; larger allowed).
    pub replay_window: usize,
    /// The most SSRCs one context tracks; packets of further SSRCs are refused.
    pub max_ssrcs: usize,
    /// Whether unprotect accepts SSRCs it has not seen before (a WebRTC receiver learns them).
    /// Without it, only SSRCs added with [`Context::add_ssrc`] are accepted.
    pub accept_new_ssrcs: bool,
    /// Encrypt the CSRC list and header extensions of outgoing RTP (RFC 9335 "cryptex").
    /// Incoming cryptex packets are always understood.
    pub cryptex: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            replay_window: 64,
            max_ssrcs: 1024,
            accept_new_ssrcs: true,
            cryptex: false,
        }
    }
}

/// Counters of a [`Context`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// RTP packets protected.
    pub rtp_protected: u64,
    /// RTP packets unprotected.
    pub rtp_unprotected: u64,
    /// RTCP packets protected.
    pub rtcp_protected: u64,
    /// RTCP packets unprotected.
    pub rtcp_unprotected: u64,
    /// Packets refused for a bad tag.
    pub auth_failures: u64,
    /// Packets refused as replays.
    pub replays: u64,
    /// Packets refused as too short or malformed.
    pub malformed: u64,
    /// Packets refused for an unknown SSRC (or one past the limit).
    pub unknown_ssrc: u64,
}

/// RFC 3711 §9.2: at most 2^48 SRTP packets under one master key.
const MAX_SRTP_PACKETS: u64 = 1 << 48;
/// RFC 3711 §9.2: at most 2^31 SRTCP packets under one master key.
const MAX_SRTCP_INDEX: u32 = 1 << 31;
/// The SRTCP E flag: the packet is encrypted.
const E_FLAG: u32 = 1 << 31;

/// HMAC-SHA1 with the pads already absorbed, so a tag costs two finalizations.
#[derive(Clone)]
struct Hmac {
    inner: Sha1,
    outer: Sha1,
}

impl Hmac {
    fn new(key: &[u8]) -> Self {
        let mut block = [0u8; 64];
        block[..key.len()].copy_from_slice(key); // session auth keys are 20 bytes
        let (mut ipad, mut opad) = ([0u8; 64], [0u8; 64]);
        for i in 0..64 {
            ipad[i] = block[i] ^ 0x36;
            opad[i] = block[i] ^ 0x5c;
        }
        let mut inner = Sha1::new();
        inner.update(&ipad);
        let mut outer = Sha1::new();
        outer.update(&opad);
        Hmac { inner, outer }
    }

    fn tag(&self, parts: &[&[u8]]) -> [u8; 20] {
        let mut inner = self.inner.clone();
        for p in parts {
            inner.update(p);
        }
        let mut outer = self.outer.clone();
        outer.update(&inner.finish());
        outer.finish()
    }
}

/// The cipher of a profile, keyed once with a session key.
enum Engine {
    /// AES-CM (also kept, unused, for the NULL cipher).
    Ctr(Aes),
    /// AES-GCM.
    Gcm(Gcm),
}

/// The session keys of one direction of RTP or RTCP, with their cipher keyed once.
struct Keys {
    engine: Engine,
    salt: [u8; 14],
    hmac: Option<Hmac>,
}

impl Keys {
    fn new(profile: Profile, key: &[u8], salt: &[u8], rtcp: bool) -> Result<Self, Error> {
        let (l_enc, l_auth, l_salt) = if rtcp {
            (Label::RtcpEncryption, Label::RtcpAuth, Label::RtcpSalt)
        } else {
            (Label::RtpEncryption, Label::RtpAuth, Label::RtpSalt)
        };
        let session_key = derive(key, salt, l_enc, profile.session_key_len())?;
        let session_salt = derive(key, salt, l_salt, profile.session_salt_len())?;
        let auth_key = if profile.auth_key_len() > 0 {
            derive(key, salt, l_auth, profile.auth_key_len())?
        } else {
            Vec::new()
        };
        Self::from_session(profile, &session_key, &session_salt, &auth_key)
    }

    /// Keys from already derived session keys.
    fn from_session(
        profile: Profile,
        session_key: &[u8],
        session_salt: &[u8],
        auth_key: &[u8],
    ) -> Result<Self, Error> {
        let hmac = (!auth_key.is_empty()).then(|| Hmac::new(auth_key));
        let engine = if profile.is_aead() {
            Engine::Gcm(Gcm::new(session_key)?)
        } else {
            Engine::Ctr(Aes::new(session_key)?)
        };
        let mut s = [0u8; 14];
        s[..session_salt.len()].copy_from_slice(session_salt);
        Ok(Keys {
            engine,
            salt: s,
            hmac,
        })
    }

    /// The AES-CM IV (RFC 3711 §4.1.1): salt·2^16 ⊕ SSRC·2^64 ⊕ index·2^16.
    fn ctr_iv(&self, ssrc: u32, index: u64) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[..14].copy_from_slice(&self.salt);
        for (b, s) in iv[4..8].iter_mut().zip(ssrc.to_be_bytes()) {
            *b ^= s;
        }
        for (b, s) in iv[8..14].iter_mut().zip(&index.to_be_bytes()[2..]) {
            *b ^= s;
        }
        iv
    }

    /// The GCM IV of an SRTP packet (RFC 7714 §8.1): salt ⊕ (0x0000 ‖ SSRC ‖ ROC ‖ SEQ).
    fn gcm_iv_rtp(&self, ssrc: u32, roc: u32, seq: u16) -> [u8; 12] {
        let x = (u128::from(ssrc) << 48) | (u128::from(roc) << 16) | u128::from(seq);
        self.xor_salt(x)
    }

    /// The GCM IV of an SRTCP packet (RFC 7714 §9.1): salt ⊕ (0x0000 ‖ SSRC ‖ 0x0000 ‖ 0 ‖
    /// SRTCP index).
    fn gcm_iv_rtcp(&self, ssrc: u32, srtcp_index: u32) -> [u8; 12] {
        let x = (u128::from(ssrc) << 48) | u128::from(srtcp_index);
        self.xor_salt(x)
    }

    /// The 96-bit big-endian `x` XORed with the first 12 bytes of the salt (computed in
    /// registers: this runs for every GCM packet).
    fn xor_salt(&self, x: u128) -> [u8; 12] {
        let mut salt = [0u8; 16];
        salt[4..].copy_from_slice(&self.salt[..12]);
        let v = (x ^ u128::from_be_bytes(salt)).to_be_bytes();
        let mut iv = [0u8; 12];
        iv.copy_from_slice(&v[4..]);
        iv
    }

    /// HMAC-SHA1 over `parts` with the session authentication key (the HMAC profiles always
    /// derive one).
    fn auth_tag(&self, parts: &[&[u8]]) -> Result<[u8; 20], Error> {
        match &self.hmac {
            Some(h) => Ok(h.tag(parts)),
            None => Err(Error::Crypto("profile has no authentication key".into())),
        }
    }

    /// AES-CM over consecutive regions, as one keystream.
    fn ctr(&mut self, iv: &[u8; 16], regions: &mut [&mut [u8]]) -> Result<(), Error> {
        match &mut self.engine {
            Engine::Ctr(aes) => aes.ctr_xor(iv, regions),
            Engine::Gcm(_) => Err(Error::Crypto("AES-CM with a GCM profile".into())),
        }
    }

    fn seal(
        &mut self,
        iv: &[u8; 12],
        aad: &[&[u8]],
        regions: &mut [&mut [u8]],
    ) -> Result<[u8; 16], Error> {
        match &mut self.engine {
            Engine::Gcm(gcm) => gcm.seal(iv, aad, regions),
            Engine::Ctr(_) => Err(Error::Crypto("AES-GCM with an AES-CM profile".into())),
        }
    }

    fn open(
        &mut self,
        iv: &[u8; 12],
        aad: &[&[u8]],
        regions: &mut [&mut [u8]],
        tag: &[u8],
    ) -> Result<(), Error> {
        match &mut self.engine {
            Engine::Gcm(gcm) => gcm.open(iv, aad, regions, tag),
            Engine::Ctr(_) => Err(Error::Crypto("AES-GCM with an AES-CM profile".into())),
        }
    }
}

/// Splits `buf` by a cryptex layout into its two clear and three encrypted parts.
fn split(buf: &mut [u8], l: Layout) -> ([&[u8]; 2], [&mut [u8]; 3]) {
    let [p0, p1, p2, p3] = l.0;
    let (a0, rest) = buf.split_at_mut(p0);
    let (e0, rest) = rest.split_at_mut(p1 - p0);
    let (a1, rest) = rest.split_at_mut(p2 - p1);
    let (e1, e2) = rest.split_at_mut(p3 - p2);
    ([a0, a1], [e0, e1, e2])
}

/// What one SSRC needs: its rollover counter, highest sequence number, replay windows and
/// SRTCP index.
#[derive(Debug, Clone)]
struct SsrcState {
    ssrc: u32,
    roc: u32,
    highest_seq: u16,
    rtp_packets: u64,
    rtp_replay: ReplayWindow,
    rtcp_index: u32,
    rtcp_replay: ReplayWindow,
}

impl SsrcState {
    fn new(ssrc: u32, seq: u16, window: usize) -> Self {
        SsrcState {
            ssrc,
            roc: 0,
            highest_seq: seq,
            rtp_packets: 0,
            rtp_replay: ReplayWindow::new(window),
            rtcp_index: 0,
            rtcp_replay: ReplayWindow::new(window),
        }
    }

    /// RFC 3711 §3.3.1: the ROC this packet most likely carries (v), from the highest
    /// sequence number seen (s_l).
    fn estimate_roc(&self, seq: u16) -> u32 {
        let (s_l, seq) = (i32::from(self.highest_seq), i32::from(seq));
        if s_l < 32_768 {
            if seq - s_l > 32_768 {
                self.roc.wrapping_sub(1)
            } else {
                self.roc
            }
        } else if s_l - 32_768 > seq {
            self.roc.wrapping_add(1)
        } else {
            self.roc
        }
    }

    /// Records a packet with ROC `v` and sequence `seq` as the latest when it is.
    fn update(&mut self, v: u32, seq: u16) {
        if v == self.roc.wrapping_add(1) {
            self.roc = v;
            self.highest_seq = seq;
        } else if v == self.roc && seq > self.highest_seq {
            self.highest_seq = seq;
        }
    }
}

fn index(roc: u32, seq: u16) -> u64 {
    (u64::from(roc) << 16) | u64::from(seq)
}

/// An SRTP/SRTCP crypto context for one master key: protects what one side sends, or
/// unprotects what it receives (use one context per direction, as the keys differ).
///
/// Packets are processed in place: `protect_*` encrypts the buffer and appends the tag (and
/// for SRTCP the index); `unprotect_*` checks, decrypts and truncates. On an error the buffer's
/// content is unspecified and the packet must be dropped.
///
/// ```
/// use weft_srtp::{Config, Context, Profile};
/// let (key, salt) = ([7u8; 16], [9u8; 12]);
/// let mut tx = Context::new(Profile::AeadAes128Gcm, &key, &salt, Config::default())?;
/// let mut rx = Context::new(Profile::AeadAes128Gcm, &key, &salt, Config::default())?;
/// let rtp = [0x80, 96, 0, 1, 0, 0, 0, 10, 0xca, 0xfe, 0xba, 0xbe, b'h', b'i'];
/// let mut buf = rtp.to_vec();
/// tx.protect_rtp(&mut buf)?;
/// assert_eq!(buf.len(), rtp.len() + 16);
/// rx.unprotect_rtp(&mut buf)?;
/// assert_eq!(buf, rtp);
/// // The same sequence number again is a replay.
/// let mut again = rtp.to_vec();
/// tx.protect_rtp(&mut again)?;
/// assert_eq!(rx.unprotect_rtp(&mut again), Err(weft_srtp::Error::Replayed));
/// # Ok::<(), weft_srtp::Error>(())
/// ```
pub struct Context {
    profile: Profile,
    config: Config,
    rtp: Keys,
    rtcp: Keys,
    ssrcs: Vec<SsrcState>,
    stats: Stats,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print keys.
        f.debug_struct("Context")
            .field("profile", &self.profile)
            .field("ssrcs", &self.ssrcs.len())
            .field("stats", &self.stats)
            .finish()
    }
}

impl Context {
    /// A context from a master key and salt (as DTLS-SRTP exports them, RFC 5764 §4.2).
    pub fn new(
        profile: Profile,
        master_key: &[u8],
        master_salt: &[u8],
        config: Config,
    ) -> Result<Self, Error> {
        if master_key.len() != profile.master_key_len() {
            return Err(Error::KeyLength(master_key.len()));
        }
        if master_salt.len() != profile.master_salt_len() {
            return Err(Error::SaltLength(master_salt.len()));
        }
        Ok(Context {
            profile,
            rtp: Keys::new(profile, master_key, master_salt, false)?,
            rtcp: Keys::new(profile, master_key, master_salt, true)?,
            config,
            ssrcs: Vec::new(),
            stats: Stats::default(),
        })
    }

    /// The profile.
    pub fn profile(&self) -> Profile {
        self.profile
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// Announces an SSRC (needed when [`Config::accept_new_ssrcs`] is off), with the sequence
    /// number and rollover counter to expect.
    pub fn add_ssrc(&mut self, ssrc: u32, seq: u16, roc: u32) -> Result<(), Error> {
        if self.lookup(ssrc, false)?.is_none() {
            let i = self.insert(ssrc, seq);
            self.ssrcs[i].roc = roc;
        }
        Ok(())
    }

    /// The rollover counter of an SSRC, if it is known.
    pub fn roc(&self, ssrc: u32) -> Option<u32> {
        self.find(ssrc).map(|i| self.ssrcs[i].roc)
    }

    fn find(&self, ssrc: u32) -> Option<usize> {
        self.ssrcs.iter().position(|s| s.ssrc == ssrc)
    }

    /// Finds `ssrc`, or checks that a new one may be added: within
    /// [`Config::max_ssrcs`] and, when `receiving`, only if [`Config::accept_new_ssrcs`].
    /// `Ok(None)` means "new and allowed"; [`Context::insert`] adds it.
    fn lookup(&mut self, ssrc: u32, receiving: bool) -> Result<Option<usize>, Error> {
        if let Some(i) = self.find(ssrc) {
            return Ok(Some(i));
        }
        let refused = if receiving && !self.config.accept_new_ssrcs {
            Error::UnknownSsrc
        } else if self.ssrcs.len() >= self.config.max_ssrcs {
            Error::TooManySsrcs(self.config.max_ssrcs)
        } else {
            return Ok(None);
        };
        self.stats.unknown_ssrc += 1;
        Err(refused)
    }

    fn insert(&mut self, ssrc: u32, seq: u16) -> usize {
        self.ssrcs
            .push(SsrcState::new(ssrc, seq, self.config.replay_window));
        self.ssrcs.len() - 1
    }

    /// The state of `ssrc` for a sender, created on first use.
    fn state_for(&mut self, ssrc: u32, seq: u16) -> Result<usize, Error> {
        Ok(match self.lookup(ssrc, false)? {
            Some(i) => i,
            None => self.insert(ssrc, seq),
        })
    }

    fn bad<T>(&mut self, e: Error) -> Result<T, Error> {
        match e {
            Error::TooShort | Error::Malformed => self.stats.malformed += 1,
            Error::AuthFailed => self.stats.auth_failures += 1,
            Error::Replayed => self.stats.replays += 1,
            _ => {}
        }
        Err(e)
    }

    /// Protects an RTP packet in place: encrypts its payload (and, with cryptex, its CSRCs and
    /// header extension) and appends the tag.
    pub fn protect_rtp(&mut self, buf: &mut Vec<u8>) -> Result<(), Error> {
        let h = match header::rtp(buf) {
            Ok(h) => h,
            Err(e) => return self.bad(e),
        };
        let i = self.state_for(h.ssrc, h.seq)?;
        let st = &mut self.ssrcs[i];
        if st.rtp_packets >= MAX_SRTP_PACKETS {
            return Err(Error::KeyLifetime);
        }
        let v = st.estimate_roc(h.seq);
        st.update(v, h.seq);
        st.rtp_packets += 1;
        let mut h = h;
        let layout = if self.config.cryptex {
            cryptex::mark(buf, &mut h)
        } else {
            Layout::plain(&h)
        };
        match self.profile {
            Profile::AeadAes128Gcm | Profile::AeadAes256Gcm => {
                let iv = self.rtp.gcm_iv_rtp(h.ssrc, v, h.seq);
                let (aad, mut enc) = split(buf, layout);
                let tag = self.rtp.seal(&iv, &aad, &mut enc)?;
                buf.extend_from_slice(&tag);
            }
            _ => {
                if self.profile != Profile::NullHmacSha1_80 {
                    let iv = self.rtp.ctr_iv(h.ssrc, index(v, h.seq));
                    let (_, mut enc) = split(buf, layout);
                    self.rtp.ctr(&iv, &mut enc)?;
                }
                let tag = self.rtp.auth_tag(&[buf, &v.to_be_bytes()])?;
                buf.extend_from_slice(&tag[..self.profile.rtp_tag_len()]);
            }
        }
        self.stats.rtp_protected += 1;
        Ok(())
    }

    /// Unprotects an SRTP packet in place: checks replay and tag, decrypts, strips the tag.
    pub fn unprotect_rtp(&mut self, buf: &mut Vec<u8>) -> Result<(), Error> {
        let tag_len = self.profile.rtp_tag_len();
        let h = match header::rtp(buf) {
            Ok(h) if buf.len() >= h.len + tag_len => h,
            Ok(_) => return self.bad(Error::TooShort),
            Err(e) => return self.bad(e),
        };
        let known = self.lookup(h.ssrc, true)?;
        // A new SSRC starts at ROC 0 (RFC 3711 §3.3.1) and is only kept once its first packet
        // authenticates.
        let (v, fresh) = match known {
            Some(i) => {
                let st = &self.ssrcs[i];
                let v = st.estimate_roc(h.seq);
                (v, st.rtp_replay.check(index(v, h.seq)))
            }
            None => (0, true),
        };
        let idx = index(v, h.seq);
        if !fresh {
            return self.bad(Error::Replayed);
        }
        let body_end = buf.len() - tag_len;
        let layout = cryptex::layout(buf, &h);
        let result = match self.profile {
            Profile::AeadAes128Gcm | Profile::AeadAes256Gcm => {
                let iv = self.rtp.gcm_iv_rtp(h.ssrc, v, h.seq);
                let (body, tag) = buf.split_at_mut(body_end);
                let (aad, mut enc) = split(body, layout);
                self.rtp.open(&iv, &aad, &mut enc, tag)
            }
            _ => {
                let expect = self.rtp.auth_tag(&[&buf[..body_end], &v.to_be_bytes()])?;
                if !openssl::memcmp::eq(&expect[..tag_len], &buf[body_end..]) {
                    Err(Error::AuthFailed)
                } else if self.profile == Profile::NullHmacSha1_80 {
                    Ok(())
                } else {
                    let iv = self.rtp.ctr_iv(h.ssrc, idx);
                    let (_, mut enc) = split(&mut buf[..body_end], layout);
                    self.rtp.ctr(&iv, &mut enc)
                }
            }
        };
        if let Err(e) = result {
            return self.bad(e);
        }
        buf.truncate(body_end);
        cryptex::unmark(buf, &h);
        let i = match known {
            Some(i) => i,
            None => self.insert(h.ssrc, h.seq),
        };
        let st = &mut self.ssrcs[i];
        st.rtp_replay.accept(idx);
        st.update(v, h.seq);
        self.stats.rtp_unprotected += 1;
        Ok(())
    }

    /// Protects an RTCP (compound) packet in place: encrypts all but its first 8 bytes and
    /// appends E‖SRTCP index and the tag (RFC 3711 §3.4, RFC 7714 §9).
    pub fn protect_rtcp(&mut self, buf: &mut Vec<u8>) -> Result<(), Error> {
        let ssrc = match header::rtcp_ssrc(buf) {
            Ok(s) => s,
            Err(e) => return self.bad(e),
        };
        let i = self.state_for(ssrc, 0)?;
        let st = &mut self.ssrcs[i];
        if st.rtcp_index >= MAX_SRTCP_INDEX {
            return Err(Error::KeyLifetime);
        }
        let srtcp_index = st.rtcp_index;
        st.rtcp_index += 1;
        let encrypted = self.profile != Profile::NullHmacSha1_80;
        let e_index = if encrypted {
            E_FLAG | srtcp_index
        } else {
            srtcp_index
        };
        match self.profile {
            Profile::AeadAes128Gcm | Profile::AeadAes256Gcm => {
                let iv = self.rtcp.gcm_iv_rtcp(ssrc, srtcp_index);
                let ei = e_index.to_be_bytes();
                let (head, body) = buf.split_at_mut(8);
                let tag = self.rtcp.seal(&iv, &[head, &ei], &mut [body])?;
                buf.extend_from_slice(&tag);
                buf.extend_from_slice(&ei);
            }
            _ => {
                if encrypted {
                    let iv = self.rtcp.ctr_iv(ssrc, u64::from(srtcp_index));
                    self.rtcp.ctr(&iv, &mut [&mut buf[8..]])?;
                }
                buf.extend_from_slice(&e_index.to_be_bytes());
                let tag = self.rtcp.auth_tag(&[buf])?;
                buf.extend_from_slice(&tag[..self.profile.rtcp_tag_len()]);
            }
        }
        self.stats.rtcp_protected += 1;
        Ok(())
    }

    /// Unprotects an SRTCP packet in place.
    pub fn unprotect_rtcp(&mut self, buf: &mut Vec<u8>) -> Result<(), Error> {
        let tag_len = self.profile.rtcp_tag_len();
        let ssrc = match header::rtcp_ssrc(buf) {
            Ok(s) if buf.len() >= 8 + 4 + tag_len => s,
            Ok(_) => return self.bad(Error::TooShort),
            Err(e) => return self.bad(e),
        };
        let known = self.lookup(ssrc, true)?;
        let n = buf.len();
        // AEAD: ... ‖ tag ‖ E‖index. HMAC: ... ‖ E‖index ‖ tag.
        let (ei_at, body_end) = if self.profile.is_aead() {
            (n - 4, n - 4 - tag_len)
        } else {
            (n - tag_len - 4, n - tag_len - 4)
        };
        let e_index =
            u32::from_be_bytes([buf[ei_at], buf[ei_at + 1], buf[ei_at + 2], buf[ei_at + 3]]);
        let encrypted = e_index & E_FLAG != 0;
        let srtcp_index = e_index & !E_FLAG;
        let replay_ok = match known {
            Some(i) => self.ssrcs[i].rtcp_replay.check(u64::from(srtcp_index)),
            None => true,
        };
        if !replay_ok {
            return self.bad(Error::Replayed);
        }
        let result = match self.profile {
            Profile::AeadAes128Gcm | Profile::AeadAes256Gcm => {
                let iv = self.rtcp.gcm_iv_rtcp(ssrc, srtcp_index);
                let ei = e_index.to_be_bytes();
                let (head, rest) = buf.split_at_mut(if encrypted { 8 } else { body_end });
                let (body, tail) = rest.split_at_mut(body_end - head.len());
                let tag = &tail[..tag_len];
                if encrypted {
                    self.rtcp.open(&iv, &[head, &ei], &mut [body], tag)
                } else {
                    self.rtcp.open(&iv, &[head, &ei], &mut [], tag)
                }
            }
            _ => {
                let expect = self.rtcp.auth_tag(&[&buf[..n - tag_len]])?;
                if !openssl::memcmp::eq(&expect[..tag_len], &buf[n - tag_len..]) {
                    Err(Error::AuthFailed)
                } else if encrypted {
                    let iv = self.rtcp.ctr_iv(ssrc, u64::from(srtcp_index));
                    self.rtcp.ctr(&iv, &mut [&mut buf[8..body_end]])
                } else {
                    Ok(())
                }
            }
        };
        if let Err(e) = result {
            return self.bad(e);
        }
        buf.truncate(body_end);
        let i = match known {
            Some(i) => i,
            None => self.insert(ssrc, 0),
        };
        self.ssrcs[i].rtcp_replay.accept(u64::from(srtcp_index));
        self.stats.rtcp_unprotected += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// A context from RFC 7714's session keys (its vectors skip the KDF).
    fn with_session_keys(profile: Profile, key: &[u8], salt: &[u8]) -> Context {
        Context {
            profile,
            config: Config::default(),
            rtp: Keys::from_session(profile, key, salt, &[]).unwrap(),
            rtcp: Keys::from_session(profile, key, salt, &[]).unwrap(),
            ssrcs: Vec::new(),
            stats: Stats::default(),
        }
    }

    const KEY128: &str = "000102030405060708090a0b0c0d0e0f";
    const KEY256: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const SALT: &str = "517569642070726f2071756f";
    const RTP: &str = "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e69732064697669736120696e207061727465732074726573";
    const RTCP: &str = "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef";

    #[test]
    fn rfc7714_16_srtp_gcm_vectors() {
        for (profile, key, want) in [
            (
                Profile::AeadAes128Gcm,
                KEY128,
                "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f42a5f47a51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce",
            ),
            (
                Profile::AeadAes256Gcm,
                KEY256,
                "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3b50b2a0276ffae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13",
            ),
        ] {
            let mut tx = with_session_keys(profile, &hex(key), &hex(SALT));
            let mut buf = hex(RTP);
            tx.protect_rtp(&mut buf).unwrap();
            assert_eq!(buf, hex(want), "{profile:?}");
            let mut rx = with_session_keys(profile, &hex(key), &hex(SALT));
            rx.unprotect_rtp(&mut buf).unwrap();
            assert_eq!(buf, hex(RTP));
        }
    }

    #[test]
    fn rfc7714_17_srtcp_gcm_vectors() {
        // 17.1 (AES-128, E = 1) protect and unprotect at SRTCP index 0x5d4.
        let want = hex(
            "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1730d6fda4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4",
        );
        let mut tx = with_session_keys(Profile::AeadAes128Gcm, &hex(KEY128), &hex(SALT));
        tx.ssrcs.push(SsrcState::new(0x4d61_7273, 0, 64));
        tx.ssrcs[0].rtcp_index = 0x5d4;
        let mut buf = hex(RTCP);
        tx.protect_rtcp(&mut buf).unwrap();
        assert_eq!(buf, want);
        let mut rx = with_session_keys(Profile::AeadAes128Gcm, &hex(KEY128), &hex(SALT));
        rx.unprotect_rtcp(&mut buf).unwrap();
        assert_eq!(buf, hex(RTCP));
        // 17.2 (AES-256, E = 1), 17.3 (AES-128, E = 0) and 17.4 (AES-256, E = 0): unprotect.
        for (profile, key, packet) in [
            (
                Profile::AeadAes256Gcm,
                KEY256,
                "81c8000d4d617273d50ae4d1f5ce5d304ba297e47d470c282c3ece5dbffe0a50a2eaa5c1110555be8415f658c61de0476f1b6fad1d1eb30c4446839f57ff6f6cb26ac3be800005d4",
            ),
            (
                Profile::AeadAes128Gcm,
                KEY128,
                "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef841dd9683dd78ec92ae58790125f62b3000005d4",
            ),
            (
                Profile::AeadAes256Gcm,
                KEY256,
                "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61deadbeefdeadbeefdeadbeefdeadbeefdeadbeef91db4afbfeee5a978fab4393ed2615fe000005d4",
            ),
        ] {
            let mut rx = with_session_keys(profile, &hex(key), &hex(SALT));
            let mut buf = hex(packet);
            rx.unprotect_rtcp(&mut buf).unwrap();
            assert_eq!(buf, hex(RTCP), "{profile:?}");
            // The same packet again is a replay.
            let mut again = hex(packet);
            assert_eq!(rx.unprotect_rtcp(&mut again), Err(Error::Replayed));
        }
    }

    #[test]
    fn roc_estimation_follows_rfc3711_appendix_a() {
        let mut s = SsrcState::new(1, 65_000, 64);
        assert_eq!(s.estimate_roc(100), 1); // wrapped forward
        s.update(1, 100);
        assert_eq!((s.roc, s.highest_seq), (1, 100));
        assert_eq!(s.estimate_roc(65_500), 0); // a late packet from before the wrap
        s.update(0, 65_500);
        assert_eq!((s.roc, s.highest_seq), (1, 100));
        assert_eq!(s.estimate_roc(30_000), 1);
    }
}
