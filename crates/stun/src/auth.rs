//! The long-term credential mechanism (RFC 8489 §9.2): both ends, as plain state holders.
//!
//! [`LongTermServer`] issues nonces and checks requests; [`LongTermClient`] answers challenges
//! and signs requests. Neither sends anything: the usage (a TURN client or server, a STUN
//! server that wants authentication) calls them around its own transactions.
//!
//! ```
//! use std::time::Instant;
//! use weft_stun::{Attribute, Class, LongTermClient, LongTermServer, LongTermServerConfig,
//!     Message, Method, TransactionId, User};
//!
//! let now = Instant::now();
//! let from = "192.0.2.1:5000".parse().unwrap();
//! let mut server = LongTermServer::new(LongTermServerConfig {
//!     realm: "example.org".into(),
//!     rng_seed: Some([1; 32]),
//!     ..Default::default()
//! });
//! let mut client = LongTermClient::new("alice", "secret")?;
//!
//! // 1. The first request carries no credentials and is challenged with 401.
//! let req = Message::new(Class::Request, Method::ALLOCATE, TransactionId::new([1; 12]));
//! let challenge = server.check(now, from, &Message::decode(&req.to_vec(None, false)?).unwrap())
//!     .unwrap_err();
//! let mut out = Vec::new();
//! server.write_challenge(now, from, &req, challenge, &mut out)?;
//! assert!(client.handle_challenge(&Message::decode(&out).unwrap())?);
//!
//! // 2. The retry is signed; the server finds the user and verifies it.
//! let mut retry = Message::new(Class::Request, Method::ALLOCATE, TransactionId::new([2; 12]));
//! let integrity = client.authenticate(&mut retry)?;
//! let bytes = retry.to_vec(Some(integrity), true)?;
//! let msg = Message::decode(&bytes).unwrap();
//! let user = server.check(now, from, &msg).unwrap();
//! assert_eq!(user, User::Name("alice"));
//! let key = server.verify(&msg, "alice", "secret").unwrap();
//! # let _ = key;
//! # Ok::<(), weft_stun::Error>(())
//! ```

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};

use crate::error::Error;
use crate::integrity::{IntegrityKey, opaque_string, userhash};
use crate::nonce::{NONCE_COOKIE, SecurityFeatures};
use crate::wire::attr::{Attribute, ErrorCode, PasswordAlgorithm};
use crate::wire::{Class, Integrity, Message};

/// Settings of a [`LongTermServer`].
#[derive(Debug, Clone)]
pub struct LongTermServerConfig {
    /// The realm announced in challenges.
    pub realm: String,
    /// How long a nonce stays valid; after that requests get 438 Stale Nonce.
    pub nonce_lifetime: Duration,
    /// Offer SHA-256 (preferred) and MD5 in PASSWORD-ALGORITHMS. Without it only MD5 is
    /// used and no PASSWORD-ALGORITHMS is sent (an RFC 5389 server).
    pub offer_sha256: bool,
    /// Accept USERHASH in place of USERNAME (RFC 8489 §9.2.1 "username anonymity").
    pub username_anonymity: bool,
    /// The seed of the nonce key; OS entropy when `None`.
    pub rng_seed: Option<[u8; 32]>,
}

impl Default for LongTermServerConfig {
    fn default() -> Self {
        LongTermServerConfig {
            realm: "weft".into(),
            nonce_lifetime: Duration::from_secs(600),
            offer_sha256: true,
            username_anonymity: false,
            rng_seed: None,
        }
    }
}

/// Why a request was not accepted, with the error the server should answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Challenge {
    /// 401: no credentials yet, an unknown user or a wrong password; answer with a fresh
    /// nonce and the realm.
    Unauthenticated,
    /// 438: the nonce expired or was not issued to this client; answer with a fresh one.
    StaleNonce,
    /// 400: credentials incomplete, or the password algorithms do not match what the nonce
    /// offered (a bid-down attempt, RFC 8489 §9.2.4).
    BadRequest,
}

impl Challenge {
    /// The error code to answer with.
    pub fn error_code(self) -> ErrorCode<'static> {
        match self {
            Challenge::Unauthenticated => ErrorCode::UNAUTHENTICATED,
            Challenge::StaleNonce => ErrorCode::STALE_NONCE,
            Challenge::BadRequest => ErrorCode::BAD_REQUEST,
        }
    }
}

