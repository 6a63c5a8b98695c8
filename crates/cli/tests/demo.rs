//! `weft demo` runs end to end over loopback and reports every transaction as answered.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::process::Command;

#[test]
fn demo_exchanges_over_loopback_and_reports_figures() {
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args([
            "demo",
            "--transactions",
            "300",
            "--in-flight",
            "8",
            "--messages",
            "400",
            "--bulk-mib",
            "8",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("alice learnt its mapped address 127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("bob learnt its mapped address 127.0.0.1:"),
        "{text}"
    );
    assert!(
        text.contains("alice: 300 ok, 0 timed out, 0 wrong address"),
        "{text}"
    );
    assert!(
        text.contains("bob: 300 ok, 0 timed out, 0 wrong address"),
        "{text}"
    );
    assert!(
        text.contains("answered 300 requests from the other peer"),
        "{text}"
    );
    assert!(
        text.contains("alice connected: ECDHE-ECDSA-AES128-GCM-SHA256"),
        "{text}"
    );
    assert!(
        text.contains("bob echoed 400 messages of 1000 bytes"),
        "{text}"
    );
    assert!(text.contains("bob closed after echoing 400"), "{text}");
    assert!(text.contains("dtls: 400 messages echoed"), "{text}");
    for step in [
        "alice: ICE gathering Complete",
        "alice: ICE Connected",
        "alice: DTLS Connected",
        "alice: SCTP Connected",
        "alice: connectionState connected (ICE and DTLS up)",
    ] {
        assert!(text.contains(step), "{step} missing from\n{text}");
    }
    assert!(text.contains("offer ("), "{text}");
    assert!(
        text.contains("data channels: bob echoed 400 chat messages"),
        "{text}"
    );
    assert!(text.contains("data channels: bob received 8 MiB"), "{text}");
    assert!(
        text.contains("both channels closed by stream reset on both sides"),
        "{text}"
    );
    assert!(text.contains("bob got 8388608 bulk bytes"), "{text}");
    assert!(text.contains("(zero checksum true)"), "{text}");
    assert!(text.trim_end().ends_with("demo ok"), "{text}");
}

#[test]
fn demo_rejects_zero_transactions() {
    let out = Command::new(env!("CARGO_BIN_EXE_weft"))
        .args(["demo", "--transactions", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
}
