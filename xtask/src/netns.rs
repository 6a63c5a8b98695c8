//! `cargo xtask netns`: two weft peers on private networks behind real iptables NATs, in
//! network namespaces, with `weft turn-server` (STUN and TURN) on the public side between
//! them. The NATs are Linux's (RFC 4787 terms in brackets): `full-cone` is MASQUERADE plus a
//! DNAT of every inbound datagram to the host (endpoint-independent mapping and filtering),
//! `restricted` is plain MASQUERADE (endpoint-independent mapping while ports are free,
//! address-and-port-dependent filtering), `symmetric` is `MASQUERADE --random-fully` (a new
//! random port per destination). Restricted and symmetric NATs drop unsolicited datagrams
//! before conntrack keeps an entry for them, as a home router does (an entry for a datagram
//! answered with ICMP would make the NAT's later mapping towards that peer take another port).
//! Runs: full-cone on both sides (direct path expected), restricted on both sides (direct:
//! each side's checks open its NAT for the other's), restricted behind full-cone (direct),
//! full-cone with `iceTransportPolicy: relay` (relayed on both sides), symmetric on both
//! sides (a relay expected), and both peers on the public network with their host addresses
//! behind mDNS `.local` names (host to host expected, names resolved over multicast DNS), and
//! an offerer whose host drops every UDP datagram against an answerer on the public network
//! (an ICE-TCP pair expected).
//!
//! ```text
//!   ha 10.1.0.2 ── 10.1.0.1 ra 198.51.100.2 ── 198.51.100.1 pub 203.0.113.1 ── 203.0.113.2 rb 10.2.0.1 ── 10.2.0.2 hb
//!                    (NAT)                       (turn-server)                               (NAT)
//! ```
//!
//! Needs root, `ip` and `iptables`; under CI their absence fails the run, elsewhere the run is
//! skipped with a note.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A NAT's behaviour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Nat {
    FullCone,
    Restricted,
    Symmetric,
}

/// One namespace set, deleted on drop.
struct Net {
    p: String,
    server: Option<Child>,
}

impl Net {
    fn ns(&self, n: &str) -> String {
        format!("{}{n}", self.p)
    }

    fn ip(&self, ns: &str, args: &str) -> Result<()> {
        sh(&format!("ip netns exec {} {args}", self.ns(ns)))
    }

    fn build(kinds: [Nat; 2]) -> Result<Net> {
        let p = format!("wn{}", std::process::id() % 100_000);
        let net = Net { p, server: None };
        let p = &net.p;
        for n in ["pub", "ra", "rb", "ha", "hb"] {
            sh(&format!("ip netns add {p}{n}"))?;
            net.ip(n, "ip link set lo up")?;
        }
        // LAN A, A's uplink, LAN B, B's uplink.
        for (a, a_ns, b, b_ns) in [
            ("ha", "ha", "ral", "ra"),
            ("rap", "ra", "pa", "pub"),
            ("hb", "hb", "rbl", "rb"),
            ("rbp", "rb", "pb", "pub"),
        ] {
            sh(&format!("ip link add {p}{a} type veth peer name {p}{b}"))?;
            sh(&format!("ip link set {p}{a} netns {p}{a_ns}"))?;
            sh(&format!("ip link set {p}{b} netns {p}{b_ns}"))?;
        }
        for (ns, dev, addr) in [
            ("ha", "ha", "10.1.0.2/24"),
            ("ra", "ral", "10.1.0.1/24"),
            ("ra", "rap", "198.51.100.2/24"),
            ("pub", "pa", "198.51.100.1/24"),
            ("pub", "pb", "203.0.113.1/24"),
            ("rb", "rbp", "203.0.113.2/24"),
            ("rb", "rbl", "10.2.0.1/24"),
            ("hb", "hb", "10.2.0.2/24"),
        ] {
            net.ip(ns, &format!("ip addr add {addr} dev {p}{dev}"))?;
            net.ip(ns, &format!("ip link set {p}{dev} up"))?;
        }
        net.ip("ha", "ip route add default via 10.1.0.1")?;
        net.ip("hb", "ip route add default via 10.2.0.1")?;
        net.ip("ra", "ip route add default via 198.51.100.1")?;
        net.ip("rb", "ip route add default via 203.0.113.1")?;
        for ((r, up, host), kind) in [("ra", "rap", "10.1.0.2"), ("rb", "rbp", "10.2.0.2")]
            .into_iter()
            .zip(kinds)
        {
            net.ip(r, "sysctl -qw net.ipv4.ip_forward=1")?;
            let random = if kind == Nat::Symmetric {
                " --random-fully"
            } else {
                ""
            };
            net.ip(
                r,
                &format!("iptables -t nat -A POSTROUTING -o {p}{up} -j MASQUERADE{random}"),
            )?;
            if kind == Nat::FullCone {
                net.ip(
                    r,
                    &format!(
                        "iptables -t nat -A PREROUTING -i {p}{up} -p udp -j DNAT --to-destination {host}"
                    ),
                )?;
            } else {
                // Unsolicited datagrams end at the NAT without a trace: dropped before
                // conntrack confirms an entry for them, as a home router's NAT does. (Answered
                // with ICMP instead, their entry would make this host's own later mapping
                // towards that peer take another port: a conntrack clash no real NAT has.)
                net.ip(r, &format!("iptables -A INPUT -i {p}{up} -p udp -j DROP"))?;
            }
        }
        net.ip("pub", "sysctl -qw net.ipv4.ip_forward=1")?;
        Ok(net)
    }

