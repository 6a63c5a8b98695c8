//! Data-channel echo: two peer connections in one process, over loopback UDP. Alice opens a
//! channel and sends text and binary messages; Bob echoes each on the same channel with the
//! same type. Signalling is a direct hand-over of the SDP strings.
//!
//! ```text
//! cargo run -p weft --example echo [-- MESSAGES]
//! ```

#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::time::Instant;

use bytes::Bytes;
use weft::peer::{ChannelEvent, ChannelInit, Event, PeerConnection, RtcConfiguration, SdpType};

#[tokio::main]
async fn main() -> Result<(), weft::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100);
    let config = RtcConfiguration {
        channel_objects: true,
        ..RtcConfiguration::loopback()
    };
    let started = Instant::now();
    let alice = PeerConnection::new(config.clone()).await?;
    let mut bob = PeerConnection::new(config).await?;
    let mut chat = alice.create_channel(ChannelInit::new("echo")).await?;

    let offer = alice.create_offer().await?;
    alice.set_local_description(SdpType::Offer, &offer).await?;
    bob.set_remote_description(SdpType::Offer, &offer).await?;
    let answer = bob.create_answer().await?;
    bob.set_local_description(SdpType::Answer, &answer).await?;
    alice
        .set_remote_description(SdpType::Answer, &answer)
        .await?;

    // Bob: every channel the peer opens is echoed.
    tokio::spawn(async move {
        while let Some(ev) = bob.next_event().await {
            if let Event::DataChannel(h) = ev
                && let Ok(Some(mut ch)) = bob.data_channel(h).await
            {
                tokio::spawn(async move {
                    while let Some(ev) = ch.next_event().await {
                        if let ChannelEvent::Message(m) = ev {
                            let r = if m.binary {
                                ch.send(m.data).await
                            } else {
                                ch.send_text(&String::from_utf8_lossy(&m.data)).await
                            };
                            if r.is_err() {
                                break;
                            }
                        }
                    }
                });
            }
        }
    });

    let mut sent = 0;
    let mut echoed = 0;
    while let Some(ev) = chat.next_event().await {
        match ev {
            ChannelEvent::Open(_) => {
                println!("open after {:.1} ms", started.elapsed().as_secs_f64() * 1e3);
                for i in 0..n {
                    if i % 2 == 0 {
                        chat.send_text(&format!("message {i}")).await?;
                    } else {
                        chat.send(Bytes::from(vec![i as u8; i])).await?;
                    }
                    sent += 1;
                }
            }
            ChannelEvent::Message(m) => {
                echoed += 1;
                if echoed == sent {
                    println!(
                        "{echoed} messages echoed ({} bytes last) after {:.1} ms",
                        m.data.len(),
                        started.elapsed().as_secs_f64() * 1e3
                    );
                    chat.close().await?;
                }
            }
            ChannelEvent::Closed(_) => break,
            _ => {}
        }
    }
    alice.close().await;
    Ok(())
}
