//! Manual signalling: copy and paste SDP between two terminals (or two machines). The
//! offerer prints its offer once gathering is complete (candidates included, so no trickle
//! is needed) and reads the answer; the answerer reads the offer and prints its answer. SDP
//! crosses as one line of base64-free text: line breaks are written as `\n`.
//!
//! ```text
//! terminal 1: cargo run -p weft --example manual_signaling -- offer
//! terminal 2: cargo run -p weft --example manual_signaling -- answer
//! ```
//!
//! Paste each printed `SDP ...` line into the other terminal. Add `stun:HOST:PORT` as a
//! second argument to gather a server-reflexive candidate too. Once connected the offerer
//! sends a line of text and the answerer prints it; both then exit.

#![allow(clippy::print_stdout, clippy::print_stderr, clippy::disallowed_methods)]

use std::io::BufRead;

use weft::peer::{
    ChannelEvent, ChannelInit, Event, GatheringState, IceServer, PeerConnection, RtcConfiguration,
    SdpType,
};

fn read_sdp() -> Result<String, String> {
    eprintln!("paste the other side's SDP line:");
    for line in std::io::stdin().lock().lines() {
        let line = line.map_err(|e| e.to_string())?;
        if let Some(sdp) = line.trim().strip_prefix("SDP ") {
            return Ok(sdp.replace("\\n", "\r\n"));
        }
    }
    Err("no SDP line on stdin".into())
}

async fn print_when_gathered(pc: &mut PeerConnection) -> Result<(), Box<dyn std::error::Error>> {
    while let Some(ev) = pc.next_event().await {
        if ev == Event::IceGatheringState(GatheringState::Complete) {
            break;
        }
    }
    let sdp = pc
        .local_description()
        .await?
        .ok_or("no local description")?;
    println!("SDP {}", sdp.replace("\r\n", "\\n"));
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let role = std::env::args().nth(1).unwrap_or_default();
    let mut config = RtcConfiguration::default();
    if let Some(stun) = std::env::args().nth(2) {
        config.ice_servers.push(IceServer::new([stun]));
    }
    let mut pc = PeerConnection::new(config).await?;
    match role.as_str() {
        "offer" => {
            let ch = pc.create_data_channel(ChannelInit::new("manual")).await?;
            let offer = pc.create_offer().await?;
            pc.set_local_description(SdpType::Offer, &offer).await?;
            print_when_gathered(&mut pc).await?;
            let answer = tokio::task::spawn_blocking(read_sdp).await??;
            pc.set_remote_description(SdpType::Answer, &answer).await?;
            while let Some(ev) = pc.next_event().await {
                if let Event::Channel(h, ChannelEvent::Open(_)) = ev
                    && h == ch
                {
                    pc.send_text(ch, "hello across the copy and paste").await?;
                    eprintln!("sent a greeting");
                }
                if let Event::Channel(_, ChannelEvent::Closed(_)) = ev {
                    break;
                }
            }
        }
        "answer" => {
            let offer = tokio::task::spawn_blocking(read_sdp).await??;
            pc.set_remote_description(SdpType::Offer, &offer).await?;
            let answer = pc.create_answer().await?;
            pc.set_local_description(SdpType::Answer, &answer).await?;
            print_when_gathered(&mut pc).await?;
            while let Some(ev) = pc.next_event().await {
                if let Event::Channel(h, ChannelEvent::Message(m)) = ev {
                    println!("GOT {}", String::from_utf8_lossy(&m.data));
                    pc.close_channel(h).await?;
                    // Let the close reach the offerer.
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    break;
                }
            }
        }
        _ => return Err("usage: manual_signaling offer|answer [stun:HOST:PORT]".into()),
    }
    pc.close().await;
    Ok(())
}
