//! Certificates and their fingerprints (the W3C `RTCCertificate`, RFC 8122 §5).

use std::fmt;
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509, X509NameBuilder, X509Ref};

use crate::error::Error;

/// The key type of a generated certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyType {
    /// ECDSA on P-256: the WebRTC default (small, fast handshakes).
    #[default]
    EcdsaP256,
    /// RSA with a 2048-bit modulus, for peers that need it.
    Rsa2048,
}

/// A certificate and its private key: a DTLS endpoint's identity.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use weft_dtls::{Certificate, HashAlgorithm, KeyType};
/// let now = SystemTime::now();
/// let cert = Certificate::generate(KeyType::EcdsaP256, now, Duration::from_secs(30 * 86400))?;
/// let fp = cert.fingerprint(HashAlgorithm::Sha256)?;
/// assert!(fp.to_string().starts_with("sha-256 "));
/// let again = Certificate::from_pem(&cert.certificate_pem()?, &cert.private_key_pem()?)?;
/// assert_eq!(again.fingerprint(HashAlgorithm::Sha256)?, fp);
/// # Ok::<(), weft_dtls::Error>(())
/// ```
#[derive(Clone)]
pub struct Certificate {
    x509: X509,
    key: PKey<Private>,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The key never appears in logs (STYLE.md §6); the fingerprint identifies it.
        match self.fingerprint(HashAlgorithm::Sha256) {
            Ok(fp) => write!(f, "Certificate({fp})"),
            Err(_) => f.write_str("Certificate(..)"),
        }
    }
}

impl Certificate {
    /// A self-signed certificate valid from an hour before `now` (for peers whose clocks lag)
    /// until `now + expires`. The subject is a random name, as browsers use.
    pub fn generate(key_type: KeyType, now: SystemTime, expires: Duration) -> Result<Self, Error> {
        let key = match key_type {
            KeyType::EcdsaP256 => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
                PKey::from_ec_key(EcKey::generate(&group)?)?
            }
            KeyType::Rsa2048 => PKey::from_rsa(Rsa::generate(2048)?)?,
        };
        let mut serial = BigNum::new()?;
        serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
        let mut cn = [0u8; 8];
        openssl::rand::rand_bytes(&mut cn)?;
        let cn: String = cn.iter().map(|b| format!("{b:02x}")).collect();
        let mut name = X509NameBuilder::new()?;
        name.append_entry_by_nid(Nid::COMMONNAME, &format!("weft-{cn}"))?;
        let name = name.build();
        let unix = |t: SystemTime| -> Result<i64, Error> {
            let secs = t
                .duration_since(UNIX_EPOCH)
                .map_err(|_| Error::BadTime)?
                .as_secs();
            i64::try_from(secs).map_err(|_| Error::BadTime)
        };
        let not_before = unix(now)? - 3600;
        let not_after = unix(now.checked_add(expires).ok_or(Error::BadTime)?)?;
        let serial = serial.to_asn1_integer()?;
        let not_before = Asn1Time::from_unix(not_before)?;
        let not_after = Asn1Time::from_unix(not_after)?;
        let mut b = X509::builder()?;
        b.set_version(2)?;
        b.set_serial_number(&serial)?;
        b.set_subject_name(&name)?;
        b.set_issuer_name(&name)?;
        b.set_pubkey(&key)?;
        b.set_not_before(&not_before)?;
        b.set_not_after(&not_after)?;
        b.sign(&key, MessageDigest::sha256())?;
        Ok(Certificate {
            x509: b.build(),
            key,
        })
    }

    /// A certificate and key from PEM, for a service that keeps its identity across runs.
    /// Fails when the key does not belong to the certificate.
    pub fn from_pem(certificate: &[u8], private_key: &[u8]) -> Result<Self, Error> {
        let x509 = X509::from_pem(certificate)?;
        let key = PKey::private_key_from_pem(private_key)?;
        if !x509.public_key()?.public_eq(&key) {
            return Err(Error::KeyMismatch);
        }
        Ok(Certificate { x509, key })
    }

    /// The certificate in PEM.
    pub fn certificate_pem(&self) -> Result<Vec<u8>, Error> {
        Ok(self.x509.to_pem()?)
    }

    /// The private key in PKCS#8 PEM. Keep it secret.
    pub fn private_key_pem(&self) -> Result<Vec<u8>, Error> {
        Ok(self.key.private_key_to_pem_pkcs8()?)
    }

    /// The fingerprint to put in SDP (`a=fingerprint`).
    pub fn fingerprint(&self, algorithm: HashAlgorithm) -> Result<Fingerprint, Error> {
        Fingerprint::of(&self.x509, algorithm)
    }

    /// When the certificate stops being valid (`RTCCertificate.expires`).
    pub fn expires(&self) -> Result<SystemTime, Error> {
        let epoch = Asn1Time::from_unix(0)?;
        let diff = epoch.diff(self.x509.not_after())?;
        let secs = i64::from(diff.days) * 86400 + i64::from(diff.secs);
        let secs = u64::try_from(secs).map_err(|_| Error::BadTime)?;
        Ok(UNIX_EPOCH + Duration::from_secs(secs))
    }

    pub(crate) fn x509(&self) -> &X509 {
        &self.x509
    }

    pub(crate) fn key(&self) -> &PKey<Private> {
        &self.key
    }
}

