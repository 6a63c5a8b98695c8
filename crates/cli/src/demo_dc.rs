//! The peer connection part of `weft demo`: two `weft::peer::PeerConnection`s on loopback UDP
//! exchange an offer and an answer, connect (ICE, DTLS, SCTP), and run one chat channel
//! (messages echoed by bob) and one bulk channel (a large transfer paced by
//! `bufferedAmountLowThreshold`); then both channels close and the connections end.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use weft::datachannel::ChannelEvent;
use weft::peer::{
    ChannelHandle, ChannelInit, ConnectionState, Event, PeerConnection, RtcConfiguration, SdpType,
};

use crate::demo::{Options, Timeline, ms};

/// What the data channel phase measured.
pub(crate) struct Figures {
    pub(crate) connect: Duration,
    pub(crate) echoed: u64,
    pub(crate) rtts: Vec<Duration>,
    pub(crate) echo_elapsed: Duration,
    pub(crate) bulk_bytes: u64,
    pub(crate) bulk_elapsed: Duration,
    pub(crate) retransmitted: u64,
    pub(crate) zero_checksum: bool,
}

impl Figures {
    pub(crate) fn print(&self) {
        let mut r = self.rtts.clone();
        r.sort();
        let pct = |p: f64| {
            r.get(((r.len() as f64 - 1.0) * p) as usize)
                .copied()
                .unwrap_or_default()
        };
        println!(
            "  data channels: DTLS + SCTP up in {:.2} ms (zero checksum {}), {} chat messages echoed ({:.0}/s), rtt p50 {:.1} us / p99 {:.1} us",
            ms(self.connect),
            self.zero_checksum,
            self.echoed,
            self.echoed as f64 / self.echo_elapsed.as_secs_f64().max(1e-9),
            pct(0.5).as_secs_f64() * 1e6,
            pct(0.99).as_secs_f64() * 1e6
        );
        println!(
            "  data channels: bulk {} MiB in {:.1} ms = {:.1} MB/s ({:.0} Mbit/s), {} chunks retransmitted",
            self.bulk_bytes >> 20,
            ms(self.bulk_elapsed),
            self.bulk_bytes as f64 / self.bulk_elapsed.as_secs_f64() / 1e6,
            self.bulk_bytes as f64 * 8.0 / self.bulk_elapsed.as_secs_f64() / 1e6,
            self.retransmitted
        );
    }
}

const BULK_MESSAGE: usize = 64 * 1024;
const SEND_AHEAD: usize = 4 << 20;

