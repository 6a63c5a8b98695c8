//! `weft-nat-peer`: one side of `cargo xtask netns`. It runs inside a private network
//! namespace behind an iptables NAT, gathers host, server-reflexive and relayed candidates
//! from the STUN/TURN server on the public side, and connects to the other side through
//! signalling over its stdin and stdout: one `SDP <text>` line each way (line breaks written
//! as `\n`), then trickled `CAND <candidate>` lines:
//!
//! ```text
//! weft-nat-peer --role offer|answer --server HOST:PORT --user NAME:PASSWORD [--relay] [--mdns]
//! ```
//!
//! The offerer opens a channel and sends 100 messages; the answerer echoes them. Each side
//! prints `CONNECTED <ms> <local type> <remote type> <udp|tcp>`: the time from start to
//! `connectionState` `connected` (gathering and signalling included) and the candidate types
//! of the pair the controlling side nominates (from `getStats`); the offerer prints
//! `ECHOED 100`. With `--mdns` host candidates are signalled under `.local` names (and the
//! peer resolves them over multicast DNS). Any failure exits non-zero.

#![allow(
    clippy::disallowed_methods,
    clippy::disallowed_types,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use weft::peer::{
    ChannelInit, ConnectionState, Event, IceServer, IceTransportPolicy, MdnsMode, PeerConnection,
    RtcConfiguration, SdpType,
};
use weft_datachannel::Event as ChannelEvent;

const MESSAGES: usize = 100;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let mut role = String::new();
    let mut server = String::new();
    let mut user = String::new();
    let mut relay = false;
    let mut mdns = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--role" => role = args.next().context("--role needs a value")?,
            "--server" => server = args.next().context("--server needs a value")?,
            "--user" => user = args.next().context("--user needs a value")?,
            "--relay" => relay = true,
            "--mdns" => mdns = true,
            other => bail!("unknown argument {other}"),
        }
    }
    let (name, password) = user.split_once(':').context("--user is NAME:PASSWORD")?;
    let config = RtcConfiguration {
        ice_servers: vec![
            IceServer::new([format!("stun:{server}")]),
            IceServer::turn([format!("turn:{server}")], name, password),
        ],
        ice_transport_policy: if relay {
            IceTransportPolicy::Relay
        } else {
            IceTransportPolicy::All
        },
        mdns: if mdns {
            MdnsMode::ResolveAndHide
        } else {
            MdnsMode::Resolve
        },
        ..Default::default()
    };
    let outcome = tokio::time::timeout(Duration::from_secs(30), run(&role, config)).await;
    let result = match outcome {
        Ok(r) => r,
        Err(_) => Err(anyhow::anyhow!("{role}: not done within 30 s")),
    };
    // Exit here: the runtime would otherwise wait for the blocking stdin reader.
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("{role}: {e:#}");
            std::process::exit(1)
        }
    }
}