/// A hash function of certificate fingerprints (RFC 8122 §5, the IANA "Hash Function
/// Textual Names").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// `sha-1`.
    Sha1,
    /// `sha-224`.
    Sha224,
    /// `sha-256`: what browsers use.
    Sha256,
    /// `sha-384`.
    Sha384,
    /// `sha-512`.
    Sha512,
}

impl HashAlgorithm {
    /// The name in SDP.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha1 => "sha-1",
            HashAlgorithm::Sha224 => "sha-224",
            HashAlgorithm::Sha256 => "sha-256",
            HashAlgorithm::Sha384 => "sha-384",
            HashAlgorithm::Sha512 => "sha-512",
        }
    }

    fn digest(self) -> MessageDigest {
        match self {
            HashAlgorithm::Sha1 => MessageDigest::sha1(),
            HashAlgorithm::Sha224 => MessageDigest::sha224(),
            HashAlgorithm::Sha256 => MessageDigest::sha256(),
            HashAlgorithm::Sha384 => MessageDigest::sha384(),
            HashAlgorithm::Sha512 => MessageDigest::sha512(),
        }
    }

    fn len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha224 => 28,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }
}

/// A certificate fingerprint: `sha-256 AB:CD:…` in SDP (RFC 8122 §5).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Fingerprint {
    /// The hash function.
    pub algorithm: HashAlgorithm,
    /// The digest of the DER certificate.
    pub value: Vec<u8>,
}

impl Fingerprint {
    /// The fingerprint of a certificate.
    pub fn of(cert: &X509Ref, algorithm: HashAlgorithm) -> Result<Self, Error> {
        Ok(Fingerprint {
            algorithm,
            value: cert.digest(algorithm.digest())?.to_vec(),
        })
    }

    /// Whether `cert` has this fingerprint (compared in constant time).
    pub fn matches(&self, cert: &X509Ref) -> bool {
        match Fingerprint::of(cert, self.algorithm) {
            Ok(fp) => {
                fp.value.len() == self.value.len() && openssl::memcmp::eq(&fp.value, &self.value)
            }
            Err(_) => false,
        }
    }
}

impl fmt::Display for Fingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.algorithm.name())?;
        for (i, b) in self.value.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { ":" })?;
            write!(f, "{b:02X}")?;
        }
        Ok(())
    }
}

/// Why a fingerprint string was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FingerprintError {
    /// The hash function is not one of sha-1/224/256/384/512.
    #[error("unknown hash function {0:?}")]
    UnknownHash(String),
    /// The value is not colon-separated hex bytes of the hash's length.
    #[error("fingerprint value must be {0} colon-separated hex bytes")]
    BadValue(usize),
}

impl FromStr for Fingerprint {
    type Err = FingerprintError;

