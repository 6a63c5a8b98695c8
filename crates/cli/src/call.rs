//! `weft call URL`: the offerer side against a `weft echo` (or any WHIP-shaped echo) endpoint.
//! Opens a data channel, POSTs the offer, applies the answer, measures the round-trip time
//! with ping-pongs, sends a series of messages under `bufferedAmountLowThreshold`
//! back-pressure, checks every echo (order, type and bytes), prints the figures, and DELETEs
//! the session.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use weft::datachannel::ChannelEvent;
use weft::peer::{
    ChannelHandle, ChannelInit, ConnectionState, Event, PeerConnection, RtcConfiguration, SdpType,
};

use crate::http;

/// Keep sending while `bufferedAmount` is below this.
const HIGH_WATER: usize = 4 << 20;
/// `bufferedAmountLowThreshold`.
const LOW_WATER: usize = 1 << 20;
/// Most messages sent and not yet echoed: bounds the echoes waiting in the event queue
/// while this side is busy sending.
const WINDOW: u64 = 256;
/// Ping-pongs for the round-trip time.
const PINGS: usize = 20;

/// Options of `weft call`.
#[derive(clap::Args, Debug, Clone)]
pub struct Options {
    /// The endpoint, e.g. `http://127.0.0.1:8080/whip`.
    pub url: String,
    /// Messages to send (each must come back).
    #[arg(long, default_value_t = 1000)]
    pub count: u64,
    /// Size of each message in bytes (at most the peer's max-message-size).
    #[arg(long, default_value_t = 16384)]
    pub size: usize,
    /// Send text messages instead of binary ones.
    #[arg(long)]
    pub text: bool,
    /// The address for this side's host candidate.
    #[arg(long = "host-ip", default_value = "127.0.0.1")]
    pub host_ip: IpAddr,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
}

/// Figures of one call.
#[derive(Debug, Clone)]
pub struct Report {
    /// From creating the peer connection to the channel's `open`.
    pub connect: Duration,
    /// Round-trip times of the ping-pongs, sorted.
    pub rtts: Vec<Duration>,
    /// Messages echoed and checked.
    pub echoed: u64,
    /// Time for the series, first send to last echo.
    pub transfer: Duration,
}

/// Runs a call and prints its figures.
pub async fn run(opts: Options) -> anyhow::Result<()> {
    let limit = Duration::from_secs(opts.timeout_secs);
    let r = tokio::time::timeout(limit, call(&opts))
        .await
        .with_context(|| format!("no result within {limit:?}"))??;
    let median = r.rtts[r.rtts.len() / 2];
    let bytes = opts.count as f64 * opts.size as f64;
    let secs = r.transfer.as_secs_f64().max(1e-9);
    println!(
        "connected in {:.1} ms (new peer connection to channel open, through the HTTP offer/answer)",
        r.connect.as_secs_f64() * 1e3
    );
    println!(
        "rtt: min {:.3} ms, median {:.3} ms over {} ping-pongs",
        r.rtts[0].as_secs_f64() * 1e3,
        median.as_secs_f64() * 1e3,
        r.rtts.len()
    );
    println!(
        "{} {} messages of {} bytes echoed and checked in {:.3} s: {:.1} Mbit/s each way",
        r.echoed,
        if opts.text { "text" } else { "binary" },
        opts.size,
        secs,
        bytes * 8.0 / secs / 1e6
    );
    Ok(())
}