async fn run(role: &str, config: RtcConfiguration) -> anyhow::Result<()> {
    let started = Instant::now();
    let hidden = config.mdns == MdnsMode::ResolveAndHide;
    let mut pc = PeerConnection::new(config).await?;
    eprintln!("{role}: host candidates on {:?}", pc.local_addrs());
    // Signalling in: `SDP` and trickled `CAND` lines, read by their own task.
    let (ltx, mut lines) = tokio::sync::mpsc::channel::<String>(256);
    tokio::spawn(async move {
        let mut stdin = BufReader::new(tokio::io::stdin()).lines();
        while let Ok(Some(l)) = stdin.next_line().await {
            if ltx.send(l).await.is_err() {
                break;
            }
        }
    });
    let channel = if role == "offer" {
        let h = pc.create_data_channel(ChannelInit::new("nat")).await?;
        let offer = pc.create_offer().await?;
        pc.set_local_description(SdpType::Offer, &offer).await?;
        print_description(&offer, hidden)?;
        Some(h)
    } else {
        let offer = loop {
            let l = lines.recv().await.context("signalling ended")?;
            if let Some(sdp) = l.strip_prefix("SDP ") {
                break sdp.replace("\\n", "\r\n");
            }
        };
        pc.set_remote_description(SdpType::Offer, &offer).await?;
        let answer = pc.create_answer().await?;
        pc.set_local_description(SdpType::Answer, &answer).await?;
        print_description(&answer, hidden)?;
        None
    };
    let mut echoed = 0;
    let mut connected = false;
    loop {
        let ev = tokio::select! {
            ev = pc.next_event() => ev.context("connection ended")?,
            l = lines.recv() => {
                let Some(l) = l else { continue };
                if let Some(sdp) = l.strip_prefix("SDP ") {
                    let sdp = sdp.replace("\\n", "\r\n");
                    pc.set_remote_description(SdpType::Answer, &sdp).await?;
                } else if let Some(c) = l.strip_prefix("CAND ")
                    && let Err(e) = pc.add_ice_candidate(c).await
                {
                    eprintln!("{role}: candidate refused: {e}");
                }
                continue;
            }
        };
        match ev {
            Event::IceCandidate(c) => {
                check_hidden(&c, hidden)?;
                println!("CAND {c}");
            }
            Event::ConnectionState(ConnectionState::Connected) if !connected => {
                connected = true;
                let connected_ms = started.elapsed().as_millis();
                // The controlled side uses the best valid pair until the controlling one's
                // nomination selects it: wait for that (briefly), else report the pair in use.
                let mut st = pc.get_stats().await?;
                for _ in 0..100 {
                    if st.candidate_pairs.iter().any(|p| p.selected) {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    st = pc.get_stats().await?;
                }
                let pair = st
                    .candidate_pairs
                    .iter()
                    .find(|p| p.selected)
                    .or_else(|| st.candidate_pairs.iter().find(|p| p.state == "succeeded"))
                    .context("connected without a usable pair")?;
                let find = |id: &str| st.candidates.iter().find(|c| c.id == id);
                let kind = |id: &str| find(id).map_or("?", |c| c.candidate_type);
                println!(
                    "CONNECTED {connected_ms} {} {} {}",
                    kind(&pair.local_candidate_id),
                    kind(&pair.remote_candidate_id),
                    find(&pair.local_candidate_id).map_or("?", |c| c.protocol)
                );
            }
            Event::ConnectionState(s @ (ConnectionState::Failed | ConnectionState::Closed)) => {
                if channel.is_none() && echoed == MESSAGES {
                    // The offerer has all its echoes and went away.
                    return Ok(());
                }
                bail!("{role}: connection {s:?} after {echoed} messages")
            }
            Event::Channel(h, ChannelEvent::Open(_)) if Some(h) == channel => {
                for i in 0..MESSAGES {
                    pc.send_text(h, &format!("message {i}")).await?;
                }
            }
            Event::Channel(h, ChannelEvent::Message(m)) => {
                if channel.is_some() {
                    let want = format!("message {echoed}");
                    if m.data != want.as_bytes() {
                        bail!("echo {echoed} differs: {:?}", m.data);
                    }
                    echoed += 1;
                    if echoed == MESSAGES {
                        println!("ECHOED {MESSAGES}");
                        // Close, and let the task send its goodbyes before the process ends.
                        pc.close().await;
                        while pc.next_event().await.is_some() {}
                        return Ok(());
                    }
                } else {
                    pc.send_text(h, std::str::from_utf8(&m.data)?).await?;
                    echoed += 1;
                }
            }
            Event::Channel(_, ChannelEvent::Closed(_))
                if channel.is_none() && echoed == MESSAGES =>
            {
                // The offerer is done and closed its side.
                return Ok(());
            }
            Event::IceCandidateError { url, code, text } => {
                eprintln!("{role}: candidate error {url} {code} {text}");
            }
            _ => {}
        }
    }
}

/// Prints a description for the other side; checks that hidden host addresses are hidden.
fn print_description(sdp: &str, hidden: bool) -> anyhow::Result<()> {
    for c in sdp.lines().filter_map(|l| l.strip_prefix("a=candidate:")) {
        check_hidden(c, hidden)?;
    }
    println!("SDP {}", sdp.replace("\r\n", "\\n"));
    Ok(())
}

/// With `--mdns`, a host candidate must carry a `.local` name, never an address.
fn check_hidden(candidate: &str, hidden: bool) -> anyhow::Result<()> {
    let address = candidate.split_whitespace().nth(4).unwrap_or("");
    if hidden && candidate.contains(" typ host") && !address.ends_with(".local") {
        bail!("--mdns: a host address is not hidden: {candidate}");
    }
    Ok(())
}