/// Who a request claims to come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum User<'m> {
    /// The USERNAME, as the client prepared it.
    Name(&'m str),
    /// A USERHASH: compare with [`userhash`] of each known username and the realm.
    Hash([u8; 32]),
}

/// The server side of the long-term credential mechanism.
///
/// Nonces are stateless: the issue time and a MAC over it and the client's address, so any
/// number of clients cost no memory. [`LongTermServer::check`] sorts a request into "look up
/// this user" or a [`Challenge`]; [`LongTermServer::verify`] checks its integrity with the
/// password the caller found.
#[derive(Debug)]
pub struct LongTermServer {
    config: LongTermServerConfig,
    secret: IntegrityKey,
    epoch: Option<Instant>,
}

/// The nonce's own part after the cookie: 8 hex digits of issue time, 24 of MAC.
const NONCE_BODY: usize = 8 + 24;

impl LongTermServer {
    /// A server with a fresh nonce key.
    pub fn new(config: LongTermServerConfig) -> Self {
        let seed = config.rng_seed.unwrap_or_else(crate::client::os_seed);
        let mut rng = ChaCha20Rng::from_seed(seed);
        let mut key = [0u8; 32];
        rng.fill_bytes(&mut key);
        LongTermServer {
            config,
            secret: IntegrityKey::from_bytes(&key),
            epoch: None,
        }
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.config.realm
    }

    fn features(&self) -> SecurityFeatures {
        SecurityFeatures {
            password_algorithms: self.config.offer_sha256,
            username_anonymity: self.config.username_anonymity,
            unassigned: 0,
        }
    }

