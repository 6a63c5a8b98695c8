//! Published vectors through the public API: libsrtp's reference packets (master key → SRTP)
//! and RFC 9335 Appendix A (cryptex, AES-CM and GCM). RFC 3711 B.3 and RFC 7714 §16-§17 are
//! unit tests of the key derivation and of the cipher code.

use weft_srtp::{Config, Context, Error, Profile};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

const CM_KEY: &str = "e1f97a0d3e018be0d64fa32c06de4139";
const CM_SALT: &str = "0ec675ad498afeebb6960b3aabe6";
const GCM_KEY: &str = "000102030405060708090a0b0c0d0e0f";
const GCM_SALT: &str = "a0a1a2a3a4a5a6a7a8a9aaab";
const RTP: &str = "800f1234decafbadcafebabeabababababababababababababababab";
const RTCP: &str = "81c8000bcafebabeabababababababababababababababab";

fn ctx(p: Profile, key: &str, salt: &str, cryptex: bool) -> Context {
    let config = Config {
        cryptex,
        ..Config::default()
    };
    Context::new(p, &hex(key), &hex(salt), config).unwrap()
}

#[test]
fn libsrtp_aes_cm_128_hmac_sha1_80_reference_packets() {
    let mut tx = ctx(Profile::Aes128CmHmacSha1_80, CM_KEY, CM_SALT, false);
    let mut buf = hex(RTP);
    tx.protect_rtp(&mut buf).unwrap();
    assert_eq!(
        buf,
        hex("800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb")
    );
    let mut rx = ctx(Profile::Aes128CmHmacSha1_80, CM_KEY, CM_SALT, false);
    rx.unprotect_rtp(&mut buf).unwrap();
    assert_eq!(buf, hex(RTP));

    // SRTCP: weft's first index is 0 (RFC 3711 §3.4); libsrtp's packet uses 1.
    let mut buf = hex(RTCP);
    tx.protect_rtcp(&mut buf).unwrap();
    assert_eq!(
        buf,
        hex("81c8000bcafebabeb19c219a086b6c7ae61d8e0bfeb4be3f800000005631d6cfc906cdb30f41")
    );
    rx.unprotect_rtcp(&mut buf).unwrap();
    assert_eq!(buf, hex(RTCP));
    let mut libsrtp =
        hex("81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798");
    rx.unprotect_rtcp(&mut libsrtp).unwrap();
    assert_eq!(libsrtp, hex(RTCP));
}

#[test]
fn libsrtp_aead_aes_128_gcm_reference_packets() {
    let mut tx = ctx(Profile::AeadAes128Gcm, GCM_KEY, GCM_SALT, false);
    let mut buf = hex(RTP);
    tx.protect_rtp(&mut buf).unwrap();
    assert_eq!(
        buf,
        hex(
            "800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a127e8a392"
        )
    );
    let mut rx = ctx(Profile::AeadAes128Gcm, GCM_KEY, GCM_SALT, false);
    rx.unprotect_rtp(&mut buf).unwrap();
    assert_eq!(buf, hex(RTP));
    let mut libsrtp = hex(
        "81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e80000001",
    );
    rx.unprotect_rtcp(&mut libsrtp).unwrap();
    assert_eq!(libsrtp, hex(RTCP));
}

/// RFC 9335 Appendix A: (RTP, SRTP) with AES-CM-HMAC-SHA1-80 (A.1) and AES-128-GCM (A.2).
const CRYPTEX: [(&str, &str, &str); 12] = [
    (
        "A.1.1",
        "900f1235decafbadcafebabebede000151000200abababababababababababababababab",
        "900f1235decafbadcafebabec0de0001eb92365251c3e036f8de27e9c27ee3e0b4651d9fbc4218a70244522f34a5",
    ),
    (
        "A.1.2",
        "900f1236decafbadcafebabe1000000105020002abababababababababababababababab",
        "900f1236decafbadcafebabec2de00014ed9cc4e6a712b3096c5ca77339d4204ce0d77396cab69585fbce38194a5",
    ),
    (
        "A.1.3",
        "920f1238decafbadcafebabe0001e2400000b26ebede000151000200abababababababababababababababab",
        "920f1238decafbadcafebabe8bb6e12b5cff16ddc0de000192838c8c09e58393e1de3a9a74734d6745671338c3acf11da2df8423bee0",
    ),
    (
        "A.1.4",
        "920f1239decafbadcafebabe0001e2400000b26e1000000105020002abababababababababababababababab",
        "920f1239decafbadcafebabef70e513eb90b9b25c2de0001bbed4848faa644665f3d7f34125914e9f4d0ae923c6f479b95a0f7b53133",
    ),
    (
        "A.1.5",
        "920f123adecafbadcafebabe0001e2400000b26ebede0000abababababababababababababababab",
        "920f123adecafbadcafebabe7130b6abfe2ab0e3c0de0000e3d9f64b25c9e74cb4cf8e43fb92e3781c2c0ceab6b3a499a14c",
    ),
    (
        "A.1.6",
        "920f123bdecafbadcafebabe0001e2400000b26e10000000abababababababababababababababab",
        "920f123bdecafbadcafebabecbf24c124330e1c8c2de0000599dd45bc9d687b603e8b59d771fd38e88b170e0cd31e125eabe",
    ),
    (
        "A.2.1",
        "900f1235decafbadcafebabebede000151000200abababababababababababababababab",
        "900f1235decafbadcafebabec0de000139972dc9572c4d99e8fc355de743fb2e94f9d8ff54e72f4193bbc5c74ffab0fa9fa0fbeb",
    ),
    (
        "A.2.2",
        "900f1236decafbadcafebabe1000000105020002abababababababababababababababab",
        "900f1236decafbadcafebabec2de0001bb75a4c545cd1f413bdb7daa2b1e3263de313667c963249081b35a65f5cb6c88b394235f",
    ),
    (
        "A.2.3",
        "920f1238decafbadcafebabe0001e2400000b26ebede000151000200abababababababababababababababab",
        "920f1238decafbadcafebabe63bbccc4a7f695c4c0de00018ad7c71fac70a80c92866b4c6ba98546ef913586e95ffaaffe956885bb0647a8bc094ac8",
    ),
    (
        "A.2.4",
        "920f1239decafbadcafebabe0001e2400000b26e1000000105020002abababababababababababababababab",
        "920f1239decafbadcafebabe3680524f8d312b00c2de0001c78d120038422bc111a7187a18246f980c059cc6bc9df8b626394eca344e4b05d80fea83",
    ),
    (
        "A.2.5",
        "920f123adecafbadcafebabe0001e2400000b26ebede0000abababababababababababababababab",
        "920f123adecafbadcafebabe15b6bb4337906fffc0de0000b7b964537a2b03ab7ba5389ce93317126b5d974df30c6884dcb651c5e120c1da",
    ),
    (
        "A.2.6",
        "920f123bdecafbadcafebabe0001e2400000b26e10000000abababababababababababababababab",
        "920f123bdecafbadcafebabedcb38c9e48bf95f4c2de000061ee432cf920317076613258d3ce4236c06ac429681ad08413512dc98b5207d8",
    ),
];

