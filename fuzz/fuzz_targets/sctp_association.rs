//! Arbitrary datagram scripts against a connected association pair: forged chunks under the
//! right verification tag (zero checksums accepted, as over DTLS), genuine traffic, timers and
//! sends interleaved. Nothing may panic and the receive buffer stays bounded.

#![no_main]

use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use weft_sctp::{Association, Config, Ppid, SendOptions, StreamId};

fn config(seed: u8) -> Config {
    Config {
        rng_seed: Some([seed; 32]),
        zero_checksum: true,
        receive_buffer: 256 * 1024,
        max_message_size: 64 * 1024,
        ..Config::default()
    }
}

/// Moves packets both ways until quiet (bounded).
fn pump(a: &mut Association, b: &mut Association, now: Instant) -> Option<u32> {
    let mut tag = None;
    for _ in 0..64 {
        let mut moved = false;
        while let Some(p) = a.poll_transmit() {
            if p.len() >= 8 {
                tag = Some(u32::from_be_bytes([p[4], p[5], p[6], p[7]]));
            }
            b.handle_input(now, p);
            moved = true;
        }
        while let Some(p) = b.poll_transmit() {
            a.handle_input(now, p);
            moved = true;
        }
        while a.poll_event().is_some() {}
        while b.poll_event().is_some() {}
        if !moved {
            break;
        }
    }
    tag
}

fuzz_target!(|data: &[u8]| {
    let mut now = Instant::now();
    let mut a = Association::new(config(1), now).expect("config");
    let mut b = Association::new(config(2), now).expect("config");
    a.connect(now).expect("connect");
    b.connect(now).expect("connect");
    pump(&mut a, &mut b, now);
    assert!(a.is_established() && b.is_established());
    // The tag b expects: seen on a packet from a.
    a.send(now, StreamId(1), Ppid(51), Bytes::from_static(b"x"), &SendOptions::default()).expect("send");
    let b_tag = pump(&mut a, &mut b, now).expect("a sent a packet");
    let mut rest = data;
    while let Some((&op, tail)) = rest.split_first() {
        let len = tail.first().map_or(0, |&l| l as usize * 4).min(tail.len().saturating_sub(1));
        let body = tail.get(1..1 + len).unwrap_or(&[]);
        rest = tail.get(1 + len..).unwrap_or(&[]);
        match op % 6 {
            0 | 1 => {
                let mut p = BytesMut::with_capacity(12 + body.len());
                p.put_u16(5000);
                p.put_u16(5000);
                p.put_u32(if op % 2 == 0 { b_tag } else { 0 });
                p.put_u32(0);
                p.put_slice(body);
                b.handle_input(now, p.freeze());
            }
            2 => b.handle_input(now, Bytes::copy_from_slice(body)),
            3 => {
                now += Duration::from_millis(body.first().map_or(10, |&v| v as u64 * 50));
                a.handle_timeout(now);
                b.handle_timeout(now);
            }
            4 => {
                let size = body.len() * 64 + 1;
                let opts = SendOptions { unordered: op & 8 != 0, ..SendOptions::default() };
                let _ = a.send(now, StreamId(op as u16 % 4), Ppid(53), Bytes::from(vec![op; size]), &opts);
                let _ = b.reset_streams(now, &[StreamId(op as u16 % 4)]);
            }
            _ => {
                pump(&mut a, &mut b, now);
            }
        }
        while b.poll_transmit().is_some() {}
        while b.poll_event().is_some() {}
        let s = b.stats();
        assert!(s.receive_buffered <= 256 * 1024 + 64 * 1024 + 4096, "buffer {}", s.receive_buffered);
    }
    pump(&mut a, &mut b, now);
});