    fn start_server(&mut self, weft: &str) -> Result<()> {
        let child = Command::new("ip")
            .args(["netns", "exec", &self.ns("pub"), weft, "turn-server"])
            .args(["--listen", "198.51.100.1:3478", "--user", "weft:weftpw"])
            .args([
                "--allow-peer",
                "198.51.100.0/24",
                "--allow-peer",
                "203.0.113.0/24",
            ])
            .args(["--min-port", "50000", "--max-port", "50199"])
            .stdout(Stdio::null())
            .spawn()
            .context("cannot start weft turn-server")?;
        self.server = Some(child);
        // Ready once the UDP port is bound.
        let t = Instant::now();
        loop {
            let out = Command::new("ip")
                .args(["netns", "exec", &self.ns("pub"), "ss", "-uln"])
                .output()?;
            if String::from_utf8_lossy(&out.stdout).contains("198.51.100.1:3478") {
                return Ok(());
            }
            if t.elapsed() > Duration::from_secs(10) {
                bail!("weft turn-server did not start");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        if let Some(mut c) = self.server.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for n in ["ha", "hb", "ra", "rb", "pub"] {
            let _ = Command::new("ip")
                .args(["netns", "del", &format!("{}{n}", self.p)])
                .status();
        }
    }
}

fn sh(cmd: &str) -> Result<()> {
    let status = Command::new("sh")
        .args(["-c", cmd])
        .status()
        .with_context(|| format!("cannot run {cmd}"))?;
    if !status.success() {
        bail!("{cmd} failed: {status}");
    }
    Ok(())
}

/// What a peer printed: `(connect ms, local type, remote type)` and whether it echoed.
#[derive(Debug, Default, Clone)]
struct Outcome {
    connected: Option<(u64, String, String, String)>,
    echoed: bool,
}

/// How a run is set up.
#[derive(Debug, Clone, Copy)]
struct Run {
    /// The namespaces of the offerer and the answerer.
    hosts: [&'static str; 2],
    /// `iceTransportPolicy: relay`.
    relay: bool,
    /// Host candidates behind mDNS names.
    mdns: bool,
    /// The offerer's host drops all UDP: only ICE-TCP can connect.
    block_udp: bool,
}

fn spawn_peer(net: &Net, ns: &str, bin: &str, role: &str, run: Run) -> Result<Child> {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &net.ns(ns), bin, "--role", role])
        .args(["--server", "198.51.100.1:3478", "--user", "weft:weftpw"]);
    if run.relay {
        cmd.arg("--relay");
    }
    if run.mdns {
        cmd.arg("--mdns");
    }
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {bin}"))
}

/// Runs the two peers, carrying each one's `SDP` line to the other.
fn call(net: &Net, bin: &str, run: Run) -> Result<(Outcome, Outcome)> {
    let mut a = spawn_peer(net, run.hosts[0], bin, "offer", run)?;
    let mut b = spawn_peer(net, run.hosts[1], bin, "answer", run)?;
    let (tx, rx) = mpsc::channel::<(usize, String)>();
    for (i, child) in [&mut a, &mut b].into_iter().enumerate() {
        let out = child.stdout.take().context("peer stdout")?;
        let tx = tx.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send((i, line)).is_err() {
                    break;
                }
            }
        });
    }
    drop(tx);
    let mut inputs = [a.stdin.take(), b.stdin.take()];
    let mut outcomes = [Outcome::default(), Outcome::default()];
    let deadline = Instant::now() + Duration::from_secs(45);
    let result = loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, line)) => {
                let who = ["offerer", "answerer"][i];
                if line.starts_with("SDP ") || line.starts_with("CAND ") {
                    if let Some(w) = inputs[1 - i].as_mut() {
                        writeln!(w, "{line}")?;
                        w.flush()?;
                    }
                } else {
                    println!("  {who}: {line}");
                }
                let mut words = line.split_whitespace();
                match words.next() {
                    Some("CONNECTED") => {
                        let ms = words.next().and_then(|m| m.parse().ok()).unwrap_or(0);
                        let l = words.next().unwrap_or("?").to_owned();
                        let r = words.next().unwrap_or("?").to_owned();
                        let proto = words.next().unwrap_or("?").to_owned();
                        outcomes[i].connected = Some((ms, l, r, proto));
                    }
                    Some("ECHOED") => outcomes[i].echoed = true,
                    _ => {}
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break Ok(()),
            Err(mpsc::RecvTimeoutError::Timeout) => break Err(anyhow::anyhow!("peers timed out")),
        }
    };
    drop(inputs);
    let mut ok = true;
    for (who, c) in [("offerer", &mut a), ("answerer", &mut b)] {
        if result.is_err() {
            let _ = c.kill();
        }
        let status = c.wait()?;
        if !status.success() {
            println!("  {who} exited with {status}");
            ok = false;
        }
    }
    result?;
    if !ok {
        bail!("a peer failed");
    }
    let [oa, ob] = outcomes;
    Ok((oa, ob))
}

