//! Feeds arbitrary messages to both ends of the long-term credential mechanism: the server's
//! request check (nonce parsing, algorithm negotiation) and the client's challenge handling.

#![no_main]

use std::sync::OnceLock;
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use weft_stun::{
    LongTermClient, LongTermServer, LongTermServerConfig, Message, SecurityFeatures,
};

fuzz_target!(|data: &[u8]| {
    static START: OnceLock<Instant> = OnceLock::new();
    let now = *START.get_or_init(Instant::now);
    let Ok(msg) = Message::decode(data) else {
        return;
    };
    let from = "192.0.2.1:5000".parse().unwrap();
    let mut server = LongTermServer::new(LongTermServerConfig {
        realm: "fuzz".into(),
        username_anonymity: data.len() % 2 == 0,
        rng_seed: Some([0; 32]),
        ..Default::default()
    });
    if let Err(challenge) = server.check(now, from, &msg) {
        let mut out = Vec::new();
        server
            .write_challenge(now, from, &msg, challenge, &mut out)
            .expect("a challenge always encodes");
        let mut client = LongTermClient::new("user", "pass").unwrap();
        let reply = Message::decode(&out).expect("weft's own challenge decodes");
        let _ = client.handle_challenge(&reply);
    } else {
        let _ = server.verify(&msg, "user", "pass");
    }
    let mut client = LongTermClient::new("user", "pass").unwrap();
    if let Ok(true) = client.handle_challenge(&msg) {
        let mut m = Message::new(msg.class, msg.method, msg.transaction_id);
        let integrity = client.authenticate(&mut m).expect("ready after a challenge");
        let _ = m.to_vec(Some(integrity), true);
    }
    if let Some(n) = msg.attributes.iter().find_map(|a| match a {
        weft_stun::Attribute::Nonce(n) => Some(*n),
        _ => None,
    }) {
        let _ = SecurityFeatures::from_nonce(n);
    }
});
