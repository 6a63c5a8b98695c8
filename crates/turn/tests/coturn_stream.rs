//! The TURN client over TCP and TLS to coturn (RFC 8656 §3.1): allocate, bind a channel and
//! relay data both ways, with STUN and padded ChannelData framed on the stream by
//! [`StreamFramer`].
//!
//! Skipped with a printed reason when `turnserver` or `openssl` is missing, except under CI.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stderr
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use weft_proto::{Received, Transport};
use weft_testkit::process::{ChildGuard, free_port, have_binary};
use weft_turn::{Client, Config, Event, StreamFramer};

trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

fn coturn(port: u16, tls_port: u16, relay: (u16, u16), cert: &str, key: &str) -> ChildGuard {
    let child = Command::new("turnserver")
        .args([
            "-n",
            "--listening-ip=127.0.0.1",
            "--relay-ip=127.0.0.1",
            "--realm=weft.test",
            "--allow-loopback-peers",
            "--fingerprint",
            "--no-dtls",
            "--no-cli",
            "--lt-cred-mech",
            "--user=alice:alicepw",
        ])
        .arg(format!("--listening-port={port}"))
        .arg(format!("--tls-listening-port={tls_port}"))
        .arg(format!("--min-port={}", relay.0))
        .arg(format!("--max-port={}", relay.1))
        .arg(format!("--cert={cert}"))
        .arg(format!("--pkey={key}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    ChildGuard(child)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match TcpStream::connect(addr) {
            Ok(s) => {
                s.set_read_timeout(Some(Duration::from_millis(10))).unwrap();
                return s;
            }
            Err(e) => {
                assert!(
                    Instant::now() < deadline,
                    "coturn did not listen on {addr}: {e}"
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn pump(
    c: &mut Client,
    s: &mut dyn Stream,
    f: &mut StreamFramer,
    (server, local): (SocketAddr, SocketAddr),
    tr: Transport,
    events: &mut Vec<Event>,
    done: impl Fn(&[Event]) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buf = [0u8; 4096];
    loop {
        while let Some(t) = c.poll_transmit() {
            s.write_all(&t.payload).unwrap();
        }
        events.extend(std::iter::from_fn(|| c.poll_event()));
        if done(events) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out; events: {events:?}");
        match s.read(&mut buf) {
            Ok(0) => panic!("server closed the connection; events {events:?}"),
            Ok(n) => f.push(&buf[..n]).unwrap(),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("{e}"),
        }
        while let Some(frame) = f.next_frame().unwrap() {
            c.handle_input(
                Instant::now(),
                Received {
                    source: server,
                    destination: local,
                    transport: tr,
                    payload: frame,
                },
            );
        }
        c.handle_timeout(Instant::now());
    }
}

fn relay_session(stream: &mut dyn Stream, server: SocketAddr, local: SocketAddr, tr: Transport) {
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let peer_addr = peer.local_addr().unwrap();
    let mut config = Config::new(server, local, "alice", "alicepw");
    config.transport = tr;
    let mut c = Client::new(config, Instant::now()).unwrap();
    let mut f = StreamFramer::new();
    let mut events = Vec::new();
    pump(
        &mut c,
        stream,
        &mut f,
        (server, local),
        tr,
        &mut events,
        |e| e.iter().any(|e| matches!(e, Event::Allocated { .. })),
    );
    let relayed = c.relayed_address().unwrap();
    let channel = c.bind_channel(Instant::now(), peer_addr).unwrap();
    pump(
        &mut c,
        stream,
        &mut f,
        (server, local),
        tr,
        &mut events,
        |e| {
            e.contains(&Event::ChannelBound {
                peer: peer_addr,
                channel,
            })
        },
    );
    // Odd lengths exercise the ChannelData padding on the stream.
    for msg in [&b"abc"[..], b"hello over a stream", b"x"] {
        c.send(Instant::now(), peer_addr, msg).unwrap();
        pump(
            &mut c,
            stream,
            &mut f,
            (server, local),
            tr,
            &mut events,
            |_| true,
        );
        let mut buf = [0u8; 1500];
        let (n, from) = peer.recv_from(&mut buf).unwrap();
        assert_eq!((&buf[..n], from), (msg, relayed));
        peer.send_to(msg, relayed).unwrap();
        pump(
            &mut c,
            stream,
            &mut f,
            (server, local),
            tr,
            &mut events,
            |e| {
                e.iter()
                    .filter(|e| matches!(e, Event::Data { data, .. } if data.as_ref() == msg))
                    .count()
                    == 1
            },
        );
    }
    assert_eq!(c.stats().channel_data_sent, 3);
}

#[test]
fn client_relays_through_coturn_over_tcp_and_tls() {
    if !have_binary("turnserver") || !have_binary("openssl") {
        return;
    }
    let Some((cert, key)) = weft_testkit::process::self_signed_cert("turn-client-tls") else {
        return;
    };
    let dir = cert.parent().expect("in a directory").to_path_buf();
    let (port, tls_port) = (free_port(), free_port());
    let _coturn = coturn(
        port,
        tls_port,
        (49850, 49899),
        &cert.to_string_lossy(),
        &key.to_string_lossy(),
    );
    let server = SocketAddr::from(([127, 0, 0, 1], port));
    let mut tcp = connect(server);
    let local = tcp.local_addr().unwrap();
    relay_session(&mut tcp, server, local, Transport::Tcp);

    let tls_server = SocketAddr::from(([127, 0, 0, 1], tls_port));
    let tcp = connect(tls_server);
    let local = tcp.local_addr().unwrap();
    tcp.set_read_timeout(None).unwrap();
    let mut b = openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls()).unwrap();
    b.set_verify(openssl::ssl::SslVerifyMode::NONE); // a self-signed test certificate
    let mut tls = b.build().connect("localhost", tcp).unwrap();
    tls.get_ref()
        .set_read_timeout(Some(Duration::from_millis(10)))
        .unwrap();
    relay_session(&mut tls, tls_server, local, Transport::Tls);
    let _ = std::fs::remove_dir_all(&dir);
}
