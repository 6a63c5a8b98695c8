//! STUN datagrams, data and commands against a running ICE agent.
//!
//! The input is cut at 0xFF bytes; the first byte of each piece picks what it is: raw bytes
//! from one of the peer's addresses, a STUN message built from the piece (often answering a
//! check the agent really sent, so that responses reach the deeper logic; `cfg(fuzzing)`
//! turns off the agent's integrity checks), a command, or a jump of the clock. After every
//! step the agent must not ask for a timer in the past. The first byte's flags give the role,
//! lite mode, a remote candidate, a TURN server, a STUN server, and ICE-TCP candidates (input
//! then also arrives over TCP at the active and passive candidates).

#![no_main]

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weft_ice::{Agent, Candidate, Config, Credentials, Role, StunServer, TcpType, TurnServer};
use weft_proto::{Received, Transport};
use weft_stun::{
    Attribute, Class, ErrorCode, Integrity, IntegrityKey, Message, Method, TransactionId,
};

const LOCAL_PWD: &str = "localpassword0123456789";
const REMOTE_PWD: &str = "remotepassword012345678";

fuzz_target!(|data: &[u8]| {
    static START: OnceLock<Instant> = OnceLock::new();
    let mut now = *START.get_or_init(Instant::now);
    let Some((&flags, data)) = data.split_first() else {
        return;
    };
    let local: SocketAddr = "192.0.2.1:5000".parse().unwrap();
    let turn: SocketAddr = "203.0.113.2:3478".parse().unwrap();
    let peers: [SocketAddr; 5] = [
        "192.0.2.2:6000".parse().unwrap(),
        "192.0.2.2:6001".parse().unwrap(),
        "198.51.100.9:7000".parse().unwrap(),
        "[2001:db8::2]:6000".parse().unwrap(),
        turn,
    ];
    let role = if flags & 1 == 0 {
        Role::Controlling
    } else {
        Role::Controlled
    };
    let mut config = Config::new(Credentials::new("locl", LOCAL_PWD).unwrap(), role);
    config.lite = flags & 2 != 0;
    config.rng_seed = Some([flags; 32]);
    config.max_candidates = 8;
    config.max_pairs = 8;
    let mut agent = Agent::new(config).unwrap();
    agent
        .add_local_candidate(now, Candidate::host(local))
        .unwrap();
    agent
        .set_remote_credentials(now, Credentials::new("remo", REMOTE_PWD).unwrap())
        .unwrap();
    if flags & 4 != 0 {
        let _ = agent.add_remote_candidate(now, Candidate::host(peers[0]));
    }
    if flags & 8 != 0 {
        // Datagrams from the TURN server's address go to the agent's TURN client.
        let _ = agent.add_turn_server(
            now,
            TurnServer {
                url: "turn:203.0.113.2".into(),
                server: turn,
                local,
                username: "user".into(),
                password: "pass".into(),
                transport: Transport::Udp,
            },
        );
    }
    if flags & 16 != 0 {
        // A STUN server among the peers: its answers reach the server-reflexive gathering.
        let _ = agent.add_stun_server(
            now,
            StunServer {
                url: "stun:198.51.100.9:7000".into(),
                server: peers[2],
                local,
            },
        );
    }
    // ICE-TCP: an active and a passive local candidate, and a remote passive one; TCP input
    // arrives at one of them.
    let tcp = flags & 32 != 0;
    let active: SocketAddr = "192.0.2.1:9".parse().unwrap();
    let passive: SocketAddr = "192.0.2.1:443".parse().unwrap();
    if tcp {
        let _ = agent.add_local_candidate(now, Candidate::host_tcp(active, TcpType::Active));
        let _ = agent.add_local_candidate(now, Candidate::host_tcp(passive, TcpType::Passive));
        let _ = agent.add_remote_candidate(
            now,
            Candidate::host_tcp(peers[0], TcpType::Passive),
        );
    }
    let local_key = IntegrityKey::short_term(LOCAL_PWD).unwrap();
    let remote_key = IntegrityKey::short_term(REMOTE_PWD).unwrap();
    // Requests the agent sent: (transaction id, from, to, transport).
    let mut sent: Vec<(TransactionId, SocketAddr, SocketAddr, Transport)> = Vec::new();

    for piece in data.split(|&b| b == 0xFF) {
        let Some((&op, rest)) = piece.split_first() else {
            continue;
        };
        let byte = |i: usize| rest.get(i).copied().unwrap_or(0);
        let peer = peers[usize::from(op >> 4) % peers.len()];
        // Where input arrives: the UDP host, or (in TCP runs) a TCP candidate.
        let (at, transport) = match (tcp, op & 8 != 0, op & 4 != 0) {
            (true, true, false) => (active, Transport::Tcp),
            (true, true, true) => (passive, Transport::Tcp),
            _ => (local, Transport::Udp),
        };
        match op % 5 {
            0 => agent.handle_input(
                now,
                Received {
                    source: peer,
                    destination: at,
                    transport,
                    payload: Bytes::copy_from_slice(rest),
                },
            ),
            1 | 2 => {
                // A STUN message shaped from the piece.
                let class = match byte(0) % 4 {
                    0 => Class::Request,
                    1 => Class::Success,
                    2 => Class::Error,
                    _ => Class::Indication,
                };
                let answered = (!sent.is_empty()).then(|| sent[usize::from(byte(1)) % sent.len()]);
                let (tid, source, at, transport) = match (class, answered) {
                    (Class::Success | Class::Error, Some((tid, from, to, tr)))
                        if byte(2) & 1 == 0 =>
                    {
                        (tid, to, from, tr)
                    }
                    _ => (TransactionId::new([byte(3); 12]), peer, at, transport),
                };
                let bits = byte(4);
                let mut m = Message::new(class, Method::BINDING, tid);
                if bits & 1 != 0 {
                    m.push(Attribute::Username(if class == Class::Request {
                        "locl:remo"
                    } else {
                        "remo:locl"
                    }));
                }
                if bits & 2 != 0 {
                    m.push(Attribute::Priority(u32::from_be_bytes([
                        byte(5),
                        byte(6),
                        byte(7),
                        byte(8),
                    ])));
                }
                if bits & 4 != 0 {
                    m.push(Attribute::UseCandidate);
                }
                if bits & 8 != 0 {
                    m.push(Attribute::IceControlling(u64::from(byte(9)) << 56));
                }
                if bits & 16 != 0 {
                    m.push(Attribute::IceControlled(u64::from(byte(9)) << 56));
                }
                if bits & 32 != 0 {
                    let port = u16::from_be_bytes([byte(10), byte(11)]);
                    m.push(Attribute::XorMappedAddress(SocketAddr::new(
                        local.ip(),
                        port,
                    )));
                }
                if class == Class::Error {
                    m.push(Attribute::ErrorCode(if bits & 64 != 0 {
                        ErrorCode::ROLE_CONFLICT
                    } else {
                        ErrorCode::BAD_REQUEST
                    }));
                }
                let key = if class == Class::Request {
                    &local_key
                } else {
                    &remote_key
                };
                let integrity = (bits & 128 == 0).then_some(Integrity::Sha1(key));
                if let Ok(bytes) = m.to_vec(integrity, op % 5 == 2) {
                    agent.handle_input(
                        now,
                        Received {
                            source,
                            destination: at,
                            transport,
                            payload: Bytes::from(bytes),
                        },
                    );
                }
            }
            3 => {
                let _ = match byte(0) % 8 {
                    0 => {
                        let port = u16::from_be_bytes([byte(1), byte(2)]);
                        let addr = SocketAddr::new(peer.ip(), port);
                        let mut c = Candidate::host(addr);
                        if byte(3) & 1 != 0 {
                            c.kind = weft_ice::CandidateKind::Relayed;
                        }
                        agent.add_remote_candidate(now, c)
                    }
                    1 => agent.send(now, Bytes::copy_from_slice(rest)),
                    2 => agent.end_of_remote_candidates(now),
                    3 => agent.end_of_local_candidates(now),
                    4 => {
                        let ufrag = format!("l{:03}", byte(1));
                        agent.restart(now, Credentials::new(ufrag, LOCAL_PWD).unwrap())
                    }
                    5 => agent.set_remote_credentials(
                        now,
                        Credentials::new(format!("r{:03}", byte(1) % 2), REMOTE_PWD).unwrap(),
                    ),
                    6 => agent.set_remote_lite(now, byte(1) & 1 != 0),
                    _ => {
                        if byte(1) == 0x42 {
                            agent.close(now);
                        }
                        Ok(())
                    }
                };
            }
            _ => now += Duration::from_millis(u64::from(byte(0)) * 50),
        }
        if let Some(t) = agent.poll_timeout()
            && t <= now
        {
            agent.handle_timeout(now);
        }
        while let Some(t) = agent.poll_transmit() {
            if let Ok(m) = Message::decode(&t.payload)
                && m.class == Class::Request
            {
                if sent.len() == 64 {
                    sent.remove(0);
                }
                sent.push((m.transaction_id, t.source, t.destination, t.transport));
            }
        }
        while agent.poll_event().is_some() {}
        if let Some(t) = agent.poll_timeout() {
            assert!(t > now, "a timer in the past after handle_timeout");
        }
        let _ = agent.pair_stats();
    }
});