    /// Parses the value of an `a=fingerprint` line (hash names and hex digits are
    /// case-insensitive, RFC 8122 §5).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (hash, value) = s
            .split_once(' ')
            .ok_or_else(|| FingerprintError::UnknownHash(s.chars().take(16).collect()))?;
        let algorithm = match hash.to_ascii_lowercase().as_str() {
            "sha-1" => HashAlgorithm::Sha1,
            "sha-224" => HashAlgorithm::Sha224,
            "sha-256" => HashAlgorithm::Sha256,
            "sha-384" => HashAlgorithm::Sha384,
            "sha-512" => HashAlgorithm::Sha512,
            other => {
                return Err(FingerprintError::UnknownHash(
                    other.chars().take(16).collect(),
                ));
            }
        };
        let bad = || FingerprintError::BadValue(algorithm.len());
        let value = value
            .trim()
            .split(':')
            .map(|h| {
                if h.len() == 2 {
                    u8::from_str_radix(h, 16).map_err(|_| bad())
                } else {
                    Err(bad())
                }
            })
            .collect::<Result<Vec<u8>, _>>()?;
        if value.len() != algorithm.len() {
            return Err(bad());
        }
        Ok(Fingerprint { algorithm, value })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::disallowed_methods)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn generates_both_key_types_with_the_requested_expiry() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);
        for kt in [KeyType::EcdsaP256, KeyType::Rsa2048] {
            let c = Certificate::generate(kt, now, Duration::from_secs(86400)).unwrap();
            assert_eq!(c.expires().unwrap(), now + Duration::from_secs(86400));
            let fp = c.fingerprint(HashAlgorithm::Sha256).unwrap();
            assert!(fp.matches(c.x509()));
        }
    }

    #[test]
    fn pem_round_trip_keeps_identity_and_rejects_a_foreign_key() {
        let now = SystemTime::now();
        let a = Certificate::generate(KeyType::EcdsaP256, now, Duration::from_secs(60)).unwrap();
        let b = Certificate::generate(KeyType::EcdsaP256, now, Duration::from_secs(60)).unwrap();
        let again =
            Certificate::from_pem(&a.certificate_pem().unwrap(), &a.private_key_pem().unwrap())
                .unwrap();
        for alg in [
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha224,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ] {
            assert_eq!(again.fingerprint(alg).unwrap(), a.fingerprint(alg).unwrap());
            assert_eq!(a.fingerprint(alg).unwrap().value.len(), alg.len());
        }
        assert!(matches!(
            Certificate::from_pem(&a.certificate_pem().unwrap(), &b.private_key_pem().unwrap()),
            Err(Error::KeyMismatch)
        ));
    }

    #[test]
    fn parses_browser_fingerprints() {
        let chrome = "sha-256 5E:1D:2F:27:FB:22:37:AD:FF:4C:3A:4A:18:31:B2:1C:6E:F2:FA:77:30:1B:E5:77:FB:90:B5:3D:42:3E:2C:53";
        let fp: Fingerprint = chrome.parse().unwrap();
        assert_eq!(fp.algorithm, HashAlgorithm::Sha256);
        assert_eq!(fp.to_string(), chrome);
        let lower: Fingerprint = chrome
            .to_lowercase()
            .replace("sha-256", "SHA-256")
            .parse()
            .unwrap();
        assert_eq!(lower, fp);
        assert_eq!(
            "md5 AA".parse::<Fingerprint>(),
            Err(FingerprintError::UnknownHash("md5".into()))
        );
        assert_eq!(
            "sha-1 AA:BB".parse::<Fingerprint>(),
            Err(FingerprintError::BadValue(20))
        );
        assert_eq!(
            "sha-1".parse::<Fingerprint>(),
            Err(FingerprintError::UnknownHash("sha-1".into()))
        );
        assert!("sha-256 5E:1D:2F:27:FB:22:37:AD:FF:4C:3A:4A:18:31:B2:1C:6E:F2:FA:77:30:1B:E5:77:FB:90:B5:3D:42:3E:2C:5G"
            .parse::<Fingerprint>()
            .is_err());
    }

    proptest! {
        #[test]
        fn fingerprint_text_round_trips(alg in 0usize..5, bytes in proptest::collection::vec(any::<u8>(), 64)) {
            let algorithm = [HashAlgorithm::Sha1, HashAlgorithm::Sha224, HashAlgorithm::Sha256,
                             HashAlgorithm::Sha384, HashAlgorithm::Sha512][alg];
            let fp = Fingerprint { algorithm, value: bytes[..algorithm.len()].to_vec() };
            prop_assert_eq!(fp.to_string().parse::<Fingerprint>().unwrap(), fp);
        }

        #[test]
        fn fingerprint_parsing_never_panics(s in "\\PC{0,200}") {
            let _ = s.parse::<Fingerprint>();
        }
    }
}