    fn algorithms(&self) -> &'static [PasswordAlgorithm<'static>] {
        if self.config.offer_sha256 {
            &[PasswordAlgorithm::Sha256, PasswordAlgorithm::Md5]
        } else {
            &[PasswordAlgorithm::Md5]
        }
    }

    fn seconds(&self, now: Instant) -> u32 {
        self.epoch
            .map_or(0, |e| now.saturating_duration_since(e).as_secs() as u32)
    }

    fn nonce_mac(&self, issued: u32, source: SocketAddr) -> [u8; 32] {
        let mut data = Vec::with_capacity(4 + 18);
        data.extend_from_slice(&issued.to_be_bytes());
        match source {
            SocketAddr::V4(a) => data.extend_from_slice(&a.ip().octets()),
            SocketAddr::V6(a) => data.extend_from_slice(&a.ip().octets()),
        }
        data.extend_from_slice(&source.port().to_be_bytes());
        self.secret.hmac_sha256(&data)
    }

    /// A nonce for `source`: the RFC 8489 nonce cookie, then the issue time and a MAC.
    fn make_nonce(&self, now: Instant, source: SocketAddr) -> String {
        let issued = self.seconds(now);
        let mut s = self.features().nonce("");
        let _ = write!(s, "{issued:08x}");
        for b in &self.nonce_mac(issued, source)[..12] {
            let _ = write!(s, "{b:02x}");
        }
        s
    }

    fn nonce_is_fresh(&self, now: Instant, source: SocketAddr, nonce: &str) -> bool {
        if self.epoch.is_none() {
            // No nonce was ever issued.
            return false;
        }
        let Some(body) = nonce.get(NONCE_COOKIE.len() + 4..) else {
            return false;
        };
        // ASCII first: the slicing below must not split a multi-byte character.
        if body.len() != NONCE_BODY
            || !body.is_ascii()
            || !nonce.starts_with(&self.features().nonce(""))
        {
            return false;
        }
        let Ok(issued) = u32::from_str_radix(&body[..8], 16) else {
            return false;
        };
        let mac = self.nonce_mac(issued, source);
        let mut expect = String::with_capacity(24);
        for b in &mac[..12] {
            let _ = write!(expect, "{b:02x}");
        }
        let age = self.seconds(now).saturating_sub(issued);
        openssl::memcmp::eq(expect.as_bytes(), &body.as_bytes()[8..])
            && u64::from(age) < self.config.nonce_lifetime.as_secs()
            && issued <= self.seconds(now)
    }

    /// Sorts a request (RFC 8489 §9.2.4): `Ok(user)` when it carries complete credentials
    /// with a fresh nonce, so the caller should look up that user's password and call
    /// [`LongTermServer::verify`]; otherwise the challenge to answer with.
    pub fn check<'m>(
        &self,
        now: Instant,
        source: SocketAddr,
        req: &Message<'m>,
    ) -> Result<User<'m>, Challenge> {
        let mut user = None;
        let (mut realm, mut nonce, mut algs, mut alg) = (None, None, None, None);
        for a in &req.attributes {
            match a {
                Attribute::Username(u) => user = Some(User::Name(u)),
                Attribute::Userhash(h) if self.config.username_anonymity => {
                    user = Some(User::Hash(*h))
                }
                Attribute::Realm(r) => realm = Some(*r),
                Attribute::Nonce(n) => nonce = Some(*n),
                Attribute::PasswordAlgorithms(l) => algs = Some(l),
                Attribute::PasswordAlgorithm(a) => alg = Some(*a),
                _ => {}
            }
        }
        if !req.has_integrity() {
            // §9.2.4 first step: no integrity at all means "tell me how".
            return Err(Challenge::Unauthenticated);
        }
        let (Some(user), Some(_realm), Some(nonce)) = (user, realm, nonce) else {
            return Err(Challenge::BadRequest);
        };
        if !self.nonce_is_fresh(now, source, nonce) {
            return Err(Challenge::StaleNonce);
        }
        // §9.2.4: with the password-algorithms feature, either both attributes are absent (MD5)
        // or PASSWORD-ALGORITHMS repeats what was offered and PASSWORD-ALGORITHM is in it.
        match (algs, alg) {
            (None, None) => {}
            (Some(list), Some(chosen))
                if self.config.offer_sha256
                    && list.as_slice() == self.algorithms()
                    && self.algorithms().contains(&chosen) => {}
            _ => return Err(Challenge::BadRequest),
        }
        Ok(user)
    }

    /// Checks the integrity of a request that [`LongTermServer::check`] accepted, with the
    /// user's username (as carried in USERNAME) and password. Returns the key, which signs the
    /// response.
    pub fn verify(
        &self,
        req: &Message<'_>,
        username: &str,
        password: &str,
    ) -> Result<IntegrityKey, Challenge> {
        let alg = req
            .attributes
            .iter()
            .find_map(|a| match a {
                Attribute::PasswordAlgorithm(a) => Some(*a),
                _ => None,
            })
            .unwrap_or(PasswordAlgorithm::Md5);
        let key = IntegrityKey::long_term(username, &self.config.realm, password, alg)
            .map_err(|_| Challenge::Unauthenticated)?;
        req.verify(&key).map_err(|_| Challenge::Unauthenticated)?;
        Ok(key)
    }

    /// Writes the error response for `challenge` to `req` (RFC 8489 §9.2.4): the error code,
    /// and for 401 and 438 the realm, a fresh nonce and the offered PASSWORD-ALGORITHMS.
    pub fn write_challenge(
        &mut self,
        now: Instant,
        source: SocketAddr,
        req: &Message<'_>,
        challenge: Challenge,
        out: &mut Vec<u8>,
    ) -> Result<(), Error> {
        self.epoch.get_or_insert(now);
        let nonce;
        let mut resp = Message::new(Class::Error, req.method, req.transaction_id)
            .with(Attribute::ErrorCode(challenge.error_code()));
        if challenge != Challenge::BadRequest {
            nonce = self.make_nonce(now, source);
            resp.push(Attribute::Realm(&self.config.realm));
            resp.push(Attribute::Nonce(&nonce));
            if self.config.offer_sha256 {
                resp.push(Attribute::PasswordAlgorithms(self.algorithms().to_vec()));
            }
        }
        resp.encode(None, true, out)
    }
}

/// The client side of the long-term credential mechanism: remembers the realm, nonce and
/// algorithm a server challenged with, and signs requests with them.
#[derive(Debug, Clone)]
pub struct LongTermClient {
    username: String,
    password: String,
    realm: Option<String>,
    nonce: Option<String>,
    offered: Option<Vec<PasswordAlgorithm<'static>>>,
    algorithm: PasswordAlgorithm<'static>,
    userhash: Option<[u8; 32]>,
    key: Option<IntegrityKey>,
    use_userhash: bool,
}

