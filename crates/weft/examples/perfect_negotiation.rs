//! Perfect negotiation (the W3C pattern): two peers that both start negotiating at once.
//! Each makes a data channel at the same moment, so both get `negotiationneeded` and both
//! send an offer: glare. The impolite peer ignores the offer that collides with its own; the
//! polite one rolls its offer back and answers. Either way one session results, both
//! channels open on it, and each side hears the other's greeting.
//!
//! ```text
//! cargo run -p weft --example perfect_negotiation
//! ```

#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use tokio::sync::mpsc;
use weft::peer::{
    ChannelEvent, ChannelInit, Event, PeerConnection, RtcConfiguration, SdpType, SignalingState,
};

/// What the signalling channel carries.
#[derive(Debug)]
enum Signal {
    Description(SdpType, String),
    Candidate(String),
}

async fn peer(
    name: &'static str,
    polite: bool,
    tx: mpsc::UnboundedSender<Signal>,
    mut rx: mpsc::UnboundedReceiver<Signal>,
    both: std::sync::Arc<tokio::sync::Barrier>,
) -> Result<String, weft::Error> {
    let mut pc = PeerConnection::new(RtcConfiguration::loopback()).await?;
    let mine = pc.create_data_channel(ChannelInit::new(name)).await?;
    // Both sides answer their first `negotiationneeded` with an offer before either reads
    // the other's: the offers cross (glare).
    while let Some(ev) = pc.next_event().await {
        if ev == Event::NegotiationNeeded {
            let offer = pc.create_offer().await?;
            pc.set_local_description(SdpType::Offer, &offer).await?;
            println!("{name}: offering");
            let _ = tx.send(Signal::Description(SdpType::Offer, offer));
            break;
        }
    }
    both.wait().await;
    let mut ignored_offer = false;
    let mut greeted = false;
    let mut heard = None;
    loop {
        tokio::select! {
            ev = pc.next_event() => match ev {
                Some(Event::NegotiationNeeded)
                    if pc.signaling_state().await? == SignalingState::Stable =>
                {
                    let offer = pc.create_offer().await?;
                    pc.set_local_description(SdpType::Offer, &offer).await?;
                    println!("{name}: offering");
                    let _ = tx.send(Signal::Description(SdpType::Offer, offer));
                }
                Some(Event::IceCandidate(c)) => {
                    let _ = tx.send(Signal::Candidate(c));
                }
                Some(Event::Channel(h, ChannelEvent::Open(_))) if h == mine && !greeted => {
                    pc.send_text(h, &format!("hello from {name}")).await?;
                    greeted = true;
                }
                Some(Event::Channel(_, ChannelEvent::Message(m))) => {
                    heard = Some(String::from_utf8_lossy(&m.data).into_owned());
                }
                Some(_) => {}
                None => break,
            },
            sig = rx.recv() => match sig {
                Some(Signal::Description(kind, sdp)) => {
                    let collision = kind == SdpType::Offer
                        && pc.signaling_state().await? != SignalingState::Stable;
                    ignored_offer = !polite && collision;
                    if ignored_offer {
                        println!("{name}: impolite, ignoring the colliding offer");
                        continue;
                    }
                    if collision {
                        println!("{name}: polite, rolling back my offer");
                        pc.set_local_description(SdpType::Rollback, "").await?;
                    }
                    pc.set_remote_description(kind, &sdp).await?;
                    if kind == SdpType::Offer {
                        let answer = pc.create_answer().await?;
                        pc.set_local_description(SdpType::Answer, &answer).await?;
                        println!("{name}: answering");
                        let _ = tx.send(Signal::Description(SdpType::Answer, answer));
                    }
                }
                Some(Signal::Candidate(c)) => {
                    if let Err(e) = pc.add_ice_candidate(&c).await
                        && !ignored_offer
                    {
                        println!("{name}: candidate refused: {e}");
                    }
                }
                None => break,
            },
        }
        if greeted && heard.is_some() {
            break;
        }
    }
    // Let the last greeting leave before the connection closes.
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    pc.close().await;
    heard.ok_or(weft::Error::Closed)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (to_polite, polite_rx) = mpsc::unbounded_channel();
    let (to_impolite, impolite_rx) = mpsc::unbounded_channel();
    let both = std::sync::Arc::new(tokio::sync::Barrier::new(2));
    let polite = tokio::spawn(peer("polite", true, to_impolite, polite_rx, both.clone()));
    let impolite = tokio::spawn(peer("impolite", false, to_polite, impolite_rx, both));
    let (p, i) = (polite.await??, impolite.await??);
    println!("polite heard {p:?}; impolite heard {i:?}");
    if p != "hello from impolite" || i != "hello from polite" {
        return Err("the greetings did not cross".into());
    }
    Ok(())
}