/// Builds the namespaces for each scenario, runs it and returns a one-line summary.
pub fn netns() -> Result<String> {
    let ci = std::env::var_os("CI").is_some();
    let have = |p: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let probe = Command::new("unshare").args(["--net", "true"]).status();
    if !have("ip") || !have("iptables") || !probe.is_ok_and(|s| s.success()) {
        if ci {
            bail!(
                "netns: root, `ip` and `iptables` are needed under CI (.ci/run installs iptables)"
            );
        }
        println!("\n(skipped netns: needs root, ip and iptables)");
        return Ok("skipped (needs root, ip and iptables)".into());
    }
    let target = crate::build_interop_binaries()?;
    let peer = target.join("debug/weft-nat-peer");
    let weft = target.join("debug/weft");
    let (peer, weft) = (peer.to_string_lossy(), weft.to_string_lossy());
    let mut summary = Vec::new();
    use Nat::*;
    let lans = ["ha", "hb"];
    let natted = Run {
        hosts: lans,
        relay: false,
        mdns: false,
        block_udp: false,
    };
    let relayed = Run {
        relay: true,
        ..natted
    };
    // Both peers on the public network, their host addresses hidden behind mDNS names.
    let mdns = Run {
        hosts: ["pub", "pub"],
        relay: false,
        mdns: true,
        block_udp: false,
    };
    // The offerer behind a NAT that lets no UDP out, the answerer on the public network.
    let tcp_only = Run {
        hosts: ["ha", "pub"],
        block_udp: true,
        ..natted
    };
    for (name, kinds, setup, want_relay) in [
        ("full-cone NATs", [FullCone, FullCone], natted, false),
        ("restricted NATs", [Restricted, Restricted], natted, false),
        (
            "restricted NAT behind full-cone",
            [Restricted, FullCone],
            natted,
            false,
        ),
        (
            "full-cone NATs, relay policy",
            [FullCone, FullCone],
            relayed,
            true,
        ),
        ("symmetric NATs", [Symmetric, Symmetric], natted, true),
        (
            "same network, mDNS host names",
            [FullCone, FullCone],
            mdns,
            false,
        ),
        (
            "UDP blocked, ICE-TCP",
            [Restricted, FullCone],
            tcp_only,
            false,
        ),
    ] {
        let relay = setup.relay;
        println!("\n==> netns: {name}");
        let mut net = Net::build(kinds)?;
        net.start_server(&weft)?;
        if setup.block_udp {
            net.ip(setup.hosts[0], "iptables -A OUTPUT -p udp -j DROP")?;
            net.ip(setup.hosts[0], "iptables -A INPUT -p udp -j DROP")?;
        }
        let (a, b) = call(&net, &peer, setup).with_context(|| format!("netns: {name}"))?;
        drop(net);
        let (Some(ca), Some(cb)) = (a.connected.clone(), b.connected.clone()) else {
            bail!("netns: {name}: a side never connected ({a:?}, {b:?})");
        };
        if !a.echoed {
            bail!("netns: {name}: the echoes did not all come back");
        }
        let relayed = ca.1 == "relay" || ca.2 == "relay";
        if relay && !(ca.1 == "relay" && cb.1 == "relay") {
            bail!("netns: {name}: relay policy must use relayed local candidates: {ca:?} {cb:?}");
        }
        // The remote may still be peer-reflexive when checks beat the name's resolution.
        if setup.mdns && (ca.1 != "host" || !matches!(ca.2.as_str(), "host" | "prflx")) {
            bail!("netns: {name}: expected a host pair through resolved names, got {ca:?}");
        }
        if setup.block_udp && ca.3 != "tcp" {
            bail!("netns: {name}: expected an ICE-TCP pair, got {ca:?}");
        }
        if relayed != want_relay {
            bail!("netns: {name}: expected relayed={want_relay}, got {ca:?} / {cb:?}");
        }
        let line = format!(
            "{name}: {} -> {} over {} connected in {} ms (answerer {} ms), 100 echoes",
            ca.1, ca.2, ca.3, ca.0, cb.0
        );
        println!("<== netns: {line}");
        summary.push(line);
    }
    Ok(summary.join("; "))
}
