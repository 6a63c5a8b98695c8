//! The HTTP/1.1 reader of `weft echo` and `weft call` (crates/cli/src/http.rs, included as
//! is): arbitrary bytes as a request or response never panic and never allocate beyond the
//! module's bounds; arbitrary text as a URL parses or is refused.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[path = "../../crates/cli/src/http.rs"]
#[allow(dead_code)]
mod http;

static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let rt = RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
    });
    if let Ok(m) = rt.block_on(http::read_from(data)) {
        assert!(m.body.len() <= http::MAX_BODY);
        let _ = m.header("content-type");
    }
    if let Ok(s) = std::str::from_utf8(data)
        && let Ok(u) = http::Url::parse(s)
    {
        let _ = u.join("/whip/1");
        let _ = u.join(s);
    }
});
