//! The examples run as they are documented (cargo builds them before the tests): echo, file
//! transfer (checked by hash), perfect negotiation with glare, and manual signalling between
//! two processes whose SDP lines are pasted by this test.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stderr
)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn example(name: &str) -> Option<PathBuf> {
    // target/debug/deps/examples-HASH -> target/debug/examples/NAME
    let exe = std::env::current_exe().ok()?;
    let p = exe.parent()?.parent()?.join("examples").join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipped: {} is not built", p.display());
        None
    }
}

fn run_ok(name: &str, args: &[&str]) -> String {
    let Some(bin) = example(name) else {
        return String::new();
    };
    let out = Command::new(bin).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn echo_example_echoes() {
    let out = run_ok("echo", &["40"]);
    if !out.is_empty() {
        assert!(out.contains("40 messages echoed"), "{out}");
    }
}

#[test]
fn file_transfer_example_arrives_intact() {
    let path = std::env::temp_dir().join(format!("weft-file-{}", std::process::id()));
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::fs::write(&path, &data).unwrap();
    let out = run_ok("file_transfer", &[path.to_str().unwrap()]);
    let _ = std::fs::remove_file(&path);
    if !out.is_empty() {
        assert!(
            out.contains("3000000 bytes") && out.contains("matches"),
            "{out}"
        );
    }
}

#[test]
fn perfect_negotiation_example_survives_glare() {
    let out = run_ok("perfect_negotiation", &[]);
    if !out.is_empty() {
        assert!(out.contains("ignoring the colliding offer"), "{out}");
        assert!(out.contains("rolling back"), "{out}");
        assert!(
            out.contains("polite heard \"hello from impolite\""),
            "{out}"
        );
    }
}

#[test]
fn manual_signaling_example_connects_two_processes() {
    let Some(bin) = example("manual_signaling") else {
        return;
    };
    let spawn = |role: &str| {
        Command::new(&bin)
            .arg(role)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let sdp_line = |out: &mut dyn BufRead| -> String {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(out.read_line(&mut line).unwrap() > 0, "no SDP line");
            if line.starts_with("SDP ") {
                return line;
            }
        }
    };
    let mut offerer = spawn("offer");
    let mut answerer = spawn("answer");
    let mut offer_out = BufReader::new(offerer.stdout.take().unwrap());
    let mut answer_out = BufReader::new(answerer.stdout.take().unwrap());
    let offer = sdp_line(&mut offer_out);
    answerer
        .stdin
        .as_mut()
        .unwrap()
        .write_all(offer.as_bytes())
        .unwrap();
    let answer = sdp_line(&mut answer_out);
    offerer
        .stdin
        .as_mut()
        .unwrap()
        .write_all(answer.as_bytes())
        .unwrap();
    let mut got = String::new();
    answer_out.read_line(&mut got).unwrap();
    assert_eq!(got.trim(), "GOT hello across the copy and paste");
    assert!(answerer.wait().unwrap().success());
    assert!(offerer.wait().unwrap().success());
}