pub(crate) async fn run(tl: &Timeline, opts: &Options) -> anyhow::Result<Figures> {
    let started = Instant::now();
    let mut alice = PeerConnection::new(RtcConfiguration::loopback()).await?;
    let bob = PeerConnection::new(RtcConfiguration::loopback()).await?;
    tl.say(format!(
        "peer connections: alice on udp {}, bob on udp {}",
        alice.local_addrs()[0],
        bob.local_addrs()[0]
    ));
    // Channels may be created before anything is negotiated; they open with the association.
    let chat = alice.create_data_channel(ChannelInit::new("chat")).await?;
    let bulk = alice.create_data_channel(ChannelInit::new("bulk")).await?;
    let offer = alice.create_offer().await?;
    alice.set_local_description(SdpType::Offer, &offer).await?;
    bob.set_remote_description(SdpType::Offer, &offer).await?;
    let answer = bob.create_answer().await?;
    bob.set_local_description(SdpType::Answer, &answer).await?;
    alice
        .set_remote_description(SdpType::Answer, &answer)
        .await?;
    tl.say(format!(
        "offer ({} bytes) and answer ({} bytes) exchanged",
        offer.len(),
        answer.len()
    ));
    let bulk_total = opts.bulk_mib << 20;
    let bob_task = tokio::spawn(bob_side(bob, bulk_total));

    let mut open = 0;
    let mut connect = Duration::ZERO;
    while open < 2 {
        match alice
            .next_event()
            .await
            .context("alice's peer connection stopped")?
        {
            Event::IceGatheringState(s) => tl.say(format!("alice: ICE gathering {s:?}")),
            Event::IceConnectionState(s) => tl.say(format!("alice: ICE {s:?}")),
            Event::DtlsState(s) => tl.say(format!("alice: DTLS {s:?}")),
            Event::SctpState(s) => tl.say(format!("alice: SCTP {s:?}")),
            Event::ConnectionState(ConnectionState::Connected) => {
                connect = started.elapsed();
                tl.say("alice: connectionState connected (ICE and DTLS up)");
            }
            Event::ConnectionState(ConnectionState::Failed) => bail!("alice's connection failed"),
            Event::Channel(h, ChannelEvent::Open(id)) if h == chat || h == bulk => {
                open += 1;
                tl.say(format!("data channels: channel {id} open"));
            }
            _ => {}
        }
    }

    // Chat: alice's messages echoed by bob, `in_flight` at a time.
    let payload = vec![0x42u8; opts.message_size];
    let mut sent_at: HashMap<u64, Instant> = HashMap::new();
    let mut rtts = Vec::new();
    let (mut next, mut echoed) = (0u64, 0u64);
    let t0 = Instant::now();
    while echoed < opts.messages {
        while next < opts.messages && (sent_at.len() as u64) < opts.in_flight {
            let mut m = payload.clone();
            m[..8].copy_from_slice(&next.to_be_bytes());
            sent_at.insert(next, Instant::now());
            alice.send(chat, Bytes::from(m)).await?;
            next += 1;
        }
        match tokio::time::timeout(Duration::from_secs(5), alice.next_event()).await {
            Ok(Some(Event::Channel(h, ChannelEvent::Message(m))))
                if h == chat && m.data.len() >= 8 =>
            {
                let n = u64::from_be_bytes(m.data[..8].try_into().expect("8 bytes"));
                if let Some(at) = sent_at.remove(&n) {
                    rtts.push(at.elapsed());
                    echoed += 1;
                }
            }
            Ok(Some(Event::ConnectionState(ConnectionState::Failed))) => {
                bail!("alice's connection failed")
            }
            Ok(Some(_)) => {}
            Ok(None) => bail!("alice's peer connection stopped"),
            Err(_) => bail!("no echo for 5 s: {} chat messages missing", sent_at.len()),
        }
    }
    let echo_elapsed = t0.elapsed();
    tl.say(format!(
        "data channels: bob echoed {echoed} chat messages of {} bytes in {:.1} ms",
        opts.message_size,
        ms(echo_elapsed)
    ));

    // Bulk: 64 KiB messages, keeping at most 4 MiB queued (bufferedamountlow paces alice).
    alice
        .set_buffered_amount_low_threshold(bulk, SEND_AHEAD / 2)
        .await?;
    let block = Bytes::from(vec![0x17u8; BULK_MESSAGE]);
    let t1 = Instant::now();
    let mut queued = 0u64;
    let mut done = false;
    while !done {
        while queued < bulk_total && alice.buffered_amount(bulk).await? < SEND_AHEAD {
            alice.send(bulk, block.clone()).await?;
            queued += BULK_MESSAGE as u64;
        }
        match tokio::time::timeout(Duration::from_secs(10), alice.next_event()).await {
            Ok(Some(Event::Channel(h, ChannelEvent::Message(m))))
                if h == chat && m.data.starts_with(b"bulk done") =>
            {
                done = true
            }
            Ok(Some(Event::ConnectionState(ConnectionState::Failed))) => {
                bail!("alice's connection failed")
            }
            Ok(Some(_)) => {}
            Ok(None) => bail!("alice's peer connection stopped"),
            Err(_) => bail!("bulk transfer stalled"),
        }
    }
    let bulk_elapsed = t1.elapsed();
    tl.say(format!(
        "data channels: bob received {} MiB on the bulk channel in {:.1} ms",
        bulk_total >> 20,
        ms(bulk_elapsed)
    ));
    let stats = alice.sctp_stats().await?.context("no association")?;
    alice.close_channel(chat).await?;
    alice.close_channel(bulk).await?;
    let mut closed = 0;
    while closed < 2 {
        match alice
            .next_event()
            .await
            .context("alice's peer connection stopped")?
        {
            Event::Channel(_, ChannelEvent::Closed(_)) => closed += 1,
            Event::ConnectionState(ConnectionState::Failed) => bail!("alice's connection failed"),
            _ => {}
        }
    }
    tl.say("data channels: both channels closed by stream reset on both sides");
    alice.close().await;
    let bob_got = bob_task.await??;
    tl.say(format!(
        "peer connections closed; bob got {bob_got} bulk bytes"
    ));
    if bob_got != bulk_total {
        bail!("bob received {bob_got} of {bulk_total} bulk bytes");
    }
    Ok(Figures {
        connect,
        echoed,
        rtts,
        echo_elapsed,
        bulk_bytes: bulk_total,
        bulk_elapsed,
        retransmitted: stats.retransmitted_chunks,
        zero_checksum: stats.zero_checksum,
    })
}

/// Bob: echoes chat messages, counts bulk bytes and says when all arrived; stops when alice
/// closes (the connection closes under him).
async fn bob_side(mut bob: PeerConnection, bulk_total: u64) -> anyhow::Result<u64> {
    let mut labels: HashMap<ChannelHandle, String> = HashMap::new();
    let mut got = 0u64;
    let mut closed = 0;
    while let Some(ev) = bob.next_event().await {
        match ev {
            Event::DataChannel(h) => {
                if let Some(info) = bob.channel(h).await? {
                    labels.insert(h, info.label);
                }
            }
            Event::Channel(h, ChannelEvent::Message(m)) => match labels.get(&h).map(String::as_str)
            {
                Some("chat") => bob.send(h, m.data).await?,
                Some("bulk") => {
                    got += m.data.len() as u64;
                    if got == bulk_total
                        && let Some((&chat, _)) = labels.iter().find(|(_, l)| *l == "chat")
                    {
                        bob.send_text(chat, &format!("bulk done {got}")).await?;
                    }
                }
                _ => {}
            },
            Event::Channel(_, ChannelEvent::Closed(_)) => {
                closed += 1;
                if closed == 2 {
                    break;
                }
            }
            _ => {}
        }
    }
    Ok(got)
}