#[test]
fn rfc9335_cryptex_vectors() {
    for (name, rtp, srtp) in CRYPTEX {
        let (p, key, salt) = if name.starts_with("A.1") {
            (Profile::Aes128CmHmacSha1_80, CM_KEY, CM_SALT)
        } else {
            (Profile::AeadAes128Gcm, GCM_KEY, GCM_SALT)
        };
        let mut buf = hex(rtp);
        ctx(p, key, salt, true).protect_rtp(&mut buf).unwrap();
        assert_eq!(buf, hex(srtp), "{name} protect");
        // The receiver needs no setting: the 0xC0DE/0xC2DE profile says cryptex.
        let mut buf = hex(srtp);
        ctx(p, key, salt, false).unprotect_rtp(&mut buf).unwrap();
        assert_eq!(buf, hex(rtp), "{name} unprotect");
    }
}

#[test]
fn cryptex_adds_an_extension_for_csrcs_alone() {
    // A.1.5 without its empty extension: the sender must add c0de0000 and set X.
    let bare = "820f123adecafbadcafebabe0001e2400000b26eabababababababababababababababab";
    for (p, key, salt, want) in [
        (Profile::Aes128CmHmacSha1_80, CM_KEY, CM_SALT, CRYPTEX[4].2),
        (Profile::AeadAes128Gcm, GCM_KEY, GCM_SALT, CRYPTEX[10].2),
    ] {
        let mut buf = hex(bare);
        ctx(p, key, salt, true).protect_rtp(&mut buf).unwrap();
        assert_eq!(buf, hex(want), "{p:?}");
    }
}

#[test]
fn tampering_is_refused() {
    let mut tx = ctx(Profile::AeadAes128Gcm, GCM_KEY, GCM_SALT, false);
    let mut rx = ctx(Profile::AeadAes128Gcm, GCM_KEY, GCM_SALT, false);
    let mut buf = hex(RTP);
    tx.protect_rtp(&mut buf).unwrap();
    buf[14] ^= 1;
    assert_eq!(rx.unprotect_rtp(&mut buf), Err(Error::AuthFailed));
    assert_eq!(rx.stats().auth_failures, 1);
    // The failed packet's SSRC was not learnt.
    assert_eq!(rx.roc(0xcafe_babe), None);
    let mut short = hex(RTP)[..20].to_vec();
    assert_eq!(rx.unprotect_rtp(&mut short), Err(Error::TooShort));
}

#[test]
#[allow(clippy::disallowed_methods)] // a thread, to show the context moves to one
fn a_context_moves_between_threads() {
    // The umbrella's tokio tasks own contexts by value; the OpenSSL fast path must keep the
    // context Send (and Sync, as before it).
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Context>();
    let mut tx = ctx(Profile::AeadAes128Gcm, GCM_KEY, GCM_SALT, false);
    let mut buf = hex(RTP);
    tx.protect_rtp(&mut buf).unwrap();
    let rx = ctx(Profile::AeadAes128Gcm, GCM_KEY, GCM_SALT, false);
    let out = std::thread::spawn(move || {
        let mut rx = rx;
        rx.unprotect_rtp(&mut buf).map(|()| buf)
    })
    .join()
    .unwrap();
    assert_eq!(out, Ok(hex(RTP)));
}
