//! `weft-nat-peer`: one side of `cargo xtask netns`. It runs inside a private network
//! namespace behind an iptables NAT, gathers host, server-reflexive and relayed candidates
//! from the STUN/TURN server on the public side, and connects to the other side through
//! signalling over its stdin and stdout (one `SDP <text>` line each way, line breaks written
//! as `\n`):
//!
//! ```text
//! weft-nat-peer --role offer|answer --server HOST:PORT --user NAME:PASSWORD [--relay] [--mdns]
//! ```
//!
//! The offerer opens a channel and sends 100 messages; the answerer echoes them. Each side
//! prints `CONNECTED <ms> <local type> <remote type>`: the time from start to
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
    ChannelInit, ConnectionState, Event, GatheringState, IceServer, IceTransportPolicy, MdnsMode,
    PeerConnection, RtcConfiguration, SdpType,
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
    match outcome {
        Ok(r) => r,
        Err(_) => bail!("{role}: not done within 30 s"),
    }
}

async fn run(role: &str, config: RtcConfiguration) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut pc = PeerConnection::new(config).await?;
    eprintln!("{role}: host candidates on {:?}", pc.local_addrs());
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut events = Vec::new();
    let channel = if role == "offer" {
        let h = pc.create_data_channel(ChannelInit::new("nat")).await?;
        let offer = pc.create_offer().await?;
        pc.set_local_description(SdpType::Offer, &offer).await?;
        send_description(&mut pc, &mut events).await?;
        let answer = read_description(&mut lines).await?;
        pc.set_remote_description(SdpType::Answer, &answer).await?;
        Some(h)
    } else {
        let offer = read_description(&mut lines).await?;
        pc.set_remote_description(SdpType::Offer, &offer).await?;
        let answer = pc.create_answer().await?;
        pc.set_local_description(SdpType::Answer, &answer).await?;
        send_description(&mut pc, &mut events).await?;
        None
    };
    let mut echoed = 0;
    let mut connected = false;
    loop {
        let ev = match events.pop() {
            Some(e) => e,
            None => pc.next_event().await.context("connection ended")?,
        };
        match ev {
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
                let kind = |id: &str| {
                    st.candidates
                        .iter()
                        .find(|c| c.id == id)
                        .map_or("?", |c| c.candidate_type)
                };
                println!(
                    "CONNECTED {connected_ms} {} {}",
                    kind(&pair.local_candidate_id),
                    kind(&pair.remote_candidate_id)
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

/// Waits for complete gathering (keeping the other events) and prints the description.
async fn send_description(pc: &mut PeerConnection, events: &mut Vec<Event>) -> anyhow::Result<()> {
    loop {
        let ev = pc.next_event().await.context("connection ended")?;
        if ev == Event::IceGatheringState(GatheringState::Complete) {
            break;
        }
        events.insert(0, ev);
    }
    let sdp = pc
        .local_description()
        .await?
        .context("no local description")?;

    println!("SDP {}", sdp.replace("\r\n", "\\n"));
    Ok(())
}

async fn read_description(
    lines: &mut tokio::io::Lines<BufReader<tokio::io::Stdin>>,
) -> anyhow::Result<String> {
    while let Some(l) = lines.next_line().await? {
        if let Some(sdp) = l.strip_prefix("SDP ") {
            return Ok(sdp.replace("\\n", "\r\n"));
        }
    }
    bail!("signalling ended before a description arrived")
}