impl LongTermClient {
    /// A client with a username and password (both prepared with OpaqueString).
    pub fn new(username: &str, password: &str) -> Result<Self, Error> {
        Ok(LongTermClient {
            username: opaque_string(username, "username")?.into_owned(),
            password: opaque_string(password, "password")?.into_owned(),
            realm: None,
            nonce: None,
            offered: None,
            algorithm: PasswordAlgorithm::Md5,
            userhash: None,
            key: None,
            use_userhash: false,
        })
    }

    /// Send USERHASH instead of USERNAME when the server announces username anonymity.
    pub fn prefer_userhash(&mut self, yes: bool) {
        self.use_userhash = yes;
    }

    /// Whether a challenge was answered and requests can be signed.
    pub fn is_ready(&self) -> bool {
        self.key.is_some()
    }

    /// The algorithm in use (MD5 until a server offers SHA-256).
    pub fn algorithm(&self) -> PasswordAlgorithm<'static> {
        self.algorithm
    }

    /// The key, once a challenge was answered: verifies responses and signs requests.
    pub fn key(&self) -> Option<&IntegrityKey> {
        self.key.as_ref()
    }

    /// Learns from an error response (RFC 8489 §9.2.5). Returns whether the request should
    /// be sent again, signed: `true` after a first 401 or any 438; `false` for other errors,
    /// and for a 401 once a key for the same realm exists (the server refused it: a wrong
    /// username or password).
    pub fn handle_challenge(&mut self, resp: &Message<'_>) -> Result<bool, Error> {
        if resp.class != Class::Error {
            return Ok(false);
        }
        let Some(code) = resp.error_code() else {
            return Ok(false);
        };
        let mut realm = None;
        let mut nonce = None;
        let mut offered = None;
        for a in &resp.attributes {
            match a {
                Attribute::Realm(r) => realm = Some(*r),
                Attribute::Nonce(n) => nonce = Some(*n),
                Attribute::PasswordAlgorithms(l) => offered = Some(l),
                _ => {}
            }
        }
        match code.code {
            401 => {
                let (Some(realm), Some(nonce)) = (realm, nonce) else {
                    return Err(Error::BadChallenge("401 without REALM and NONCE"));
                };
                if self.key.is_some() && self.realm.as_deref() == Some(realm) {
                    return Ok(false);
                }
                let features = SecurityFeatures::from_nonce(nonce).unwrap_or_default();
                let algorithm = match (features.password_algorithms, offered) {
                    (true, Some(list)) => {
                        // §9.2.5: the first algorithm of the server's list that we support.
                        let pick = list
                            .iter()
                            .copied()
                            .find(|a| {
                                matches!(a, PasswordAlgorithm::Sha256 | PasswordAlgorithm::Md5)
                            })
                            .ok_or(Error::BadChallenge("no supported password algorithm"))?;
                        self.offered = Some(
                            list.iter()
                                .map(|a| match a {
                                    PasswordAlgorithm::Md5 => Ok(PasswordAlgorithm::Md5),
                                    PasswordAlgorithm::Sha256 => Ok(PasswordAlgorithm::Sha256),
                                    // Parameters of unknown algorithms would have to be echoed
                                    // byte for byte; a list holding one is refused.
                                    PasswordAlgorithm::Other { .. } => Err(Error::BadChallenge(
                                        "unknown password algorithm with parameters",
                                    )),
                                })
                                .collect::<Result<_, _>>()?,
                        );
                        match pick {
                            PasswordAlgorithm::Sha256 => PasswordAlgorithm::Sha256,
                            _ => PasswordAlgorithm::Md5,
                        }
                    }
                    // §9.2.5: a nonce that announces the feature without the list is a
                    // bid-down attempt.
                    (true, None) => {
                        return Err(Error::BadChallenge(
                            "password algorithms announced but not listed",
                        ));
                    }
                    (false, _) => {
                        self.offered = None;
                        PasswordAlgorithm::Md5
                    }
                };
                let realm = opaque_string(realm, "realm")?.into_owned();
                self.key = Some(IntegrityKey::long_term(
                    &self.username,
                    &realm,
                    &self.password,
                    algorithm,
                )?);
                self.userhash = if self.use_userhash && features.username_anonymity {
                    Some(userhash(&self.username, &realm)?)
                } else {
                    None
                };
                self.algorithm = algorithm;
                self.realm = Some(realm);
                self.nonce = Some(nonce.to_string());
                Ok(true)
            }
            438 => {
                let Some(nonce) = nonce else {
                    return Err(Error::BadChallenge("438 without NONCE"));
                };
                self.nonce = Some(nonce.to_string());
                if let Some(r) = realm {
                    self.realm = Some(opaque_string(r, "realm")?.into_owned());
                }
                Ok(self.key.is_some())
            }
            _ => Ok(false),
        }
    }

    /// Adds the credentials to `msg` (USERNAME or USERHASH, REALM, NONCE, and the password
    /// algorithms when negotiated) and returns the integrity to encode it with.
    pub fn authenticate<'a>(&'a self, msg: &mut Message<'a>) -> Result<Integrity<'a>, Error> {
        let (Some(key), Some(realm), Some(nonce)) = (&self.key, &self.realm, &self.nonce) else {
            return Err(Error::NoCredentials);
        };
        match &self.userhash {
            Some(h) => msg.push(Attribute::Userhash(*h)),
            None => msg.push(Attribute::Username(&self.username)),
        };
        msg.push(Attribute::Realm(realm));
        msg.push(Attribute::Nonce(nonce));
        if let Some(list) = &self.offered {
            msg.push(Attribute::PasswordAlgorithms(list.clone()));
            msg.push(Attribute::PasswordAlgorithm(self.algorithm));
        }
        Ok(match self.algorithm {
            PasswordAlgorithm::Sha256 => Integrity::Sha256 { key, len: 32 },
            _ => Integrity::Sha1(key),
        })
    }

    /// Checks a response's integrity with the current key.
    pub fn verify_response(&self, resp: &Message<'_>) -> Result<(), Error> {
        resp.verify(self.key.as_ref().ok_or(Error::NoCredentials)?)
    }
}