async fn call(opts: &Options) -> anyhow::Result<Report> {
    if opts.size == 0 {
        bail!("--size must be at least 1");
    }
    let url = http::Url::parse(&opts.url)?;
    let t0 = Instant::now();
    let config = RtcConfiguration {
        host_addresses: vec![opts.host_ip],
        ..RtcConfiguration::default()
    };
    let mut pc = PeerConnection::new(config).await?;
    let ch = pc.create_data_channel(ChannelInit::new("echo")).await?;
    let offer = pc.create_offer().await?;
    pc.set_local_description(SdpType::Offer, &offer).await?;
    let res = http::request("POST", &url, Some("application/sdp"), offer.as_bytes()).await?;
    if res.first != "201" {
        bail!(
            "POST {}: {} {} {}",
            opts.url,
            res.first,
            res.second,
            String::from_utf8_lossy(&res.body)
        );
    }
    let location = res
        .header("location")
        .context("201 without a Location")?
        .to_owned();
    let answer = String::from_utf8(res.body).context("the answer is not UTF-8")?;
    pc.set_remote_description(SdpType::Answer, &answer).await?;
    wait_open(&mut pc, ch).await?;
    let connect = t0.elapsed();
    pc.set_buffered_amount_low_threshold(ch, LOW_WATER).await?;

    let mut rtts = Vec::with_capacity(PINGS);
    for i in 0..PINGS {
        let ping = format!("ping {i}");
        let t = Instant::now();
        pc.send_text(ch, &ping).await?;
        let m = next_message(&mut pc, ch).await?;
        rtts.push(t.elapsed());
        if m.binary || m.data != ping.as_bytes() {
            bail!("ping {i} came back as {:?}", m.data);
        }
    }
    rtts.sort();

    let t = Instant::now();
    let (mut sent, mut echoed) = (0u64, 0u64);
    fill(&pc, ch, opts, &mut sent, echoed).await?;
    while echoed < opts.count {
        match pc.next_event().await {
            None => bail!("the peer connection stopped after {echoed} echoes"),
            Some(Event::Channel(h, ChannelEvent::Message(m))) if h == ch => {
                let want = payload(echoed, opts.size);
                if m.binary == opts.text || m.data != want {
                    bail!(
                        "echo {echoed} differs: {} {} bytes, want {} {} bytes",
                        if m.binary { "binary" } else { "text" },
                        m.data.len(),
                        if opts.text { "text" } else { "binary" },
                        want.len()
                    );
                }
                echoed += 1;
                fill(&pc, ch, opts, &mut sent, echoed).await?;
            }
            Some(Event::Channel(h, ChannelEvent::BufferedAmountLow(_))) if h == ch => {
                fill(&pc, ch, opts, &mut sent, echoed).await?;
            }
            Some(Event::Channel(h, ChannelEvent::Closed(_))) if h == ch => {
                bail!("the channel closed after {echoed} echoes")
            }
            Some(Event::ConnectionState(
                s @ (ConnectionState::Failed | ConnectionState::Closed),
            )) => {
                bail!("connection {s:?} after {echoed} echoes")
            }
            Some(_) => {}
        }
    }
    let transfer = t.elapsed();
    let del = http::request("DELETE", &url.join(&location)?, None, b"").await?;
    pc.close().await;
    if del.first != "200" {
        bail!("DELETE {location}: {} {}", del.first, del.second);
    }
    Ok(Report {
        connect,
        rtts,
        echoed,
        transfer,
    })
}

/// Message `i` of the series: its index, then a pattern (ASCII, so it is also valid text).
fn payload(i: u64, size: usize) -> Bytes {
    let mut v: Vec<u8> = format!("{i:016x}").into_bytes();
    v.truncate(size);
    let mut k = i as usize;
    while v.len() < size {
        v.push(b'a' + (k % 26) as u8);
        k += 7;
    }
    Bytes::from(v)
}

/// Sends while the buffer is under the high-water mark and fewer than [`WINDOW`] messages
/// wait for their echo. Stops only with the buffer above the low threshold (so that
/// `bufferedamountlow` follows) or with the window full (so that an echo follows).
async fn fill(
    pc: &PeerConnection,
    ch: ChannelHandle,
    opts: &Options,
    sent: &mut u64,
    echoed: u64,
) -> anyhow::Result<()> {
    loop {
        if *sent == opts.count || *sent - echoed >= WINDOW {
            return Ok(());
        }
        let buffered = pc.buffered_amount(ch).await?;
        if buffered + opts.size > HIGH_WATER {
            return Ok(());
        }
        let room = ((HIGH_WATER - buffered) / opts.size) as u64;
        let n = room.min(WINDOW - (*sent - echoed)).min(opts.count - *sent);
        for _ in 0..n {
            let p = payload(*sent, opts.size);
            if opts.text {
                let s = std::str::from_utf8(&p).context("payloads are ASCII")?;
                pc.send_text(ch, s).await?;
            } else {
                pc.send(ch, p).await?;
            }
            *sent += 1;
        }
    }
}

async fn wait_open(pc: &mut PeerConnection, ch: ChannelHandle) -> anyhow::Result<()> {
    loop {
        match pc.next_event().await {
            None => bail!("the peer connection stopped before the channel opened"),
            Some(Event::Channel(h, ChannelEvent::Open(_))) if h == ch => return Ok(()),
            Some(Event::ConnectionState(ConnectionState::Failed)) => bail!("connection failed"),
            Some(_) => {}
        }
    }
}

async fn next_message(
    pc: &mut PeerConnection,
    ch: ChannelHandle,
) -> anyhow::Result<weft::datachannel::Message> {
    loop {
        match pc.next_event().await {
            None => bail!("the peer connection stopped"),
            Some(Event::Channel(h, ChannelEvent::Message(m))) if h == ch => return Ok(m),
            Some(Event::ConnectionState(ConnectionState::Failed)) => bail!("connection failed"),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::payload;

    #[test]
    fn payloads_have_the_size_asked_and_differ() {
        for size in [1, 5, 16, 17, 1000] {
            assert_eq!(payload(3, size).len(), size);
        }
        assert_ne!(payload(1, 64), payload(2, 64));
        assert!(payload(9, 100).is_ascii());
    }
}
