//! Feeds arbitrary datagrams to a server-side DTLS connection: first a real ClientHello (so the
//! fuzzer reaches the states after it), then the input cut into datagrams at 0xFF bytes, with
//! timers fired in between. Nothing may panic.

#![no_main]

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use weft_dtls::{Certificate, Config, Connection, Context, KeyType, Role};

struct Fixture {
    config: Config,
    context: Context,
    hello: Bytes,
    start: Instant,
    wall: SystemTime,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let wall = SystemTime::now();
        let start = Instant::now();
        let cert = Certificate::generate(KeyType::EcdsaP256, wall, Duration::from_secs(86400))
            .expect("certificate");
        let mut client = Connection::new(Role::Client, Config::new(cert.clone()), start, wall)
            .expect("client");
        let hello = client.poll_transmit().expect("a ClientHello");
        let config = Config::new(cert);
        let context = Context::new(&config).expect("context");
        Fixture { config, context, hello, start, wall }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut server =
        Connection::with_context(Role::Server, &f.context, f.config.clone(), f.start, f.wall)
            .expect("server");
    let mut now = f.start;
    if data.first().is_some_and(|b| b & 1 == 1) {
        server.handle_input(now, f.hello.clone());
    }
    for chunk in data.split(|&b| b == 0xFF) {
        server.handle_input(now, Bytes::copy_from_slice(chunk));
        now += Duration::from_millis(700);
        server.handle_timeout(now);
        while server.poll_transmit().is_some() {}
        while server.poll_event().is_some() {}
        let _ = server.send(chunk);
    }
});
