//! The async TURN client and server of the umbrella against each other on loopback, over UDP,
//! TCP and TLS: allocate, permission, channel, data both ways with a UDP peer.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::net::UdpSocket;
use weft::turn::{Event, Listeners, ServerConfig, TurnClient, TurnServer, TurnTransport};

async fn round_trip(server: SocketAddr, transport: TurnTransport) {
    let peer = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut c = TurnClient::allocate(server, transport.clone(), "alice", "alicepw")
        .await
        .unwrap();
    let relayed = c.relayed_address();
    c.create_permission(peer_addr.ip()).await.unwrap();
    // Let the permission land before data flows.
    let ev = tokio::time::timeout(Duration::from_secs(5), c.next_event())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(ev, Event::PermissionCreated(_)), "{ev:?}");
    c.send(peer_addr, Bytes::from_static(b"via indication"))
        .await
        .unwrap();
    let mut buf = [0u8; 1500];
    let (n, from) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (&buf[..n], from),
        (&b"via indication"[..], relayed),
        "{transport:?}"
    );
    c.bind_channel(peer_addr).await.unwrap();
    loop {
        if let Event::ChannelBound { .. } =
            tokio::time::timeout(Duration::from_secs(5), c.next_event())
                .await
                .unwrap()
                .unwrap()
        {
            break;
        }
    }
    for msg in [&b"abc"[..], b"over a channel"] {
        c.send(peer_addr, Bytes::copy_from_slice(msg))
            .await
            .unwrap();
        let (n, _) = tokio::time::timeout(Duration::from_secs(5), peer.recv_from(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(&buf[..n], msg);
        peer.send_to(msg, relayed).await.unwrap();
        loop {
            match tokio::time::timeout(Duration::from_secs(5), c.next_event())
                .await
                .unwrap()
                .unwrap()
            {
                Event::Data { data, peer: p } => {
                    assert_eq!((data.as_ref(), p), (msg, peer_addr));
                    break;
                }
                _ => continue,
            }
        }
    }
    c.close().await;
}

#[tokio::test]
async fn async_turn_client_relays_through_the_async_server_over_udp_tcp_and_tls() {
    let Some((cert, key)) = weft_testkit::process::self_signed_cert("umbrella-turn") else {
        return;
    };
    let dir = cert.parent().expect("in a directory").to_path_buf();
    let mut config = ServerConfig {
        allow_peers: vec!["127.0.0.0/8".parse().unwrap()],
        ..ServerConfig::default()
    };
    config.users.insert("alice".into(), "alicepw".into());
    let listeners = Listeners {
        udp: "127.0.0.1:0".parse().unwrap(),
        tcp: Some("127.0.0.1:0".parse().unwrap()),
        tls: Some((
            "127.0.0.1:0".parse().unwrap(),
            std::fs::read(&cert).unwrap(),
            std::fs::read(&key).unwrap(),
        )),
    };
    let server = TurnServer::start(
        listeners,
        "127.0.0.1".parse().unwrap(),
        (49900, 49949),
        config,
    )
    .await
    .unwrap();
    let streams = server.stream_addrs().to_vec();
    round_trip(server.local_addr(), TurnTransport::Udp).await;
    round_trip(streams[0].0, TurnTransport::Tcp).await;
    round_trip(
        streams[1].0,
        TurnTransport::Tls {
            domain: "localhost".into(),
            verify: false,
        },
    )
    .await;
    let stats = server.shutdown().await.unwrap();
    assert_eq!(stats.allocations_total, 3);
    let _ = std::fs::remove_dir_all(&dir);
}