#[cfg(test)]
mod tests {
    // Tests pick an arbitrary origin for the time they pass in.
    #![allow(clippy::disallowed_methods)]

    use super::*;
    use crate::wire::{Method, TransactionId};

    const FROM: &str = "192.0.2.1:5000";

    fn server(sha256: bool, anonymity: bool) -> LongTermServer {
        LongTermServer::new(LongTermServerConfig {
            realm: "example.org".into(),
            offer_sha256: sha256,
            username_anonymity: anonymity,
            rng_seed: Some([9; 32]),
            ..Default::default()
        })
    }

    fn request(id: u8) -> Message<'static> {
        Message::new(
            Class::Request,
            Method::ALLOCATE,
            TransactionId::new([id; 12]),
        )
    }

    /// Runs the 401 round and returns the signed retry's bytes.
    fn handshake(s: &mut LongTermServer, c: &mut LongTermClient, now: Instant) -> Vec<u8> {
        let from = FROM.parse().unwrap();
        let first = request(1).to_vec(None, false).unwrap();
        let first = Message::decode(&first).unwrap();
        let ch = s.check(now, from, &first).unwrap_err();
        assert_eq!(ch, Challenge::Unauthenticated);
        let mut out = Vec::new();
        s.write_challenge(now, from, &first, ch, &mut out).unwrap();
        assert!(c.handle_challenge(&Message::decode(&out).unwrap()).unwrap());
        sign(c, 2)
    }

    fn sign(c: &LongTermClient, id: u8) -> Vec<u8> {
        let mut retry = request(id);
        let integrity = c.authenticate(&mut retry).unwrap();
        retry.to_vec(Some(integrity), true).unwrap()
    }

    #[test]
    fn negotiates_sha256_and_verifies() {
        let now = Instant::now();
        let mut s = server(true, false);
        let mut c = LongTermClient::new("alice", "secret").unwrap();
        let bytes = handshake(&mut s, &mut c, now);
        assert_eq!(c.algorithm(), PasswordAlgorithm::Sha256);
        let msg = Message::decode(&bytes).unwrap();
        assert!(msg.get(crate::AttrType::MESSAGE_INTEGRITY_SHA256).is_some());
        assert_eq!(
            s.check(now, FROM.parse().unwrap(), &msg),
            Ok(User::Name("alice"))
        );
        let key = s.verify(&msg, "alice", "secret").unwrap();
        assert_eq!(key.as_bytes(), c.key().unwrap().as_bytes());
        assert_eq!(
            s.verify(&msg, "alice", "wrong").unwrap_err(),
            Challenge::Unauthenticated
        );
    }

    #[test]
    fn rfc5389_server_means_md5_without_algorithm_attributes() {
        let now = Instant::now();
        let mut s = server(false, false);
        let mut c = LongTermClient::new("alice", "secret").unwrap();
        let bytes = handshake(&mut s, &mut c, now);
        assert_eq!(c.algorithm(), PasswordAlgorithm::Md5);
        let msg = Message::decode(&bytes).unwrap();
        assert!(msg.get(crate::AttrType::PASSWORD_ALGORITHM).is_none());
        assert!(s.check(now, FROM.parse().unwrap(), &msg).is_ok());
        s.verify(&msg, "alice", "secret").unwrap();
    }

    #[test]
    fn bid_down_is_refused() {
        let now = Instant::now();
        let mut s = server(true, false);
        let mut c = LongTermClient::new("alice", "secret").unwrap();
        handshake(&mut s, &mut c, now);
        // An attacker strips SHA-256 from the echoed list: the server sees the mismatch.
        let key = IntegrityKey::long_term("alice", "example.org", "secret", PasswordAlgorithm::Md5)
            .unwrap();
        let nonce = c.nonce.clone().unwrap();
        let forged = request(3)
            .with(Attribute::Username("alice"))
            .with(Attribute::Realm("example.org"))
            .with(Attribute::Nonce(&nonce))
            .with(Attribute::PasswordAlgorithms(vec![PasswordAlgorithm::Md5]))
            .with(Attribute::PasswordAlgorithm(PasswordAlgorithm::Md5))
            .to_vec(Some(Integrity::Sha1(&key)), false)
            .unwrap();
        let msg = Message::decode(&forged).unwrap();
        assert_eq!(
            s.check(now, FROM.parse().unwrap(), &msg),
            Err(Challenge::BadRequest)
        );
    }

    #[test]
    fn client_refuses_a_challenge_that_hides_the_algorithm_list() {
        let mut c = LongTermClient::new("alice", "secret").unwrap();
        let features = SecurityFeatures {
            password_algorithms: true,
            ..Default::default()
        };
        let nonce = features.nonce("abc");
        let resp = Message::new(Class::Error, Method::ALLOCATE, TransactionId::new([1; 12]))
            .with(Attribute::ErrorCode(ErrorCode::UNAUTHENTICATED))
            .with(Attribute::Realm("example.org"))
            .with(Attribute::Nonce(&nonce))
            .to_vec(None, false)
            .unwrap();
        assert!(matches!(
            c.handle_challenge(&Message::decode(&resp).unwrap()),
            Err(Error::BadChallenge(_))
        ));
    }

    #[test]
    fn stale_nonce_gets_438_and_the_client_retries() {
        let t0 = Instant::now();
        let from: SocketAddr = FROM.parse().unwrap();
        let mut s = server(true, false);
        let mut c = LongTermClient::new("alice", "secret").unwrap();
        let bytes = handshake(&mut s, &mut c, t0);
        let later = t0 + Duration::from_secs(601);
        let msg = Message::decode(&bytes).unwrap();
        let ch = s.check(later, from, &msg).unwrap_err();
        assert_eq!(ch, Challenge::StaleNonce);
        let mut out = Vec::new();
        s.write_challenge(later, from, &msg, ch, &mut out).unwrap();
        assert!(c.handle_challenge(&Message::decode(&out).unwrap()).unwrap());
        let again = sign(&c, 4);
        let msg = Message::decode(&again).unwrap();
        assert_eq!(s.check(later, from, &msg), Ok(User::Name("alice")));
        s.verify(&msg, "alice", "secret").unwrap();
    }

    #[test]
    fn nonce_is_bound_to_the_client_address() {
        let now = Instant::now();
        let mut s = server(true, false);
        let mut c = LongTermClient::new("alice", "secret").unwrap();
        let bytes = handshake(&mut s, &mut c, now);
        let msg = Message::decode(&bytes).unwrap();
        let elsewhere = "192.0.2.99:5000".parse().unwrap();
        assert_eq!(s.check(now, elsewhere, &msg), Err(Challenge::StaleNonce));
    }

    #[test]
    fn wrong_password_is_not_retried_forever() {
        let now = Instant::now();
        let from: SocketAddr = FROM.parse().unwrap();
        let mut s = server(true, false);
        let mut c = LongTermClient::new("alice", "wrong").unwrap();
        let bytes = handshake(&mut s, &mut c, now);
        let msg = Message::decode(&bytes).unwrap();
        let ch = s.verify(&msg, "alice", "secret").unwrap_err();
        let mut out = Vec::new();
        s.write_challenge(now, from, &msg, ch, &mut out).unwrap();
        assert!(!c.handle_challenge(&Message::decode(&out).unwrap()).unwrap());
    }

    #[test]
    fn incomplete_credentials_are_a_bad_request() {
        let now = Instant::now();
        let from: SocketAddr = FROM.parse().unwrap();
        let mut s = server(true, false);
        let mut out = Vec::new();
        let first = request(1).to_vec(None, false).unwrap();
        s.write_challenge(
            now,
            from,
            &Message::decode(&first).unwrap(),
            Challenge::Unauthenticated,
            &mut out,
        )
        .unwrap();
        let key = IntegrityKey::short_term("x").unwrap();
        let no_realm = request(5)
            .with(Attribute::Username("alice"))
            .to_vec(Some(Integrity::Sha1(&key)), false)
            .unwrap();
        let msg = Message::decode(&no_realm).unwrap();
        assert_eq!(s.check(now, from, &msg), Err(Challenge::BadRequest));
        let mut out = Vec::new();
        s.write_challenge(now, from, &msg, Challenge::BadRequest, &mut out)
            .unwrap();
        let resp = Message::decode(&out).unwrap();
        assert_eq!(resp.error_code().unwrap().code, 400);
        assert!(resp.get(crate::AttrType::NONCE).is_none());
    }

    #[test]
    fn userhash_replaces_username_when_the_server_allows_it() {
        let now = Instant::now();
        let mut s = server(true, true);
        let mut c = LongTermClient::new("alice", "secret").unwrap();
        c.prefer_userhash(true);
        let bytes = handshake(&mut s, &mut c, now);
        let msg = Message::decode(&bytes).unwrap();
        assert!(msg.username().is_none());
        let want = userhash("alice", "example.org").unwrap();
        assert_eq!(
            s.check(now, FROM.parse().unwrap(), &msg),
            Ok(User::Hash(want))
        );
        s.verify(&msg, "alice", "secret").unwrap();
    }

    #[test]
    fn forged_nonces_are_stale_not_a_panic() {
        let now = Instant::now();
        let from: SocketAddr = FROM.parse().unwrap();
        let mut s = server(true, false);
        let mut c = LongTermClient::new("alice", "secret").unwrap();
        handshake(&mut s, &mut c, now);
        let key = IntegrityKey::short_term("x").unwrap();
        let prefix = s.features().nonce("");
        for body in [
            "",
            "zz",
            "é".repeat(16).as_str(),
            &"0".repeat(32),
            &"g".repeat(32),
        ] {
            let nonce = format!("{prefix}{body}");
            let bytes = request(6)
                .with(Attribute::Username("alice"))
                .with(Attribute::Realm("example.org"))
                .with(Attribute::Nonce(&nonce))
                .to_vec(Some(Integrity::Sha1(&key)), false)
                .unwrap();
            let msg = Message::decode(&bytes).unwrap();
            assert_eq!(
                s.check(now, from, &msg),
                Err(Challenge::StaleNonce),
                "{body:?}"
            );
        }
    }

    #[test]
    fn signing_before_a_challenge_is_misuse() {
        let c = LongTermClient::new("alice", "secret").unwrap();
        let mut m = request(1);
        assert!(matches!(c.authenticate(&mut m), Err(Error::NoCredentials)));
    }
}
